"""Corrections: a posted entry is never edited; a reversing entry undoes it (冲正)."""

from django.db import transaction

from gridgov.core.audit import audit_record
from gridgov.core.errors import ValidationFailed

from ..access import access_entry
from ..choices import ClaimAction, ClaimStatus, EntryKind
from ..models import Claim, ClaimEvent, LedgerEntry
from ._common import Conflict, Posting, lock_balances, post

REVERSIBLE = (EntryKind.AWARD, EntryKind.DEDUCTION)


def _reversal(entry: LedgerEntry, spendable: int, reason: str) -> Posting:
    """The entry undone. Points already exchanged cannot be taken back from the shop: an award's
    reversal takes back at most what is still spendable (the score is reversed in full)."""
    delta = -entry.delta
    if delta < 0:
        delta = -min(-delta, spendable)
    return Posting(subject_id=entry.subject_id, region_id=entry.region_id, kind=EntryKind.CORRECTION, delta=delta,
                   score_delta=-entry.score_delta, occurred_on=entry.occurred_on, key=f"reverse:{entry.pk}",
                   reference=f"冲正：{reason}", item_id=entry.item_id, claim_id=entry.claim_id, reverses_id=entry.pk)


@transaction.atomic
def entry_reverse(*, acting_user, entry, reason: str) -> list[LedgerEntry]:
    """Reverses an award or a deduction (and the household roll-up it made) with new entries.

    Guarantees: the entry is in the actor's scope (else 404) and the actor holds points.correct
    (else 403); only awards and deductions are reversed here (orders are cancelled instead); an
    entry is reversed at most once (409 already_reversed; the unique `reverses` column holds it
    under concurrency too); the claim moves to 已冲正 with an event; the balance never goes negative.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("请填写冲正原因", code="reason_required", extra={"field": "reason"})
    if len(reason) > 150:
        raise ValidationFailed("冲正原因不能超过 150 字", code="too_long", extra={"field": "reason"})
    original = access_entry(acting_user, entry, permission="points.correct")
    if original.kind not in REVERSIBLE:
        raise Conflict("not_reversible", "只能冲正加分或扣分记录；兑换请撤销订单")
    claim = None
    targets = [original]
    if original.claim_id:
        # The same lock order as approval: the claim row, then the balances.
        claim = Claim.objects.select_for_update().get(pk=original.claim_id)
        targets += list(LedgerEntry.objects.filter(claim_id=original.claim_id, kind=EntryKind.ROLLUP))
    balances = lock_balances([t.subject_id for t in targets])
    if LedgerEntry.objects.filter(reverses__in=targets).exists():
        raise Conflict("already_reversed", "该记录已冲正")
    postings = [_reversal(t, balances[t.subject_id].spendable, reason) for t in targets]
    entries = post(postings, actor=acting_user)
    if claim is not None:
        before = claim.status
        claim.status = ClaimStatus.REVERSED
        claim.save(update_fields=["status"])
        ClaimEvent.objects.create(claim=claim, action=ClaimAction.REVERSE, from_status=before, to_status=claim.status,
                                  actor=acting_user, note=reason)
    audit_record(actor=acting_user, action="points.entry.reverse", obj=entries[0], changes={
        "reverses": original.pk, "delta": entries[0].delta, "score_delta": entries[0].score_delta, "reason": reason,
    })
    return entries
