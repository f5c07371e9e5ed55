"""`gridgov audit_retention --keep-days N`: archive, then delete, audit rows older than N days.

Refuses fewer than 183 days (MLPS level 3 keeps logs at least six months) and refuses to touch a
chain that does not verify (the broken rows are evidence). The oldest rows go, as a prefix of the
chain, into a gzip JSON-lines archive holding every column and hash; the chain head keeps the
anchor (the last archived hash), so `audit_verify` still checks the kept rows end to end and the
archive itself links to the previous anchor.
"""

import gzip
import hashlib
import json
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from gridgov.core.audit import audit_record
from gridgov.core.models import AuditEntry
from gridgov.core.security.auditguard import allow_retention_delete
from gridgov.core.security.chain import locked_head, verify

ARCHIVED_FIELDS = ["id", "seq", "created_at", "actor_id", "actor_username", "ip", "user_agent", "action",
                   "object_type", "object_id", "region_code", "changes", "outcome", "message", "prev_hash",
                   "entry_hash"]


class Command(BaseCommand):
    help = "审计日志保留：归档并删除超过保留天数的记录（至少 183 天），保留链锚点以便继续校验。"

    def add_arguments(self, parser):
        parser.add_argument("--keep-days", type=int, required=True)
        parser.add_argument("--archive-dir", default=None, help="归档目录，默认 var/audit_archive")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, keep_days, archive_dir, dry_run, **options):
        if keep_days < settings.AUDIT_MIN_KEEP_DAYS:
            raise CommandError(
                f"保留天数不得少于 {settings.AUDIT_MIN_KEEP_DAYS} 天（等保三级要求审计记录至少保存六个月）")
        cutoff = timezone.now() - timedelta(days=keep_days)
        with transaction.atomic():
            head = locked_head()  # no writer appends while we cut the chain
            result = verify()
            if not result.ok:
                raise CommandError(f"审计链校验失败（id={result.first_bad_id}：{result.reason}），不执行删除")
            # Cut only a prefix: the first row still inside the period, and everything after it, stays.
            first_kept = (AuditEntry.objects.filter(created_at__gte=cutoff).order_by("seq")
                          .values_list("seq", flat=True).first())
            boundary = first_kept if first_kept is not None else head.last_seq + 1
            doomed = AuditEntry.objects.filter(seq__lt=boundary).order_by("seq")
            count = doomed.count()
            if count == 0:
                self.stdout.write(f"没有早于 {cutoff:%Y-%m-%d} 的审计记录需要归档。")
                return
            if dry_run:
                self.stdout.write(f"将归档并删除 {count} 条记录（序号 {head.anchor_seq + 1}–{boundary - 1}）。")
                return
            directory = Path(archive_dir or settings.VAR_DIR / "audit_archive")
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"audit-{head.anchor_seq + 1:012d}-{boundary - 1:012d}.jsonl.gz"
            last_hash = ""
            with gzip.open(path, "wt", encoding="utf-8") as out:
                for row in doomed.values(*ARCHIVED_FIELDS).iterator(chunk_size=5000):
                    row["created_at"] = row["created_at"].isoformat()
                    out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                    last_hash = row["entry_hash"]
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            old_anchor = head.anchor_seq
            head.anchor_seq, head.anchor_hash = boundary - 1, last_hash
            head.save(update_fields=["anchor_seq", "anchor_hash", "updated_at"])
            allow_retention_delete()  # the database refuses DELETE on the log otherwise
            doomed.delete()
            audit_record(actor=None, username="system", action="audit.retention", object_type="core.auditentry",
                         changes={"keep_days": keep_days, "archived": count, "from_seq": old_anchor + 1,
                                  "to_seq": boundary - 1, "archive": path.name, "sha256": digest})
        self.stdout.write(
            f"已归档并删除 {count} 条审计记录 → {path}（sha256 {digest}）；链锚点为第 {boundary - 1} 条。")
