"""Privacy actions on one person: a logged reveal, and the PIPL access-request copy."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from gridgov.accounts.policy import can, require
from gridgov.core.audit import audit_record
from gridgov.core.errors import PermissionDenied
from gridgov.core.models import AuditOutcome

from .. import access
from ..presenters import REVEALABLE_FIELDS
from ._common import _invalid, _reason


def resident_reveal(*, acting_user, resident_id: int, fields: Iterable[str], reason: str) -> dict[str, str]:
    """Returns the plaintext of masked fields, after a stated reason; the reveal is audited.

    Needs people.reveal and a reason of at least 4 characters. The audit row (action
    people.reveal) names who, whom (the resident's id and grid), which fields and, as its
    message, why. A refused attempt on a visible person is audited as a failure.
    """
    resident = access.access_resident(acting_user, resident_id)
    wanted = list(dict.fromkeys(fields or []))
    unknown = [f for f in wanted if f not in REVEALABLE_FIELDS]
    if not wanted or unknown:
        allowed = "、".join(f"{k}（{v}）" for k, v in REVEALABLE_FIELDS.items())
        raise _invalid({"fields": f"请选择要查看的信息，可选：{allowed}"}, "invalid_fields")
    if not can(acting_user, "people.reveal"):
        # Recorded before refusing and outside a transaction of its own: the attempt stays on record.
        audit_record(actor=acting_user, action="people.reveal", obj=resident, changes={"fields": wanted},
                     outcome=AuditOutcome.FAILURE, message="无查看权限，已拒绝")
        raise PermissionDenied("您没有查看完整个人信息的权限")
    text = _reason(reason, "查看原因")
    with transaction.atomic():
        audit_record(actor=acting_user, action="people.reveal", obj=resident, changes={"fields": wanted},
                     message=text)
    return {f: getattr(resident, f) for f in wanted}


@dataclass(frozen=True)
class SubjectAccessPackage:
    data: dict[str, Any]
    xlsx: bytes
    filename: str


@transaction.atomic
def resident_subject_access_export(*, acting_user, resident_id: int, reason: str) -> SubjectAccessPackage:
    """What the platform holds on one person, for their access request: JSON and an .xlsx copy.

    Plaintext personal data (it is the person's own); care tags limited to the levels the
    acting user may see, with a note where more may be held; the processing record (who did
    what, when and why) without naming staff accounts. Logged as people.subject_access.
    """
    from ..export import subject_access_data, subject_access_workbook

    resident = access.access_resident(acting_user, resident_id)
    require(acting_user, "people.subject_access")
    text = _reason(reason, "申请说明")
    data = subject_access_data(user=acting_user, resident=resident)
    audit_record(actor=acting_user, action="people.subject_access", obj=resident,
                 changes={"care_tags": len(data["care_tags"]), "records": len(data["processing_records"])},
                 message=text)
    filename = f"个人信息副本-{resident.pk}-{timezone.localdate():%Y%m%d}.xlsx"
    return SubjectAccessPackage(data=data, xlsx=subject_access_workbook(data), filename=filename)
