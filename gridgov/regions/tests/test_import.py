"""Importing region boundaries from GeoJSON: `regions_import` and `gridgov import_regions`.

The tests run on the seeded demo tree (conftest). They pick a village with two neighbouring
grids; if the database has no tree (a run without the demo seed), they build a small one.
"""

import json
import time
from types import SimpleNamespace

import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command
from shapely.geometry import box, mapping

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User
from gridgov.core.errors import PermissionDenied
from gridgov.core.models import AuditEntry
from gridgov.regions import importer, locator
from gridgov.regions.choices import RegionLevel
from gridgov.regions.gcj02 import wgs84_to_gcj02
from gridgov.regions.geometry import derived_fields
from gridgov.regions.importer import RegionImportInvalid
from gridgov.regions.models import Region
from gridgov.regions.services import regions_import

pytestmark = pytest.mark.django_db

COUNTY = "420881"


# --- helpers ---------------------------------------------------------------------------------------


def feature(code, geom, name=None, **props):
    properties = {"code": code, **props}
    if name is not None:
        properties["name"] = name
    return {"type": "Feature", "properties": properties,
            "geometry": json.loads(json.dumps(mapping(geom))) if geom is not None else None}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def state():
    """Everything an import could change, to prove that a refused one changed nothing."""
    return {
        "regions": sorted(
            (code, name, kind, bytes(wkb) if wkb is not None else None)
            for code, name, kind, wkb in Region.objects.values_list("code", "name", "kind", "geom_wkb")
        ),
        "audit": AuditEntry.objects.count(),
    }


def refused(features, *needles, acting_user=None):
    """Import `features`, expect a refusal naming every needle, and nothing written."""
    before = state()
    with pytest.raises(RegionImportInvalid) as info:
        regions_import(acting_user=acting_user, features=features)
    assert state() == before
    text = "\n".join(str(p) for p in info.value.problems)
    for needle in needles:
        assert needle in text, f"{needle!r} not in:\n{text}"
    return info.value.problems


def _build_small_tree():
    """County → town → village → four grids, for a database without the demo seed."""
    def make(code, name, geom):
        Region.objects.create(
            code=code, name=name, kind=importer.codes.kind_of(code), level=importer.codes.level_of(code),
            parent_id=importer.codes.parent_code(code), **derived_fields(geom),
        )

    make(COUNTY, "钟祥市", box(112.0, 31.0, 113.0, 32.0))
    make("420881100", "郢中镇", box(112.0, 31.0, 112.5, 31.5))
    make("420881100201", "测试村", box(112.0, 31.0, 112.2, 31.2))
    for i, (x, y) in enumerate([(112.0, 31.0), (112.1, 31.0), (112.0, 31.1), (112.1, 31.1)], start=1):
        make(f"420881100201{i:03d}", f"第{i}网格", box(x, y, x + 0.1, y + 0.1))


@pytest.fixture
def tree(db):
    """A village of the tree with a grid `x` and a neighbouring grid `y`."""
    if not Region.objects.filter(code=COUNTY).exists():
        _build_small_tree()
    locator.invalidate()
    grids = list(
        Region.objects.filter(level=RegionLevel.GRID, code__startswith=COUNTY, geom_wkb__isnull=False)
        .order_by("code")[:400]
    )
    by_village: dict[str, list[Region]] = {}
    for grid in grids:
        by_village.setdefault(grid.parent_id, []).append(grid)
    for village_code, siblings in by_village.items():
        for x in siblings:
            for y in siblings:
                if x.code != y.code and x.geometry.intersection(y.geometry).length > 1e-4:
                    village = Region.objects.get(code=village_code)
                    return SimpleNamespace(village=village, x=x, y=y, gx=x.geometry, gy=y.geometry,
                                           gv=village.geometry)
    pytest.fail("no village with two neighbouring grids")


def next_grid_code(village_code: str) -> str:
    taken = {int(c[-3:]) for c in Region.objects.filter(parent_id=village_code).values_list("code", flat=True)}
    return f"{village_code}{min(set(range(1, 1000)) - taken):03d}"


