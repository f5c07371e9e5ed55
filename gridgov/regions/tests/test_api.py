import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.choices import Role
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint, user_with_role
from gridgov.regions.models import Region

pytestmark = pytest.mark.django_db

COUNTY = "420881"
HUJI = "420881103"
SHIPAI = "420881108"


@pytest.fixture
def hushan():
    return Region.objects.get(name="湖山村", parent_id=HUJI)


@pytest.fixture
def city():
    return ApiClient(user_with_role(Role.CITY_OPERATOR, COUNTY))


def test_list_is_paginated_with_count_and_items(city):
    status, body = city.get("regions", {"kind": "town", "page_size": 5})
    assert status == 200
    # 15 towns; 九里回族乡 is a township (code segment 200) and the two streets are streets.
    assert body["count"] == 15 and len(body["items"]) == 5
    status, page3 = city.get("regions", {"kind": "town", "page_size": 5, "page": 3})
    assert len(page3["items"]) == 5 and [i["kind"] for i in page3["items"]] == ["town"] * 5
    _, page4 = city.get("regions", {"kind": "town", "page_size": 5, "page": 4})
    assert page4["items"] == [] and page4["count"] == 15
    _, township = city.get("regions", {"kind": "township"})
    assert [i["name"] for i in township["items"]] == ["九里回族乡"]
    status, streets = city.get("regions", {"kind": "street"})
    assert [i["name"] for i in streets["items"]] == ["郢中街道", "皇庄街道"]


def test_list_filters_by_parent_prefix_and_name(city, hushan):
    _, by_parent = city.get("regions", {"parent": hushan.code, "page_size": 200})
    assert by_parent["count"] == Region.objects.filter(parent=hushan).count()
    assert all(i["parent"] == hushan.code for i in by_parent["items"])
    _, by_prefix = city.get("regions", {"prefix": HUJI, "kind": "village", "page_size": 1})
    assert by_prefix["count"] == Region.objects.filter(parent_id=HUJI).count()
    _, by_name = city.get("regions", {"q": "湖山"})
    assert "湖山村" in [i["name"] for i in by_name["items"]]


def test_list_is_filtered_to_the_users_scope(hushan):
    admin = ApiClient(user_with_role(Role.GRID_ADMIN, hushan.code))
    _, body = admin.get("regions", {"page_size": 200})
    assert body["count"] == 1 + Region.objects.filter(parent=hushan).count()
    assert all(i["code"].startswith(hushan.code) for i in body["items"])
    # Asking for another town's children by filter gives nothing, not an error that confirms them.
    _, other = admin.get("regions", {"parent": SHIPAI})
    assert other == {"count": 0, "items": []}


def test_list_query_count_does_not_grow_with_page_size(city):
    city.get("regions", {"page_size": 1})  # first use of the token records last_used_at
    with CaptureQueriesContext(connection) as small:
        city.get("regions", {"page_size": 5})
    with CaptureQueriesContext(connection) as big:
        city.get("regions", {"page_size": 200})
    assert len(big) == len(small) <= 6


def test_detail_has_parent_breadcrumb_and_child_counts(city, hushan):
    status, body = city.get(f"regions/{HUJI}")
    assert status == 200
    assert body["name"] == "胡集镇" and body["kind"] == "town" and body["parent"] == COUNTY
    assert body["parent_name"] == "钟祥市"
    assert body["child_counts"]["village"] == Region.objects.filter(parent_id=HUJI).count()
    assert body["child_counts"]["grid"] == Region.objects.filter(level=4, code__startswith=HUJI).count()
    assert [b["name"] for b in body["breadcrumb"]] == ["钟祥市", "胡集镇"]
    assert len(body["bbox"]) == 4 and len(body["centroid"]) == 2


def test_grid_worker_detail_in_and_out_of_scope(hushan):
    grids = list(Region.objects.filter(parent=hushan).order_by("code"))
    worker = user_with_role(Role.GRID_WORKER, grids[0].code)
    neighbour = user_with_role(Role.GRID_WORKER, grids[1].code)
    body = assert_scoped_endpoint(f"/api/v1/regions/{grids[0].code}", in_scope_user=worker,
                                  out_of_scope_user=neighbour)
    assert [b["name"] for b in body["breadcrumb"]] == ["钟祥市", "胡集镇", "湖山村", grids[0].name]
    client = ApiClient(worker)
    for code in (hushan.code, HUJI, COUNTY, grids[1].code):
        assert_error(*client.get(f"regions/{code}"), 404, "not_found")


@pytest.mark.parametrize("code", ["abc", "4208811", "42088110320100199", "%27%20OR%201=1", "000000"])
def test_malformed_or_missing_codes_are_404(city, code):
    assert_error(*city.get(f"regions/{code}"), 404, "not_found")


