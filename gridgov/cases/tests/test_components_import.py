"""部件普查 import: Excel and GeoJSON, one reason per fault, idempotent re-import, scope, dry run, command."""

import pytest
from django.core.management import call_command

from gridgov.accounts.choices import Role
from gridgov.cases.components.importer import ImportFileError, import_components
from gridgov.cases.models import Component
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role
from gridgov.regions.gcj02 import wgs84_to_gcj02

from .test_components_support import (
    HUJI,
    OUTSIDE,
    SHIPAI,
    feature_collection,
    grid_in,
    point_feature,
    point_in,
    workbook,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def grid():
    return grid_in(HUJI)


@pytest.fixture
def other_grid():
    return grid_in(SHIPAI)


def reasons(report) -> dict[int, list[str]]:
    return {e.row: e.reasons for e in report.errors}


def test_good_and_bad_rows_each_with_their_reasons(grid):
    lon, lat = point_in(grid)
    lamp_code = f"420881{'0107'}000777"
    rows = [
        [None, "C0101", "上水井盖甲", lon, lat, "ZJJ", "完好", "2020-05-01", "新建"],         # 2 good
        [lamp_code, "路灯", "路灯1号", lon + 1e-5, lat, "城管局", "损坏", None, None],          # 3 good, by names
        [None, "0302", "垃圾箱", lon + 2e-5, lat, None, None, None, None],                     # 4 good, default dept
        [None, "C9999", "怪东西", lon, lat, "ZJJ", "完好", None, None],                         # 5 unknown class
        [None, "C0101", "境外", OUTSIDE[0], OUTSIDE[1], "ZJJ", "完好", None, None],             # 6 outside county
        [None, "C0102", "污水井盖", lon + 3e-5, lat, "XYZ", "完好", None, None],                # 7 unknown dept
        ["4208810103000005", "C0103", "雨水井盖", lon + 4e-5, lat, "ZJJ", "完好", None, None],  # 8 duplicate code
        ["4208810103000005", "C0103", "雨水井盖", lon + 5e-5, lat, "ZJJ", "完好", None, None],  # 9 duplicate code
        [None, "C8888", "二错", "abc", lat, "ZJJ", "好", None, None],                           # 10 three faults
        ["4208810101000009", "C0102", "类别不符", lon + 6e-5, lat, None, None, None, None],     # 11 class mismatch
        ["12345", "C0101", "编码太短", lon + 7e-5, lat, None, None, None, None],                # 12 bad code
        [None, "C0101", "未来", lon + 8e-5, lat, None, None, "2999-01-01", None],               # 13 future date
    ]
    before = Component.objects.count()
    report = import_components(workbook(rows), file_name="普查.xlsx")
    assert (report.total, report.created, report.updated, report.rejected) == (12, 3, 0, 9)
    why = reasons(report)
    assert why[5] == ["部件类别“C9999”不存在"]
    assert len(why[6]) == 1 and "不在钟祥市范围内" in why[6][0]
    assert why[7] == ["权属部门“XYZ”不存在"]
    assert why[8] == why[9] == ["部件编码“4208810103000005”在文件中重复（第 8、9 行）"]
    assert len(why[10]) == 3
    assert why[10][0] == "部件类别“C8888”不存在" and why[10][1].startswith("状态“好”无效")
    assert why[10][2] == "经度“abc”不是数字"
    assert "类别代码 0101 与部件类别 污水井盖（0102）不一致" in why[11][0]
    assert why[12][0].startswith("部件编码“12345”格式不正确")
    assert why[13] == ["设置日期 2999-01-01 晚于今天"]
    assert Component.objects.count() == before + 3

    cover = Component.objects.get(name="上水井盖甲")
    assert cover.code.startswith("4208810101") and len(cover.code) == 16
    assert cover.region_id == grid.code and cover.owner_department.code == "ZJJ" and cover.state == "intact"
    assert str(cover.installed_on) == "2020-05-01" and cover.note == "新建"
    lamp = Component.objects.get(code=lamp_code)
    assert lamp.category.code == "C0107" and lamp.owner_department.code == "CGJ" and lamp.state == "damaged"
    bin_ = Component.objects.get(name="垃圾箱")
    assert bin_.category.code == "C0302" and bin_.owner_department.code == "CGJ"  # C03's department

    audit = AuditEntry.objects.filter(action="component.import").latest("id")
    assert audit.changes["created"] == 3 and audit.changes["rejected"] == 9 and audit.changes["file"] == "普查.xlsx"
    assert audit.actor_username == "console"


def test_reimport_is_idempotent_and_updates_what_changed(grid):
    lon, lat = point_in(grid)
    rows = [
        [None, "C0101", "井盖A", lon, lat, "ZJJ", "完好", None, None],
        ["4208810107000321", "C0107", "路灯B", lon + 1e-5, lat, "CGJ", "完好", None, None],
    ]
    first = import_components(workbook(rows), file_name="a.xlsx")
    assert (first.created, first.updated, first.unchanged, first.rejected) == (2, 0, 0, 0)
    count = Component.objects.count()
    code_a = Component.objects.get(name="井盖A").code

    again = import_components(workbook(rows), file_name="a.xlsx")
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 0)
    assert Component.objects.count() == count

    rows[0][6] = "丢失"  # the cover went missing; the row still has no code: matched by class + point
    rows[1][2] = "路灯B（已迁）"
    third = import_components(workbook(rows), file_name="a.xlsx")
    assert (third.created, third.updated, third.unchanged) == (0, 2, 0)
    assert Component.objects.count() == count
    assert Component.objects.get(code=code_a).state == "missing"
    assert Component.objects.get(code="4208810107000321").name == "路灯B（已迁）"

    # the assigned code, written back into the sheet, keys the row from now on
    rows[0][0] = code_a
    rows[0][6] = "完好"
    fourth = import_components(workbook(rows), file_name="a.xlsx")
    assert (fourth.created, fourth.updated, fourth.unchanged) == (0, 1, 1)


