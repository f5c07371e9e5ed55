"""The /api/v1/visits endpoints: shapes, scope, refusals in the one error shape, query counts."""

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint
from gridgov.visits.models import Need, Patrol, Visit

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(grid):
    person = f.make_resident(grid, name="留守娃", lon=grid.centroid_lon, lat=grid.centroid_lat)
    f.make_tag(person, "left_behind_child")
    return person


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def body(resident, **extra):
    return {"resident": resident.pk, "visited_at": timezone.now().isoformat(), **extra}


def snapshot():
    return Visit.objects.count(), Need.objects.count(), Patrol.objects.count()


def test_today_for_the_grid_worker(grid, worker, child):
    status, data = ApiClient(worker).get("visits/today")
    assert status == 200, data
    assert data["grid"] == {"code": grid.code, "name": grid.name} and data["count"] == 1
    entry = data["items"][0]
    assert entry["resident_id"] == child.pk and entry["name"] == "留守娃" and entry["never_visited"]
    assert [c["item"] for c in entry["checklist"]][:2] == ["监护是否到位", "上学与作业"]
    assert entry["tags"] == [{"code": "left_behind_child", "name": "留守儿童"}]


def test_today_for_others_needs_a_grid_in_scope(grid, grid2, worker, town_operator, cadre, child):
    client = ApiClient(town_operator)
    assert_error(*client.get("visits/today"), 400, "grid_required")
    status, data = client.get("visits/today", {"grid": grid.code})
    assert status == 200 and data["count"] == 1
    assert_error(*ApiClient(worker).get("visits/today", {"grid": grid2.code}), 404)
    assert_error(*ApiClient(cadre).get("visits/today", {"grid": "420881108201001"}), 404)
    assert_error(*ApiClient().get("visits/today"), 401, "not_authenticated")
    assert_error(*client.get("visits/today", {"grid": "abc"}), 422, "invalid_input")


def test_today_query_count_is_bounded(grid, worker):
    client = ApiClient(worker)

    def run():
        with CaptureQueriesContext(connection) as ctx:
            status, _ = client.get("visits/today")
        assert status == 200
        return len(ctx.captured_queries)

    p = f.make_resident(grid)
    f.make_tag(p, "left_behind_child")
    run()  # the first call of a token records its use
    small = run()
    for i in range(40):
        p = f.make_resident(grid, lon=grid.centroid_lon + i * 1e-4, lat=grid.centroid_lat)
        f.make_tag(p, "left_behind_elderly")
        f.make_tag(p, "disabled")
        f.make_visit(p, worker, f.days_ago(1 + i % 3))
    assert run() == small <= 10


def test_record_json_then_replay(grid, worker, child):
    client = ApiClient(worker)
    cid = str(uuid.uuid4())
    payload = body(child, lon=grid.centroid_lon, lat=grid.centroid_lat, accuracy_m=12, findings="一切正常",
                   checklist={"监护是否到位": True}, needs=[{"kind": "case", "text": "路面塌陷"}], client_id=cid)
    status, data = client.post("visits", payload)
    assert status == 201, data
    assert data["location_check"] == "ok" and data["resident"] == {"id": child.pk, "name": "留守娃"}
    assert data["needs"][0]["kind"] == "case" and data["needs"][0]["status"] == "recorded"
    assert data["checklist"][0] == {"item": "监护是否到位", "checked": True, "tag": "left_behind_child"}
    assert data["photo_url"] is None and data["client_id"] == cid
    before = snapshot()
    status, again = client.post("visits", payload)
    assert status == 200 and again["id"] == data["id"] and snapshot() == before
    # The must-visit list now shows the person as done.
    _, today = client.get("visits/today")
    assert today["done"] == 1 and today["items"][0]["visit_id"] == data["id"]


