"""What the scheme's services share: errors, idempotency keys, the effective scheme, and the one
place where points move (`post`), so the ledger and the balances can never drift apart."""

import re
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from gridgov.core.errors import ApplicationError, ValidationFailed

from ..choices import SPEND_KINDS
from ..conf import setting
from ..models import Balance, LedgerEntry, PointsScheme

KEY_RE = re.compile(r"[A-Za-z0-9_.:\-]{8,64}")
# A run of 7+ digits on a public page is a phone or an ID number, whatever the worker meant.
LONG_NUMBER_RE = re.compile(r"\d{7,}")


class Conflict(ApplicationError):
    status = 409


def idempotency_key(value) -> str | None:
    """A client's retry key (8-64 of A-Z a-z 0-9 _ . : -), or None when not given."""
    if value in (None, ""):
        return None
    value = str(value).strip()
    if not KEY_RE.fullmatch(value):
        raise ValidationFailed("幂等键应为 8-64 位字母、数字或 _ . : -", code="invalid_idempotency_key",
                               extra={"field": "idempotency_key"})
    return value


def public_text(value: str, *, field: str, label: str, max_length: int) -> str:
    value = (value or "").strip()
    if len(value) > max_length:
        raise ValidationFailed(f"{label}不能超过 {max_length} 字", code="too_long", extra={"field": field})
    if LONG_NUMBER_RE.search(value):
        raise ValidationFailed(f"{label}会公开展示，不能包含电话、身份证号等号码", code="personal_data_in_public_text",
                               extra={"field": field})
    return value


# --- the scheme in force for a place ---------------------------------------------------------------


@dataclass(frozen=True)
class EffectiveScheme:
    collective_threshold: int
    committee_quorum: int
    household_rollup: bool
    notice_full_names: bool
    notice_days: int
    region_code: str | None  # the row it comes from; None: the defaults


def default_scheme() -> EffectiveScheme:
    return EffectiveScheme(
        collective_threshold=int(setting("POINTS_COLLECTIVE_THRESHOLD")),
        committee_quorum=int(setting("POINTS_COMMITTEE_QUORUM")),
        household_rollup=bool(setting("POINTS_HOUSEHOLD_ROLLUP")),
        notice_full_names=bool(setting("POINTS_NOTICE_FULL_NAMES")),
        notice_days=int(setting("POINTS_NOTICE_DAYS")),
        region_code=None,
    )


def scheme_for(region_code: str) -> EffectiveScheme:
    """The settings in force at a grid or village: the nearest PointsScheme up the tree, else defaults."""
    candidates = [region_code[:n] for n in (15, 12, 9, 6) if len(region_code) >= n]
    row = (PointsScheme.objects.filter(region_id__in=candidates)
           .order_by("-region_id").first())  # longest code = nearest node
    if row is None:
        return default_scheme()
    return EffectiveScheme(row.collective_threshold, row.committee_quorum, row.household_rollup,
                           row.notice_full_names, row.notice_days, row.region_id)


# --- moving points ---------------------------------------------------------------------------------


@dataclass
class Posting:
    subject_id: int
    region_id: str
    kind: str
    delta: int
    score_delta: int
    occurred_on: date
    key: str
    reference: str = ""
    item_id: int | None = None
    claim_id: int | None = None
    order_id: int | None = None
    reverses_id: int | None = None


def lock_balances(subject_ids) -> dict[int, Balance]:
    """Locks the subjects' balance rows in primary-key order (the one lock order: no deadlocks)."""
    ids = sorted(set(subject_ids))
    rows = list(Balance.objects.select_for_update().filter(subject_id__in=ids).order_by("subject_id"))
    return {b.subject_id: b for b in rows}


def post(postings: list[Posting], *, actor) -> list[LedgerEntry]:
    """Appends the entries and moves the balances with F() expressions, in the caller's transaction.

    The caller holds the balance locks (lock_balances) and has checked what it posts; the unique
    idempotency key refuses a second posting of the same thing and the balance constraint refuses
    a negative spendable balance — either raises IntegrityError and the transaction rolls back.
    """
    assert transaction.get_connection().in_atomic_block, "points move inside a transaction"
    entries = [
        LedgerEntry(region_id=p.region_id, subject_id=p.subject_id, kind=p.kind, delta=p.delta,
                    score_delta=p.score_delta, item_id=p.item_id, claim_id=p.claim_id, order_id=p.order_id,
                    reverses_id=p.reverses_id, reference=p.reference[:200], occurred_on=p.occurred_on,
                    actor=actor if getattr(actor, "is_authenticated", False) else None, idempotency_key=p.key)
        for p in postings
    ]
    for entry in entries:
        entry.save(force_insert=True)
    for p in postings:
        spent = -p.delta if p.kind in SPEND_KINDS else 0
        Balance.objects.filter(subject_id=p.subject_id).update(
            spendable=F("spendable") + p.delta, earned=F("earned") + p.score_delta, spent=F("spent") + spent,
            updated_at=timezone.now(),
        )
    return entries
