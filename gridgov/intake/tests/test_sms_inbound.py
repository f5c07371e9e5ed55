import json
import secrets
import time

import pytest
from django.test import Client

from gridgov.cases.choices import Source
from gridgov.cases.models import Case
from gridgov.core.models import AuditEntry
from gridgov.intake.models import InboundMessage, OutboundSms, Outcome
from gridgov.intake.webhooks import sms_signature
from gridgov.points.choices import ClaimChannel, ClaimSource, ClaimStatus
from gridgov.points.models import Claim

pytestmark = pytest.mark.django_db

SECRET = "gateway-shared-secret"
URL = "/intake/sms/inbound"


@pytest.fixture(autouse=True)
def configured(settings):
    settings.SMS_INBOUND_SECRET = SECRET
    settings.SMS_INBOUND_WINDOW = 300
    settings.SMS_BACKEND = "log"


def post(payload, *, secret=SECRET, timestamp=None, nonce=None, raw=None, client=None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(12)
    response = (client or Client()).post(URL, data=body, content_type="application/json",
                                         HTTP_X_TIMESTAMP=timestamp, HTTP_X_NONCE=nonce,
                                         HTTP_X_SIGNATURE=sms_signature(secret, timestamp, nonce, body))
    return response.status_code, response.json(), nonce


def counts():
    return (Case.objects.count(), Claim.objects.count(), InboundMessage.objects.count(), OutboundSms.objects.count())


def test_report_from_registered_phone_becomes_case_and_is_confirmed(registered):
    status, body, _ = post({"message_id": "GW-1001", "from": "+86" + registered.phone, "text": "报 村口路灯坏了三天"})
    assert status == 200, body
    assert body["code"] == "OK" and body["outcome"] == Outcome.CASE and not body["replayed"]
    case = Case.objects.get(number=body["case_number"])
    assert case.source == Source.SMS and case.region_id == registered.region_id
    assert case.description == "村口路灯坏了三天" and case.reporter_phone == registered.phone
    assert case.external_ref == "sms:GW-1001" and case.reporter.username == "intake-sms"
    sms = OutboundSms.objects.get(purpose="intake.sms.reply")
    assert sms.phone == registered.phone and case.number in sms.text
    msg = InboundMessage.objects.get(channel="sms", external_id="GW-1001")
    assert msg.case_id == case.pk and msg.sender == registered.phone
    assert AuditEntry.objects.filter(action="intake.sms.receive", object_id=str(msg.pk)).exists()


def test_retry_with_same_message_id_creates_nothing(registered):
    payload = {"message_id": "GW-2002", "from": registered.phone, "text": "举报 河道有人倒垃圾"}
    _, first, _ = post(payload)
    before = counts()
    status, again, _ = post(payload)  # the gateway re-signs a retry with a new nonce
    assert status == 200 and again["replayed"] and again["case_number"] == first["case_number"]
    assert counts() == before  # no case, no message, no second confirmation SMS


def test_good_deed_becomes_claim_for_household(registered):
    status, body, _ = post({"message_id": "GW-3003", "from": registered.phone, "text": "好人好事 帮邻居抢收稻谷"})
    assert status == 200 and body["outcome"] == Outcome.CLAIM, body
    claim = Claim.objects.select_related("subject", "entered_by").get(pk=body["claim_id"])
    assert claim.subject.household_id == registered.household_id
    assert claim.channel == ClaimChannel.SMS and claim.source == ClaimSource.SELF
    assert claim.status == ClaimStatus.PENDING and claim.region_id == registered.region_id
    assert claim.reporter_name == registered.name
    # Entered on the desk of the grid worker of the resident's grid.
    assert claim.entered_by.assignments.filter(role="grid_worker", region_id=registered.region_id).exists()
    # "积分 …" is the other keyword.
    _, other, _ = post({"message_id": "GW-3004", "from": registered.phone, "text": "积分：打扫村道"})
    assert other["outcome"] == Outcome.CLAIM and Claim.objects.get(pk=other["claim_id"]).description == "打扫村道"


def test_unregistered_sender_gets_an_explanation_not_a_case():
    before = Case.objects.count()
    status, body, _ = post({"message_id": "GW-4004", "from": "19900000001", "text": "路面塌陷"})
    assert status == 200 and body["outcome"] == Outcome.UNREGISTERED and body["case_number"] is None
    assert "未在社区登记" in body["reply"] and Case.objects.count() == before
    assert OutboundSms.objects.filter(purpose="intake.sms.reply", text=body["reply"]).count() == 1


@pytest.mark.parametrize("tamper,code", [
    ("secret", "bad_signature"), ("stale", "stale_timestamp"), ("future", "stale_timestamp"),
    ("unsigned", "signature_missing"),
])
def test_bad_signatures_and_stale_timestamps_are_refused(registered, tamper, code):
    before = counts()
    payload = {"message_id": "GW-5005", "from": registered.phone, "text": "报 测试"}
    if tamper == "unsigned":
        response = Client().post(URL, data=json.dumps(payload), content_type="application/json")
        status, body = response.status_code, response.json()
    else:
        now = int(time.time())
        status, body, _ = post(payload, secret="wrong" if tamper == "secret" else SECRET,
                               timestamp={"stale": now - 301, "future": now + 301}.get(tamper, now))
    assert status == 401 and body["code"] == code and body["message"]
    assert counts() == before
    assert AuditEntry.objects.filter(action="intake.sms.refused", message=f"401 {code}").exists()


def test_replayed_nonce_is_refused(registered):
    payload = {"message_id": "GW-6006", "from": registered.phone, "text": "报 井盖丢失"}
    body = json.dumps(payload).encode()
    timestamp, nonce = str(int(time.time())), "nonce-fixed-0001"
    headers = {"HTTP_X_TIMESTAMP": timestamp, "HTTP_X_NONCE": nonce,
               "HTTP_X_SIGNATURE": sms_signature(SECRET, timestamp, nonce, body)}
    first = Client().post(URL, data=body, content_type="application/json", **headers)
    assert first.status_code == 200
    before = counts()
    again = Client().post(URL, data=body, content_type="application/json", **headers)
    assert again.status_code == 409 and again.json()["code"] == "replayed"
    assert counts() == before


@pytest.mark.parametrize("payload,code", [
    (b"not json", "malformed"),
    (b"[1, 2]", "malformed"),
    ({"message_id": "", "from": "13800001234", "text": "x"}, "invalid_message_id"),
    ({"message_id": "a b", "from": "13800001234", "text": "x"}, "invalid_message_id"),
    ({"message_id": "GW-7", "from": "abc", "text": "x"}, "invalid_sender"),
    ({"message_id": "GW-7", "from": "13800001234", "text": 5}, "invalid_text"),
    ({"message_id": "GW-7", "from": "13800001234", "text": "  "}, "empty_text"),
    ({"message_id": "GW-7", "from": "13800001234", "text": "长" * 501}, "text_too_long"),
])
def test_malformed_payloads_are_refused_and_change_nothing(payload, code):
    before = counts()
    raw = payload if isinstance(payload, bytes) else None
    status, body, _ = post(payload if raw is None else None, raw=raw)
    assert status == 400 and body["code"] == code and body["message"]
    assert counts() == before


def test_oversized_body_is_refused():
    before = counts()
    status, body, _ = post({"message_id": "GW-8", "from": "13800001234", "text": "x", "pad": "y" * 9000})
    assert status == 413 and body["code"] == "payload_too_large"
    assert counts() == before


def test_rate_limited_per_sender(registered):
    for i in range(10):
        status, body, _ = post({"message_id": f"GW-9-{i}", "from": registered.phone, "text": f"报 第{i}次"})
        assert status == 200, body
    before = counts()
    status, body, _ = post({"message_id": "GW-9-x", "from": registered.phone, "text": "报 再一次"})
    assert status == 429 and body["code"] == "rate_limited"
    assert counts() == before
    # A retry of a message already taken is still answered: retries are not new messages.
    status, body, _ = post({"message_id": "GW-9-3", "from": registered.phone, "text": "报 第3次"})
    assert status == 200 and body["replayed"]
    # Another sender is not affected.
    status, _, _ = post({"message_id": "GW-9-y", "from": "19900000002", "text": "报 其他人"})
    assert status == 200


def test_not_configured_answers_503(settings):
    settings.SMS_INBOUND_SECRET = ""
    status, body, _ = post({"message_id": "GW-10", "from": "13800001234", "text": "x"})
    assert status == 503 and body["code"] == "not_configured"


def test_get_is_not_allowed():
    assert Client().get(URL).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_racing_retries_store_one_message(settings):
    """Two gateway retries of one message arriving at once (separate connections): one row, one answer."""
    import threading

    from django.db import connection, connections

    from gridgov.intake import services
    from gridgov.intake.models import Channel

    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("in-memory SQLite is not shared between connections")
    results, barrier = [], threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            msg, replayed = services.receive(services.Report(channel=Channel.SMS, external_id="GW-RACE-1",
                                                             sender="19900000077", phone="19900000077",
                                                             text="报 同一条短信"))
            results.append((msg.pk, replayed))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0][0] == results[1][0]
    assert sorted(r[1] for r in results) == [False, True]
    assert InboundMessage.objects.filter(external_id="GW-RACE-1").count() == 1


def test_a_flood_of_unsigned_calls_is_audited_at_most_20_times_a_minute():
    before = AuditEntry.objects.filter(action="intake.sms.refused").count()
    for _ in range(25):
        response = Client().post(URL, data=b"{}", content_type="application/json")
        assert response.status_code == 401
    assert AuditEntry.objects.filter(action="intake.sms.refused").count() - before == 20