def test_serials_count_up_per_class(grid):
    lon, lat = point_in(grid)
    prefix = "4208810304"
    existing = Component.objects.filter(code__startswith=prefix).count()
    rows = [[None, "C0304", f"广告牌{i}", lon + i * 1e-5, lat, None, None, None, None] for i in range(3)]
    import_components(workbook(rows))
    codes = sorted(Component.objects.filter(code__startswith=prefix).values_list("code", flat=True))
    assert codes[-3:] == [f"{prefix}{existing + i:06d}" for i in (1, 2, 3)]


def test_dry_run_writes_nothing_but_counts(grid):
    lon, lat = point_in(grid)
    rows = [[None, "C0101", "井盖", lon, lat, None, None, None, None],
            [None, "C9999", "坏行", lon, lat, None, None, None, None]]
    before = Component.objects.count()
    report = import_components(workbook(rows), dry_run=True)
    assert (report.created, report.rejected, report.dry_run) == (1, 1, True)
    assert Component.objects.count() == before
    assert AuditEntry.objects.filter(action="component.import").latest("id").changes["dry_run"] is True


def test_header_may_sit_below_a_title_and_use_other_names(grid):
    lon, lat = point_in(grid)
    headers = ["序号", "小类代码", "经度", "纬度", "主管部门", "部件状态"]
    rows = [[1, "0101", lon, lat, "ZJJ", "占用"]]
    report = import_components(workbook(rows, headers, title_row="钟祥市部件普查登记表"))
    assert (report.created, report.rejected) == (1, 0)
    assert Component.objects.filter(region=grid, state="occupied", category__code="C0101").exists()


def test_unreadable_files_are_refused_whole():
    with pytest.raises(ImportFileError, match="没有找到表头"):
        import_components(workbook([["a", "b"]], ["甲", "乙"]), file_name="x.xlsx")
    with pytest.raises(ImportFileError, match="无法读取 Excel"):
        import_components(b"PK\x03\x04 not really a zip", file_name="x.xlsx")
    with pytest.raises(ImportFileError, match="GeoJSON"):
        import_components(b'{"type": "Polygon"}', file_name="x.geojson")
    with pytest.raises(ImportFileError, match="无法识别文件类型"):
        import_components(b"hello", file_name="x.txt")