def make_user(username, role, region=None):
    user = User.objects.create_user(username=username, password="x-Unused-123")
    Assignment.objects.create(user=user, role=role, region=region)
    return user


@pytest.fixture
def sysadmin(db):
    return make_user("import_sysadmin", Role.SYSADMIN)


@pytest.fixture
def city_operator(tree):
    return make_user("import_city_operator", Role.CITY_OPERATOR, Region.objects.get(code=COUNTY))


def inner_part(geom):
    """A piece of `geom` around a point inside it: a boundary that stays inside the grid."""
    p = geom.representative_point()
    minx, miny, maxx, maxy = geom.bounds
    w, h = (maxx - minx) / 4, (maxy - miny) / 4
    part = geom.intersection(box(p.x - w, p.y - h, p.x + w, p.y + h))
    return part if part.geom_type in ("Polygon", "MultiPolygon") else max(part.geoms, key=lambda g: g.area)


def halves(geom):
    """`geom` cut in two along the vertical line through its representative point."""
    p = geom.representative_point()
    minx, miny, maxx, maxy = geom.bounds
    left = geom.intersection(box(minx - 1, miny - 1, p.x, maxy + 1))
    right = geom.intersection(box(p.x, miny - 1, maxx + 1, maxy + 1))
    return left, right


def interior_point(geom):
    p = geom.representative_point()
    return p.x, p.y


# --- successful imports ------------------------------------------------------------------------


def test_update_one_grid_geometry_inside_its_village(tree, sysadmin):
    new = inner_part(tree.gx)
    removed = tree.gx.difference(new.buffer(1e-6))
    audit_before = AuditEntry.objects.count()
    assert locator.locate_point(*interior_point(removed)) == tree.x.code

    result = regions_import(acting_user=sysadmin, features=[feature(tree.x.code, new)])

    assert result.counts == {"created": 0, "updated": 1, "unchanged": 0}
    region = Region.objects.get(code=tree.x.code)
    assert importer.same_geometry(region.geometry, new)
    assert region.name == tree.x.name
    assert region.area_km2 == pytest.approx(derived_fields(new)["area_km2"])
    assert region.min_lon == pytest.approx(new.bounds[0])
    # The locator answers from the new boundary: the cut-off part is no longer in the grid.
    assert locator.locate_point(*interior_point(new)) == tree.x.code
    assert locator.locate_point(*interior_point(removed)) != tree.x.code
    # One row for the node, one summary; both attributed to the acting user.
    rows = list(AuditEntry.objects.filter(action="region.import").order_by("id"))
    assert AuditEntry.objects.count() == audit_before + 2
    node, summary = rows[-2:]
    assert (node.object_type, node.object_id, node.region_code) == ("regions.region", tree.x.code, tree.x.code)
    assert set(node.changes) == {"geometry", "batch"}
    assert node.changes["geometry"][1]["area_km2"] == region.area_km2
    assert node.actor_id == sysadmin.id
    assert summary.object_type == "regions.import" and summary.object_id == result.batch
    assert summary.changes["updated"] == 1 and summary.changes["created"] == 0
    assert summary.region_code == tree.x.code


def test_split_a_grid_into_two(tree, sysadmin):
    left, right = halves(tree.gx)
    new_code = next_grid_code(tree.village.code)

    result = regions_import(acting_user=sysadmin, features=[
        feature(tree.x.code, left),
        feature(new_code, right, name="新分网格", kind="grid"),
    ])

    assert result.created == [new_code] and result.updated == [tree.x.code]
    created = Region.objects.get(code=new_code)
    assert (created.name, created.kind, created.level, created.parent_id) == (
        "新分网格", "grid", 4, tree.village.code)
    assert created.centroid_lon is not None and created.area_km2 > 0
    assert locator.locate_point(*interior_point(right)) == new_code
    assert locator.locate_point(*interior_point(left)) == tree.x.code
    node = AuditEntry.objects.get(action="region.import", object_id=new_code)
    assert node.changes["name"] == [None, "新分网格"] and node.message.startswith("新建")
    summary = AuditEntry.objects.get(action="region.import", object_type="regions.import")
    assert summary.region_code == tree.village.code


