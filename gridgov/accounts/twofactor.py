"""Two-factor login (TOTP, RFC 6238) for the posts that can see or change the most (MLPS level 3).

Required for city operators, department heads and the three administrators. The password form
only *starts* a login for them: Django's `login()` runs after the second factor, both for pages
(views_2fa.py) and for the API token exchange (api.py), so nothing else needs to know about it.
"""

import hashlib
import secrets
from datetime import timedelta

import pyotp
from django.db import transaction
from django.utils import timezone

from gridgov.core.audit import audit_record
from gridgov.core.models import AuditOutcome

from .choices import Role
from .models import RecoveryCode, TotpDevice, User
from .policy import get_scope

REQUIRED_ROLES = frozenset({Role.CITY_OPERATOR, Role.DEPT_HEAD, Role.SYSADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})
ISSUER = "钟祥网格化平台"
RECOVERY_CODES = 10
# One step either side: phones' clocks drift a little, and a code typed at a step's end still counts.
VALID_WINDOW = 1
MAX_FAILURES = 5
LOCK_MINUTES = 30


def required_for(user) -> bool:
    return bool(get_scope(user).roles & REQUIRED_ROLES) or TotpDevice.objects.filter(user=user).exists()


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=ISSUER)


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()


def _matching_step(secret: str, code: str, *, after: int = 0) -> int | None:
    """The time step `code` belongs to (within the window, later than `after`), or None."""
    code = _clean(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if step > after and secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash_code(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


@transaction.atomic
def enrol(*, user: User, secret: str, code: str) -> list[str] | None:
    """Confirms a new authenticator with its first code; returns fresh recovery codes (shown once)."""
    step = _matching_step(secret, code)
    if step is None:
        audit_record(actor=user, action="auth.2fa.enrol", outcome=AuditOutcome.FAILURE, obj=user,
                     message="验证码错误")
        return None
    TotpDevice.objects.update_or_create(user=user, defaults={"secret": secret, "last_step": step,
                                                             "confirmed_at": timezone.now()})
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, code_hash=_hash_code(c)) for c in codes])
    audit_record(actor=user, action="auth.2fa.enrol", obj=user, changes={"recovery_codes": len(codes)})
    return codes


def recent_failures(user: User) -> int:
    from gridgov.core.models import AuditEntry

    since = timezone.now() - timedelta(minutes=LOCK_MINUTES)
    return AuditEntry.objects.filter(action="auth.2fa", object_id=str(user.pk), outcome=AuditOutcome.FAILURE,
                                     created_at__gte=since).count()


@transaction.atomic
def verify(*, user: User, code: str) -> bool:
    """Checks a TOTP code (each step once) or an unused recovery code; audits the outcome.
    After MAX_FAILURES wrong codes in LOCK_MINUTES every code is refused (no guessing through the API)."""
    device = TotpDevice.objects.select_for_update().filter(user=user).first()
    ok, how = False, "totp"
    if recent_failures(user) >= MAX_FAILURES:
        device = None
    if device is not None:
        step = _matching_step(device.secret, code, after=device.last_step)
        if step is not None:
            device.last_step = step
            device.save(update_fields=["last_step"])
            ok = True
        else:
            how = "recovery"
            used = RecoveryCode.objects.filter(user=user, code_hash=_hash_code(code), used_at__isnull=True).update(
                used_at=timezone.now())
            ok = used == 1
    audit_record(actor=user if ok else None, username=user.get_username(), action="auth.2fa",
                 object_type="accounts.user", object_id=str(user.pk),
                 outcome=AuditOutcome.SUCCESS if ok else AuditOutcome.FAILURE,
                 changes={"method": how} if ok else {}, message="" if ok else "动态验证码错误")
    return ok


@transaction.atomic
def reset(*, acting_user: User, user: User) -> None:
    """The security administrator removes a lost authenticator; the user enrols again at next login."""
    from gridgov.core.errors import PermissionDenied

    from .policy import can

    if not can(acting_user, "accounts.security") or acting_user.pk == user.pk:
        raise PermissionDenied()
    TotpDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    audit_record(actor=acting_user, action="auth.2fa.reset", obj=user, changes={"user": user.username})
