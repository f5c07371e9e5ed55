from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import ApiToken, hash_token
from gridgov.accounts.services import api_token_issue
from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, user_with_role

pytestmark = pytest.mark.django_db

PASSWORD = "Grid-Test-Pass-2026"
HUJI = "420881103"


@pytest.fixture
def operator():
    user = user_with_role(Role.TOWN_OPERATOR, HUJI)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def test_password_exchanged_for_a_bearer_token_that_works(operator):
    status, body = ApiClient().post("auth/token", {"username": operator.username, "password": PASSWORD})
    assert status == 201, body
    raw = body["token"]
    assert body["token_type"] == "Bearer"
    # Stored hashed: the raw value appears nowhere in the table.
    token = ApiToken.objects.get(user=operator)
    assert token.key_hash == hash_token(raw) and raw not in (token.key_hash, token.prefix)
    status, me = ApiClient(token=raw).get("auth/me")
    assert status == 200
    assert me["username"] == operator.username
    assert me["roles"] == [Role.TOWN_OPERATOR]
    assert me["region_scope"] == [HUJI]
    assert AuditEntry.objects.filter(action="api_token.issue", actor=operator).exists()


def test_wrong_password_is_refused_with_json_and_no_token(operator):
    status, body = ApiClient().post("auth/token", {"username": operator.username, "password": "wrong-password-1"})
    assert_error(status, body, 401, "invalid_credentials")
    assert not ApiToken.objects.filter(user=operator).exists()
    assert AuditEntry.objects.filter(action="auth.login", outcome="failure", actor_username=operator.username).exists()


def test_token_endpoint_locks_out_after_five_failures(operator):
    client = ApiClient()
    for _ in range(5):
        status, body = client.post("auth/token", {"username": operator.username, "password": "not-the-password"})
        assert status in (401, 429)
    status, body = client.post("auth/token", {"username": operator.username, "password": PASSWORD})
    assert_error(status, body, 429, "locked_out")
    assert not ApiToken.objects.filter(user=operator).exists()
    assert AuditEntry.objects.filter(action="auth.lockout", actor_username=operator.username).exists()


def test_lockout_also_blocks_the_login_page(operator, client):
    for _ in range(5):
        client.post("/accounts/login/", {"username": operator.username, "password": "not-the-password"})
    response = client.post("/accounts/login/", {"username": operator.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # The lock is shared with the API.
    status, body = ApiClient().post("auth/token", {"username": operator.username, "password": PASSWORD})
    assert_error(status, body, 429, "locked_out")


def test_revoked_token_is_refused(operator):
    token, raw = api_token_issue(acting_user=operator)
    client = ApiClient(token=raw)
    assert client.get("auth/me")[0] == 200
    status, _ = client.delete(f"auth/tokens/{token.pk}")
    assert status == 204
    assert_error(*client.get("auth/me"), 401, "not_authenticated")
    assert AuditEntry.objects.filter(action="api_token.revoke", object_id=str(token.pk)).exists()


def test_expired_token_and_inactive_user_are_refused(operator):
    token, raw = api_token_issue(acting_user=operator)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(*ApiClient(token=raw).get("auth/me"), 401)
    _, raw2 = api_token_issue(acting_user=operator)
    operator.is_active = False
    operator.save(update_fields=["is_active"])
    assert_error(*ApiClient(token=raw2).get("auth/me"), 401)


def test_cannot_revoke_someone_elses_token(operator):
    other = user_with_role(Role.CITY_OPERATOR, "420881")
    token, raw = api_token_issue(acting_user=other)
    status, body = ApiClient(operator).delete(f"auth/tokens/{token.pk}")
    assert_error(status, body, 404)
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer ggv_forged", "Token abc", "Bearer " + "x" * 5000])
def test_malformed_or_forged_tokens_are_401(header):
    status, body = ApiClient().get("auth/me", HTTP_AUTHORIZATION=header)
    assert_error(status, body, 401, "not_authenticated")


@pytest.mark.parametrize(
    "payload",
    [{}, {"username": ""}, {"username": "a", "password": ""}, {"username": ["a"], "password": "b"}, "not json", "[]"],
)
def test_malformed_token_requests_are_422(payload):
    status, body = ApiClient().post("auth/token", payload)
    assert status in (400, 422), body
    assert body["code"] in ("invalid_input", "bad_request") and body["message"]


@pytest.mark.parametrize("header", [None, "Bearer ggv_forged", "expired"])
def test_writes_without_a_live_credential_are_401_even_with_csrf_enforced(operator, header):
    """Found by the schema fuzzer: outside the test client (which skips CSRF) the session auth's CSRF
    check answered 403 "CSRF check failed" to a write whose caller had no session at all."""
    from django.test import Client

    if header == "expired":
        token, raw = api_token_issue(acting_user=operator)
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        header = f"Bearer {raw}"
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    before = AuditEntry.objects.count()
    response = Client(enforce_csrf_checks=True).post("/api/v1/cases", {}, content_type="application/json", **extra)
    assert_error(response.status_code, response.json(), 401, "not_authenticated")
    assert AuditEntry.objects.count() == before


def test_a_session_write_without_the_csrf_token_is_still_403(operator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/api/v1/cases", {}, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
