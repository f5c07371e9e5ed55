"""The region page /regions/<code>/: breadcrumb, children table, map hooks; scope refusals as 404."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.accounts.policy import get_scope
from gridgov.core.testing import user_with_role
from gridgov.regions.models import Region

pytestmark = pytest.mark.django_db

COUNTY = "420881"
HUJI = "420881103"
SHIPAI = "420881108"


@pytest.fixture
def hushan():
    return Region.objects.get(name="湖山村", parent_id=HUJI)


@pytest.fixture
def grids(hushan):
    return list(Region.objects.filter(parent=hushan).order_by("code"))


def login(client, user):
    client.force_login(user)
    return client


def breadcrumb(html: str) -> list[str]:
    """The names in the breadcrumb, in order (links and plain text alike)."""
    nav = re.search(r'<nav class="breadcrumb".*?</nav>', html, re.S)
    assert nav, "no breadcrumb on the page"
    return [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", nav.group(0), re.S)]


def breadcrumb_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="breadcrumb".*?</nav>', html, re.S).group(0)
    return re.findall(r'href="/regions/([0-9]+)/"', nav)


def names_of(codes: list[str]) -> list[str]:
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return [names[c] for c in codes]


def test_grid_worker_sees_their_grid_with_the_whole_chain_named(client, hushan, grids):
    grid = grids[0]
    response = login(client, user_with_role(Role.GRID_WORKER, grid.code)).get(f"/regions/{grid.code}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert breadcrumb(html) == ["钟祥市", "胡集镇", "湖山村", grid.name]
    # The ancestors above the worker's grid are named but are not links: they are out of scope.
    assert breadcrumb_links(html) == []
    assert f"<h1>{grid.name}</h1>" in html and "网格" in html
    # A grid has no children: the map shows the grid itself, the table an empty state.
    assert "网格是最小管理单元" in html
    assert 'id="region-map"' in html and f'data-code="{grid.code}"' in html


@pytest.mark.parametrize("role", [Role.GRID_ADMIN, Role.VILLAGE_CADRE])
def test_village_roles_see_their_village_and_its_grids(client, role, hushan, grids):
    c = login(client, user_with_role(role, hushan.code))
    response = c.get(f"/regions/{hushan.code}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert breadcrumb(html) == ["钟祥市", "胡集镇", "湖山村"]
    assert breadcrumb_links(html) == []  # the current node is plain text, the town and county are outside
    for grid in grids:
        assert f'href="/regions/{grid.code}/"' in html and grid.name in html
    assert response.context["child_counts"] == [{"kind": "grid", "label": "网格", "n": len(grids)}]
    # ... and each grid below, with the village now a link back up.
    response = c.get(f"/regions/{grids[-1].code}/")
    assert response.status_code == 200
    assert breadcrumb(response.content.decode()) == ["钟祥市", "胡集镇", "湖山村", grids[-1].name]
    assert breadcrumb_links(response.content.decode()) == [hushan.code]


def test_town_operator_sees_the_town_villages_and_counts(client, hushan, grids):
    response = login(client, user_with_role(Role.TOWN_OPERATOR, HUJI)).get(f"/regions/{HUJI}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert breadcrumb(html) == ["钟祥市", "胡集镇"]
    villages = list(Region.objects.filter(parent_id=HUJI).order_by("code"))
    assert [c.code for c in response.context["children"]] == [v.code for v in villages]
    for village in villages:
        assert f'<a href="/regions/{village.code}/">{village.name}</a>' in html
    counts = {c["kind"]: c["n"] for c in response.context["child_counts"]}
    assert counts["grid"] == Region.objects.filter(level=4, code__startswith=HUJI).count()
    assert sum(n for k, n in counts.items() if k != "grid") == len(villages)
    assert "个网格" in html and f'<span class="stat-n">{counts["grid"]}</span>' in html
    assert "面积(km²)" in html and "区划代码" in html
    # Drilling down to a village and a grid of the town: the town is now a link in the breadcrumb.
    response = client.get(f"/regions/{grids[0].code}/")
    assert response.status_code == 200
    assert breadcrumb_links(response.content.decode()) == [HUJI, hushan.code]


@pytest.mark.parametrize("role", [Role.CITY_OPERATOR, Role.SYSADMIN])
def test_county_roles_see_every_town_and_link_every_ancestor(client, role, grids):
    user = user_with_role(role, COUNTY if role == Role.CITY_OPERATOR else None)
    c = login(client, user)
    response = c.get(f"/regions/{COUNTY}/")
    assert response.status_code == 200
    assert breadcrumb(response.content.decode()) == ["钟祥市"]
    towns = Region.objects.filter(parent_id=COUNTY)
    assert len(response.context["children"]) == towns.count()
    assert "胡集镇" in response.content.decode() and "石牌镇" in response.content.decode()
    response = c.get(f"/regions/{grids[0].code}/")
    assert response.status_code == 200
    assert breadcrumb_links(response.content.decode()) == [COUNTY, HUJI, grids[0].code[:12]]


def test_department_staff_see_their_jurisdiction():
    assignment = Assignment.objects.filter(role=Role.DEPT_STAFF, is_active=True, department__is_active=True)
    user = next((a.user for a in assignment.select_related("user") if get_scope(a.user).root_codes), None)
    if user is None:
        pytest.skip("the demo seed gives no department a jurisdiction")
    from django.test import Client

    client = Client()
    client.force_login(user)
    root = get_scope(user).root_codes[0]
    response = client.get(f"/regions/{root}/")
    assert response.status_code == 200
    assert breadcrumb(response.content.decode())[-1] == Region.objects.get(code=root).name


def test_map_element_carries_the_urls_its_script_needs(client, grids):
    response = login(client, user_with_role(Role.TOWN_OPERATOR, HUJI)).get(f"/regions/{HUJI}/")
    html = response.content.decode()
    assert f'data-geojson-url="/api/v1/regions/{HUJI}/geojson"' in html
    assert 'data-detail-url="/regions/__code__/"' in html and 'data-code-placeholder="__code__"' in html
    assert 'data-tile-url=""' in html  # base tiles are off unless MAP_TILE_URL is set
    # The map's own data, fetched with the page's session cookie: one feature per child in the table.
    geojson = client.get(f"/api/v1/regions/{HUJI}/geojson")
    assert geojson.status_code == 200
    features = geojson.json()["features"]
    assert [f["properties"]["code"] for f in features] == [c.code for c in response.context["children"]]
    assert all(f["properties"]["drill"] for f in features)
    # A grid's map shows the grid itself and offers no drill-down.
    grid_geojson = client.get(f"/api/v1/regions/{grids[0].code}/geojson").json()
    assert [f["properties"]["code"] for f in grid_geojson["features"]] == [grids[0].code]
    assert grid_geojson["features"][0]["properties"]["drill"] is False


def test_every_asset_is_served_by_the_app_itself(client):
    response = login(client, user_with_role(Role.TOWN_OPERATOR, HUJI)).get(f"/regions/{HUJI}/")
    html = response.content.decode()
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/leaflet/leaflet.js" in assets and "/static/vendor/leaflet/leaflet.css" in assets
    assert "/static/gridgov/region_map.js" in assets
    assert all(a.startswith("/static/") for a in assets), assets  # no CDN, ever
    assert "<script>" not in html  # the map script is a static file, not inline
    for path in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
                 "/static/vendor/leaflet/images/layers.png", "/static/gridgov/region_map.js",
                 "/static/gridgov/app.css", "/static/gridgov/favicon.svg"):
        served = client.get(path)
        assert served.status_code == 200, path
        served.close()


def test_tile_layer_url_comes_from_settings(client, settings):
    settings.MAP_TILE_URL = "http://tiles.local/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "本地瓦片服务"
    response = login(client, user_with_role(Role.TOWN_OPERATOR, HUJI)).get(f"/regions/{HUJI}/")
    html = response.content.decode()
    assert 'data-tile-url="http://tiles.local/{z}/{x}/{y}.png"' in html
    assert 'data-tile-attribution="本地瓦片服务"' in html


def test_query_count_does_not_grow_with_the_number_of_children(client, grids):
    c = login(client, user_with_role(Role.CITY_OPERATOR, COUNTY))
    c.get(f"/regions/{COUNTY}/")  # warm the session
    with CaptureQueriesContext(connection) as county:
        assert c.get(f"/regions/{COUNTY}/").status_code == 200
    with CaptureQueriesContext(connection) as village:
        assert c.get(f"/regions/{grids[0].code[:12]}/").status_code == 200
    assert len(county) == len(village) <= 12, [q["sql"] for q in county.captured_queries]


# --- refusals -------------------------------------------------------------------------------------


def assert_not_found(response, *hidden_names: str):
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在或无权访问" in html and "返回首页" in html
    for name in hidden_names:
        assert name not in html  # existence is not disclosed


def test_grid_worker_cannot_open_neighbour_grid_village_town_or_county(client, hushan, grids):
    c = login(client, user_with_role(Role.GRID_WORKER, grids[0].code))
    assert_not_found(c.get(f"/regions/{grids[1].code}/"), grids[1].name)
    assert_not_found(c.get(f"/regions/{hushan.code}/"))
    assert_not_found(c.get(f"/regions/{HUJI}/"))
    assert_not_found(c.get(f"/regions/{SHIPAI}/"), "石牌镇")
    assert_not_found(c.get(f"/regions/{COUNTY}/"))
    other_town_grid = Region.objects.filter(level=4, code__startswith=SHIPAI).order_by("code").first()
    assert_not_found(c.get(f"/regions/{other_town_grid.code}/"))


def test_town_operator_cannot_open_another_town_or_the_county(client):
    c = login(client, user_with_role(Role.TOWN_OPERATOR, HUJI))
    assert_not_found(c.get(f"/regions/{SHIPAI}/"), "石牌镇")
    village = Region.objects.filter(parent_id=SHIPAI).order_by("code").first()
    assert_not_found(c.get(f"/regions/{village.code}/"), village.name)
    assert_not_found(c.get(f"/regions/{COUNTY}/"))
    assert_not_found(c.get(f"/regions/{HUJI}999/"))  # well-formed, in scope, but no such node


@pytest.mark.parametrize("code", ["abc", "42088", "4208811", "4208811030", "420881103x", "420881103" + "0" * 7,
                                  "%E8%83%A1%E9%9B%86", "-1", "4208811032001"])
def test_malformed_code_is_404(client, code):
    c = login(client, user_with_role(Role.CITY_OPERATOR, COUNTY))
    assert_not_found(c.get(f"/regions/{code}/"))


def test_auditor_has_no_region_pages(client):
    c = login(client, user_with_role(Role.AUDITOR))
    assert_not_found(c.get(f"/regions/{COUNTY}/"))
    assert_not_found(c.get(f"/regions/{HUJI}/"))


def test_anonymous_is_sent_to_login(client):
    response = client.get(f"/regions/{HUJI}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/regions/{HUJI}/"


# --- home page ------------------------------------------------------------------------------------


def test_home_sends_each_role_to_where_their_work_starts(client, hushan, grids):
    worker = user_with_role(Role.GRID_WORKER, grids[0].code)
    response = login(client, worker).get("/")
    assert response.status_code == 302 and response["Location"] == f"/regions/{grids[0].code}/"
    assert client.get(response["Location"]).status_code == 200

    client.logout()
    response = login(client, user_with_role(Role.TOWN_OPERATOR, HUJI)).get("/")
    assert response["Location"] == f"/regions/{HUJI}/"

    client.logout()
    response = login(client, user_with_role(Role.AUDITOR)).get("/")
    assert response.status_code == 302 and response["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200


def test_home_for_anonymous_is_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
