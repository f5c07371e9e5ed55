"""Writes of the accounts module: users, assignments, API tokens, login for tokens."""

import secrets
from datetime import timedelta

from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied
from gridgov.core.models import AuditOutcome

from . import tokencache
from .choices import ADMIN_ROLES
from .lockout import MESSAGE
from .models import ApiToken, Assignment, User, hash_token
from .policy import can, forget_scope

TOKEN_PREFIX = "ggv_"


class LockedOut(ApplicationError):
    status = 429

    def __init__(self):
        super().__init__("locked_out", MESSAGE)


def authenticate_for_token(*, request, username: str, password: str) -> User:
    """Checks a password with the same lockout as the login page (django-axes)."""
    try:
        user = authenticate(request=request, username=username, password=password)
    except AxesBackendPermissionDenied:
        user = None
    if getattr(request, "axes_locked_out", False):
        raise LockedOut()
    if user is None:
        raise ApplicationError("invalid_credentials", "用户名或密码错误", status=401)
    return user


@transaction.atomic
def api_token_issue(*, acting_user: User, name: str = "", ttl_days: int | None = None) -> tuple[ApiToken, str]:
    """Issues a bearer token for `acting_user`; returns the row and the raw value (shown once)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    days = ttl_days or settings.API_TOKEN_TTL_DAYS
    token = ApiToken(
        user=acting_user, key_hash=hash_token(raw), prefix=raw[:12], name=name[:100],
        expires_at=timezone.now() + timedelta(days=days),
    )
    token.full_clean()
    token.save()
    audit_record(actor=acting_user, action="api_token.issue", obj=token, changes={"prefix": token.prefix})
    return token, raw


@transaction.atomic
def api_token_revoke(*, acting_user: User, token_id: int) -> ApiToken:
    """Revokes one token. A user revokes their own; the system administrator anyone's."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or (token.user_id != acting_user.pk and not can(acting_user, "accounts.manage")):
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=acting_user, action="api_token.revoke", obj=token, changes={"prefix": token.prefix})
    return token


def api_token_lookup(raw: str, *, cached: bool = False) -> User | None:
    """The user behind a raw bearer token, or None when unknown, expired or revoked.

    `cached` (reads only): a token found valid in the last few seconds is answered from this process's
    memory, with the staleness bound stated in tokencache.py."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    key_hash = hash_token(raw)
    if cached:
        user = tokencache.get(key_hash)
        if user is not None:
            return user
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash).first()
    if token is None or not token.is_valid:
        return None
    now = timezone.now()
    # Touch at most once a minute: a busy client must not turn every read into a write.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    if cached:
        tokencache.put(key_hash, token, token.user)
    return token.user


@transaction.atomic
def user_create(
    *, acting_user: User | None, username: str, password: str, full_name: str = "", is_demo: bool = False
) -> User:
    """Creates a user after checking the password rules (length ≥ 10, not common, not numeric)."""
    if acting_user is not None and not can(acting_user, "accounts.manage"):
        raise PermissionDenied()
    from django.contrib.auth.password_validation import validate_password

    user = User(username=username, full_name=full_name, is_demo=is_demo)
    try:
        validate_password(password, user)
        user.set_password(password)
        user.full_clean()
    except ValidationError as exc:
        raise ApplicationError("invalid_user", "；".join(exc.messages)) from exc
    user.save()
    audit_record(actor=acting_user, action="user.create", obj=user, changes={"username": username})
    return user


@transaction.atomic
def assignment_create(*, acting_user: User | None, user: User, role: str, region=None, department=None) -> Assignment:
    """Gives `user` a role at a region node or in a department, after checking the level fits."""
    if acting_user is not None:
        # Business roles are the system administrator's to give; the three administrator roles
        # only the security administrator's, and never to itself (三员分立).
        needed = "accounts.security" if role in ADMIN_ROLES else "accounts.manage"
        if not can(acting_user, needed) or (role in ADMIN_ROLES and user.pk == acting_user.pk):
            raise PermissionDenied()
    assignment = Assignment(user=user, role=role, region=region, department=department)
    try:
        assignment.full_clean()
    except ValidationError as exc:
        raise ApplicationError("invalid_assignment", "；".join(exc.messages)) from exc
    assignment.save()
    forget_scope(user)
    audit_record(
        actor=acting_user, action="assignment.create", obj=assignment,
        region_code=assignment.region_id or "",
        changes={"user": user.username, "role": role, "department": getattr(department, "code", "")},
    )
    return assignment


def audit_login_event(*, user, username: str, action: str, success: bool, message: str = "") -> None:
    audit_record(
        actor=user, username=username, action=action,
        outcome=AuditOutcome.SUCCESS if success else AuditOutcome.FAILURE, message=message,
        object_type="accounts.user", object_id=str(getattr(user, "pk", "") or ""),
    )
