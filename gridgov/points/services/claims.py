"""Claims (积分申报): entered by the grid worker, verified by a village cadre, and — above the
threshold — approved by the village committee before anything is posted.

Workflow (one service per transition, an event row each):

    submit            → pending      points.claim (grid worker, grid administrator)
    pending   approve → posted       points.verify, a committee member of the claim's village,
                                     when the claim needs one approval
    pending/collective approve → collective, or posted once `quorum` DISTINCT members approved
    pending/collective reject  → rejected (with a reason): at once for a one-approval claim; for a
                                     collective one when the members left can no longer make quorum
    posted    reverse (services.ledger.entry_reverse) → reversed

A member's second vote counts once (a repeat of the same vote changes nothing; the opposite vote is
refused). Whoever entered a claim, or is its subject, does not vote on it. Caps are checked when the
claim is entered and again, under the subject's balance lock, when it posts.
"""

import calendar
from datetime import date, timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.core.errors import PermissionDenied, ValidationFailed
from gridgov.core.uploads import PHOTOS, real_type

from ..access import _pk, access_claim, access_subject, committee_members, is_committee_member
from ..choices import (
    CapPeriod,
    ClaimAction,
    ClaimChannel,
    ClaimSource,
    ClaimStatus,
    EntryKind,
    SubjectKind,
    Vote,
)
from ..models import Claim, ClaimEvent, ClaimVote, Item, LedgerEntry
from ._common import Conflict, Posting, idempotency_key, lock_balances, post, public_text, scheme_for
from .subjects import household_subject_for

MAX_AGE_DAYS = 366
MAX_DESCRIPTION = 2000
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
OPEN = (ClaimStatus.PENDING, ClaimStatus.COLLECTIVE)


# --- caps ----------------------------------------------------------------------------------------------


def period_bounds(period: str, day: date) -> tuple[date, date] | None:
    if period == CapPeriod.MONTH:
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if period == CapPeriod.YEAR:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    return None


def cap_check(subject_id: int, item: Item, points: int, occurred_on: date) -> None:
    """Refuses (409 cap_exceeded) a posting that would take the subject past the item's cap in the
    period holding `occurred_on`. Reversed entries do not count."""
    if item.cap_period == CapPeriod.NONE or not (item.cap_times or item.cap_points):
        return
    qs = LedgerEntry.objects.filter(subject_id=subject_id, item=item, kind__in=[EntryKind.AWARD, EntryKind.DEDUCTION],
                                    reversed_by__isnull=True)
    bounds = period_bounds(item.cap_period, occurred_on)
    if bounds:
        qs = qs.filter(occurred_on__range=bounds)
    used = qs.aggregate(times=Count("id"), points=Sum("score_delta"))
    times, total = used["times"] or 0, abs(used["points"] or 0)
    period = item.get_cap_period_display()
    if item.cap_times and times + 1 > item.cap_times:
        raise Conflict("cap_exceeded", f"“{item.name}”{period}最多记 {item.cap_times} 次，该对象已记 {times} 次",
                       extra={"cap_times": item.cap_times, "used_times": times})
    if item.cap_points and total + points > item.cap_points:
        left = max(item.cap_points - total, 0)
        raise Conflict("cap_exceeded", f"“{item.name}”{period}最多 {item.cap_points} 分，该对象已记 {total} 分，"
                                       f"还可记 {left} 分",
                       extra={"cap_points": item.cap_points, "used_points": total, "left": left})


# --- submit ----------------------------------------------------------------------------------------------


def _sniff_evidence(upload: UploadedFile) -> str:
    if not upload.size:
        raise ValidationFailed("证明材料附件为空", code="invalid_evidence", extra={"field": "evidence_file"})
    if upload.size > MAX_EVIDENCE_BYTES:
        raise ValidationFailed("证明材料附件不能超过 10 MB", code="evidence_too_large",
                               extra={"field": "evidence_file"})
    kind = real_type(upload)
    if kind in PHOTOS | {"pdf"}:
        return kind
    raise ValidationFailed("证明材料只接受 JPEG、PNG、WebP 图片或 PDF", code="invalid_evidence",
                           extra={"field": "evidence_file"})


def _item(value) -> Item:
    if isinstance(value, str) and not value.isdigit():
        item = Item.objects.filter(code=value.strip().upper(), is_active=True).first()
    else:
        item = Item.objects.filter(pk=_pk(value), is_active=True).first()
    if item is None:
        raise ValidationFailed("积分项目不存在或已停用", code="invalid_item", extra={"field": "item"})
    return item


