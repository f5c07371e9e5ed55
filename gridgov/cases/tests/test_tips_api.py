"""/api/v1/tips and the tip pages: shapes, sight, refusals in the one error shape, money over HTTP."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.choices import Role
from gridgov.cases.models.tip import FundEntry, RewardFund, Tip
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint, user_with_role

from .test_tips_support import (
    HUJI,
    SHIPAI,
    city,
    county_fund,
    grid_in,
    key,
    rewarded_tip,
    send,
    station_head,
    station_staff,
    worker_in,
)

pytestmark = pytest.mark.django_db


def test_send_and_read_back():
    worker = worker_in(HUJI)
    status, body = ApiClient(worker).post("tips", {"content": "发现一伙人深夜搬运空调外机", "informant_name": "胡某",
                                                   "informant_phone": "13700001234"})
    assert status == 201, body
    assert body["station"]["code"] == f"GAJ-{HUJI}" and body["state"] == "sent" and body["state_label"] == "已推送"
    assert body["region_code"] == grid_in(HUJI).code and body["sender"]["id"] == worker.pk
    assert body["informant"] == {"kind": "named", "name": "胡某", "phone": "13700001234", "resident_id": None,
                                 "masked": False}
    assert [e["to_state"] for e in body["events"]] == ["sent"]
    assert body["actions"] == {"decide": False, "reward": False, "pay": False}
    client_id = "6f1d2c1e-0000-4000-8000-000000000001"
    first = ApiClient(worker).post("tips", {"content": "重传", "client_id": client_id})
    again = ApiClient(worker).post("tips", {"content": "重传", "client_id": client_id})
    assert (first[0], again[0]) == (201, 200) and first[1]["id"] == again[1]["id"]


def test_send_refusals():
    worker = ApiClient(worker_in(HUJI))
    before = Tip.objects.count()
    assert_error(*worker.post("tips", {"content": ""}), 422, "invalid_input")
    assert_error(*worker.post("tips", {"content": "x", "region_code": grid_in(SHIPAI).code}), 404)
    assert_error(*worker.post("tips", {"content": "x", "lon": 100.0, "lat": 30.0}), 400, "outside_county")
    assert_error(*worker.post("tips", {"content": "x", "informant_phone": "123"}), 400, "invalid_phone")
    assert_error(*ApiClient(station_staff(HUJI)).post("tips", {"content": "x"}), 403, "permission_denied")
    assert_error(*ApiClient().post("tips", {"content": "x"}), 401, "not_authenticated")
    assert Tip.objects.count() == before


def test_detail_scope_and_the_station_of_another_town():
    tip = send(worker_in(HUJI))
    assert_scoped_endpoint(f"tips/{tip.pk}", in_scope_user=station_staff(HUJI),
                           out_of_scope_user=station_staff(SHIPAI))
    assert_scoped_endpoint(f"tips/{tip.pk}", in_scope_user=user_with_role(Role.TOWN_OPERATOR, HUJI),
                           out_of_scope_user=user_with_role(Role.TOWN_OPERATOR, SHIPAI))
    assert_error(*ApiClient(user_with_role(Role.AUDITOR)).get(f"tips/{tip.pk}"), 403)
    assert_error(*ApiClient(station_staff(SHIPAI)).post(f"tips/{tip.pk}/decide", {"useful": True}), 404)
    assert Tip.objects.get(pk=tip.pk).state == "sent"
    status, body = ApiClient(user_with_role(Role.TOWN_OPERATOR, HUJI)).get(f"tips/{tip.pk}")
    assert status == 200


def test_lists_by_role():
    mine = send(worker_in(HUJI))
    theirs = send(worker_in(SHIPAI))

    def ids(user, **params):
        status, body = ApiClient(user).get("tips", {"page_size": 200, **params})
        assert status == 200, body
        return {t["id"] for t in body["items"]}

    assert mine.pk in ids(worker_in(HUJI)) and theirs.pk not in ids(worker_in(HUJI))
    assert ids(worker_in(HUJI), mine=True) >= {mine.pk}
    inbox = ids(station_staff(HUJI), inbox=True)
    assert mine.pk in inbox and theirs.pk not in inbox
    assert {mine.pk, theirs.pk} <= ids(city())
    assert {mine.pk, theirs.pk} <= ids(user_with_role(Role.DEPT_HEAD, department_code="GAJ"))
    assert ids(city(), region=SHIPAI) & {mine.pk, theirs.pk} == {theirs.pk}
    assert ids(station_staff(HUJI), state="useful") & {mine.pk} == set()
    assert_error(*ApiClient(user_with_role(Role.AUDITOR)).get("tips"), 403)
    assert_error(*ApiClient(user_with_role(Role.SYSADMIN)).get("tips"), 403)


def test_list_query_count_is_bounded():
    worker = worker_in(HUJI)
    client = ApiClient(station_staff(HUJI))

    def run():
        with CaptureQueriesContext(connection) as ctx:
            status, _ = client.get("tips", {"inbox": True})
        assert status == 200
        return len(ctx.captured_queries)

    send(worker)
    run()
    small = run()
    for _ in range(10):
        send(worker)
    assert run() == small <= 8


def test_the_workflow_over_http():
    fund = county_fund(100_000)
    tip = send(worker_in(HUJI), informant_name="李某", informant_phone="13600000000")
    staff, head = ApiClient(station_staff(HUJI)), ApiClient(station_head(HUJI))
    status, body = staff.get(f"tips/{tip.pk}")
    assert body["actions"]["decide"] is True
    status, body = staff.post(f"tips/{tip.pk}/decide", {"useful": True, "note": "属实"})
    assert status == 200 and body["state"] == "useful"
    assert_error(*staff.post(f"tips/{tip.pk}/decide", {"useful": False}), 409, "wrong_state")
    assert_error(*staff.post(f"tips/{tip.pk}/reward", {"amount_fen": 100, "recipient_kind": "sender"}), 403)
    status, body = head.post(f"tips/{tip.pk}/reward", {"amount_fen": 60_000, "recipient_kind": "informant",
                                                       "note": "协助破案"})
    assert status == 200 and body["state"] == "rewarded" and body["reward_fen"] == 60_000
    assert body["recipient"]["name"] == "李某"

    payer = ApiClient(city())
    k = key()
    status, body = payer.post(f"tips/{tip.pk}/pay", {"idempotency_key": k, "reference": "PZ-9"})
    assert status == 201, body
    assert body["replayed"] is False and body["entry"]["delta_fen"] == -60_000 and body["tip"]["state"] == "paid"
    status, again = payer.post(f"tips/{tip.pk}/pay", {"idempotency_key": k, "reference": "PZ-9"})
    assert status == 200 and again["replayed"] is True and again["entry"]["id"] == body["entry"]["id"]
    fund.refresh_from_db()
    assert fund.balance_fen == 40_000

    poor = rewarded_tip(amount_fen=50_000)
    entries = FundEntry.objects.count()
    status, body = payer.post(f"tips/{poor.pk}/pay", {"idempotency_key": key()})
    assert_error(status, body, 409, "insufficient_funds")
    assert body["message"] == "奖励资金余额不足" and body["extra"]["balance_fen"] == 40_000
    fund.refresh_from_db()
    assert fund.balance_fen == 40_000 and FundEntry.objects.count() == entries
    assert Tip.objects.get(pk=poor.pk).state == "rewarded"

    status, body = payer.post(f"tips/{tip.pk}/reverse", {"idempotency_key": key(), "reason": "误发"})
    assert status == 201 and body["tip"]["state"] == "rewarded" and body["entry"]["kind"] == "reversal"


def test_funds_over_http():
    fund = county_fund(0)
    client = ApiClient(city())
    status, body = client.get("tips/funds")
    assert status == 200 and any(f["id"] == fund.pk for f in body)
    k = key()
    status, body = client.post(f"tips/funds/{fund.pk}/deposits", {"amount_fen": 1_000_000, "idempotency_key": k,
                                                                  "reference": "财预〔2026〕1号"})
    assert status == 201 and body["entry"]["kind"] == "deposit"
    assert client.post(f"tips/funds/{fund.pk}/deposits", {"amount_fen": 1_000_000, "idempotency_key": k})[0] == 200
    assert_error(*client.post(f"tips/funds/{fund.pk}/deposits", {"amount_fen": -5, "idempotency_key": key()}), 422)
    status, body = client.get(f"tips/funds/{fund.pk}/entries")
    assert status == 200 and body["count"] >= 1 and body["items"][0]["reference"] == "财预〔2026〕1号"
    status, body = client.get(f"tips/funds/{fund.pk}/verify")
    assert status == 200 and body["ok"] is True and body["balance_fen"] == body["ledger_fen"]
    station = f"GAJ-{HUJI}"
    status, body = client.post("tips/funds", {"name": "胡集派出所奖励资金", "department_code": station})
    assert status == 201 and body["department"]["code"] == station
    assert_error(*client.post("tips/funds", {"name": "又一个", "department_code": station}), 409, "fund_exists")
    station_fund = body["id"]
    assert ApiClient(station_staff(HUJI)).get(f"tips/funds/{station_fund}")[0] == 200
    assert_error(*ApiClient(station_staff(SHIPAI)).get(f"tips/funds/{station_fund}"), 404)
    assert_error(*ApiClient(station_staff(HUJI)).get(f"tips/funds/{fund.pk}"), 404)
    assert_error(*ApiClient(station_staff(HUJI)).post(f"tips/funds/{station_fund}/deposits",
                                                      {"amount_fen": 1, "idempotency_key": key()}), 403)
    assert_error(*ApiClient(user_with_role(Role.AUDITOR)).get("tips/funds"), 403)
    assert RewardFund.objects.get(pk=station_fund).balance_fen == 0


def test_totals_over_http():
    county_fund(100_000)
    tip = rewarded_tip(amount_fen=12_300)
    ApiClient(city()).post(f"tips/{tip.pk}/pay", {"idempotency_key": key()})
    status, body = ApiClient(user_with_role(Role.TOWN_OPERATOR, HUJI)).get("tips/totals")
    assert status == 200 and body["total"]["paid_fen"] >= 12_300 and body["total"]["rewarded_people"] >= 1
    assert [r["code"] for r in body["rows"]] == [HUJI]
    assert_error(*ApiClient(city()).get("tips/totals", {"region": "12"}), 422)
    assert_error(*ApiClient(user_with_role(Role.AUDITOR)).get("tips/totals"), 403)


# --- pages ----------------------------------------------------------------------------------------

def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_send_page_and_the_senders_list():
    worker = worker_in(HUJI)
    client = login(worker)
    assert client.get("/tips/").status_code == 302
    form = client.get("/tips/send/")
    assert form.status_code == 200 and "推送助警信息" in form.content.decode()
    response = client.post("/tips/send/", {"content": "村口有人兜售来路不明的空调", "informant_name": "魏某",
                                           "informant_phone": "13511112222"})
    assert response.status_code == 302
    tip = Tip.objects.filter(sender=worker).latest("id")
    assert tip.station.code == f"GAJ-{HUJI}" and tip.informant_name == "魏某"
    listing = client.get("/tips/list/", {"mine": "1"}).content.decode()
    assert f"#{tip.pk}" in listing and "我报送的助警信息" in listing
    bad = client.post("/tips/send/", {"content": "x", "region_code": grid_in(SHIPAI).code})
    assert bad.status_code == 400 and "不在您的管辖范围内" in bad.content.decode()
    assert login(station_staff(HUJI)).get("/tips/send/").status_code == 403


def test_station_pages_decide_reward_and_pay():
    county_fund(500_000)
    tip = send(worker_in(HUJI))
    staff = login(station_staff(HUJI))
    inbox = staff.get("/tips/list/", {"inbox": "1"}).content.decode()
    assert "派出所收件箱" in inbox and f"#{tip.pk}" in inbox
    page = staff.get(f"/tips/{tip.pk}/").content.decode()
    assert 'id="decide-form"' in page
    assert staff.post(f"/tips/{tip.pk}/decide/", {"useful": "1", "note": "属实"}).status_code == 302
    again = staff.post(f"/tips/{tip.pk}/decide/", {"useful": "0"})
    assert again.status_code == 400 and "不能研判" in again.content.decode()
    head = login(station_head(HUJI))
    assert head.post(f"/tips/{tip.pk}/reward/", {"amount": "300.50", "recipient_kind": "sender"}).status_code == 302
    assert Tip.objects.get(pk=tip.pk).reward_fen == 30_050
    payer = login(city())
    page = payer.get(f"/tips/{tip.pk}/").content.decode()
    assert 'id="pay-form"' in page and "300.50" in page
    k = key()
    assert payer.post(f"/tips/{tip.pk}/pay/", {"idempotency_key": k, "reference": "PZ"}).status_code == 302
    assert Tip.objects.get(pk=tip.pk).state == "paid"
    assert login(station_staff(SHIPAI)).get(f"/tips/{tip.pk}/").status_code == 404
    assert login(station_staff(SHIPAI)).post(f"/tips/{tip.pk}/decide/", {"useful": "1"}).status_code == 404


def test_fund_and_totals_pages():
    fund = county_fund(0)
    client = login(city())
    listing = client.get("/tips/funds/").content.decode()
    assert fund.name in listing and "一致" in listing
    k = key()
    assert client.post(f"/tips/funds/{fund.pk}/", {"amount": "1000", "reference": "拨款", "idempotency_key": k}) \
        .status_code == 302
    assert client.post(f"/tips/funds/{fund.pk}/", {"amount": "1000", "idempotency_key": k}).status_code == 302
    fund.refresh_from_db()
    assert fund.balance_fen == 100_000  # the double submit was not booked twice
    detail = client.get(f"/tips/funds/{fund.pk}/").content.decode()
    assert "1,000.00" in detail and "拨款" in detail
    assert login(station_staff(HUJI)).post(f"/tips/funds/{fund.pk}/", {"amount": "1", "idempotency_key": key()}) \
        .status_code == 404
    totals = client.get("/tips/totals/").content.decode()
    assert "助警信息与奖励统计" in totals and "受奖励（人）" in totals
    assert client.get("/tips/totals/", {"region": "1"}).status_code == 400
    assert login(user_with_role(Role.AUDITOR)).get("/tips/totals/").status_code == 403