def test_record_multipart_with_photo(grid, worker, child, media):
    client = ApiClient(worker)
    photo = f.JPEG
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("IMG_0001.JPG", photo, content_type="image/jpeg")
    response = client.client.post("/api/v1/visits", data={
        "resident": child.pk, "visited_at": timezone.now().isoformat(), "lon": grid.centroid_lon,
        "lat": grid.centroid_lat, "needs": json.dumps([{"kind": "service", "text": "申请低保"}]),
        "checklist": json.dumps(["上学与作业"]), "photo": upload,
    }, **client.headers)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["photo_url"] == f"/api/v1/visits/{data['id']}/photo"
    assert [c["item"] for c in data["checklist"] if c["checked"]] == ["上学与作业"]
    got = client.client.get(data["photo_url"], **client.headers)
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    assert b"".join(got.streaming_content) == photo
    # Someone outside the grid cannot fetch it.
    other = ApiClient(f.make_worker(f.make_village(f.SHIPAI)[1][0]))
    assert_error(*other.get(data["photo_url"]), 404)


def test_record_refusals_change_nothing(grid, grid2, worker, worker2, cadre, child, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = snapshot()
    client = ApiClient(worker)
    assert_error(*client.post("visits", body(child, lon=181, lat=31)), 400, "invalid_position")
    assert_error(*client.post("visits", body(child, lon="东经", lat=31)), 422, "invalid_input")
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert_error(*client.post("visits", {**body(child), "visited_at": future}), 400, "time_in_future")
    assert_error(*client.post("visits", body(child, needs=[{"kind": "x", "text": "y"}])), 422, "invalid_input")
    assert_error(*client.post("visits", {"resident": child.pk}), 422, "invalid_input")
    assert_error(*client.post("visits", "not json"), 400, "invalid_json")
    assert_error(*ApiClient(worker2).post("visits", body(child)), 404, "not_found")
    assert_error(*ApiClient(cadre).post("visits", body(child)), 403, "permission_denied")
    assert_error(*ApiClient().post("visits", body(child)), 401, "not_authenticated")
    bad = SimpleUploadedFile("x.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = client.client.post("/api/v1/visits", data={"resident": child.pk,
                                                          "visited_at": timezone.now().isoformat(), "photo": bad},
                                  **client.headers)
    assert_error(response.status_code, response.json(), 400, "invalid_photo")
    assert snapshot() == before
    assert not any(media.rglob("*.jpg"))


def test_list_and_detail_are_scoped(grid, grid2, worker, worker2, child, town_operator):
    visit = f.make_visit(child, worker, f.days_ago(2))
    other = f.make_resident(grid2)
    f.make_visit(other, worker2, f.days_ago(1))
    detail = assert_scoped_endpoint(f"visits/{visit.pk}", in_scope_user=worker, out_of_scope_user=worker2)
    assert detail["id"] == visit.pk and detail["location_check"] == "no_gps"
    _, mine = ApiClient(worker).get("visits")
    assert [v["id"] for v in mine["items"]] == [visit.pk]
    _, town = ApiClient(town_operator).get("visits", {"region": grid.parent_id})
    assert town["count"] == 2
    _, filtered = ApiClient(town_operator).get("visits", {"region": grid.parent_id, "resident": child.pk,
                                                          "since": str(f.days_ago(3)), "location_check": "no_gps"})
    assert [v["id"] for v in filtered["items"]] == [visit.pk]
    _, none = ApiClient(town_operator).get("visits", {"region": grid.parent_id, "until": str(f.days_ago(3))})
    assert none == {"count": 0, "items": []}


def test_checklist_items_of_hidden_tags_are_not_shown(grid, worker, cadre):
    patient = f.make_resident(grid)
    f.make_tag(patient, "severe_mental_disorder", risk_level=3)
    f.make_tag(patient, "left_behind_elderly")
    _, data = ApiClient(worker).post("visits", body(patient, checklist={"服药情况": True, "身体状况": True}))
    assert {c["item"] for c in data["checklist"]} >= {"服药情况", "身体状况"}
    _, seen = ApiClient(cadre).get(f"visits/{data['id']}")
    assert "服药情况" not in {c["item"] for c in seen["checklist"]} and "身体状况" in {c["item"] for c in
                                                                                 seen["checklist"]}


