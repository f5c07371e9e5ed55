"""The demo seeded once per session by conftest.py: structure, geometry, posts, and the command."""

import json
from collections import Counter, defaultdict
from io import StringIO

import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command

from gridgov.accounts.choices import REGION_ROLE_LEVELS, DepartmentKind, Role
from gridgov.accounts.models import Assignment, Department, User
from gridgov.core.models import AuditEntry
from gridgov.demo import seed
from gridgov.regions import codes
from gridgov.regions.geometry import area_km2
from gridgov.regions.models import Region

pytestmark = pytest.mark.django_db

COUNTY = "420881"
STREETS = {"420881001": "郢中街道", "420881002": "皇庄街道"}


@pytest.fixture(scope="module")
def plan():
    return seed.plan_regions()


def geoms(qs) -> dict[str, object]:
    return {code: shapely.from_wkb(bytes(wkb)) for code, wkb in qs.values_list("code", "geom_wkb")}


def table_counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Region, Department, User, Assignment, AuditEntry)}


# --- structure -------------------------------------------------------------------------------


def test_counts_match_the_article():
    kinds = Counter(Region.objects.values_list("kind", flat=True))
    assert kinds == {"county": 1, "street": 2, "town": 15, "township": 1, "community": 30, "village": 561,
                     "grid": 2672 + 195}
    grids = list(Region.objects.filter(level=4).values_list("code", flat=True))
    assert sum(not codes.is_urban(c) for c in grids) == 2672
    assert sum(codes.is_urban(c) for c in grids) == 195


def test_towns_and_streets_are_the_official_ones():
    towns = dict(Region.objects.filter(level=2).values_list("code", "name"))
    assert towns == dict(seed.official_towns())
    assert len(towns) == 18
    assert {c: towns[c] for c in STREETS} == STREETS
    assert towns["420881103"] == "胡集镇" and towns["420881200"] == "九里回族乡"
    assert Region.objects.get(code=COUNTY).name == "钟祥市"


def test_communities_only_under_streets_and_villages_only_under_towns():
    for code, parent_kind in Region.objects.filter(level=3).values_list("code", "parent__kind"):
        expected = "street" if codes.is_urban(code) else ("town", "township")
        assert parent_kind in expected, code
    per_street = Counter(Region.objects.filter(kind="community").values_list("parent_id", flat=True))
    assert per_street == {"420881001": 18, "420881002": 12}


def test_every_code_is_its_path_with_the_right_length_and_kind():
    for code, kind, level, parent in Region.objects.values_list("code", "kind", "level", "parent_id"):
        assert codes.level_of(code) == level
        assert len(code) == codes.CODE_LENGTHS[level]
        assert codes.kind_of(code) == kind
        assert parent == codes.parent_code(code)
        assert parent is None or code.startswith(parent)


def test_villages_have_three_to_eight_grids_and_names_are_unique():
    per_unit = Counter(Region.objects.filter(level=4).values_list("parent_id", flat=True))
    rural = [n for code, n in per_unit.items() if not codes.is_urban(code)]
    assert len(rural) == 561 and min(rural) >= 3 and max(rural) <= 8
    assert all(n >= 3 for code, n in per_unit.items() if codes.is_urban(code))
    unit_names = list(Region.objects.filter(level=3).values_list("name", flat=True))
    assert len(set(unit_names)) == len(unit_names)
    assert all(n.endswith("村") for n in Region.objects.filter(kind="village").values_list("name", flat=True))
    assert all(n.endswith("社区") for n in Region.objects.filter(kind="community").values_list("name", flat=True))
    grid = Region.objects.filter(parent__name="湖山村").order_by("code").first()
    assert grid.name == "湖山村第1网格" and grid.code.endswith("001")


