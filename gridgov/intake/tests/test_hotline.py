import io

import pytest
from django.test import Client
from python_calamine import CalamineWorkbook

from gridgov.accounts.choices import Role
from gridgov.cases.choices import Source
from gridgov.cases.models import Case
from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, user_with_role
from gridgov.intake.models import InboundMessage, OutboundSms
from gridgov.points.choices import ClaimChannel
from gridgov.points.models import Claim

pytestmark = pytest.mark.django_db

HUSHAN_GRID = "420881103201001"  # 胡集镇 湖山村
HUJI = "420881103"
OTHER_TOWN = "420881107"  # 冷水镇


@pytest.fixture
def city():
    return user_with_role(Role.CITY_OPERATOR)


@pytest.fixture
def town():
    return user_with_role(Role.TOWN_OPERATOR, HUJI)


@pytest.fixture
def other_town():
    return user_with_role(Role.TOWN_OPERATOR, OTHER_TOWN)


def call(**overrides):
    data = {"call_ref": "12345-20261204-0001", "caller_phone": "13900001111", "caller_name": "张三", "kind": "case",
            "description": "湖山村二组路边电线杆倾斜", "grid": HUSHAN_GRID}
    data.update(overrides)
    return data


def counts():
    return Case.objects.count(), Claim.objects.count(), InboundMessage.objects.count()