def _points(item: Item, points) -> int:
    if points in (None, ""):
        if item.is_fixed:
            return item.points_min
        raise ValidationFailed(f"“{item.name}”的分值为 {item.points_min}~{item.points_max} 分，请填写分值",
                               code="points_required", extra={"field": "points"})
    try:
        value = int(points)
    except (TypeError, ValueError):
        raise ValidationFailed("分值应为整数", code="invalid_points", extra={"field": "points"}) from None
    if not item.points_min <= value <= item.points_max:
        raise ValidationFailed(f"“{item.name}”的分值应在 {item.points_min}~{item.points_max} 分之间",
                               code="points_out_of_range", extra={"field": "points", "min": item.points_min,
                                                                  "max": item.points_max})
    return value


def _replay(existing: Claim, *, acting_user, subject_id: int, item: Item, points) -> Claim:
    same = (existing.entered_by_id == acting_user.pk and existing.subject_id == subject_id
            and existing.item_id == item.pk and (points in (None, "") or int(points) == existing.points))
    if not same:
        raise Conflict("idempotency_key_reused", "该幂等键已用于另一条申报", extra={"claim": existing.pk})
    existing.replayed = True
    return existing


def claim_submit(*, acting_user, subject, item, occurred_on: date, description: str, channel: str, source: str,
                 points: int | None = None, public_reason: str = "", reporter_name: str = "", evidence: str = "",
                 evidence_file: UploadedFile | None = None, idempotency_key_value: str | None = None) -> Claim:
    """Enters a claim for a subject in the actor's scope.

    Guarantees: the item is active and applies to the subject's kind; the points lie in its range (a
    fixed item needs none); the deed is not in the future nor more than a year old; the evidence the
    item requires is given; the public reason (shown on the notice board) holds no phone or ID
    number; the cap would not be exceeded by what is already posted. The scheme in force decides
    whether the committee must approve, and with how many members (kept on the claim). A repeated
    idempotency key from the same worker returns the claim already entered (`claim.replayed`).
    """
    require(acting_user, "points.claim")
    key = idempotency_key(idempotency_key_value)
    item_obj = _item(item)
    if key:
        existing = Claim.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return _replay(existing, acting_user=acting_user, subject_id=_pk(subject), item=item_obj, points=points)
    try:
        return _submit(acting_user=acting_user, subject=subject, item=item_obj, occurred_on=occurred_on,
                       description=description, channel=channel, source=source, points=points,
                       public_reason=public_reason, reporter_name=reporter_name, evidence=evidence,
                       evidence_file=evidence_file, key=key)
    except IntegrityError:
        existing = Claim.objects.filter(idempotency_key=key).first() if key else None
        if existing is None:
            raise
        return _replay(existing, acting_user=acting_user, subject_id=_pk(subject), item=item_obj, points=points)


@transaction.atomic
def _submit(*, acting_user, subject, item: Item, occurred_on, description, channel, source, points, public_reason,
            reporter_name, evidence, evidence_file, key) -> Claim:
    subject_obj = access_subject(acting_user, subject, permission="points.claim")
    if subject_obj.kind not in (item.subject_kinds or []):
        raise ValidationFailed(f"“{item.name}”不适用于{subject_obj.get_kind_display()}", code="item_not_for_subject",
                               extra={"field": "item"})
    value = _points(item, points)
    today = timezone.localdate()
    if not isinstance(occurred_on, date):
        raise ValidationFailed("请填写发生日期", code="invalid_date", extra={"field": "occurred_on"})
    if occurred_on > today:
        raise ValidationFailed("发生日期不能晚于今天", code="date_in_future", extra={"field": "occurred_on"})
    if occurred_on < today - timedelta(days=MAX_AGE_DAYS):
        raise ValidationFailed("只能申报一年以内的事项", code="date_too_old", extra={"field": "occurred_on"})
    description = (description or "").strip()
    if not description:
        raise ValidationFailed("请填写事实经过", code="description_required", extra={"field": "description"})
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"事实经过不能超过 {MAX_DESCRIPTION} 字", code="too_long",
                               extra={"field": "description"})
    reason = public_text(public_reason or item.name, field="public_reason", label="公示事由", max_length=200)
    if channel not in ClaimChannel.values:
        raise ValidationFailed("反映渠道不正确", code="invalid_channel", extra={"field": "channel"})
    if source not in ClaimSource.values:
        raise ValidationFailed("申报方式不正确", code="invalid_source", extra={"field": "source"})
    reporter_name = (reporter_name or "").strip()[:50]
    if source == ClaimSource.NEIGHBOUR and not reporter_name:
        raise ValidationFailed("邻里帮报请填写反映人", code="reporter_required", extra={"field": "reporter_name"})
    evidence = (evidence or "").strip()
    if len(evidence) > 500:
        raise ValidationFailed("证明材料说明不能超过 500 字", code="too_long", extra={"field": "evidence"})
    if item.evidence_required and not evidence and evidence_file is None:
        raise ValidationFailed(f"“{item.name}”须提供证明材料：{item.evidence_hint or '请说明或上传'}",
                               code="evidence_required", extra={"field": "evidence"})
    cap_check(subject_obj.pk, item, value, occurred_on)
    scheme = scheme_for(subject_obj.region_id)
    collective = value > scheme.collective_threshold
    claim = Claim(region_id=subject_obj.region_id, subject=subject_obj, item=item, points=value,
                  occurred_on=occurred_on, description=description, public_reason=reason, channel=channel,
                  source=source, reporter_name=reporter_name, evidence=evidence, needs_collective=collective,
                  quorum=scheme.committee_quorum if collective else 1, entered_by=acting_user, idempotency_key=key)
    if evidence_file is not None:
        ext = _sniff_evidence(evidence_file)
        evidence_file.name = f"{timezone.now():%Y%m%d%H%M%S}-{subject_obj.pk}.{ext}"
        claim.evidence_file = evidence_file
    claim.full_clean(exclude=["region", "subject", "item", "entered_by", "evidence_file", "idempotency_key"])
    claim.save(force_insert=True)
    ClaimEvent.objects.create(claim=claim, action=ClaimAction.SUBMIT, to_status=claim.status, actor=acting_user,
                              note=f"{claim.get_source_display()}·{claim.get_channel_display()}")
    audit_record(actor=acting_user, action="points.claim.submit", obj=claim, changes={
        "subject": subject_obj.pk, "item": item.code, "points": claim.signed_points, "channel": channel,
        "source": source, "needs_collective": collective, "quorum": claim.quorum,
    })
    claim.replayed = False
    return claim