def test_list_query_count_does_not_grow(grid, worker, child):
    client = ApiClient(worker)
    f.make_visit(child, worker, f.days_ago(1))
    client.get("visits")  # the first call of a token records its use
    with CaptureQueriesContext(connection) as small:
        client.get("visits")
    for n in range(15):
        v = f.make_visit(child, worker, f.days_ago(2 + n % 5))
        Need.objects.create(visit=v, region=grid, kind="other", text="x")
    with CaptureQueriesContext(connection) as big:
        _, data = client.get("visits", {"page_size": 50})
    assert data["count"] == 16 and len(big.captured_queries) == len(small.captured_queries)


def test_patrol_flow(grid, worker, worker2):
    client = ApiClient(worker)
    status, patrol = client.post("visits/patrols", {})
    assert status == 201 and patrol["region_code"] == grid.code and patrol["ended_at"] is None
    assert_error(*client.post("visits/patrols", {}), 409, "patrol_already_open")
    now = timezone.now()
    points = [{"t": (now - timedelta(seconds=60 - 10 * i)).isoformat(), "lon": grid.min_lon + i * 1e-4,
               "lat": grid.centroid_lat, "accuracy_m": 8} for i in range(5)]
    status, data = client.post(f"visits/patrols/{patrol['id']}/points", {"points": points})
    assert status == 200 and data["point_count"] == 5 and data["distance_m"] > 30
    assert_error(*ApiClient(worker2).post(f"visits/patrols/{patrol['id']}/points", {"points": points}), 404)
    status, ended = client.post(f"visits/patrols/{patrol['id']}/end", {"findings": "河堤有裂缝"})
    assert status == 200 and ended["ended_at"] and ended["findings"] == "河堤有裂缝"
    detail = assert_scoped_endpoint(f"visits/patrols/{patrol['id']}", in_scope_user=worker,
                                    out_of_scope_user=worker2)
    assert len(detail["track"]) == 5
    _, listed = client.get("visits/patrols")
    assert listed["count"] == 1


def test_coverage_overdue_and_month_endpoints(village, grid, worker, town_operator, worker2):
    late = f.make_resident(grid)
    f.make_tag(late, "left_behind_child")
    f.make_visit(late, worker, f.days_ago(3))
    client = ApiClient(town_operator)
    status, cov = client.get("visits/coverage", {"region": village[0].code})
    assert status == 200 and cov["region"]["required"] == 1 and cov["region"]["visited"] == 0
    assert [c["code"] for c in cov["children"]] == [g.code for g in village[1]]
    status, overdue = client.get("visits/overdue", {"region": village[0].code})
    assert status == 200 and overdue["count"] == 1 and overdue["items"][0]["days_overdue"] == 2
    month = timezone.localdate().strftime("%Y-%m")
    status, data = client.get(f"visits/workers/{worker.pk}/month", {"month": month})
    assert status == 200 and data["month"] == month and data["grids"][0]["code"] == grid.code
    assert_error(*ApiClient(worker2).get(f"visits/workers/{worker.pk}/month"), 404)
    assert_error(*client.get("visits/coverage", {"region": "420881108"}), 404)
    assert_error(*client.get("visits/coverage", {"region": "12"}), 422, "invalid_input")
    assert_error(*client.get(f"visits/workers/{worker.pk}/month", {"month": "2026-13"}), 422)


def test_openapi_documents_both_request_bodies(client):
    spec = client.get("/api/v1/openapi.json").json()
    body = spec["paths"]["/api/v1/visits"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert "$ref" not in json.dumps(body) and "photo" in body["multipart/form-data"]["schema"]["properties"]
    assert "/api/v1/visits/today" in spec["paths"] and "/api/v1/visits/coverage" in spec["paths"]
