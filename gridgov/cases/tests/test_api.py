"""/api/v1/cases: shapes, the whole workflow over HTTP, refusals in the one error shape, query counts."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridgov.cases.choices import CaseState
from gridgov.cases.models import Case, CaseCategory, CaseEvent
from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint

from . import factories as f

pytestmark = pytest.mark.django_db


def report_body(grid, **extra):
    return {"category": "G0104", "description": "村口有人聚众赌博", "lon": grid.centroid_lon,
            "lat": grid.centroid_lat, "address": "村委会旁", **extra}


def test_report_json_and_replay(world):
    client = ApiClient(world.worker)
    cid = str(uuid.uuid4())
    status, body = client.post("cases", report_body(world.grid, client_id=cid))
    assert status == 201, body
    assert body["state"] == "reported" and body["region_code"] == world.grid.code
    assert body["category"] == {"code": "G0104", "name": "治安秩序混乱"} and body["stage"] == "accept"
    assert body["number"].isdigit() and len(body["number"]) == 13
    assert body["events"][0]["action"] == "report" and body["events"][0]["actor_role"] == "grid_worker"
    assert body["actions"] == ["note"]  # not accept; self-resolve is not for this category; a work note is
    again_status, again = client.post("cases", report_body(world.grid, client_id=cid))
    assert again_status == 200 and again["id"] == body["id"]


def test_report_refusals(world):
    client = ApiClient(world.worker)
    before = Case.objects.count()
    assert_error(*client.post("cases", report_body(world.grid, category="NOPE")), 400, "invalid_category")
    assert_error(*client.post("cases", report_body(world.grid, urgency="normal", category="E0406")), 400,
                 "invalid_urgency")
    assert_error(*client.post("cases", report_body(world.grid2)), 403, "outside_scope")
    assert_error(*client.post("cases", report_body(world.grid, lon=0.0, lat=0.0)), 400, "outside_county")
    assert_error(*client.post("cases", report_body(world.grid, lon=500)), 400, "invalid_position")
    assert_error(*client.post("cases", {"category": "G0104"}), 400, "required")  # description
    assert_error(*client.post("cases", {"description": "x"}), 400, "category_required")  # no category, no component
    assert_error(*client.post("cases", "not json"), 400)
    assert_error(*ApiClient(world.station_staff).post("cases", report_body(world.grid)), 403)
    assert_error(*ApiClient().post("cases", report_body(world.grid)), 401, "not_authenticated")
    assert Case.objects.count() == before


def test_hotline_report_keeps_the_caller_encrypted_and_masked(world):
    status, body = ApiClient(world.town_op).post("cases", {
        "category": "G0203", "description": "工地拖欠工资", "grid": world.grid.code, "source": "hotline",
        "reporter_name": "张三丰", "reporter_phone": "13812345678", "external_ref": "12345-001"})
    assert status == 201 and body["source"] == "hotline" and body["reporter_phone"] == "13812345678"
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_phone, reporter_name FROM cases_case WHERE id = %s", [body["id"]])
        raw_phone, raw_name = cursor.fetchone()
    assert "13812345678" not in raw_phone and "张三丰" not in raw_name
    # the grid worker of the grid sees the case but not the caller
    status, seen = ApiClient(world.worker).get(f"cases/{body['id']}")
    assert status == 200 and seen["reporter_phone"] != "13812345678" and "5678" in seen["reporter_phone"]
    assert seen["reporter_name"] == "张**"


def post(user, case, action, body=None):
    return ApiClient(user).post(f"cases/{case}/{action}", body or {})


def test_the_whole_workflow_over_http(world):
    status, body = ApiClient(world.worker).post("cases", report_body(world.grid))
    case = body["id"]
    assert post(world.town_op, case, "accept", {"note": "已受理"})[1]["state"] == "accepted"
    status, body = post(world.town_op, case, "register", {"urgency": "urgent"})
    assert status == 200 and body["state"] == "registered" and body["urgency"] == "urgent"
    status, routing = ApiClient(world.town_op).get(f"cases/{case}/routing")
    status, body = post(world.town_op, case, "dispatch", {"department": routing["department"]["code"]})
    assert status == 200 and body["state"] == "dispatched" and body["lead_department"]["code"] == world.station
    assert post(world.station_staff, case, "handle")[1]["state"] == "handling"
    status, body = post(world.station_staff, case, "extend-request", {"hours": 8, "reason": "嫌疑人外出"})
    assert status == 200 and body["extension_requests"][0]["status"] == "pending"
    deadline = body["stage_deadline"]
    status, body = post(world.town_op, case, "extend-decide", {"grant": True, "note": "同意"})
    assert body["extension_requests"][0]["status"] == "granted" and body["stage_deadline"] > deadline
    status, body = post(world.city_op, case, "supervise", {"note": "请抓紧", "respond_within_hours": 4})
    assert status == 200 and body["supervisions"][0]["level"] == 1
    client = ApiClient(world.station_staff)
    response = client.client.post(f"/api/v1/cases/{case}/feedback", {"note": "已查处", "files": [f.upload()]},
                                  **client.headers)
    assert response.status_code == 200 and response.json()["state"] == "awaiting_verification"
    assert len(response.json()["attachments"]) == 1
    assert post(world.worker, case, "verify", {"passed": True, "note": "现场核实"})[1]["state"] == "verified"
    assert post(world.town_op, case, "close")[1]["state"] == "closed"
    status, body = post(world.worker, case, "evaluate", {"score": 5, "comment": "处理及时"})
    assert status == 200 and body["state"] == "evaluated" and body["evaluations"][0]["evaluator_kind"] == "reporter"
    actions = [e["action"] for e in body["events"]]
    assert actions == ["report", "accept", "register", "dispatch", "handle", "extend_request", "extend_decide",
                       "supervise", "feedback", "verify_pass", "close", "evaluate"]
    assert all(e["actor"] for e in body["events"])


def test_transition_refusals_over_http(world):
    case = world.case_in(CaseState.REPORTED).pk
    audits = AuditEntry.objects.filter(action__startswith="cases.")
    before = (CaseEvent.objects.count(), audits.count())
    assert_error(*post(world.town_op, case, "close"), 409, "invalid_transition")
    assert_error(*post(world.worker, case, "accept"), 403, "permission_denied")
    assert_error(*post(world.far_town_op, case, "accept"), 404, "not_found")
    assert_error(*post(world.station_staff, case, "handle"), 404, "not_found")
    assert_error(*ApiClient().post(f"cases/{case}/accept", {}), 401, "not_authenticated")
    assert_error(*post(world.town_op, case, "reject", {}), 422, "invalid_input")
    assert_error(*post(world.town_op, case, "dispatch", {"department": "GAJ", "files": 1}), 409)
    assert_error(*post(world.town_op, 999999999, "accept"), 404)
    assert_error(*ApiClient(world.town_op).get("cases/999999999"), 404)
    assert (CaseEvent.objects.count(), audits.count()) == before
    assert Case.objects.get(pk=case).state == CaseState.REPORTED


def test_detail_is_scoped(world):
    case = world.case_in(CaseState.DISPATCHED)
    body = assert_scoped_endpoint(f"cases/{case.pk}", in_scope_user=world.station_staff,
                                  out_of_scope_user=world.far_station_staff)
    assert body["actions"] == ["handle", "feedback", "return", "extend_request", "note"]
    assert [d["department"]["code"] for d in body["dispatches"]] == [world.station]


def test_list_filters_counts_and_pagination(world):
    for _ in range(3):
        f.report(world.grid, category="E0102", lon=world.grid.centroid_lon + 0.002 * _)
    world.case_in(CaseState.DISPATCHED)
    client = ApiClient(world.worker)
    status, body = client.get("cases", {"page_size": 2})
    assert status == 200 and body["count"] >= 4 and len(body["items"]) == 2
    assert body["counts"]["reported"] >= 3 and body["counts"]["dispatched"] >= 1
    status, body = client.get("cases", {"state": ["dispatched"], "category": "G01"})
    assert status == 200 and all(i["state"] == "dispatched" for i in body["items"]) and body["count"] >= 1
    # the counts apply every filter but the state: they are the desk's tabs
    assert body["counts"]["dispatched"] == body["count"] and body["counts"]["reported"] == 0
    status, body = client.get("cases", {"region": world.grid2.code})
    assert body["count"] == 0
    assert_error(*client.get("cases", {"state": "nonsense"}), 422, "invalid_input")
    assert_error(*client.get("cases", {"due": "later"}), 422, "invalid_input")
    assert_error(*client.get("cases", {"page_size": 1000}), 422, "invalid_input")


@pytest.mark.parametrize("who", ["city_op", "station_staff", "worker"])
def test_list_query_count_is_bounded(world, who):
    user = getattr(world, who)
    client = ApiClient(user)

    def run():
        with CaptureQueriesContext(connection) as ctx:
            status, body = client.get("cases", {"page_size": 50})
        assert status == 200
        return len(ctx.captured_queries), body["count"]

    world.case_in(CaseState.DISPATCHED)
    run()  # the first call of a token records its use
    small, n_small = run()
    for i in range(6):
        world.case_in(CaseState.HANDLING if i % 2 else CaseState.DISPATCHED)
    big, n_big = run()
    assert n_big > n_small and big == small <= 10


def test_detail_query_count_is_bounded(world):
    case = world.case_in(CaseState.EVALUATED)
    client = ApiClient(world.town_op)
    client.get(f"cases/{case.pk}")
    with CaptureQueriesContext(connection) as ctx:
        status, body = client.get(f"cases/{case.pk}")
    assert status == 200 and len(body["events"]) == 9 and len(ctx.captured_queries) <= 20


def test_categories(world):
    status, body = ApiClient(world.worker).get("cases/categories", {"kind": "social"})
    assert status == 200 and {"G01", "G0104", "G11"} <= {c["code"] for c in body}
    assert all(c["kind"] == "social" for c in body)
    garbage = next(c for c in ApiClient(world.worker).get("cases/categories")[1] if c["code"] == "E0102")
    assert garbage["time_limits"] == {"handle": 4} and garbage["self_resolvable"]
    new = {"code": "E0109X", "name": "秸秆焚烧", "kind": "event", "parent": "E01", "default_department_code": "STHJJ",
           "time_limits": {"handle": 2}, "urgency_levels": ["urgent", "normal"]}
    assert_error(*ApiClient(world.town_op).post("cases/categories", new), 403)
    status, created = ApiClient(world.city_op).post("cases/categories", new)
    assert status == 201 and created["level"] == 2 and created["parent"] == "E01"
    assert_error(*ApiClient(world.city_op).post("cases/categories", new), 409, "duplicate_code")
    assert_error(*ApiClient(world.city_op).post("cases/categories", {**new, "code": "X1",
                                                                    "time_limits": {"handle": -1}}), 400,
                 "invalid_limits")
    client = ApiClient(world.city_op)
    response = client.client.patch(f"/api/v1/cases/categories/{created['id']}", data={"is_active": False},
                                   content_type="application/json", **client.headers)
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert not CaseCategory.objects.get(code="E0109X").is_active
    assert_error(*ApiClient(world.worker).post("cases", report_body(world.grid, category="E0109X")), 400,
                 "invalid_category")


def test_openapi_lists_every_transition(world):
    status, schema = ApiClient(world.worker).get("/api/v1/openapi.json")
    assert status == 200
    paths = schema["paths"]
    for action in ("accept", "reject", "register", "dispatch", "handle", "feedback", "return", "verify", "close",
                   "evaluate", "extend-request", "extend-decide", "suspend", "resume", "void", "self-resolve",
                   "supervise", "merge"):
        assert f"/api/v1/cases/{{case_id}}/{action}" in paths, action


def test_suspension_register(world):
    case = world.case_in(CaseState.SUSPENDED)
    status, body = ApiClient(world.town_op).get("cases/suspensions", {"page_size": 200})
    assert status == 200 and case.pk in [row["case"]["id"] for row in body["items"]]
    row = next(r for r in body["items"] if r["case"]["id"] == case.pk)
    assert row["from_state"] == "registered" and row["reason"] == "待资金" and row["resumed_at"] is None
    assert case.pk not in [r["case"]["id"] for r in ApiClient(world.far_town_op).get("cases/suspensions")[1]["items"]]
    assert_error(*ApiClient(world.auditor).get("cases/suspensions"), 403)
