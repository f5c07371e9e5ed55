"""Demo data for the trust layer: the security administrator's post (三员分立, docs/security.md).

The system administrator ("admin") and the auditor ("auditor") come with the accounts of every
post; the third administrator is added here, with the same demo password.
"""

from collections.abc import Callable

from django.contrib.auth.hashers import make_password

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User


def seed_trust(*, seed: int, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    from .seed import DEMO_PASSWORD

    user, _ = User.objects.get_or_create(
        username="secadmin",
        defaults={"full_name": "安全管理员", "is_demo": True, "password": make_password(DEMO_PASSWORD)},
    )
    Assignment.objects.get_or_create(user=user, role=Role.SECURITY_ADMIN)
    if progress:
        progress("安全管理员账号")
    return {"security_admins": 1}