def test_the_articles_villages_are_under_their_towns():
    for town, village in [("胡集镇", "湖山村"), ("胡集镇", "袁台村"), ("石牌镇", "钟堰村"), ("冷水镇", "百井村")]:
        region = Region.objects.get(name=village, level=3)
        assert region.parent.name == town and region.kind == "village"
        assert region.children.count() >= 3


# --- geometry --------------------------------------------------------------------------------


def test_every_polygon_is_a_valid_polygon_with_consistent_derived_fields():
    for region in Region.objects.all():
        geom = region.geometry
        assert geom is not None and geom.geom_type == "Polygon" and geom.is_valid, region.code
        assert region.area_km2 == pytest.approx(area_km2(geom), abs=1e-6)
        assert region.bbox == pytest.approx(list(geom.bounds))
        assert geom.contains(shapely.Point(region.centroid_lon, region.centroid_lat)), region.code


@pytest.mark.parametrize("level", [2, 3, 4])
def test_nodes_of_one_level_do_not_overlap(level):
    by_code = geoms(Region.objects.filter(level=level).order_by("code"))
    polygons = np.array(list(by_code.values()), dtype=object)
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    pairs = left < right
    assert pairs.sum() > len(polygons)  # neighbours touch
    overlap = shapely.area(shapely.intersection(polygons[left[pairs]], polygons[right[pairs]]))
    assert overlap.max() < 1e-10


@pytest.mark.parametrize("level", [1, 2, 3])
def test_every_parent_is_the_union_of_its_children(level):
    parents = geoms(Region.objects.filter(level=level))
    children = defaultdict(list)
    for code, geom in geoms(Region.objects.filter(level=level + 1)).items():
        children[code[: codes.CODE_LENGTHS[level]]].append(geom)
    assert set(children) == set(parents)
    for code, parent in parents.items():
        union = shapely.union_all(children[code])
        assert shapely.symmetric_difference(union, parent).area < 1e-9 * parent.area, code


def test_county_is_at_the_real_place_with_the_real_area():
    county = Region.objects.get(code=COUNTY)
    assert county.area_km2 == pytest.approx(4488, rel=0.05)
    assert county.centroid_lat == pytest.approx(31.17, abs=0.05)
    assert county.centroid_lon == pytest.approx(112.59, abs=0.05)


def test_streets_are_small_and_in_the_middle():
    county = Region.objects.get(code=COUNTY)
    for street in Region.objects.filter(kind="street"):
        assert street.area_km2 < 150
        assert abs(street.centroid_lat - county.centroid_lat) < 0.15
        assert abs(street.centroid_lon - county.centroid_lon) < 0.15


def test_the_plan_is_deterministic_and_is_what_was_stored(plan):
    again = seed.plan_regions()
    assert [(r.code, r.name, r.parent, r.geom.wkb) for r in plan] == [
        (r.code, r.name, r.parent, r.geom.wkb) for r in again
    ]
    stored = {code: bytes(wkb) for code, wkb in Region.objects.values_list("code", "geom_wkb")}
    assert stored == {r.code: shapely.to_wkb(r.geom) for r in plan}


def test_another_seed_gives_another_map_with_the_same_structure():
    a = seed.plan_regions(seed=1)
    assert Counter(r.kind for r in a) == Counter(Region.objects.values_list("kind", flat=True))
    assert a[0].geom.wkb != Region.objects.get(code=COUNTY).geom_wkb


def test_apportion_hits_the_total_within_bounds():
    counts = seed.apportion([1, 5, 5, 100, 0.1], 30, 3, 8)
    assert sum(counts) == 30 and min(counts) >= 3 and max(counts) <= 8
    assert counts[3] == 8
    with pytest.raises(ValueError):
        seed.apportion([1, 1], 20, 3, 8)


# --- departments and posts -------------------------------------------------------------------


