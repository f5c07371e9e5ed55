"""Sign-in with a one-time SMS code: hashed, expiring, limited attempts, rate-limited, and a
resident session that is not a staff login."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.core import ratelimit
from gridgov.core.models import AuditEntry
from gridgov.intake.models import OutboundSms
from gridgov.selfservice.models import OtpChallenge, ResidentSession
from gridgov.selfservice.services import MAX_ATTEMPTS

from .conftest import API, last_code, sign_in

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(API + path, body, content_type="application/json")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


def test_code_is_sent_and_stored_hashed(resident):
    response = post(Client(), "otp", {"phone": resident.phone})
    assert response.status_code == 202 and "验证码已发送" in response.json()["message"]
    code = last_code(resident.phone)
    challenge = OtpChallenge.objects.get(resident=resident)
    assert code not in challenge.code_hash and len(challenge.code_hash) == 64
    assert challenge.expires_at - challenge.created_at == timedelta(minutes=5)


def test_sign_in_opens_a_resident_session_not_a_staff_login(resident):
    client = sign_in(resident)
    assert "gg_my" in client.cookies and client.cookies["gg_my"]["httponly"]
    assert "_auth_user_id" not in client.session
    me = client.get(API + "me").json()
    assert me["name"] == resident.name and "****" in me["phone"]
    session = ResidentSession.objects.get(resident=resident)
    assert session.key_hash != client.cookies["gg_my"].value
    assert AuditEntry.objects.filter(action="selfservice.login", outcome="success").exists()
    # A resident cookie opens none of the staff API.
    assert client.get("/api/v1/cases").status_code == 401
    assert client.get("/api/v1/people/residents").status_code == 401


def test_unknown_phone_gets_the_same_answer_and_no_sms():
    before = OutboundSms.objects.count()
    response = post(Client(), "otp", {"phone": "13312345678"})
    assert response.status_code == 202 and "验证码已发送" in response.json()["message"]
    assert OutboundSms.objects.count() == before and not OtpChallenge.objects.exists()


@pytest.mark.parametrize("phone", ["12345", "abc", "", "1381234567x"])
def test_malformed_phone_is_400(phone):
    response = post(Client(), "otp", {"phone": phone})
    assert response.status_code == 400 and response.json()["code"] == "invalid_phone"
    assert not OtpChallenge.objects.exists()


def test_code_expires(resident):
    post(Client(), "otp", {"phone": resident.phone})
    code = last_code(resident.phone)
    OtpChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(Client(), "session", {"phone": resident.phone, "code": code})
    assert response.status_code == 400 and response.json()["code"] == "code_expired"
    assert not ResidentSession.objects.exists()


def test_code_works_once(resident):
    post(Client(), "otp", {"phone": resident.phone})
    code = last_code(resident.phone)
    assert post(Client(), "session", {"phone": resident.phone, "code": code}).status_code == 200
    again = post(Client(), "session", {"phone": resident.phone, "code": code})
    assert again.status_code == 400 and ResidentSession.objects.count() == 1


def test_a_new_code_replaces_the_old(resident, settings):
    post(Client(), "otp", {"phone": resident.phone})
    old = last_code(resident.phone)
    ratelimit.purge(now=10 ** 12)  # forget the per-phone minute limit
    assert post(Client(), "otp", {"phone": resident.phone}).status_code == 202
    new = last_code(resident.phone)
    if new != old:
        assert post(Client(), "session", {"phone": resident.phone, "code": old}).status_code == 400
    assert post(Client(), "session", {"phone": resident.phone, "code": new}).status_code == 200


def test_brute_force_is_stopped(resident):
    post(Client(), "otp", {"phone": resident.phone})
    code = last_code(resident.phone)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        response = post(Client(), "session", {"phone": resident.phone, "code": wrong(code)})
        expected = (429, "too_many_attempts") if attempt == MAX_ATTEMPTS else (400, "wrong_code")
        assert (response.status_code, response.json()["code"]) == expected, response.content
    assert OtpChallenge.objects.get().attempts == MAX_ATTEMPTS
    # Even the right code is refused now: a new one must be requested.
    response = post(Client(), "session", {"phone": resident.phone, "code": code})
    assert response.status_code == 429 and response.json()["code"] == "too_many_attempts"
    assert not ResidentSession.objects.exists()
    assert AuditEntry.objects.filter(action="selfservice.login", outcome="failure").count() == MAX_ATTEMPTS


def test_guessing_across_phones_is_limited_per_address(resident):
    client = Client()
    statuses = [post(client, "session", {"phone": f"1391234{i:04d}", "code": "123456"}).status_code
                for i in range(31)]
    assert statuses[:30] == [400] * 30 and statuses[30] == 429


def test_sending_is_rate_limited_per_phone_and_address(resident):
    assert post(Client(), "otp", {"phone": resident.phone}).status_code == 202
    again = post(Client(), "otp", {"phone": resident.phone})
    assert again.status_code == 429 and again.json()["code"] == "rate_limited"
    assert OutboundSms.objects.filter(purpose="selfservice.login").count() == 1
    client = Client(REMOTE_ADDR="10.1.2.3")
    statuses = [post(client, "otp", {"phone": f"1331234{i:04d}"}).status_code for i in range(21)]
    assert statuses[:20] == [202] * 20 and statuses[20] == 429


@pytest.mark.parametrize("code", ["12345", "abcdef", "1234567", ""])
def test_malformed_code_is_400_and_counts_nothing(resident, code):
    post(Client(), "otp", {"phone": resident.phone})
    response = post(Client(), "session", {"phone": resident.phone, "code": code})
    assert response.status_code == 400 and response.json()["code"] == "invalid_code"
    assert OtpChallenge.objects.get().attempts == 0


def test_sessions_end(resident):
    client = sign_in(resident)
    assert client.get(API + "me").status_code == 200
    assert client.delete(API + "session").status_code == 204
    assert client.get(API + "me").status_code == 401
    ratelimit.purge(now=10 ** 12)  # forget the per-phone sending limit
    client = sign_in(resident)
    ResidentSession.objects.update(last_seen_at=timezone.now() - timedelta(minutes=31))
    assert client.get(API + "me").status_code == 401


def test_anonymous_and_staff_get_401(resident):
    from gridgov.core.testing import ApiClient, user_with_role

    for path in ("me", "points", "applications", "reports"):
        assert Client().get(API + path).status_code == 401
        status, _ = ApiClient(user_with_role("city_operator")).get(API + path)
        assert status == 401  # a staff token is not a resident session


def test_a_phone_shared_by_two_households_gets_no_code(resident, neighbour):
    from gridgov.people.models import Resident

    Resident.objects.filter(pk=neighbour.pk).update(phone_index=resident.phone_index)
    assert post(Client(), "otp", {"phone": resident.phone}).status_code == 202
    assert not OtpChallenge.objects.exists()
    assert not OutboundSms.objects.filter(purpose="selfservice.login").exists()