def test_rename_only_records_the_name(tree, sysadmin):
    result = regions_import(acting_user=sysadmin, features=[feature(tree.x.code, tree.gx, name="更名网格")])
    assert result.updated == [tree.x.code]
    assert Region.objects.get(code=tree.x.code).name == "更名网格"
    node = AuditEntry.objects.get(action="region.import", object_id=tree.x.code)
    assert set(node.changes) == {"name", "batch"}
    assert node.changes["name"] == [tree.x.name, "更名网格"]


def test_unchanged_feature_writes_only_the_summary(tree):
    before = AuditEntry.objects.count()
    updated_at = Region.objects.get(code=tree.x.code).updated_at
    result = regions_import(acting_user=None, features=[feature(tree.x.code, tree.gx, name=tree.x.name)])
    assert result.counts == {"created": 0, "updated": 0, "unchanged": 1}
    assert Region.objects.get(code=tree.x.code).updated_at == updated_at
    assert AuditEntry.objects.count() == before + 1
    summary = AuditEntry.objects.latest("id")
    assert summary.actor is None and summary.actor_username == "system"


def test_children_are_checked_against_their_parents_new_boundary(tree):
    """A village and its grid in one file: the grid must fit the village's new boundary."""
    grids = Region.objects.filter(parent_id=tree.village.code)
    part = inner_part(tree.gx)
    village = shapely.union_all([g.geometry for g in grids]).difference(part)
    # The grid keeps its old boundary, which reaches into the part cut off the village: refused.
    refused([feature(tree.village.code, village), feature(tree.x.code, tree.gx)],
            f"第 2 个要素（{tree.x.code}）：网格不在上级", f"（{tree.village.code}）的边界内")
    # The grid gives the part up as well: accepted.
    result = regions_import(acting_user=None, features=[
        feature(tree.village.code, village), feature(tree.x.code, tree.gx.difference(part))])
    assert result.updated == [tree.village.code, tree.x.code]


def test_existing_children_must_stay_inside_a_moved_parent(tree):
    problems = refused([feature(tree.village.code, tree.gx)],
                       f"第 1 个要素（{tree.village.code}）：现有下级网格“{tree.y.name}”（{tree.y.code}）不在新边界内")
    assert {p.code for p in problems} == {tree.village.code}


def test_gcj02_input_is_converted_to_wgs84(tree):
    new = inner_part(tree.gx)

    def to_gcj(xy):
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    drawn = shapely.transform(new, to_gcj)
    assert shapely.hausdorff_distance(drawn, new) > 1e-4  # a real offset, a few hundred metres
    result = regions_import(acting_user=None, features=[feature(tree.x.code, drawn)], crs="gcj02")
    assert result.updated == [tree.x.code]
    stored = Region.objects.get(code=tree.x.code).geometry
    assert shapely.hausdorff_distance(stored, new) < 1e-8


# --- refusals: each gives its message and writes nothing -------------------------------------------


def test_bad_json_is_refused():
    with pytest.raises(RegionImportInvalid) as info:
        importer.load_feature_collection(b'{"type": "FeatureCollection", "features": [}')
    assert "文件不是有效的 JSON：第 1 行第 44 列，Expecting value" in str(info.value.problems[0])
    with pytest.raises(RegionImportInvalid, match="不是 GeoJSON FeatureCollection"):
        importer.load_feature_collection('{"type": "Feature"}')
    with pytest.raises(RegionImportInvalid, match="UTF-8"):
        importer.load_feature_collection("钟祥".encode("gbk"))
    assert importer.load_feature_collection(b'\xef\xbb\xbf{"type": "FeatureCollection", "features": []}') == []