# --- decide ----------------------------------------------------------------------------------------------


def _eligible_members(claim: Claim) -> set[int]:
    """Committee members who may vote on this claim (not whoever entered it or is its subject)."""
    members = committee_members(claim.village_code)
    members.discard(claim.entered_by_id)
    if claim.subject.user_id:
        members.discard(claim.subject.user_id)
    return members


def _open_for_vote(acting_user, claim_id) -> Claim:
    """The claim, locked, if the actor may vote on it now."""
    require(acting_user, "points.verify")
    claim = access_claim(acting_user, claim_id, permission="points.verify", for_update=True)
    if not is_committee_member(acting_user, claim.village_code):
        # A cadre of another village cannot see the claim at all (scope); a cadre of a town above it
        # or anyone else may see it but is not on this committee.
        raise PermissionDenied("只有本村村委成员可以审核该申报", extra={"reason": "not_committee_member"})
    if acting_user.pk == claim.entered_by_id or (claim.subject.user_id and acting_user.pk == claim.subject.user_id):
        raise PermissionDenied("不能审核本人录入或本人获得的积分", extra={"reason": "own_claim"})
    return claim


def _event(claim: Claim, action: str, from_status: str, actor, note: str = "") -> None:
    ClaimEvent.objects.create(claim=claim, action=action, from_status=from_status, to_status=claim.status,
                              actor=actor, note=note[:300])


def _existing_vote(claim: Claim, acting_user, decision: str) -> bool:
    """True when the member already cast this vote (a repeat counts once); refuses a changed vote."""
    vote = ClaimVote.objects.filter(claim=claim, member=acting_user).first()
    if vote is None:
        return False
    if vote.decision != decision:
        raise Conflict("already_voted", f"您已对该申报表示“{vote.get_decision_display()}”，不能更改")
    return True


@transaction.atomic
def claim_approve(*, acting_user, claim, note: str = "") -> Claim:
    """A committee member's approval (核实同意). Posts the claim once enough distinct members approved.

    Refused: outside scope (404), not a member of this village's committee or own claim (403), not
    open (409 wrong_state), the cap would be exceeded at posting (409 cap_exceeded, and the vote is
    not recorded either). A repeated approval by the same member returns the claim unchanged.
    """
    claim_obj = _open_for_vote(acting_user, claim)
    if claim_obj.status not in OPEN:
        raise Conflict("wrong_state", f"该申报{claim_obj.get_status_display()}，不能再审核")
    if _existing_vote(claim_obj, acting_user, Vote.APPROVE):
        claim_obj.replayed = True
        return claim_obj
    ClaimVote.objects.create(claim=claim_obj, member=acting_user, decision=Vote.APPROVE, reason=(note or "")[:300])
    approvals = (ClaimVote.objects.filter(claim=claim_obj, decision=Vote.APPROVE)
                 .values("member").distinct().count())
    before = claim_obj.status
    claim_obj.status = ClaimStatus.COLLECTIVE if claim_obj.needs_collective else claim_obj.status
    if claim_obj.status != before:
        claim_obj.save(update_fields=["status"])
    _event(claim_obj, ClaimAction.APPROVE, before, acting_user,
           f"同意（{approvals}/{claim_obj.quorum}）" + (f"：{note}" if note else ""))
    if approvals >= claim_obj.quorum:
        _post_claim(claim_obj, acting_user)
    audit_record(actor=acting_user, action="points.claim.approve", obj=claim_obj, changes={
        "approvals": approvals, "quorum": claim_obj.quorum, "status": claim_obj.status,
    })
    claim_obj.replayed = False
    return claim_obj