def test_call_becomes_case_reported_by_operator_and_caller_is_texted(town, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        status, body = ApiClient(town).post("intake/hotline/calls", call())
    assert status == 201, body
    assert body["outcome"] == "case" and not body["replayed"] and body["sender"] == "139****1111"
    case = Case.objects.get(number=body["case_number"])
    assert case.source == Source.HOTLINE and case.reporter_id == town.pk and case.region_id == HUSHAN_GRID
    assert case.reporter_phone == "13900001111" and case.reporter_name == "张三"
    assert case.external_ref == "hotline:12345-20261204-0001"
    msg = InboundMessage.objects.get(pk=body["id"])
    assert msg.sender == "13900001111" and msg.operator_id == town.pk
    sms = OutboundSms.objects.get(purpose="intake.hotline.reply")
    assert sms.phone == "13900001111" and case.number in sms.text
    assert AuditEntry.objects.filter(action="intake.hotline.receive", actor=town, object_id=str(msg.pk)).exists()


def test_same_call_reference_is_recorded_once(town):
    _, first = ApiClient(town).post("intake/hotline/calls", call(call_ref="CR-0002"))
    before = counts()
    status, again = ApiClient(town).post("intake/hotline/calls", call(call_ref="CR-0002", description="别的内容"))
    assert status == 200 and again["replayed"] and again["case_number"] == first["case_number"]
    assert counts() == before


def test_call_becomes_household_claim(town, registered):
    if not registered.region_id.startswith(HUJI):
        town = user_with_role(Role.TOWN_OPERATOR, registered.region_id[:9])
    status, body = ApiClient(town).post("intake/hotline/calls", call(
        call_ref="CR-0003", caller_phone=registered.phone, kind="claim", description="好人好事：帮邻居找回走失的孩子",
        grid=""))
    assert status == 201, body
    claim = Claim.objects.get(pk=body["claim_id"])
    assert claim.channel == ClaimChannel.PHONE and claim.subject.household_id == registered.household_id


def test_claim_for_a_household_outside_the_desk_is_404(registered):
    town_code = registered.region_id[:9]
    other = "420881107" if town_code != "420881107" else "420881108"
    desk = user_with_role(Role.TOWN_OPERATOR, other)
    before = counts()
    status, body = ApiClient(desk).post("intake/hotline/calls", call(call_ref="CR-0004", caller_phone=registered.phone,
                                                                     kind="claim", grid=""))
    assert_error(status, body, 404)
    assert counts() == before


def test_case_outside_the_town_is_refused(other_town):
    before = counts()
    status, body = ApiClient(other_town).post("intake/hotline/calls", call(call_ref="CR-0005"))
    assert_error(status, body, 403, "outside_scope")
    assert counts() == before


@pytest.mark.parametrize("overrides,code", [
    ({"call_ref": "bad ref!"}, "invalid_call_ref"),
    ({"caller_phone": "12"}, "invalid_phone"),
    ({"kind": "other"}, "invalid_kind"),
    ({"description": "  "}, "empty_text"),
    ({"grid": "", "caller_phone": "19900000009"}, "location_required"),
    ({"category": "NOPE"}, "invalid_category"),
    ({"kind": "claim", "caller_phone": "19900000009", "grid": ""}, "unregistered_sender"),
])
def test_malformed_calls_are_refused_and_change_nothing(town, overrides, code, django_capture_on_commit_callbacks):
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        status, body = ApiClient(town).post("intake/hotline/calls", {**call(call_ref="CR-0006"), **overrides})
    assert_error(status, body, 400, code)
    assert counts() == before
    assert not OutboundSms.objects.filter(purpose="intake.hotline.reply").exists()


def test_wrong_role_403_and_anonymous_401():
    worker = user_with_role(Role.GRID_WORKER, HUSHAN_GRID)
    before = counts()
    assert_error(*ApiClient(worker).post("intake/hotline/calls", call()), 403)
    assert_error(*ApiClient().post("intake/hotline/calls", call()), 401, "not_authenticated")
    assert_error(*ApiClient(worker).get("intake/messages"), 403)
    assert_error(*ApiClient().get("intake/messages"), 401)
    assert counts() == before


def test_message_list_scope_filters_and_detail(town, other_town, city):
    _, body = ApiClient(town).post("intake/hotline/calls", call(call_ref="CR-0007"))
    status, page = ApiClient(town).get("intake/messages", {"channel": "hotline"})
    assert status == 200 and body["id"] in [m["id"] for m in page["items"]] and page["count"] >= 1
    _, by_number = ApiClient(town).get("intake/messages", {"q": body["case_number"]})
    assert [m["id"] for m in by_number["items"]] == [body["id"]]
    _, none = ApiClient(town).get("intake/messages", {"channel": "sms", "q": body["case_number"]})
    assert none == {"count": 0, "items": []}
    assert_error(*ApiClient(town).get("intake/messages", {"channel": "fax"}), 400, "invalid_channel")
    assert_error(*ApiClient(town).get("intake/messages", {"date_from": "2026-12-05", "date_to": "2026-12-01"}), 400)
    # Another town's desk does not see it, in the list or by id; the city does.
    _, theirs = ApiClient(other_town).get("intake/messages")
    assert body["id"] not in [m["id"] for m in theirs["items"]]
    assert_error(*ApiClient(other_town).get(f"intake/messages/{body['id']}"), 404)
    status, one = ApiClient(city).get(f"intake/messages/{body['id']}")
    assert status == 200 and one["case_number"] == body["case_number"] and one["operator"]


def test_list_query_count_does_not_grow(town, django_assert_max_num_queries):
    for i in range(5):
        ApiClient(town).post("intake/hotline/calls", call(call_ref=f"CR-Q{i:03d}"))
    api = ApiClient(town)
    with django_assert_max_num_queries(8):
        status, page = api.get("intake/messages", {"page_size": 50})
    assert status == 200 and page["count"] >= 5


def test_hotline_page_form_and_message_page(town):
    client = Client()
    client.force_login(town)
    assert client.get("/intake/hotline/").status_code == 200
    bad = client.post("/intake/hotline/", {**call(call_ref="CR-0008"), "caller_phone": "1"})
    assert bad.status_code == 400 and "来电号码格式不正确".encode() in bad.content
    assert not InboundMessage.objects.filter(external_id="CR-0008").exists()
    response = client.post("/intake/hotline/", {**call(call_ref="CR-0008"), "category": "", "lon": "", "lat": ""})
    msg = InboundMessage.objects.get(external_id="CR-0008")
    assert response.status_code == 302 and response["Location"] == f"/intake/messages/{msg.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and msg.case.number.encode() in page.content
    assert b"13900001111" not in page.content and b"139****1111" in page.content
    listing = client.get("/intake/messages/", {"channel": "hotline"})
    assert listing.status_code == 200 and msg.case.number.encode() in listing.content
    assert "没有符合条件的消息".encode() in client.get("/intake/messages/", {"q": "不存在的内容xyz"}).content


def test_pages_refuse_wrong_role_and_out_of_scope(town, other_town):
    worker = user_with_role(Role.GRID_WORKER, HUSHAN_GRID)
    client = Client()
    client.force_login(worker)
    assert client.get("/intake/hotline/").status_code == 403
    assert client.get("/intake/messages/").status_code == 403
    _, body = ApiClient(town).post("intake/hotline/calls", call(call_ref="CR-0009"))
    client.force_login(other_town)
    assert client.get(f"/intake/messages/{body['id']}/").status_code == 404
    assert Client().get("/intake/hotline/").status_code == 302  # to the login page


def test_excel_export(town):
    _, body = ApiClient(town).post("intake/hotline/calls", call(call_ref="CR-0010"))
    client = Client()
    client.force_login(town)
    response = client.post("/intake/messages/export", {"channel": "hotline"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
    rows = book.get_sheet_by_name("接入消息").to_python()
    assert rows[0][:3] == ["编号", "渠道", "消息编号"]
    mine = [r for r in rows[1:] if r[2] == "CR-0010"]
    assert mine and mine[0][8] == body["case_number"] and mine[0][3] == "139****1111"
    assert all("13900001111" not in str(cell) for row in rows for cell in row)
    assert AuditEntry.objects.filter(action="intake.export", actor=town).exists()
    worker = user_with_role(Role.GRID_WORKER, HUSHAN_GRID)
    client.force_login(worker)
    assert client.post("/intake/messages/export", {}).status_code == 403
