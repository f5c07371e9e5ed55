"""The audit log's hash chain: append under a lock, verify from the anchor.

entry_hash = HMAC-SHA256(AUDIT_CHAIN_KEY, canonical JSON of the row's content + prev_hash).
The key lives outside the database (var/audit_chain_key or the environment), so someone who can
write to the database alone cannot recompute a forged chain. The actor is hashed by its recorded
account name, not the foreign key: deleting a user sets the key to NULL and must not break the chain.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

HEAD_PK = 1
HASHED_FIELDS = ("seq", "created_at", "actor_username", "ip", "user_agent", "action", "object_type",
                 "object_id", "region_code", "changes", "outcome", "message", "prev_hash")


def normalise_changes(changes: dict) -> dict:
    """What the JSON column will hand back: nested dates and decimals as strings, plain types only."""
    return json.loads(json.dumps(changes, cls=DjangoJSONEncoder))


def _key() -> bytes:
    return settings.AUDIT_CHAIN_KEY.encode()


def entry_digest(entry) -> str:
    content = {f: getattr(entry, f) for f in HASHED_FIELDS}
    content["created_at"] = entry.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    data = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(_key(), data.encode(), hashlib.sha256).hexdigest()


def locked_head():
    """The chain head, locked until the caller's transaction ends (created on first use)."""
    from gridgov.core.models import AuditChainHead

    try:
        return AuditChainHead.objects.select_for_update().get(pk=HEAD_PK)
    except AuditChainHead.DoesNotExist:
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(pk=HEAD_PK)
        except IntegrityError:  # another writer created it first
            pass
        return AuditChainHead.objects.select_for_update().get(pk=HEAD_PK)


def append(entry) -> None:
    """Link and insert one unsaved AuditEntry. Must run inside a transaction (audit_record opens one)."""
    head = locked_head()
    entry.seq = head.last_seq + 1
    entry.prev_hash = head.last_hash
    entry.entry_hash = entry_digest(entry)
    entry.save(force_insert=True)
    head.last_seq, head.last_hash = entry.seq, entry.entry_hash
    head.save(update_fields=["last_seq", "last_hash", "updated_at"])


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    first_bad_seq: int | None = None
    reason: str = ""


def verify(*, using: str = "default", chunk: int = 5000) -> VerifyResult:
    """Walk the chain from the anchor to the head; stop at the first row that does not fit.

    Detects an edited row (its hash), a deleted row (a gap in seq / a broken link), an inserted
    row (its seq collides, or its link or hash is wrong) and a truncated tail (the head).
    """
    from gridgov.core.models import AuditChainHead, AuditEntry

    head = AuditChainHead.objects.using(using).filter(pk=HEAD_PK).first()
    expected_seq = (head.anchor_seq if head else 0) + 1
    expected_prev = head.anchor_hash if head else ""
    checked = 0
    unchained = AuditEntry.objects.using(using).filter(seq__isnull=True).order_by("id").first()
    if unchained is not None:
        return VerifyResult(False, 0, unchained.pk, None, "存在未入链的记录（序号为空）")
    last_id = None
    qs = AuditEntry.objects.using(using).order_by("seq")
    for entry in qs.iterator(chunk_size=chunk):
        if entry.seq != expected_seq:
            kind = "缺失" if entry.seq > expected_seq else "重复或插入"
            return VerifyResult(False, checked, entry.pk, entry.seq,
                                f"序号不连续：应为 {expected_seq}，实为 {entry.seq}（记录{kind}）")
        if entry.prev_hash != expected_prev:
            return VerifyResult(False, checked, entry.pk, entry.seq,
                                "与前一条记录的链接不符（前面的记录被删除、插入或修改）")
        if not hmac.compare_digest(entry.entry_hash, entry_digest(entry)):
            return VerifyResult(False, checked, entry.pk, entry.seq, "记录内容与摘要不符（记录被修改）")
        expected_prev, expected_seq, last_id = entry.entry_hash, entry.seq + 1, entry.pk
        checked += 1
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != expected_prev):
        return VerifyResult(False, checked, last_id, expected_seq,
                            f"链尾不符：链头记录第 {head.last_seq} 条，"
                            f"实际只到第 {expected_seq - 1} 条（末尾记录被删除）")
    return VerifyResult(True, checked)
