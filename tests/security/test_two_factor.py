"""TOTP two-factor login for city operators, department heads and administrators (pages and API)."""

import pyotp
import pytest
from django.utils import timezone

from gridgov.accounts import twofactor
from gridgov.accounts.choices import Role
from gridgov.accounts.models import ApiToken, Assignment, RecoveryCode, TotpDevice, User
from gridgov.core.errors import PermissionDenied
from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, user_with_role

pytestmark = pytest.mark.django_db
PASSWORD = "Grid-Test-Pass-2026"


def _with_password(user):
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def city():
    return _with_password(user_with_role(Role.CITY_OPERATOR, "420881"))


def logged_in(client):
    return "_auth_user_id" in client.session


def _code(secret, steps_ahead=0):
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(timezone.now()) + steps_ahead)


def _enrol(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/2fa/enrol/"
    page = client.get("/accounts/login/2fa/enrol/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    secret = client.session["gridgov_2fa_enrol_secret"]
    assert secret.replace(" ", "")[:4] in page.content.decode()
    return secret


def test_a_town_operator_logs_in_with_the_password_alone(client):
    user = _with_password(user_with_role(Role.TOWN_OPERATOR, "420881103"))
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert logged_in(client)


def test_a_city_operator_must_enrol_before_the_login_completes(client, city):
    secret = _enrol(client, city)
    assert not logged_in(client)
    assert client.get("/").status_code == 302  # still anonymous: the password alone opened nothing
    bad = client.post("/accounts/login/2fa/enrol/", {"code": "000000" if _code(secret) != "000000" else "111111"})
    assert bad.status_code == 400 and not logged_in(client) and not TotpDevice.objects.filter(user=city).exists()
    done = client.post("/accounts/login/2fa/enrol/", {"code": _code(secret)})
    assert done.status_code == 200 and logged_in(client)
    codes = done.content.decode().split("<code>")[1:]
    assert len(codes) == 10 and RecoveryCode.objects.filter(user=city, used_at=None).count() == 10
    assert TotpDevice.objects.get(user=city).secret == secret  # stored encrypted, read back decrypted
    actions = set(AuditEntry.objects.filter(object_id=str(city.pk)).values_list("action", "outcome"))
    assert {("auth.2fa.enrol", "failure"), ("auth.2fa.enrol", "success"), ("auth.login", "success")} <= actions


def test_after_enrolment_the_code_is_asked_and_each_code_works_once(client, city):
    secret = twofactor.new_secret()
    codes = twofactor.enrol(user=city, secret=secret, code=_code(secret, -1))
    client.post("/accounts/login/", {"username": city.username, "password": PASSWORD})
    assert not logged_in(client)
    # The code of the step already used at enrolment is refused (replay).
    assert client.post("/accounts/login/2fa/", {"code": _code(secret, -1)}).status_code == 400
    client.post("/accounts/login/2fa/", {"code": _code(secret)})
    assert logged_in(client)
    # A recovery code works once, then never again.
    client.logout()
    client.post("/accounts/login/", {"username": city.username, "password": PASSWORD})
    client.post("/accounts/login/2fa/", {"code": codes[0].upper()})
    assert logged_in(client)
    client.logout()
    client.post("/accounts/login/", {"username": city.username, "password": PASSWORD})
    assert client.post("/accounts/login/2fa/", {"code": codes[0]}).status_code == 400 and not logged_in(client)


def test_five_wrong_codes_end_the_attempt_and_lock_the_second_factor(client, city):
    secret = twofactor.new_secret()
    twofactor.enrol(user=city, secret=secret, code=_code(secret))
    client.post("/accounts/login/", {"username": city.username, "password": PASSWORD})
    wrong = "123456" if _code(secret, 1) != "123456" else "654321"
    for _ in range(5):
        client.post("/accounts/login/2fa/", {"code": wrong})
    assert "gridgov_2fa_pending" not in client.session
    assert client.get("/accounts/login/2fa/")["Location"] == "/accounts/login/"
    # Even a correct code is refused for a while now, from any client.
    client.post("/accounts/login/", {"username": city.username, "password": PASSWORD})
    client.post("/accounts/login/2fa/", {"code": _code(secret, 1)})
    assert not logged_in(client)


def test_the_pending_login_cannot_be_used_for_another_account(client, city):
    """The second-factor pages act only for the account that passed the password step."""
    assert client.get("/accounts/login/2fa/")["Location"] == "/accounts/login/"
    assert client.post("/accounts/login/2fa/enrol/", {"code": "123456"})["Location"] == "/accounts/login/"
    assert not TotpDevice.objects.exists() or not TotpDevice.objects.filter(user=city).exists()


def test_the_api_token_exchange_honours_the_second_factor(city):
    api = ApiClient()
    tokens = ApiToken.objects.filter(user=city).count()
    body = {"username": city.username, "password": PASSWORD}
    assert_error(*api.post("auth/token", body), 403, "two_factor_enrolment_required")
    secret = twofactor.new_secret()
    twofactor.enrol(user=city, secret=secret, code=_code(secret, -1))
    assert_error(*api.post("auth/token", body), 401, "two_factor_required")
    assert_error(*api.post("auth/token", {**body, "otp": "12"}), 401, "two_factor_required")
    assert ApiToken.objects.filter(user=city).count() == tokens
    status, issued = api.post("auth/token", {**body, "otp": _code(secret)})
    assert status == 201 and issued["token"].startswith("ggv_")
    assert ApiClient(token=issued["token"]).get("auth/me")[0] == 200


def test_department_heads_and_administrators_need_it_too():
    for role in (Role.DEPT_HEAD, Role.SYSADMIN, Role.AUDITOR, Role.CITY_OPERATOR):
        assert twofactor.required_for(user_with_role(role))
    for role in (Role.GRID_WORKER, Role.TOWN_OPERATOR, Role.DEPT_STAFF):
        assert not twofactor.required_for(user_with_role(role))


def test_only_the_security_administrator_resets_a_lost_authenticator(city):
    secret = twofactor.new_secret()
    twofactor.enrol(user=city, secret=secret, code=_code(secret))
    sec = User.objects.create_user(username="sec-2fa", password=PASSWORD)
    Assignment.objects.create(user=sec, role=Role.SECURITY_ADMIN)
    with pytest.raises(PermissionDenied):
        twofactor.reset(acting_user=user_with_role(Role.SYSADMIN), user=city)
    assert TotpDevice.objects.filter(user=city).exists()
    twofactor.reset(acting_user=sec, user=city)
    assert not TotpDevice.objects.filter(user=city).exists() and not RecoveryCode.objects.filter(user=city).exists()
    assert AuditEntry.objects.filter(action="auth.2fa.reset", actor=sec, object_id=str(city.pk)).exists()