def test_departments_and_their_jurisdictions():
    depts = {d.code: d for d in Department.objects.prefetch_related("jurisdiction")}
    jurisdiction = {code: sorted(r.code for r in d.jurisdiction.all()) for code, d in depts.items()}
    bureaus = [c for c, d in depts.items() if d.kind == DepartmentKind.BUREAU]
    assert {depts[c].name for c in bureaus} == {
        "民政局", "公安局", "城管局", "人社局", "卫健局", "应急管理局", "住建局", "生态环境局", "市场监管局", "教育局"
    }
    assert jurisdiction["CGJ"] == sorted(STREETS)
    assert all(jurisdiction[c] == [COUNTY] for c in bureaus if c != "CGJ")
    assert depts["WGZX"].kind == DepartmentKind.CENTRE and jurisdiction["WGZX"] == [COUNTY]
    stations = [d for d in depts.values() if d.kind == DepartmentKind.STATION]
    assert sorted(jurisdiction[d.code][0] for d in stations) == sorted(
        Region.objects.filter(level=2).values_list("code", flat=True)
    )
    assert all(d.parent.code == "GAJ" and d.name.endswith("派出所") for d in stations)
    assert depts["GAJ-420881103"].name == "胡集派出所"


def test_one_grid_worker_per_grid_and_one_grid_admin_per_village():
    for role, level in [(Role.GRID_WORKER, 4), (Role.GRID_ADMIN, 3)]:
        held = Counter(Assignment.objects.filter(role=role).values_list("region_id", flat=True))
        assert set(held) == set(Region.objects.filter(level=level).values_list("code", flat=True))
        assert set(held.values()) == {1}
    assert Assignment.objects.get(role=Role.GRID_WORKER, region_id="420881103201001").user.username == (
        "gw420881103201001"
    )


def test_every_post_is_filled():
    per_village = Counter(Assignment.objects.filter(role=Role.VILLAGE_CADRE).values_list("region_id", flat=True))
    assert len(per_village) == 591 and set(per_village.values()) == {3}
    per_town = Counter(Assignment.objects.filter(role=Role.TOWN_OPERATOR).values_list("region_id", flat=True))
    assert len(per_town) == 18 and set(per_town.values()) == {2}
    # two people at the city centre; the SMS and WeChat desks are machine accounts (no usable password)
    assert Assignment.objects.filter(role=Role.CITY_OPERATOR, region_id=COUNTY, user__is_machine=False).count() == 2
    for role in (Role.DEPT_STAFF, Role.DEPT_HEAD):
        held = Counter(Assignment.objects.filter(role=role).values_list("department__code", flat=True))
        assert set(held) == set(Department.objects.values_list("code", flat=True)) and set(held.values()) == {1}
    assert list(Assignment.objects.filter(role=Role.AUDITOR).values_list("user__username", flat=True)) == ["auditor"]
    assert list(Assignment.objects.filter(role=Role.SYSADMIN).values_list("user__username", flat=True)) == ["admin"]
    assert list(Assignment.objects.filter(role=Role.SECURITY_ADMIN).values_list("user__username", flat=True)) == [
        "secadmin"]
    # one post per person; the machine desks the intake demo creates (SMS, WeChat) are not demo people
    people = User.objects.filter(is_machine=False)
    assert people.count() == Assignment.objects.filter(user__in=people).count() == User.objects.filter(
        is_demo=True).count()


def test_assignments_pass_the_models_own_rules():
    # One of each role and level (full_clean on all 5,000 would only repeat the same checks).
    for role in Role.values:
        for a in Assignment.objects.filter(role=role).select_related("region", "department").order_by("id")[:3]:
            a.full_clean()
            if role in REGION_ROLE_LEVELS:
                assert a.region.level == REGION_ROLE_LEVELS[role]


def test_the_articles_people_hold_their_posts():
    yuantai = Region.objects.get(name="袁台村")
    assert Assignment.objects.get(role=Role.GRID_ADMIN, region=yuantai).user.full_name == "魏林"
    assert Assignment.objects.get(role=Role.DEPT_HEAD, department__code="WGZX").user.full_name == "关波"


