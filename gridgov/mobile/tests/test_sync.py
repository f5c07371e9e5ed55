"""The sync API: pull the worker's own grid, push the outbox idempotently, item by item."""

import base64
import io
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from gridgov.accounts.choices import Role
from gridgov.cases.choices import CaseState
from gridgov.cases.models import Case
from gridgov.cases.services import case_accept, case_report
from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error
from gridgov.mobile.models import PushReceipt
from gridgov.regions.gcj02 import wgs84_to_gcj02
from gridgov.visits.models import Patrol, Visit
from gridgov.visits.tests import factories as f

pytestmark = pytest.mark.django_db


def jpeg_data_url(size=(64, 48)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buf, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def village(db):
    return f.make_village()


@pytest.fixture
def grid(village):
    return village[1][0]


@pytest.fixture
def grid2(village):
    return village[1][1]


@pytest.fixture
def worker(grid):
    return f.make_worker(grid, "张网格")


@pytest.fixture
def child(grid):
    person = f.make_resident(grid, name="王小明", lon=grid.centroid_lon, lat=grid.centroid_lat)
    f.make_tag(person, "left_behind_child")
    return person


@pytest.fixture
def neighbour(grid2):
    person = f.make_resident(grid2, name="赵邻格", lon=grid2.centroid_lon, lat=grid2.centroid_lat)
    f.make_tag(person, "left_behind_child")
    return person


def visit_item(resident, grid, **data):
    return {"client_id": str(uuid.uuid4()), "kind": "visit", "recorded_at": timezone.now().isoformat(),
            "data": {"resident": resident.pk, "lon": grid.centroid_lon, "lat": grid.centroid_lat,
                     "accuracy_m": 12.5, "findings": "在家，状态良好", "photo": jpeg_data_url(), **data}}


def case_item(grid, **data):
    return {"client_id": str(uuid.uuid4()), "kind": "case_report", "recorded_at": timezone.now().isoformat(),
            "data": {"category": "E0102", "description": "路口垃圾堆积", "lon": grid.centroid_lon,
                     "lat": grid.centroid_lat, "photo": jpeg_data_url(), **data}}


def push(user, items):
    return ApiClient(user).post("mobile/sync", {"items": items})


# --- pull ----------------------------------------------------------------------------------------------

def test_pull_gives_the_own_grid_masked(grid, worker, child, neighbour):
    status, data = ApiClient(worker).get("mobile/sync")
    assert status == 200, data
    assert data["grid"]["code"] == grid.code and data["full"] is True
    assert [m["resident"] for m in data["must_visit"]] == [child.pk]
    assert data["must_visit"][0]["name"] == "王*明" and "监护是否到位" in data["must_visit"][0]["checklist"]
    names = {p["name"] for p in data["people"]}
    assert "王*明" in names and "王小明" not in str(data) and "赵*格" not in names  # only the own grid
    assert {c["code"] for c in data["catalogues"]["case_categories"]} >= {"E0102"}
    assert data["cursor"].startswith("v1:")


def test_pull_with_a_cursor_sends_changed_cases_only(grid, worker):
    client = ApiClient(worker)
    _, first = client.get("mobile/sync")
    assert first["cases"] == []
    case = case_report(acting_user=worker, category="E0102", description="井盖缺失", lon=grid.centroid_lon,
                       lat=grid.centroid_lat)
    status, second = client.get("mobile/sync", {"cursor": first["cursor"]})
    assert status == 200 and second["full"] is False and "catalogues" not in second
    assert [c["id"] for c in second["cases"]] == [case.pk]
    assert second["cases"][0]["actions"] == ["self_resolve"]
    _, third = client.get("mobile/sync", {"cursor": second["cursor"]})
    assert third["cases"] == []


def test_pull_refusals(worker):
    operator = f.make_user(Role.TOWN_OPERATOR, worker.assignments.first().region.parent.parent, "镇综治")
    assert_error(*ApiClient().get("mobile/sync"), 401, "not_authenticated")
    assert_error(*ApiClient(operator).get("mobile/sync"), 403)
    assert_error(*ApiClient(worker).get("mobile/sync", {"cursor": "garbage"}), 400, "invalid_cursor")


# --- push ----------------------------------------------------------------------------------------------

def test_push_a_visit_and_a_case_from_gcj02(grid, worker, child):
    lon, lat = wgs84_to_gcj02(grid.centroid_lon, grid.centroid_lat)
    items = [visit_item(child, grid, lon=lon, lat=lat, crs="gcj02", checklist=["监护是否到位"]), case_item(grid)]
    status, data = push(worker, items)
    assert status == 200, data
    assert [r["status"] for r in data["results"]] == ["ok", "ok"], data
    visit = Visit.objects.get(client_id=items[0]["client_id"])
    assert abs(visit.lon - grid.centroid_lon) < 1e-5 and abs(visit.lat - grid.centroid_lat) < 1e-5
    assert visit.accuracy_m == 12.5 and visit.photo and visit.location_check == "ok"
    case = Case.objects.get(client_id=items[1]["client_id"])
    assert case.state == CaseState.REPORTED and case.attachments.count() == 1
    assert data["results"][1]["ref"]["label"] == case.number
    assert AuditEntry.objects.filter(action="mobile.push", actor=worker).count() == 1


def test_a_push_replayed_three_times_creates_one_record(grid, worker, child):
    items = [visit_item(child, grid), case_item(grid, self_resolved=True, resolution_note="已清理")]
    results = [push(worker, items) for _ in range(3)]
    assert [r["status"] for r in results[0][1]["results"]] == ["ok", "ok"]
    for status, data in results[1:]:
        assert status == 200 and [r["status"] for r in data["results"]] == ["duplicate", "duplicate"]
        assert data["results"][1]["ref"] == results[0][1]["results"][1]["ref"]
    assert Visit.objects.filter(worker=worker).count() == 1
    assert Case.objects.filter(reporter=worker).count() == 1
    assert Case.objects.get(reporter=worker).state == CaseState.SELF_RESOLVED
    assert PushReceipt.objects.filter(user=worker).count() == 2


def test_a_worker_cannot_push_into_another_grid(grid, grid2, worker, neighbour):
    before = (Visit.objects.count(), Case.objects.count())
    status, data = push(worker, [visit_item(neighbour, grid2), case_item(grid2)])
    assert status == 200
    assert [(r["status"], r["code"]) for r in data["results"]] == [("refused", "not_found"),
                                                                   ("refused", "outside_scope")]
    assert data["results"][1]["message"] == "该位置不在您负责的区域内"
    assert (Visit.objects.count(), Case.objects.count()) == before
    assert not PushReceipt.objects.exists()


def test_a_malformed_batch_is_refused_item_by_item(grid, worker, child):
    good_visit, good_case = visit_item(child, grid), case_item(grid)
    bad_photo = visit_item(child, grid, photo="data:image/jpeg;base64,////")
    bad_photo["client_id"] = str(uuid.uuid4())
    items = [good_visit, "not an object", {"kind": "visit", "client_id": "nope", "data": {}},
             {"kind": "teleport", "client_id": str(uuid.uuid4()), "data": {}},
             {"kind": "case_report", "client_id": str(uuid.uuid4()), "data": {"category": "E0102"}},
             bad_photo, good_case]
    status, data = push(worker, items)
    assert status == 200, data
    got = [(r["index"], r["status"], r["code"]) for r in data["results"]]
    assert got == [(0, "ok", "ok"), (1, "refused", "malformed"), (2, "refused", "malformed"),
                   (3, "refused", "malformed"), (4, "refused", "required"), (5, "refused", "invalid_photo"),
                   (6, "ok", "ok")], got
    assert all(r["message"] for r in data["results"])
    assert Visit.objects.filter(worker=worker).count() == 1 and Case.objects.filter(reporter=worker).count() == 1
    assert (data["ok"], data["refused"]) == (2, 5)


def test_a_refused_item_can_be_fixed_and_resent_under_the_same_id(grid, worker, child):
    item = visit_item(child, grid, visited_at=(timezone.now() + timedelta(hours=2)).isoformat())
    _, data = push(worker, [item])
    assert data["results"][0]["code"] == "time_in_future"
    item["data"]["visited_at"] = timezone.now().isoformat()
    _, data = push(worker, [item])
    assert data["results"][0]["status"] == "ok"
    assert Visit.objects.filter(client_id=item["client_id"]).count() == 1


def test_the_envelope_itself_must_be_a_batch(worker):
    assert_error(*ApiClient(worker).post("mobile/sync", {"items": "x"}), 422, "invalid_input")
    too_many = [{"kind": "visit"}] * 51
    assert_error(*ApiClient(worker).post("mobile/sync", {"items": too_many}), 400, "batch_too_large")
    assert_error(*ApiClient().post("mobile/sync", {"items": []}), 401)


def test_conflict_the_case_moved_on_while_offline(grid, worker):
    case = case_report(acting_user=worker, category="E0102", description="垃圾", lon=grid.centroid_lon,
                       lat=grid.centroid_lat)
    operator = f.make_user(Role.TOWN_OPERATOR, grid.parent.parent, "镇综治")
    case_accept(acting_user=operator, case=case.pk)  # meanwhile the town accepted it
    item = {"client_id": str(uuid.uuid4()), "kind": "case_self_resolve",
            "data": {"case": case.pk, "base_state": "reported", "note": "已清理", "photo": jpeg_data_url()}}
    _, data = push(worker, [item])
    result = data["results"][0]
    assert (result["status"], result["code"]) == ("refused", "case_moved_on")
    assert result["extra"]["current_state"] == CaseState.ACCEPTED and "待立案" in result["message"]
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and not case.self_resolved


def test_self_resolve_an_own_reported_case(grid, worker):
    case = case_report(acting_user=worker, category="E0102", description="垃圾", lon=grid.centroid_lon,
                       lat=grid.centroid_lat)
    item = {"client_id": str(uuid.uuid4()), "kind": "case_self_resolve",
            "data": {"case": case.pk, "base_state": "reported", "note": "已清理", "photo": jpeg_data_url()}}
    _, data = push(worker, [item])
    assert data["results"][0]["status"] == "ok", data
    case.refresh_from_db()
    assert case.state == CaseState.SELF_RESOLVED


def test_a_patrol_in_one_item(grid, worker):
    start = timezone.now() - timedelta(minutes=30)
    points = [{"t": (start + timedelta(minutes=i)).isoformat(), "lon": grid.centroid_lon + i * 0.0001,
               "lat": grid.centroid_lat, "accuracy_m": 8} for i in range(5)]
    item = {"client_id": str(uuid.uuid4()), "kind": "patrol",
            "data": {"started_at": start.isoformat(), "ended_at": timezone.now().isoformat(), "points": points,
                     "findings": "无异常"}}
    _, first = push(worker, [item])
    _, again = push(worker, [item])
    assert first["results"][0]["status"] == "ok", first["results"]
    assert again["results"][0]["status"] == "duplicate"
    patrol = Patrol.objects.get(worker=worker)
    assert patrol.ended_at is not None and patrol.point_count == 5 and patrol.distance_m > 30


def test_session_push_needs_the_csrf_token(grid, worker, child):
    client = Client(enforce_csrf_checks=True)
    client.force_login(worker)
    body = {"items": [visit_item(child, grid)]}
    refused = client.post("/api/v1/mobile/sync", body, content_type="application/json")
    assert refused.status_code == 403 and not Visit.objects.filter(worker=worker).exists()
    client.get("/m/")  # the shell sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    ok = client.post("/api/v1/mobile/sync", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 200 and ok.json()["ok"] == 1
