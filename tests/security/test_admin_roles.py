"""三员分立: system, security and audit administration are separate, and none grants itself more."""

import pytest

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User
from gridgov.accounts.services import assignment_create
from gridgov.core.errors import ApplicationError, PermissionDenied
from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, user_with_role
from gridgov.regions.models import Region

pytestmark = pytest.mark.django_db


def _holder(role, username):
    user = User.objects.create_user(username=username, password="Pw-for-tests-2026")
    Assignment.objects.create(user=user, role=role)
    return user


@pytest.fixture
def secadmin():
    return _holder(Role.SECURITY_ADMIN, "sec-test")


def test_only_the_auditor_reads_the_audit_log(secadmin):
    assert ApiClient(user_with_role(Role.AUDITOR)).get("audit")[0] == 200
    for user in (user_with_role(Role.SYSADMIN), secadmin):
        assert_error(*ApiClient(user).get("audit"), 403, "permission_denied")


def test_the_system_administrator_cannot_grant_itself_or_anyone_an_administrator_role():
    admin = user_with_role(Role.SYSADMIN)
    newcomer = User.objects.create_user(username="newcomer-1", password="Pw-for-tests-2026")
    before = Assignment.objects.count(), AuditEntry.objects.count()
    for target in (admin, newcomer):
        for role in (Role.AUDITOR, Role.SECURITY_ADMIN, Role.SYSADMIN):
            with pytest.raises(PermissionDenied):
                assignment_create(acting_user=admin, user=target, role=role)
    assert (Assignment.objects.count(), AuditEntry.objects.count()) == before
    # Business roles stay the system administrator's to give.
    assignment_create(acting_user=admin, user=newcomer, role=Role.CITY_OPERATOR, region=Region.objects.get(pk="420881"))


def test_the_security_administrator_grants_administrator_roles_but_not_to_itself(secadmin):
    auditor2 = User.objects.create_user(username="auditor-2", password="Pw-for-tests-2026")
    grant = assignment_create(acting_user=secadmin, user=auditor2, role=Role.AUDITOR)
    entry = AuditEntry.objects.filter(action="assignment.create").latest("id")
    assert entry.actor == secadmin and entry.changes["role"] == Role.AUDITOR and grant.pk
    with pytest.raises(PermissionDenied):
        assignment_create(acting_user=secadmin, user=secadmin, role=Role.AUDITOR)
    # Business roles are not the security administrator's.
    with pytest.raises(PermissionDenied):
        assignment_create(acting_user=secadmin, user=auditor2, role=Role.CITY_OPERATOR,
                          region=Region.objects.get(pk="420881"))


def test_no_account_holds_two_administrator_roles(secadmin):
    admin = user_with_role(Role.SYSADMIN)
    before = Assignment.objects.filter(user=admin).count()
    for role in (Role.AUDITOR, Role.SECURITY_ADMIN):
        with pytest.raises(ApplicationError, match="三员分立"):
            assignment_create(acting_user=secadmin, user=admin, role=role)
    assert Assignment.objects.filter(user=admin).count() == before


def test_the_demo_has_a_security_administrator_apart_from_the_others():
    from gridgov.demo.trust import seed_trust

    assert seed_trust(seed=1) == {"security_admins": 1}
    seed_trust(seed=1)  # idempotent: a second run adds nothing
    holders = Assignment.objects.filter(role=Role.SECURITY_ADMIN, user__username="secadmin")
    assert holders.count() == 1
    assert not Assignment.objects.filter(user__username="secadmin").exclude(role=Role.SECURITY_ADMIN).exists()
