"""Holds (法定保存 / litigation hold): set and release, each with a reason, permission and audit row."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.people import access

from .models import PersonalDataErasure, PersonalDataHold

REASON_MIN = 4


def _reason(text, label: str) -> str:
    value = str(text or "").strip()
    if len(value) < REASON_MIN:
        raise ValidationFailed(f"请填写{label}（至少 {REASON_MIN} 个字）", extra={"errors": {"reason": f"{label}太短"}},
                               code="reason_required")
    return value[:200]


@transaction.atomic
def hold_set(*, acting_user, resident_id: int, reason: str) -> PersonalDataHold:
    """Freezes one person's data against the retention schedule (needs privacy.hold; the person in
    scope, else 404). A second open hold, or a hold on data already erased, is refused (400)."""
    require(acting_user, "privacy.hold")
    resident = access.access_resident(acting_user, resident_id, for_update=True)
    text = _reason(reason, "冻结原因")
    if PersonalDataErasure.objects.filter(resident_id=resident.pk).exists():
        raise ValidationFailed("该人员的个人信息已按保存期限删除，无法冻结", code="already_erased")
    if PersonalDataHold.objects.filter(resident_id=resident.pk, released_at__isnull=True).exists():
        raise ValidationFailed("该人员已处于冻结状态", code="already_held")
    try:
        with transaction.atomic():
            hold = PersonalDataHold.objects.create(resident_id=resident.pk, region_id=resident.region_id, reason=text,
                                                   held_by=acting_user, held_at=timezone.now())
    except IntegrityError:  # a racing second hold: the constraint decides
        raise ValidationFailed("该人员已处于冻结状态", code="already_held") from None
    audit_record(actor=acting_user, action="privacy.hold.set", object_type="people.resident",
                 object_id=str(resident.pk), region_code=resident.region_id, changes={"hold": hold.pk}, message=text)
    return hold


@transaction.atomic
def hold_release(*, acting_user, hold_id: int, reason: str) -> PersonalDataHold:
    """Lifts an open hold; the row stays as history. Needs privacy.hold and the person in scope."""
    require(acting_user, "privacy.hold")
    hold = PersonalDataHold.objects.select_for_update().filter(pk=hold_id, released_at__isnull=True).first()
    if hold is None:
        raise NotFound()
    access.access_resident(acting_user, hold.resident_id)  # 404 outside the actor's scope
    text = _reason(reason, "解除原因")
    hold.released_by, hold.released_at, hold.release_reason = acting_user, timezone.now(), text
    hold.save(update_fields=["released_by", "released_at", "release_reason"])
    audit_record(actor=acting_user, action="privacy.hold.release", object_type="people.resident",
                 object_id=str(hold.resident_id), region_code=hold.region_id, changes={"hold": hold.pk}, message=text)
    return hold


def holds_visible_to(user):
    """Open holds on people inside the user's scope, newest first."""
    from gridgov.accounts.policy import region_scope_q

    return (PersonalDataHold.objects.filter(region_scope_q(user, "region__code"), released_at__isnull=True)
            .select_related("resident", "held_by").order_by("-held_at", "-id"))
