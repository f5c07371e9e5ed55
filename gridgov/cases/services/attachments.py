"""Attachments added to a case outside a transition (more photos, a document)."""

from django.db import transaction

from gridgov.core.errors import PermissionDenied

from .. import attachments as files_mod
from ..access import actor_roles, case_scope
from ..choices import FINAL_STATES
from ..models import CaseAttachment
from . import common


@transaction.atomic
def case_attach(*, acting_user, case, files) -> list[CaseAttachment]:
    """Adds checked files to a case the actor works on: a region role covering it, its lead or a helper
    department, or its reporter. Not on a final case (the file would change closed evidence)."""
    case = common.lock(acting_user, case)
    roles = actor_roles(acting_user, case)
    helper = bool(set(case_scope(acting_user).department_ids)
                  & set(case.dispatches.filter(is_active=True).values_list("department_id", flat=True)))
    if not roles and not helper:
        raise PermissionDenied()
    if case.state in FINAL_STATES:
        raise common.Conflict("invalid_transition", "已办结的案件不能再上传附件")
    checked = files_mod.check_all(files)
    if not checked:
        from gridgov.core.errors import ValidationFailed

        raise ValidationFailed("请选择文件", code="required", extra={"field": "files"})
    at = common.now()
    ev = common.event(case, actor=acting_user, action="attach", from_state=case.state, to_state=case.state, at=at,
                      role=common.main_role(roles), data={"count": len(checked)})
    stored = [files_mod.store(case=case, upload=u, ext=ext, uploaded_by=acting_user, event=ev) for u, ext in checked]
    common.audit(acting_user, case, "attach", {"attachments": [a.pk for a in stored]})
    return stored