@transaction.atomic
def claim_reject(*, acting_user, claim, reason: str) -> Claim:
    """A committee member's rejection, with a reason. A one-approval claim is rejected at once; a
    collective one once the eligible members left can no longer make its quorum."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("请填写不同意的理由", code="reason_required", extra={"field": "reason"})
    if len(reason) > 300:
        raise ValidationFailed("理由不能超过 300 字", code="too_long", extra={"field": "reason"})
    claim_obj = _open_for_vote(acting_user, claim)
    if claim_obj.status not in OPEN:
        raise Conflict("wrong_state", f"该申报{claim_obj.get_status_display()}，不能再审核")
    if _existing_vote(claim_obj, acting_user, Vote.REJECT):
        claim_obj.replayed = True
        return claim_obj
    ClaimVote.objects.create(claim=claim_obj, member=acting_user, decision=Vote.REJECT, reason=reason)
    before = claim_obj.status
    rejections = ClaimVote.objects.filter(claim=claim_obj, decision=Vote.REJECT).count()
    if claim_obj.needs_collective:
        eligible = _eligible_members(claim_obj)
        approvals = ClaimVote.objects.filter(claim=claim_obj, decision=Vote.APPROVE, member_id__in=eligible).count()
        undecided = len(eligible) - approvals - ClaimVote.objects.filter(
            claim=claim_obj, decision=Vote.REJECT, member_id__in=eligible).count()
        rejected = approvals + max(undecided, 0) < claim_obj.quorum
    else:
        rejected = True
    if rejected:
        claim_obj.status = ClaimStatus.REJECTED
        claim_obj.reject_reason = reason
        claim_obj.decided_at = timezone.now()
        claim_obj.save(update_fields=["status", "reject_reason", "decided_at"])
        _event(claim_obj, ClaimAction.REFUSE, before, acting_user, reason)
    else:
        if claim_obj.status == ClaimStatus.PENDING:
            claim_obj.status = ClaimStatus.COLLECTIVE
            claim_obj.save(update_fields=["status"])
        _event(claim_obj, ClaimAction.REJECT, before, acting_user, f"不同意（{rejections} 人）：{reason}")
    audit_record(actor=acting_user, action="points.claim.reject", obj=claim_obj, changes={
        "rejections": rejections, "status": claim_obj.status, "reason": reason,
    })
    claim_obj.replayed = False
    return claim_obj


def _post_claim(claim: Claim, actor) -> None:
    """Posts an approved claim: the subject's entry and, where the scheme rolls up, the household's.

    Balances are locked first (in subject order), then the cap is checked again, so two claims of
    one subject cannot both slip under it.
    """
    subject = claim.subject
    item = claim.item
    scheme = scheme_for(claim.region_id)
    household = None
    if scheme.household_rollup and subject.kind == SubjectKind.RESIDENT and subject.resident_id:
        household = household_subject_for(subject.resident_id)
    balances = lock_balances([subject.pk] + ([household.pk] if household else []))
    cap_check(subject.pk, item, claim.points, claim.occurred_on)
    if item.is_deduction:
        kind, score = EntryKind.DEDUCTION, -claim.points
        delta = -min(claim.points, balances[subject.pk].spendable)
    else:
        kind, score, delta = EntryKind.AWARD, claim.points, claim.points
    reference = f"{item.name}：{claim.public_reason}" if claim.public_reason != item.name else item.name
    postings = [Posting(subject_id=subject.pk, region_id=subject.region_id, kind=kind, delta=delta, score_delta=score,
                        occurred_on=claim.occurred_on, key=f"claim:{claim.pk}", reference=reference, item_id=item.pk,
                        claim_id=claim.pk)]
    if household is not None:
        postings.append(Posting(subject_id=household.pk, region_id=household.region_id, kind=EntryKind.ROLLUP,
                                delta=0, score_delta=score, occurred_on=claim.occurred_on,
                                key=f"claim:{claim.pk}:rollup", reference=f"{subject.name}：{item.name}",
                                item_id=None, claim_id=claim.pk))
    post(postings, actor=actor)
    before = claim.status
    claim.status = ClaimStatus.POSTED
    claim.decided_at = timezone.now()
    claim.save(update_fields=["status", "decided_at"])
    _event(claim, ClaimAction.POST, before, actor, f"{claim.signed_points:+d} 分入账")

