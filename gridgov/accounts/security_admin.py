"""The security administrator's writes (安全管理员, 三员分立): grant and revoke the three
administrator roles. Granting goes through `services.assignment_create` (its rules: only the
security administrator, never to itself, no account holding two of them); a revoked grant is
deactivated, not deleted, so the history stays, and granting again reactivates it."""

from django.db import transaction

from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied

from .choices import ADMIN_ROLES
from .models import Assignment, User
from .policy import can, forget_scope
from .services import assignment_create


def _check(acting_user: User, user: User, role: str) -> None:
    if not can(acting_user, "accounts.security") or user.pk == acting_user.pk:
        raise PermissionDenied()
    if role not in ADMIN_ROLES:
        raise ApplicationError("invalid_role", "这里只能授予或撤销系统管理员、安全管理员、审计员角色")


@transaction.atomic
def admin_role_grant(*, acting_user: User, user: User, role: str) -> Assignment:
    """Gives `user` an administrator role (reactivating an earlier, revoked grant). Audited."""
    _check(acting_user, user, role)
    old = Assignment.objects.select_for_update().filter(user=user, role=role, region=None, department=None).first()
    if old is None:
        return assignment_create(acting_user=acting_user, user=user, role=role)
    if old.is_active:
        raise ApplicationError("already_granted", "该用户已有此角色")
    old.is_active = True
    try:
        old.full_clean()  # the other administrator roles may have been granted since
    except Exception as exc:
        raise ApplicationError("invalid_assignment", "；".join(getattr(exc, "messages", [str(exc)]))) from exc
    old.save(update_fields=["is_active"])
    forget_scope(user)
    audit_record(actor=acting_user, action="assignment.create", obj=old,
                 changes={"user": user.username, "role": role, "department": "", "reactivated": True})
    return old


@transaction.atomic
def admin_role_revoke(*, acting_user: User, assignment_id: int) -> Assignment:
    """Takes an administrator role away (never one's own). Audited as assignment.revoke."""
    assignment = (Assignment.objects.select_for_update().select_related("user")
                  .filter(pk=assignment_id, role__in=ADMIN_ROLES, is_active=True).first())
    if assignment is None:
        raise NotFound()
    _check(acting_user, assignment.user, assignment.role)
    assignment.is_active = False
    assignment.save(update_fields=["is_active"])
    forget_scope(assignment.user)
    audit_record(actor=acting_user, action="assignment.revoke", obj=assignment,
                 changes={"user": assignment.user.username, "role": assignment.role})
    return assignment