def test_empty_collection_is_refused(tree):
    refused([], "没有任何要素")


@pytest.mark.parametrize(("code", "message"), [
    ("42088110020", "应为 6、9、12 或 15 位数字"),
    ("42088110020A001", "应为 6、9、12 或 15 位数字"),
    ("420881100201000", "网格代码“420881100201000”的后三位应在 001-999 之间"),
    ("420881100400", "村社区代码“420881100400”的后三位应在 001-399 之间"),
    ("420881400201001", "乡镇街道代码“420881400”的后三位应在 001-399 之间"),  # a bad segment above
    ("420800100201001", "区划代码“420800”不是县级代码"),
    (None, "缺少区划代码"),
    (["420881"], "区划代码应为数字字符串"),
])
def test_bad_code_is_refused(tree, code, message):
    problems = refused([feature(code, tree.gx, name="坏代码")], message, "第 1 个要素")
    assert len(problems) == 1


def test_kind_contradicting_the_code_is_refused(tree):
    refused([feature(tree.x.code, tree.gx, kind="village")], "类型 'village' 与区划代码不符：按代码应为 grid（网格）")


def test_unknown_parent_is_refused(tree):
    code = "420881399201001"
    assert not Region.objects.filter(code__startswith="420881399").exists()
    refused([feature(code, tree.gx, name="无主网格")],
            f"第 1 个要素（{code}）：上级区划 420881399201 既不在数据库中，也不在本文件中")


def test_new_village_and_its_grid_in_one_file(tree):
    """A parent created in the same file is enough for its children; parents are written first."""
    part = inner_part(tree.gx)
    town = tree.village.parent_id
    taken = set(Region.objects.filter(parent_id=town).values_list("code", flat=True))
    village_code = next(f"{town}{n:03d}" for n in range(399, 199, -1) if f"{town}{n:03d}" not in taken)
    grid_code = village_code + "001"
    features = [
        feature(grid_code, part, name="新村第一网格"),  # the child comes first in the file
        feature(village_code, part, name="新村"),
        feature(tree.village.code, tree.gv.difference(part)),
        feature(tree.x.code, tree.gx.difference(part)),
    ]
    result = regions_import(acting_user=None, features=features)
    assert result.created == [village_code, grid_code]
    assert result.updated == [tree.village.code, tree.x.code]
    assert Region.objects.get(code=grid_code).parent_id == village_code
    assert Region.objects.get(code=village_code).kind == "village"
    assert locator.locate_point(*interior_point(part)) == grid_code


def test_duplicate_code_is_refused(tree):
    refused([feature(tree.x.code, tree.gx), feature(tree.x.code, tree.gx)],
            f"第 2 个要素（{tree.x.code}）：区划代码与第 1 个要素重复")


def test_missing_name_for_a_new_node_is_refused(tree):
    left, right = halves(tree.gx)
    code = next_grid_code(tree.village.code)
    refused([feature(tree.x.code, left), feature(code, right)],
            f"第 2 个要素（{code}）：新建区划必须填写名称（properties.name）")


def test_self_intersecting_bow_tie_is_refused(tree):
    minx, miny, maxx, maxy = inner_part(tree.gx).bounds
    ring = [[minx, miny], [maxx, maxy], [maxx, miny], [minx, maxy], [minx, miny]]
    bow_tie = {"type": "Polygon", "coordinates": [ring]}
    f = {"type": "Feature", "properties": {"code": tree.x.code}, "geometry": bow_tie}
    refused([f], f"第 1 个要素（{tree.x.code}）：边界无效：边界线自相交（Self-intersection[")