def test_geojson_points_with_properties(grid):
    lon, lat = point_in(grid)
    g_lon, g_lat = wgs84_to_gcj02(lon + 2e-5, lat)
    features = [
        point_feature(lon, lat, code="4208810105000042", category="C0105", name="通信井盖", owner="ZJJ",
                      state="damaged", installed_on="2019/3/8"),
        point_feature(lon + 1e-5, lat, 部件类别="消防栓", 名称="消防栓1"),
        point_feature(g_lon, g_lat, category="C0101", name="手机采集", crs="gcj02"),
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon + 1, lat]]},
         "properties": {"category": "C0101"}},
        point_feature(*OUTSIDE, category="C0101"),
        point_feature(lon, lat, category="C0101", owner="不存在的局"),
    ]
    report = import_components(feature_collection(features), file_name="普查.geojson")
    assert report.file_format == "geojson"
    assert (report.total, report.created, report.rejected) == (6, 3, 3)
    why = reasons(report)
    assert why[4] == ["只支持点（Point）要素，此要素为 LineString"]
    assert "不在钟祥市范围内" in why[5][0]
    assert why[6] == ["权属部门“不存在的局”不存在"]
    comm = Component.objects.get(code="4208810105000042")
    assert comm.state == "damaged" and str(comm.installed_on) == "2019-03-08" and comm.region_id == grid.code
    hydrant = Component.objects.get(name="消防栓1")
    assert hydrant.owner_department.code == "YJGLJ"
    phone = Component.objects.get(name="手机采集")
    assert abs(phone.lon - (lon + 2e-5)) < 1e-6 and abs(phone.lat - lat) < 1e-6  # GCJ-02 converted back

    again = import_components(feature_collection(features), file_name="普查.geojson")
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 3)


def test_scope_of_the_importing_user(grid, other_grid):
    lon, lat = point_in(grid)
    o_lon, o_lat = point_in(other_grid)
    town = user_with_role(Role.TOWN_OPERATOR, HUJI)
    rows = [
        [None, "C0101", "本镇", lon, lat, "ZJJ", None, None, None],
        [None, "C0101", "外镇", o_lon, o_lat, "ZJJ", None, None, None],
    ]
    report = import_components(workbook(rows), acting_user=town)
    assert (report.created, report.rejected) == (1, 1)
    assert reasons(report)[3] == ["位置不在您的管辖范围内，且权属部门不是您所在的部门"]

    head = user_with_role(Role.DEPT_HEAD, department_code="CGJ")
    rows = [
        [None, "C0107", "城管的路灯", o_lon, o_lat, "CGJ", None, None, None],
        [None, "C0102", "住建的井盖", o_lon + 1e-5, o_lat, "ZJJ", None, None, None],
    ]
    report = import_components(workbook(rows), acting_user=head)
    assert (report.created, report.rejected) == (1, 1)
    audit = AuditEntry.objects.filter(action="component.import").latest("id")
    assert audit.actor == head


def test_import_needs_the_permission(grid):
    from gridgov.core.errors import PermissionDenied

    worker = user_with_role(Role.GRID_WORKER, grid.code)
    lon, lat = point_in(grid)
    before = Component.objects.count()
    with pytest.raises(PermissionDenied):
        import_components(workbook([[None, "C0101", "x", lon, lat, None, None, None, None]]), acting_user=worker)
    assert Component.objects.count() == before


def test_command_with_progress(tmp_path, grid, capsys):
    lon, lat = point_in(grid)
    path = tmp_path / "普查.xlsx"
    path.write_bytes(workbook([[None, "C0301", "公厕", lon, lat, None, None, None, None],
                               [None, "C9999", "坏", lon, lat, None, None, None, None]]))
    call_command("import_components", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "仅校验" in out and "新增 1" in out and "拒绝 1" in out and "第 3 行" in out
    assert not Component.objects.filter(name="公厕").exists()

    call_command("import_components", str(path), "--user", user_with_role(Role.CITY_OPERATOR).username)
    out = capsys.readouterr().out
    assert "新增 1" in out and "%" in out
    assert Component.objects.filter(name="公厕", region=grid).exists()
