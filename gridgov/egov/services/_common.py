"""Helpers shared by the egov services: time of a step, errors, the timeline, notifications, replay."""

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.policy import PERMISSIONS, can, get_scope
from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed

from .. import access
from ..choices import Action, NotificationChannel, NotificationStatus
from ..models import Application, ApplicationEvent, Notification, ServiceItem
from . import workflow

CLOCK_SKEW = timedelta(minutes=5)
REASON_MIN = 4
REASON_MAX = 500
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class Conflict(ApplicationError):
    status = 409


def invalid(errors: Mapping[str, str], code: str = "invalid") -> ValidationFailed:
    message = "；".join(errors.values()) or "输入有误"
    return ValidationFailed(message, extra={"errors": dict(errors)}, code=code)


def full_clean(obj, exclude: list[str], *, constraints: bool = True) -> None:
    """`full_clean()` with Django's errors turned into the one error shape (400, field messages)."""
    try:
        obj.full_clean(exclude=exclude, validate_constraints=constraints)
    except ValidationError as exc:
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        raise invalid({k: "；".join(v) for k, v in messages.items()}) from None


def moment(at: datetime | None, *, not_before: datetime | None = None) -> datetime:
    """When the step happens: now, or a past moment given by the demo or an import (never the API).
    A step cannot be dated in the future, nor before the application's previous step."""
    now = timezone.now()
    if at is None:
        at = now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + CLOCK_SKEW:
        raise invalid({"at": "办理时间不能晚于当前时间"}, "time_in_future")
    if not_before is not None and at < not_before:
        raise invalid({"at": f"办理时间不能早于上一环节（{timezone.localtime(not_before):%Y-%m-%d %H:%M}）"},
                      "time_out_of_order")
    return at


def reason_text(value: Any, what: str, field: str = "reason", *, required: bool = True) -> str:
    text = str(value or "").strip()
    if not required and len(text) <= REASON_MAX:
        return text
    if len(text) < REASON_MIN:
        raise invalid({field: f"请填写{what}（至少 {REASON_MIN} 个字）"}, "reason_required")
    if len(text) > REASON_MAX:
        raise invalid({field: f"{what}不能超过 {REASON_MAX} 字"}, "reason_too_long")
    return text


def check_key(key: str | None) -> str | None:
    if key in (None, ""):
        return None
    if not _KEY.match(str(key)):
        raise invalid({"idempotency_key": "幂等键应为 1-64 位字母、数字或 _ . : -"}, "invalid_idempotency_key")
    return str(key)


def acting_role(user, permission: str) -> str:
    """The role in which the user takes a step (the first of their roles that holds the permission)."""
    allowed = PERMISSIONS.get(permission, frozenset())
    roles = [r for r in Role.values if r in get_scope(user).roles and r in allowed]
    return roles[0] if roles else ""


def replay_of(application: Application, action: str, key: str | None) -> bool:
    """True when this step was already taken with this idempotency key (a retry): the caller answers
    with the application as it is. A key used for another step or application is a 409."""
    if not key:
        return False
    event = ApplicationEvent.objects.filter(idempotency_key=key).only("application_id", "action").first()
    if event is None:
        return False
    if event.application_id == application.pk and event.action == action:
        return True
    raise Conflict("idempotency_conflict", "该幂等键已用于其他办理操作，请为新的操作生成新的幂等键")


def begin(acting_user, application_id, action: str, idempotency_key: str | None):
    """Locks the application for a step: 404 if not visible, 403 if the role may never take the step,
    a replay if the key was used for this very step, 409 if the state does not allow it.
    Returns (application with its item loaded, replayed)."""
    key = check_key(idempotency_key)
    app = access.access_application(acting_user, application_id, for_update=True)
    if not workflow.may_try(acting_user, action):
        raise PermissionDenied()
    app.item = ServiceItem.objects.get(pk=app.item_id)
    if replay_of(app, action, key):
        app.replayed = True
        return app, True
    permission = workflow.permission_for(action, app.state)
    if permission is None:
        raise Conflict("wrong_state", f"申请当前状态为“{app.get_state_display()}”，不能{Action(action).label}",
                       extra={"state": app.state})
    if not can(acting_user, permission):
        raise PermissionDenied(f"您的岗位不能在“{app.get_state_display()}”环节{Action(action).label}")
    app.replayed = False
    return app, False


def last_step_at(app: Application) -> datetime | None:
    return ApplicationEvent.objects.filter(application=app).order_by("-at", "-id").values_list("at", flat=True).first()


def record_event(app: Application, *, action: str, actor, permission: str, from_state: str, to_state: str,
                 at: datetime, note: str = "", data: dict | None = None,
                 idempotency_key: str | None = None) -> ApplicationEvent:
    """Appends a step to the timeline. A concurrent use of the same idempotency key is a 409."""
    event = ApplicationEvent(
        application=app, action=action, from_state=from_state, to_state=to_state, actor=actor,
        actor_name=(getattr(actor, "full_name", "") or actor.get_username())[:150] if actor else "",
        actor_role=acting_role(actor, permission) if actor else "", note=note[:500], data=data or {}, at=at,
        idempotency_key=idempotency_key or None,
    )
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        raise Conflict("idempotency_conflict", "该幂等键已被使用，请勿重复提交") from None
    return event


def notify(app: Application, event: ApplicationEvent, text: str) -> None:
    """The applicant (by SMS, sent once the intake module has a gateway) and the agent (in the platform)."""
    text = text[:300]
    Notification.objects.bulk_create([
        Notification(application=app, event=event, recipient_resident_id=app.applicant_id,
                     channel=NotificationChannel.SMS, status=NotificationStatus.PENDING, text=text,
                     created_at=event.at),
        Notification(application=app, event=event, recipient_user_id=app.agent_id, channel=NotificationChannel.SITE,
                     status=NotificationStatus.DELIVERED, text=text, created_at=event.at),
    ])


def ensure_visible(acting_user, app: Application) -> None:
    """After a write the application must still be inside the actor's scope, or all rolls back."""
    if not Application.objects.visible_to(acting_user).filter(pk=app.pk).exists():
        raise NotFound()


def audit(actor, action: str, app: Application, changes: dict[str, Any], message: str = "") -> None:
    audit_record(actor=actor, action=f"egov.application.{action}", obj=app, changes=changes, message=message)