@pytest.mark.parametrize(("geometry", "message"), [
    (None, "缺少边界（geometry 为空）"),
    ({"type": "Point", "coordinates": [112.5, 31.2]}, "边界类型应为 Polygon 或 MultiPolygon，而不是 Point"),
    ({"type": "Polygon", "coordinates": []}, "边界为空"),
    ({"type": "Polygon", "coordinates": [[[112.0, 31.0], [112.1, 31.0]]]}, "边界坐标格式错误"),
    ({"type": "Polygon", "coordinates": [[[31.0, 112.0], [31.1, 112.0], [31.1, 112.1], [31.0, 112.0]]]},
     "坐标 [31, 112] 超出 WGS84 范围"),
    ({"type": "Polygon", "coordinates": [[[112.0, 31.0], [112.1, 31.0], [112.2, 31.0], [112.0, 31.0]]]},
     "边界无效"),
])
def test_unusable_geometry_is_refused(tree, geometry, message):
    f = {"type": "Feature", "properties": {"code": tree.x.code}, "geometry": geometry}
    refused([f], message)


def test_grid_outside_its_village_is_refused(tree):
    minx, miny, maxx, maxy = tree.gv.bounds
    moved = shapely.affinity.translate(tree.gx, xoff=2 * (maxx - minx) + 0.01)
    refused([feature(tree.x.code, moved)],
            f"第 1 个要素（{tree.x.code}）：网格不在上级{importer.kind_label(tree.village.kind)}“{tree.village.name}”"
            f"（{tree.village.code}）的边界内，超出约")


def test_overlap_with_an_existing_sibling_is_refused(tree):
    grown = shapely.union(tree.gx, inner_part(tree.gy))
    refused([feature(tree.x.code, grown)],
            f"第 1 个要素（{tree.x.code}）：与现有网格“{tree.y.name}”（{tree.y.code}）重叠约")


def test_overlap_between_two_new_features_is_refused(tree):
    left, right = halves(tree.gx)
    code = next_grid_code(tree.village.code)
    problems = refused([feature(tree.x.code, left), feature(code, tree.gx, name="重叠网格")],
                       f"第 2 个要素（{code}）：与第 1 个要素")
    assert len(problems) == 1  # one pair, one message


def test_replaced_sibling_does_not_count_as_overlap(tree):
    """Moving the shared edge between two grids: both are in the file, so the old y is no obstacle."""
    part = inner_part(tree.gy)
    regions_import(acting_user=None, features=[
        feature(tree.x.code, shapely.union(tree.gx, part)),
        feature(tree.y.code, tree.gy.difference(part)),
    ])
    assert Region.objects.get(code=tree.x.code).geometry.area == pytest.approx(tree.gx.area + part.area)


def test_all_problems_are_reported_at_once(tree):
    left, right = halves(tree.gx)
    problems = refused([
        feature("12345", tree.gx),
        feature(next_grid_code(tree.village.code), right),
        feature(tree.x.code, shapely.affinity.translate(left, xoff=1.0)),
        {"type": "Feature", "properties": "x"},
    ], "第 1 个要素", "第 2 个要素", "第 3 个要素", "第 4 个要素：缺少属性")
    assert [p.index for p in problems] == [0, 1, 2, 3]


def test_out_of_scope_code_is_refused(tree, sysadmin):
    code = "420882100201001"
    refused([feature(code, tree.gx, name="邻县网格")], "不在您的管辖范围内", acting_user=sysadmin)


# --- dry run and permission ----------------------------------------------------------------------


def test_dry_run_writes_nothing(tree, sysadmin):
    before = state()
    left, right = halves(tree.gx)
    code = next_grid_code(tree.village.code)
    result = regions_import(acting_user=sysadmin, dry_run=True,
                            features=[feature(tree.x.code, left), feature(code, right, name="新分网格")])
    assert result.dry_run and result.created == [code] and result.updated == [tree.x.code]
    assert state() == before


def test_non_sysadmin_is_refused(tree, city_operator):
    before = state()
    with pytest.raises(PermissionDenied):
        regions_import(acting_user=city_operator, features=[feature(tree.x.code, inner_part(tree.gx))])
    assert state() == before


# --- the management command ----------------------------------------------------------------------