def test_the_demo_password_logs_in_and_passes_the_rules():
    seed.check_demo_password()
    user = User.objects.get(username="gw420881103201001")
    assert user.check_password(seed.DEMO_PASSWORD)
    assert user.is_active and user.is_demo and user.full_name


def test_the_seed_left_one_audit_entry():
    entry = AuditEntry.objects.get(action="demo.seed")
    assert entry.actor is None and entry.region_code == COUNTY
    assert entry.changes["villages"] == 561 and entry.changes["rural_grids"] == 2672
    assert entry.changes["urban_grids"] == 195 and entry.changes["scale"] == "small"


# --- the command -----------------------------------------------------------------------------


def test_if_empty_on_a_seeded_database_only_prints_and_writes_the_accounts(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    before = table_counts()
    out, err = StringIO(), StringIO()
    call_command("seed_demo", scale="small", if_empty=True, stdout=out, stderr=err)
    assert table_counts() == before
    assert "跳过" in err.getvalue()
    payload = json.loads((tmp_path / "demo-accounts.json").read_text(encoding="utf-8"))
    assert payload["demo_only"] is True and payload["warning"]
    accounts = {a["role"]: a for a in payload["accounts"]}
    assert list(accounts) == Role.values
    hushan = Region.objects.get(name="湖山村")
    assert accounts["grid_worker"]["region_code"].startswith(hushan.code)
    assert accounts["grid_admin"]["region_code"] == accounts["village_cadre"]["region_code"] == hushan.code
    assert accounts["grid_admin"]["name"] == "胡集镇湖山村"
    assert accounts["town_operator"]["region_code"] == "420881103"
    for role, a in accounts.items():
        assert a["password"] == seed.DEMO_PASSWORD and a["username"] in out.getvalue()
        user = User.objects.get(username=a["username"], is_demo=True)
        held = Assignment.objects.get(user=user, role=role)
        assert ("region_code" in a) == (held.region_id is not None)
        assert a.get("region_code", held.region_id) == held.region_id
        assert a.get("department_code") == (held.department.code if held.department else None)
        assert a["name"]


def test_quiet_prints_nothing(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out, err = StringIO(), StringIO()
    call_command("seed_demo", if_empty=True, quiet=True, stdout=out, stderr=err)
    assert out.getvalue() == err.getvalue() == ""
    assert (tmp_path / "demo-accounts.json").exists()


def test_seeding_again_is_refused_and_changes_nothing(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    before = table_counts()
    with pytest.raises(CommandError, match="不能重复生成演示数据"):
        call_command("seed_demo", scale="small", stdout=StringIO(), stderr=StringIO())
    assert table_counts() == before
    assert not (tmp_path / "demo-accounts.json").exists()


def test_city_scale_is_refused_on_a_database_that_holds_data():
    before = table_counts()
    with pytest.raises(CommandError, match="只能在空数据库上生成"):
        call_command("seed_demo", scale="city", stdout=StringIO(), stderr=StringIO())
    assert table_counts() == before


def test_a_failure_half_way_leaves_nothing_behind(monkeypatch, plan):
    # Pretend the database is empty, write a tiny tree of new codes, then fail on departments.
    fake = [seed.RegionPlan("429005", "演示县", None, plan[0].geom),
            seed.RegionPlan("429005100", "演示镇", "429005", plan[0].geom)]
    monkeypatch.setattr(seed, "existing_data", lambda: None)
    monkeypatch.setattr(seed, "plan_regions", lambda s: fake)

    def fail(plan):
        assert Region.objects.filter(code__startswith="429005").count() == 2
        raise RuntimeError("disk full")

    monkeypatch.setattr(seed, "_write_departments", fail)
    before = table_counts()
    with pytest.raises(RuntimeError, match="disk full"):
        seed.seed_small()
    assert table_counts() == before
    assert not Region.objects.filter(code__startswith="429005").exists()
