"""/api/v1/components and the component pages: scope, filters, create/update refusals, import upload, map."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.choices import Role
from gridgov.cases.components import services
from gridgov.cases.models import Component
from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint, user_with_role

from .test_components_support import HUJI, OUTSIDE, SHIPAI, grid_in, point_in, workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def grid():
    return grid_in(HUJI)


@pytest.fixture
def other_grid():
    return grid_in(SHIPAI)


@pytest.fixture
def town():
    return user_with_role(Role.TOWN_OPERATOR, HUJI)


@pytest.fixture
def other_town():
    return user_with_role(Role.TOWN_OPERATOR, SHIPAI)


@pytest.fixture
def city():
    return user_with_role(Role.CITY_OPERATOR)


def make(grid, category="C0101", shift=0, **data) -> Component:
    lon, lat = point_in(grid, shift)
    return services.component_create(acting_user=user_with_role(Role.CITY_OPERATOR),
                                      data={"category": category, "lon": lon, "lat": lat, **data})


def test_create_assigns_a_code_and_locates_the_grid(town, grid):
    lon, lat = point_in(grid)
    status, body = ApiClient(town).post("components", {"category": "C0101", "lon": lon, "lat": lat,
                                                       "name": "井盖", "installed_on": "2021-06-01"})
    assert status == 201, body
    assert body["code"].startswith("4208810101") and len(body["code"]) == 16
    assert body["region_code"] == grid.code and body["owner_department"]["code"] == "ZJJ"
    assert body["category"] == {"code": "C0101", "name": "上水井盖"} and body["state_label"] == "完好"
    assert AuditEntry.objects.filter(action="component.create", object_id=str(body["id"])).exists()


def test_create_refusals_change_nothing(town, grid, other_grid):
    client = ApiClient(town)
    lon, lat = point_in(grid)
    o_lon, o_lat = point_in(other_grid)
    before = Component.objects.count()
    assert_error(*client.post("components", {"category": "C9999", "lon": lon, "lat": lat}), 400, "invalid")
    status, body = client.post("components", {"category": "C0101", "lon": OUTSIDE[0], "lat": OUTSIDE[1]})
    assert_error(status, body, 400)
    assert "不在钟祥市范围内" in body["message"]
    assert_error(*client.post("components", {"category": "C0101", "lon": o_lon, "lat": o_lat}), 403, "out_of_scope")
    assert_error(*client.post("components", {"category": "C0101", "lon": lon, "lat": lat,
                                             "code": "4208810102000001"}), 400)  # class 0102 ≠ C0101
    assert_error(*ApiClient(user_with_role(Role.GRID_WORKER, grid.code)).post(
        "components", {"category": "C0101", "lon": lon, "lat": lat}), 403, "permission_denied")
    assert_error(*client.post("components", {"category": "C0101", "lon": 999, "lat": lat}), 422, "invalid_input")
    assert Component.objects.count() == before
    created = make(grid)
    assert_error(*client.post("components", {"category": "C0101", "lon": lon, "lat": lat, "code": created.code}),
                 409, "duplicate_code")


def test_detail_is_scoped(town, other_town, grid):
    component = make(grid)
    assert_scoped_endpoint(f"components/{component.pk}", in_scope_user=town, out_of_scope_user=other_town)
    assert_scoped_endpoint(f"components/code/{component.code}", in_scope_user=town, out_of_scope_user=other_town)
    # a department sees what it owns, not what others own
    assert ApiClient(user_with_role(Role.DEPT_STAFF, department_code="ZJJ")).get(
        f"components/{component.pk}")[0] == 200
    assert_error(*ApiClient(user_with_role(Role.DEPT_STAFF, department_code="CGJ")).get(
        f"components/{component.pk}"), 404)
    assert_error(*ApiClient(user_with_role(Role.AUDITOR)).get(f"components/{component.pk}"), 403)


def test_list_filters(town, grid):
    a = make(grid, "C0101", 0, state="damaged")
    b = make(grid, "C0107", 1, owner_department="CGJ")
    c = make(grid, "C0302", 2, name="河边垃圾箱")
    client = ApiClient(town)

    def codes(**params):
        status, body = client.get("components", {"region": grid.code, "page_size": 200, **params})
        assert status == 200, body
        return {item["code"] for item in body["items"]}

    assert {a.code, b.code, c.code} <= codes()
    assert codes(category="C01") >= {a.code, b.code} and c.code not in codes(category="C01")
    assert codes(category="0107") & {a.code, b.code, c.code} == {b.code}
    assert codes(state="damaged") & {a.code, b.code, c.code} == {a.code}
    assert codes(department="CGJ") & {a.code, b.code, c.code} == {b.code, c.code}
    assert codes(q="河边") == {c.code}
    box = f"{a.lon - 1e-6},{a.lat - 1e-6},{a.lon + 1e-6},{a.lat + 1e-6}"
    assert codes(bbox=box) == {a.code}
    assert_error(*client.get("components", {"bbox": "1,2,3"}), 400, "invalid_bbox")
    assert_error(*client.get("components", {"category": "X1"}), 422, "invalid_input")
    status, body = ApiClient(user_with_role(Role.TOWN_OPERATOR, SHIPAI)).get("components", {"region": grid.code})
    assert status == 200 and body["count"] == 0


def test_list_query_count_is_bounded(town, grid):
    client = ApiClient(town)

    def run():
        with CaptureQueriesContext(connection) as ctx:
            status, _ = client.get("components", {"region": grid.code})
        assert status == 200
        return len(ctx.captured_queries)

    make(grid)
    run()
    small = run()
    for i in range(1, 15):
        make(grid, "C0107" if i % 2 else "C0302", i)
    assert run() == small <= 8


def test_update_state_position_and_refusals(town, other_town, grid, other_grid):
    component = make(grid)
    client = ApiClient(town)
    status, body = client._call("patch", f"components/{component.pk}", {"state": "damaged", "note": "井盖破损"})
    assert status == 200 and body["state"] == "damaged" and body["note"] == "井盖破损"
    lon, lat = point_in(grid, 3)
    status, body = client._call("patch", f"components/{component.pk}", {"lon": lon, "lat": lat})
    assert status == 200 and body["lon"] == lon
    # moving it out of the town's area is refused and changes nothing
    o_lon, o_lat = point_in(other_grid)
    assert_error(*client._call("patch", f"components/{component.pk}", {"lon": o_lon, "lat": o_lat}),
                 403, "out_of_scope")
    component.refresh_from_db()
    assert component.region_id == grid.code and component.lon == lon
    assert_error(*ApiClient(other_town)._call("patch", f"components/{component.pk}", {"state": "missing"}), 404)
    assert_error(*client._call("patch", f"components/{component.pk}", {"state": "gone"}), 422)
    staff = ApiClient(user_with_role(Role.DEPT_STAFF, department_code="ZJJ"))
    status, body = staff._call("patch", f"components/{component.pk}", {"state": "missing"})
    assert status == 200 and body["state"] == "missing"
    assert AuditEntry.objects.filter(action="component.update", object_id=str(component.pk)).count() == 3


def test_geojson_for_the_map(town, grid):
    a = make(grid)
    client = ApiClient(town)
    box = f"{a.lon - 0.001},{a.lat - 0.001},{a.lon + 0.001},{a.lat + 0.001}"
    status, body = client.get("components/geojson", {"bbox": box})
    assert status == 200 and body["type"] == "FeatureCollection" and body["truncated"] is False
    feature = next(f for f in body["features"] if f["properties"]["code"] == a.code)
    assert feature["geometry"] == {"type": "Point", "coordinates": [a.lon, a.lat]}
    assert feature["properties"]["state_label"] == "完好"
    assert_error(*client.get("components/geojson", {"bbox": "110,30,115,33"}), 400, "bbox_too_large")
    assert_error(*client.get("components/geojson"), 422, "invalid_input")
    status, body = ApiClient(user_with_role(Role.TOWN_OPERATOR, SHIPAI)).get("components/geojson", {"bbox": box})
    assert status == 200 and body["features"] == []


def test_import_upload(town, grid):
    lon, lat = point_in(grid)
    data = workbook([[None, "C0101", "上传井盖", lon, lat, None, None, None, None],
                     [None, "C9999", "坏", lon, lat, None, None, None, None]])
    api = ApiClient(town)
    client = api.client

    def upload(dry_run: bool):
        return client.post("/api/v1/components/import", {
            "file": SimpleUploadedFile("普查.xlsx", data), "dry_run": "true" if dry_run else "false",
        }, **api.headers)

    response = upload(True)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["created"] == 1 and body["rejected"] == 1
    assert body["errors"] == [{"row": 3, "code": "", "reasons": ["部件类别“C9999”不存在"]}]
    assert not Component.objects.filter(name="上传井盖").exists()
    assert upload(False).json()["created"] == 1
    assert upload(False).json()["unchanged"] == 1
    bad = client.post("/api/v1/components/import", {"file": SimpleUploadedFile("x.txt", b"hello")}, **api.headers)
    assert_error(bad.status_code, bad.json(), 400, "unreadable_file")
    worker = ApiClient(user_with_role(Role.GRID_WORKER, grid.code))
    refused = worker.client.post("/api/v1/components/import", {"file": SimpleUploadedFile("a.xlsx", data)},
                                 **worker.headers)
    assert_error(refused.status_code, refused.json(), 403)


# --- pages ----------------------------------------------------------------------------------------

def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_list_page_with_filters(town, grid):
    a = make(grid, "C0101", 0, name="页面井盖", state="damaged")
    client = login(town)
    html = client.get("/components/", {"region": grid.code, "state": "damaged"}).content.decode()
    assert "部件普查" in html and a.code in html and "页面井盖" in html and "导入普查数据" in html
    assert client.get("/components/", {"region": "abc"}).status_code == 400
    other = login(user_with_role(Role.TOWN_OPERATOR, SHIPAI)).get("/components/", {"region": grid.code})
    assert other.status_code == 200 and a.code not in other.content.decode()
    assert login(user_with_role(Role.AUDITOR)).get("/components/").status_code == 403
    assert Client().get("/components/").status_code == 302


def test_detail_page_and_state_form(town, other_town, grid):
    a = make(grid)
    client = login(town)
    page = client.get(f"/components/{a.pk}/")
    assert page.status_code == 200 and a.code in page.content.decode() and "更新状态" in page.content.decode()
    response = client.post(f"/components/{a.pk}/", {"state": "occupied", "note": "被占用"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.state == "occupied"
    assert login(other_town).get(f"/components/{a.pk}/").status_code == 404
    worker = login(user_with_role(Role.GRID_WORKER, grid.code))
    assert "更新状态" not in worker.get(f"/components/{a.pk}/").content.decode()
    assert worker.post(f"/components/{a.pk}/", {"state": "intact"}).status_code == 403


def test_import_page(town, grid):
    lon, lat = point_in(grid)
    client = login(town)
    assert client.get("/components/import/").status_code == 200
    data = workbook([[None, "C0101", "页面导入", lon, lat, None, None, None, None],
                     [None, "C0101", "境外", *OUTSIDE, None, None, None, None]])
    response = client.post("/components/import/", {"file": SimpleUploadedFile("a.xlsx", data)})
    html = response.content.decode()
    assert response.status_code == 200 and "导入结果" in html and "第 3 行" in html and "不在钟祥市范围内" in html
    assert Component.objects.filter(name="页面导入").exists()
    assert login(user_with_role(Role.GRID_WORKER, grid.code)).get("/components/import/").status_code == 403