def run(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("import_regions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, data, name="regions.geojson"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_command_imports_as_the_system(tree, tmp_path):
    path = write(tmp_path, collection(feature(tree.x.code, inner_part(tree.gx))))
    out, _ = run(path)
    assert "导入完成：新建 0 个，更新 1 个，未变 0 个" in out
    node = AuditEntry.objects.get(action="region.import", object_id=tree.x.code)
    assert node.actor is None and node.actor_username == "system"
    assert "regions.geojson" in node.message


def test_command_user_attributes_the_audit_rows(tree, tmp_path, sysadmin):
    path = write(tmp_path, collection(feature(tree.x.code, inner_part(tree.gx))))
    run(path, "--user", sysadmin.username)
    assert AuditEntry.objects.get(action="region.import", object_id=tree.x.code).actor == sysadmin


def test_command_refuses_unknown_or_unauthorised_user(tree, tmp_path, city_operator):
    path = write(tmp_path, collection(feature(tree.x.code, inner_part(tree.gx))))
    before = state()
    with pytest.raises(CommandError, match="用户 nobody 不存在或已停用"):
        run(path, "--user", "nobody")
    with pytest.raises(CommandError, match="没有执行此操作的权限"):
        run(path, "--user", city_operator.username)
    assert state() == before


def test_command_dry_run(tree, tmp_path):
    before = state()
    path = write(tmp_path, collection(feature(tree.x.code, inner_part(tree.gx))))
    out, _ = run(path, "--dry-run")
    assert "校验通过（演练模式，未写入任何数据）：新建 0 个，更新 1 个，未变 0 个" in out
    assert state() == before


def test_command_reports_every_problem_and_fails(tree, tmp_path):
    before = state()
    path = write(tmp_path, collection(feature("999", tree.gx), feature(tree.x.code, None)))
    with pytest.raises(CommandError) as info:
        run(path)
    message = str(info.value)
    assert message.startswith("导入文件有 2 处问题，未写入任何数据：")
    assert "  - 第 1 个要素（999）：区划代码“999”无效" in message
    assert f"  - 第 2 个要素（{tree.x.code}）：缺少边界" in message
    assert state() == before


def test_command_bad_json_and_missing_file(tree, tmp_path):
    with pytest.raises(CommandError, match="文件不是有效的 JSON"):
        run(write(tmp_path, "{not json"))
    with pytest.raises(CommandError, match="无法读取文件"):
        run(str(tmp_path / "missing.geojson"))


def test_command_exit_status(tree, tmp_path):
    """From the console a refused import exits non-zero."""
    import subprocess
    import sys

    path = write(tmp_path, "[]")
    proc = subprocess.run([sys.executable, "-m", "django", "import_regions", path],
                          capture_output=True, text=True, env={**__import__("os").environ,
                                                               "DJANGO_SETTINGS_MODULE": "gridgov.settings"})
    assert proc.returncode == 1
    assert "不是 GeoJSON FeatureCollection" in proc.stderr


# --- the whole tree ------------------------------------------------------------------------------


def export_tree() -> dict:
    rows = Region.objects.filter(code__startswith=COUNTY).order_by("code").values_list(
        "code", "name", "kind", "geom_wkb")
    return collection(*(
        {"type": "Feature", "properties": {"code": code, "name": name, "kind": kind},
         "geometry": mapping(shapely.from_wkb(bytes(wkb))) if wkb is not None else None}
        for code, name, kind, wkb in rows
    ))


def test_whole_tree_validates_as_unchanged(tree, capsys):
    data = json.loads(json.dumps(export_tree()))
    n = len(data["features"])
    started = time.perf_counter()
    messages = []
    result = regions_import(acting_user=None, features=data["features"], dry_run=True, progress=messages.append)
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[import_regions] validated the whole tree, {n} features, in {seconds:.2f} s")
    assert result.counts == {"created": 0, "updated": 0, "unchanged": n}
    if n >= 1000:
        assert any("已检查 1000/" in m for m in messages)
    assert seconds < 30