def test_children_and_geojson(city, hushan):
    assert_scoped_endpoint(f"/api/v1/regions/{hushan.code}/children",
                           in_scope_user=user_with_role(Role.TOWN_OPERATOR, HUJI),
                           out_of_scope_user=user_with_role(Role.TOWN_OPERATOR, SHIPAI))
    _, children = city.get(f"regions/{hushan.code}/children")
    grid_codes = list(Region.objects.filter(parent=hushan).order_by("code").values_list("code", flat=True))
    assert [c["code"] for c in children["items"]] == grid_codes
    status, fc = city.get(f"regions/{hushan.code}/geojson")
    assert status == 200 and fc["type"] == "FeatureCollection"
    assert [f["id"] for f in fc["features"]] == grid_codes
    assert fc["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # A grid's own map shows the grid itself.
    _, own = city.get(f"regions/{grid_codes[0]}/geojson")
    assert [f["id"] for f in own["features"]] == [grid_codes[0]]


def test_department_sees_its_jurisdiction_only():
    from gridgov.accounts.models import Department

    station = Department.objects.filter(parent__isnull=False, jurisdiction__code=HUJI).first()
    staff = ApiClient(user_with_role(Role.DEPT_STAFF, department_code=station.code))
    assert staff.get(f"regions/{HUJI}")[0] == 200
    assert_error(*staff.get(f"regions/{SHIPAI}"), 404)
    _, towns = staff.get("regions", {"kind": "town"})
    assert [t["code"] for t in towns["items"]] == [HUJI]


def test_auditor_cannot_read_regions():
    auditor = ApiClient(user_with_role(Role.AUDITOR))
    assert_error(*auditor.get("regions"), 403, "permission_denied")
    assert_error(*auditor.get(f"regions/{COUNTY}"), 403)


def test_locate_returns_grid_and_ancestors(city, hushan):
    grid = Region.objects.filter(parent=hushan).order_by("code").first()
    status, body = city.get("regions/locate", {"lon": grid.centroid_lon, "lat": grid.centroid_lat})
    assert status == 200, body
    assert body["grid"]["code"] == grid.code
    assert [a["code"] for a in body["ancestors"]] == [COUNTY, HUJI, hushan.code]


def test_locate_accepts_gcj02(city, hushan):
    from gridgov.regions.gcj02 import wgs84_to_gcj02

    grid = Region.objects.filter(parent=hushan).order_by("code").first()
    lon, lat = wgs84_to_gcj02(grid.centroid_lon, grid.centroid_lat)
    _, body = city.get("regions/locate", {"lon": lon, "lat": lat, "crs": "gcj02"})
    assert body["grid"]["code"] == grid.code


def test_locate_out_of_scope_or_outside_county_is_404(hushan):
    other_town = Region.objects.filter(level=4, code__startswith=SHIPAI).first()
    admin = ApiClient(user_with_role(Role.GRID_ADMIN, hushan.code))
    assert_error(*admin.get("regions/locate", {"lon": other_town.centroid_lon, "lat": other_town.centroid_lat}), 404)
    assert_error(*admin.get("regions/locate", {"lon": 116.4, "lat": 39.9}), 404)


@pytest.mark.parametrize(
    "params",
    [{}, {"lon": "x", "lat": 31}, {"lon": 200, "lat": 31}, {"lon": 112, "lat": -91},
     {"lon": 112, "lat": 31, "crs": "bd09"}, {"lon": "nan", "lat": "nan"}],
)
def test_locate_bad_input_is_422(city, params):
    status, body = city.get("regions/locate", params)
    assert_error(status, body, 422, "invalid_input")


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page_size": 1000}, {"page": "x"}, {"kind": "planet"}, {"prefix": "42a"}, {"parent": "1"}]
)
def test_list_bad_input_is_422(city, params):
    assert_error(*city.get("regions", params), 422, "invalid_input")


def test_anonymous_is_401_everywhere():
    for path in ("regions", f"regions/{COUNTY}", f"regions/{COUNTY}/children", f"regions/{COUNTY}/geojson",
                 "regions/locate?lon=112.5&lat=31.1", "audit", "auth/me"):
        assert_error(*ApiClient().get(path), 401, "not_authenticated")


def test_unknown_api_path_and_method_are_json(city):
    assert_error(*city.get("no-such-thing"), 404, "not_found")
    assert_error(*city.get("/api/v2/regions"), 404, "not_found")
    assert_error(*city.post(f"regions/{COUNTY}", {}), 405, "method_not_allowed")
    assert_error(*city.post("auth/token", "not json"), 400, "bad_request")
