"""The security administrator's pages: grant and revoke the three administrator roles, reset a
second factor; every other role is refused and nothing changes."""

import pytest
from django.test import Client

from gridgov.accounts import twofactor
from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, RecoveryCode, TotpDevice, User
from gridgov.accounts.policy import can
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role

pytestmark = pytest.mark.django_db
PASSWORD = "Pw-for-tests-2026"


def _holder(role, username):
    user = User.objects.create_user(username=username, password=PASSWORD)
    Assignment.objects.create(user=user, role=role)
    return user


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def secadmin():
    return _holder(Role.SECURITY_ADMIN, "sec-page-test")


@pytest.fixture
def newcomer():
    return User.objects.create_user(username="newcomer-page", password=PASSWORD)


def _state():
    return (Assignment.objects.filter(is_active=True).count(), AuditEntry.objects.count(),
            TotpDevice.objects.count())


def test_other_roles_are_refused_and_nothing_changes(secadmin, newcomer):
    TotpDevice.objects.create(user=newcomer, secret=twofactor.new_secret())
    grant = Assignment.objects.create(user=newcomer, role=Role.AUDITOR)
    clients = [_client(user_with_role(role)) for role in (Role.SYSADMIN, Role.AUDITOR, Role.CITY_OPERATOR,
                                                          Role.GRID_WORKER)]
    before = _state()  # after the logins, which are audited themselves
    for client in clients:
        assert client.get("/accounts/security/").status_code == 403
        assert client.post("/accounts/security/grant/", {"username": newcomer.username,
                                                         "role": Role.SYSADMIN}).status_code == 403
        assert client.post(f"/accounts/security/revoke/{grant.pk}/").status_code == 403
        assert client.post("/accounts/security/2fa-reset/", {"username": newcomer.username,
                                                             "confirm": "on"}).status_code == 403
    assert Client().get("/accounts/security/").status_code == 302
    assert _state() == before


def test_grant_revoke_and_grant_again(secadmin, newcomer):
    client = _client(secadmin)
    page = client.get("/accounts/security/")
    assert page.status_code == 200 and "sec-page-test" in page.content.decode()
    response = client.post("/accounts/security/grant/", {"username": newcomer.username, "role": Role.AUDITOR})
    assert response.status_code == 302
    grant = Assignment.objects.get(user=newcomer, role=Role.AUDITOR, is_active=True)
    assert can(User.objects.get(pk=newcomer.pk), "audit.view")
    assert AuditEntry.objects.filter(action="assignment.create", actor=secadmin).exists()
    # Refused: a second administrator role for the same person, a business role, an unknown user, itself.
    before = _state()
    assert client.post("/accounts/security/grant/", {"username": newcomer.username,
                                                     "role": Role.SYSADMIN}).status_code == 400
    assert client.post("/accounts/security/grant/", {"username": newcomer.username,
                                                     "role": Role.CITY_OPERATOR}).status_code == 400
    assert client.post("/accounts/security/grant/", {"username": "nobody-here",
                                                     "role": Role.AUDITOR}).status_code == 400
    assert client.post("/accounts/security/grant/", {"username": secadmin.username,
                                                     "role": Role.AUDITOR}).status_code == 403
    own = Assignment.objects.get(user=secadmin)
    assert client.post(f"/accounts/security/revoke/{own.pk}/").status_code == 403
    assert _state() == before

    assert client.post(f"/accounts/security/revoke/{grant.pk}/").status_code == 302
    grant.refresh_from_db()
    assert not grant.is_active and not can(User.objects.get(pk=newcomer.pk), "audit.view")
    assert AuditEntry.objects.filter(action="assignment.revoke", actor=secadmin, object_id=str(grant.pk)).exists()
    assert client.post(f"/accounts/security/revoke/{grant.pk}/").status_code == 404  # already revoked
    assert client.post(f"/accounts/security/revoke/{10 ** 30}/").status_code == 404
    assert client.post("/accounts/security/grant/", {"username": newcomer.username,
                                                     "role": Role.AUDITOR}).status_code == 302
    grant.refresh_from_db()
    assert grant.is_active


def test_second_factor_reset(secadmin, newcomer):
    TotpDevice.objects.create(user=newcomer, secret=twofactor.new_secret())
    RecoveryCode.objects.create(user=newcomer, code_hash="0" * 64)
    TotpDevice.objects.create(user=secadmin, secret=twofactor.new_secret())
    client = _client(secadmin)
    before = _state()  # after the login
    # Without the confirmation, and on itself: refused, nothing removed.
    assert client.post("/accounts/security/2fa-reset/", {"username": newcomer.username}).status_code == 400
    assert client.post("/accounts/security/2fa-reset/", {"username": secadmin.username,
                                                         "confirm": "on"}).status_code == 403
    assert _state() == before
    assert client.post("/accounts/security/2fa-reset/", {"username": newcomer.username,
                                                         "confirm": "on"}).status_code == 302
    assert not TotpDevice.objects.filter(user=newcomer).exists()
    assert not RecoveryCode.objects.filter(user=newcomer).exists()
    assert TotpDevice.objects.filter(user=secadmin).exists()
    assert AuditEntry.objects.filter(action="auth.2fa.reset", actor=secadmin, object_id=str(newcomer.pk)).exists()
