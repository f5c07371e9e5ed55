"""The Excel importer: template, every row validated with the right reasons, report, idempotent
re-import, scope and permission refusals, the command and the web pages.

Workbooks are written at run time with xlsxwriter (shared strings, as Excel and WPS save them),
xlsxwriter's constant_memory mode (inline strings) and openpyxl.
"""

import io
import itertools
import random
import zipfile
from datetime import date, datetime, timedelta

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, include, path, reverse

from gridgov.accounts.choices import Role
from gridgov.core.errors import PermissionDenied
from gridgov.core.idcard import make_id_number
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role
from gridgov.people.importing import columns as cols
from gridgov.people.importing.jobs import run_job
from gridgov.people.importing.models import ImportJob, ImportJobStatus
from gridgov.people.importing.reader import WorkbookError, _whole_book, open_workbook
from gridgov.people.importing.service import ID_AS_NUMBER, OUT_OF_SCOPE_PERSON, residents_import
from gridgov.people.models import Address, Household, Resident
from gridgov.people.template_xlsx import build_template, grids_for
from gridgov.people.validation import ID_PURPOSE, identity_fields
from gridgov.regions.models import Region

pytestmark = pytest.mark.django_db

HUJI = "420881103"
# Test people are "from" 北京市西城区, so their numbers cannot clash with the demo population.
ID_REGION = "110102"
_sequence = itertools.count(random.Random().randrange(0, 20_000))
HEADERS = [c.header for c in cols.COLUMNS]


def new_id(birth: date | None = None, male: bool = True) -> str:
    n = next(_sequence)
    birth = birth or date(1940, 1, 1) + timedelta(days=n % 25_000)
    return make_id_number(ID_REGION, birth, (n * 2 + (1 if male else 0)) % 1000)


def person(grid: str, **values) -> dict:
    row = {"grid_code": grid, "household_number": "", "relation_to_head": "", "name": "李春艳",
           "id_number": new_id(), "phone": "13807241234", "ethnicity": "汉族", "residency_status": "户籍",
           "political_status": "群众", "occupation": "务农", "road": "湖山村三组", "house_number": "12", "note": ""}
    row.update(values)
    return row


def write_book(path, rows: list[dict], *, writer: str = "xlsxwriter", sheets: list[list[dict]] | None = None):
    """A workbook with the template's header; `writer`: xlsxwriter (shared strings), inline
    (xlsxwriter constant_memory: inline strings) or openpyxl."""
    books = [rows] + (sheets or [])
    if writer == "openpyxl":
        book = openpyxl.Workbook()
        book.remove(book.active)
        for i, sheet_rows in enumerate(books):
            ws = book.create_sheet(cols.DATA_SHEET + (str(i + 1) if i else ""))
            ws.append(HEADERS)
            for row in sheet_rows:
                ws.append([row.get(c.key, "") for c in cols.COLUMNS])
        book.save(path)
        return path
    book = xlsxwriter.Workbook(str(path), {"constant_memory": writer == "inline", "strings_to_numbers": False})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for i, sheet_rows in enumerate(books):
        ws = book.add_worksheet(cols.DATA_SHEET + (str(i + 1) if i else ""))
        ws.write_row(0, 0, HEADERS)
        for r, row in enumerate(sheet_rows, start=1):
            for c, column in enumerate(cols.COLUMNS):
                value = row.get(column.key, "")
                if isinstance(value, date | datetime):
                    ws.write_datetime(r, c, value, date_format)
                elif value != "":
                    ws.write(r, c, value)
    book.close()
    return path


def read_sheet(path, name) -> list[list]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_name(name).to_python()


def by_id(id_number: str) -> Resident | None:
    index = identity_fields(id_number=id_number)["id_number_index"]
    return Resident.objects.filter(id_number_index=index).first()


@pytest.fixture
def place():
    village = Region.objects.get(name="湖山村", parent_id=HUJI)
    grids = list(Region.objects.filter(parent=village).order_by("code").values_list("code", flat=True))
    far = Region.objects.filter(level=4).exclude(code__startswith=HUJI).order_by("code").values_list(
        "code", flat=True).first()
    return {"grid": grids[0], "grid2": grids[1], "far": far, "village": village.code,
            "town": user_with_role(Role.TOWN_OPERATOR, HUJI)}


def _root_patterns():
    from gridgov.urls import urlpatterns as root

    try:
        reverse("people_import:upload")
    except NoReverseMatch:  # until gridgov/urls.py mounts the import pages
        return [path("people/import/", include("gridgov.people.import_urls")), *root]
    return list(root)


urlpatterns = _root_patterns()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PEOPLE_IMPORT_INLINE = True
    settings.ROOT_URLCONF = __name__
    return settings.MEDIA_ROOT


# --- template -------------------------------------------------------------------------------

def test_template_has_headers_example_help_and_dropdowns(place, tmp_path):
    grids = grids_for(place["town"])
    assert grids and all(code.startswith(HUJI) for code, _ in grids)
    path = tmp_path / "template.xlsx"
    path.write_bytes(build_template(grids))

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    assert book.sheet_names[:3] == [cols.DATA_SHEET, cols.HELP_SHEET, cols.GRID_SHEET]
    data = book.get_sheet_by_name(cols.DATA_SHEET).to_python()
    assert data[0] == HEADERS
    assert data[1][HEADERS.index("备注")] == cols.EXAMPLE_NOTE
    help_rows = book.get_sheet_by_name(cols.HELP_SHEET).to_python()
    described = {row[0]: row for row in help_rows[1:len(cols.COLUMNS) + 1]}
    assert set(described) == set(HEADERS)
    assert described["网格编码"][1] == "必填" and described["备注"][1] == "选填"
    assert described["人口类型"][3] == "户籍、常住、流动、外出务工"
    assert "户主" in described["与户主关系"][3]
    grid_rows = book.get_sheet_by_name(cols.GRID_SHEET).to_python()
    assert [r[0] for r in grid_rows[1:]] == [code for code, _ in grids]

    with zipfile.ZipFile(path) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert sheet_xml.count("<dataValidation ") >= 6  # 4 choice lists, grid list, ID length
    assert f"'{cols.CHOICE_SHEET}'!$" in sheet_xml and f"'{cols.GRID_SHEET}'!$A$2:$A${len(grids) + 1}" in sheet_xml

    # The untouched template imports nothing: its example row is skipped.
    result = residents_import(acting_user=place["town"], path=path)
    assert (result.counts.read, result.counts.skipped, result.counts.created) == (0, 1, 0)


# --- rows, reasons, report --------------------------------------------------------------------

def test_good_rows_are_written_and_each_bad_row_is_reported_with_its_reasons(place, tmp_path):
    town, grid, far = place["town"], place["grid"], place["far"]
    head, spouse, single = new_id(male=True), new_id(male=False), new_id()
    good = [
        person(grid, household_number="H001", relation_to_head="户主", name="李春林", id_number=head),
        person(grid, household_number="H001", relation_to_head="配偶", name="王秀英", id_number=spouse,
               phone=13912345678.0, political_status="中共党员"),
        person(place["grid2"], name="张三", id_number=single, phone="", residency_status="流动", ethnicity="回"),
    ]
    valid = new_id()
    bad_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    dup = new_id()
    bad = [
        ("bad check digit", person(grid, id_number=bad_check), [f"身份证号码校验位错误：最后一位应为 {valid[17]}"]),
        ("bad birth date", person(grid, id_number=f"{ID_REGION}19801332123X"), ["出生日期 19801332 不是有效日期"]),
        ("bad phone", person(grid, phone="1381234"), ["联系电话“1381234”格式不正确"]),
        ("unknown grid", person("420881103999999"), ["网格编码“420881103999999”不存在"]),
        ("out-of-scope grid", person(far), [f"网格“{far}”不在您的管辖范围内"]),
        ("duplicate 1", person(grid, id_number=dup, name="重复甲"), ["公民身份号码在本文件中重复出现"]),
        ("duplicate 2", person(grid, id_number=dup, name="重复乙"), ["公民身份号码在本文件中重复出现"]),
        ("empty name", person(grid, name=""), ["姓名不能为空"]),
        ("ID as number", person(grid, id_number=float(new_id()[:17] + "1")), [ID_AS_NUMBER]),
        ("several faults", person("12345", name="", residency_status="暂住"),
         ["网格编码“12345”应为 15 位数字", "姓名不能为空", "人口类型“暂住”无效"]),
        ("relation without household", person(grid, relation_to_head="子女"), ["填写了与户主关系，但没有填写户号"]),
        ("house number became a date", person(grid, house_number=date(2026, 3, 5)),
         ["门牌号被 Excel 存成了日期或时间"]),
    ]
    rows = good + [row for _, row, _ in bad]
    path = write_book(tmp_path / "people.xlsx", rows)
    with zipfile.ZipFile(path) as z:
        assert "xl/sharedStrings.xml" in z.namelist()  # as Excel and WPS save files
    before = Resident.objects.count()

    report = tmp_path / "report.xlsx"
    result = residents_import(acting_user=town, path=path, report_path=report)

    c = result.counts
    assert (c.read, c.created, c.updated, c.unchanged, c.rejected) == (len(rows), 3, 0, 0, len(bad))
    assert Resident.objects.count() == before + 3
    rejected = {r.row: r for r in result.rejections}
    assert sorted(rejected) == list(range(len(good) + 2, len(rows) + 2))
    for offset, (label, _row, expected) in enumerate(bad):
        reasons = rejected[len(good) + 2 + offset].reasons
        assert len(reasons) == len(expected), (label, reasons)
        for reason, part in zip(reasons, expected, strict=True):
            assert part in reason, (label, reasons)
    dup_rows = [len(good) + 2 + i for i, (label, _, _) in enumerate(bad) if label.startswith("duplicate")]
    for row in dup_rows:
        assert all(f"第 {r} 行" in rejected[row].reasons[0] for r in dup_rows)  # both rows named in each

    # Nothing of a bad row is written.
    for _, row, _ in bad:
        if isinstance(row["id_number"], str) and row["id_number"] and row["id_number"] != bad_check:
            assert by_id(row["id_number"]) is None
    assert not Resident.objects.filter(name__in=["重复甲", "重复乙"]).exists()

    # Good rows: derived fields, choices by label, household with its head, address, encryption.
    h = by_id(head)
    assert (h.name, h.gender, h.region_id, h.relation_to_head) == ("李春林", "male", grid, "head")
    s = by_id(spouse)
    assert (s.phone, s.political_status, s.gender, s.household_id) == ("13912345678", "party_member", "female",
                                                                       h.household_id)
    household = Household.objects.get(pk=h.household_id)
    assert (household.number, household.region_id, household.head_id) == ("H001", grid, h.pk)
    assert household.address_id == h.address_id == s.address_id
    assert Address.objects.get(pk=h.address_id).short_text == "湖山村三组12号"
    z = by_id(single)
    assert (z.residency_status, z.ethnicity, z.phone, z.household_id) == ("floating", "回族", "", None)
    assert z.birth_date == date(int(single[6:10]), int(single[10:12]), int(single[12:14]))

    # The report: summary, then one line per rejected row with masked ID and numbered reasons.
    summary = dict((r[0], r[1]) for r in read_sheet(report, "汇总")[1:])
    assert (summary["读取行数"], summary["新增人员"], summary["未导入（有错误）"]) == (len(rows), 3, len(bad))
    lines = read_sheet(report, "未导入的行")
    assert lines[0][:2] == ["工作表", "行号"]
    first = lines[1]
    assert (first[0], int(first[1])) == (cols.DATA_SHEET, len(good) + 2)
    assert first[3] == bad_check[:6] + "********" + bad_check[-4:]
    several = next(line for line in lines[1:] if "“12345”" in line[5])
    assert several[5].startswith("1. 网格编码") and "\n2. 姓名不能为空" in several[5] and int(several[4]) == 3
    assert not any(head in str(cell) for line in lines for cell in line)

    # One audit row for the run, with the counts.
    entry = AuditEntry.objects.filter(action="people.import").latest("id")
    assert entry.actor == town
    assert (entry.changes["created"], entry.changes["rejected"], entry.changes["read"]) == (3, len(bad), len(rows))


@pytest.mark.parametrize("writer", ["xlsxwriter", "inline", "openpyxl"])
def test_reimporting_the_same_file_changes_nothing(place, tmp_path, writer):
    grid = place["grid"]
    rows = [person(grid, household_number="R1", relation_to_head="户主", name="赵一"),
            person(grid, household_number="R1", relation_to_head="子女", name="赵二", phone=""),
            person(place["grid2"], household_number="R2", relation_to_head="户主", name="钱三", road="",
                   house_number=""),
            person(grid, name="孙四", phone=13700001111.0, residency_status="外出务工"),
            person(grid, name="", id_number="")]  # a bad row stays bad
    path = write_book(tmp_path / f"{writer}.xlsx", rows, writer=writer)
    first = residents_import(acting_user=place["town"], path=path, batch_size=2)
    assert (first.counts.created, first.counts.rejected, first.counts.households_created) == (4, 1, 2)
    ids = [by_id(r["id_number"]).pk for r in rows[:4]]
    stamps = dict(Resident.objects.filter(pk__in=ids).values_list("pk", "updated_at"))
    household_stamps = dict(Household.objects.filter(region_id__in=[grid, place["grid2"]]).values_list("pk",
                                                                                                      "updated_at"))
    counts = (Resident.objects.count(), Household.objects.count(), Address.objects.count())

    again = residents_import(acting_user=place["town"], path=path)

    c = again.counts
    assert (c.read, c.created, c.updated, c.unchanged, c.rejected) == (5, 0, 0, 4, 1)
    assert (c.households_created, c.households_updated, c.addresses_created) == (0, 0, 0)
    assert (Resident.objects.count(), Household.objects.count(), Address.objects.count()) == counts
    assert dict(Resident.objects.filter(pk__in=ids).values_list("pk", "updated_at")) == stamps
    assert dict(Household.objects.filter(pk__in=household_stamps).values_list("pk", "updated_at")) == household_stamps
    assert AuditEntry.objects.filter(action="people.import").count() >= 2


def test_changed_data_updates_the_person_and_empty_cells_keep_values(place, tmp_path):
    grid = place["grid"]
    row = person(grid, household_number="U1", relation_to_head="户主", name="周五")
    residents_import(acting_user=place["town"], path=write_book(tmp_path / "a.xlsx", [row]))
    before = by_id(row["id_number"])

    changed = {**row, "phone": "13600002222", "residency_status": "常住", "occupation": "", "grid_code": place["grid2"]}
    result = residents_import(acting_user=place["town"], path=write_book(tmp_path / "b.xlsx", [changed]))

    assert (result.counts.updated, result.counts.unchanged) == (1, 0)
    after = by_id(row["id_number"])
    assert after.pk == before.pk
    assert (after.phone, after.residency_status, after.region_id) == ("13600002222", "permanent", place["grid2"])
    assert after.phone_index == identity_fields(phone="13600002222")["phone_index"]
    assert after.occupation == "务农"  # an empty cell keeps the registered value
    assert after.updated_at > before.updated_at


def test_a_person_registered_outside_the_scope_is_refused_and_untouched(place, tmp_path):
    elsewhere = person(place["far"], name="吴六")
    # The system (no user) imports for the whole county.
    residents_import(acting_user=None, path=write_book(tmp_path / "county.xlsx", [elsewhere]))
    registered = by_id(elsewhere["id_number"])
    assert registered.region_id == place["far"]

    moved_in = {**elsewhere, "grid_code": place["grid"], "name": "吴六改"}
    result = residents_import(acting_user=place["town"], path=write_book(tmp_path / "town.xlsx", [moved_in]))

    assert (result.counts.rejected, result.counts.updated) == (1, 0)
    assert result.rejections[0].reasons == [OUT_OF_SCOPE_PERSON]
    again = by_id(elsewhere["id_number"])
    assert (again.name, again.region_id, again.updated_at) == ("吴六", place["far"], registered.updated_at)


def test_a_household_has_one_head(place, tmp_path):
    grid = place["grid"]
    rows = [person(grid, household_number="K1", relation_to_head="户主", name="郑一"),
            person(grid, household_number="K1", relation_to_head="户主", name="郑二")]
    result = residents_import(acting_user=place["town"], path=write_book(tmp_path / "k.xlsx", rows))
    assert (result.counts.created, result.counts.rejected) == (1, 1)
    assert result.rejections[0].reasons == ["户 K1 已有户主，请先在户页面变更户主"]
    again = residents_import(acting_user=place["town"], path=write_book(tmp_path / "k2.xlsx", rows))
    assert (again.counts.unchanged, again.counts.rejected, again.counts.updated) == (1, 1, 0)


def test_the_head_can_hand_over_within_one_file(place, tmp_path):
    grid = place["grid"]
    old_head = person(grid, household_number="T1", relation_to_head="户主", name="蒋一")
    residents_import(acting_user=place["town"], path=write_book(tmp_path / "t1.xlsx", [old_head]))
    household = Household.objects.get(region_id=grid, number="T1")
    assert household.head_id == by_id(old_head["id_number"]).pk

    rows = [{**old_head, "relation_to_head": "父母"},
            person(grid, household_number="T1", relation_to_head="户主", name="蒋二")]
    result = residents_import(acting_user=place["town"], path=write_book(tmp_path / "t2.xlsx", rows))
    assert (result.counts.updated, result.counts.created, result.counts.rejected) == (1, 1, 0)
    household.refresh_from_db()
    assert household.head_id == by_id(rows[1]["id_number"]).pk
    again = residents_import(acting_user=place["town"], path=write_book(tmp_path / "t3.xlsx", rows))
    assert (again.counts.unchanged, again.counts.updated, again.counts.households_updated) == (2, 0, 0)


def test_a_second_sheet_continues_the_first_and_duplicates_name_both_sheets(place, tmp_path):
    grid = place["grid"]
    dup = new_id()
    first = [person(grid, name="冯一"), person(grid, id_number=dup, name="冯二")]
    second = [person(grid, name="冯三"), person(grid, id_number=dup, name="冯四")]
    path = write_book(tmp_path / "two.xlsx", first, sheets=[second])
    result = residents_import(acting_user=place["town"], path=path)
    assert (result.counts.read, result.counts.created, result.counts.rejected) == (4, 2, 2)
    assert result.sheets == [cols.DATA_SHEET, cols.DATA_SHEET + "2"]
    reasons = [r.reasons[0] for r in result.rejections]
    assert all(f"“{cols.DATA_SHEET}”第 3 行" in r and f"“{cols.DATA_SHEET}2”第 3 行" in r for r in reasons)


def test_dry_run_writes_nothing_but_counts(place, tmp_path):
    rows = [person(place["grid"], household_number="D1", relation_to_head="户主"), person(place["grid"], name="")]
    before = (Resident.objects.count(), Household.objects.count(), Address.objects.count())
    result = residents_import(acting_user=place["town"], path=write_book(tmp_path / "d.xlsx", rows), dry_run=True)
    assert (result.counts.created, result.counts.rejected, result.counts.households_created) == (1, 1, 1)
    assert (Resident.objects.count(), Household.objects.count(), Address.objects.count()) == before


# --- privacy --------------------------------------------------------------------------------

def test_the_database_holds_no_plain_id_number_or_phone(place, tmp_path):
    rows = [person(place["grid"], phone=f"1390724{n:04d}", household_number="P1") for n in range(5)]
    rows.append(person(place["grid"], name="", phone="13907249999"))  # rejected: must not leak either
    residents_import(acting_user=place["town"], path=write_book(tmp_path / "p.xlsx", rows),
                     report_path=tmp_path / "r.xlsx")
    secrets = [r["id_number"] for r in rows] + [r["phone"] for r in rows]
    tables = [Resident._meta.db_table, Household._meta.db_table, Address._meta.db_table, ImportJob._meta.db_table,
              AuditEntry._meta.db_table]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump = "\n".join(str(row) for row in cursor.fetchall())
            for secret in secrets:
                assert secret not in dump, (table, secret)
    stored = Resident.objects.filter(region_id=place["grid"]).values_list("id_number", flat=True).first()
    assert stored  # decrypted by the field
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id_number FROM {Resident._meta.db_table} WHERE id_number_index = %s",
                       [identity_fields(id_number=rows[0]["id_number"])["id_number_index"]])
        raw = cursor.fetchone()[0]
    assert raw.startswith("g1$")
    from gridgov.core import crypto
    assert crypto.decrypt(raw, ID_PURPOSE) == rows[0]["id_number"]


# --- permissions ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.VILLAGE_CADRE, Role.AUDITOR, Role.DEPT_STAFF])
def test_roles_without_people_import_are_refused(role, place, tmp_path, media):
    user = user_with_role(role)
    path = write_book(tmp_path / "x.xlsx", [person(place["grid"])])
    before = Resident.objects.count()
    with pytest.raises(PermissionDenied):
        residents_import(acting_user=user, path=path)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("people_import:upload")).status_code == 403
    assert client.get(reverse("people_import:template")).status_code == 403
    with open(path, "rb") as handle:
        assert client.post(reverse("people_import:upload"), {"file": handle}).status_code == 403
    assert Resident.objects.count() == before
    assert not ImportJob.objects.filter(created_by=user).exists()
    with pytest.raises(CommandError):
        call_command("import_people", str(path), "--user", user.username, stdout=io.StringIO())


def test_a_grid_admin_imports_only_into_the_village(place, tmp_path):
    admin = user_with_role(Role.GRID_ADMIN, place["village"])
    other_village = Region.objects.filter(level=4, code__startswith=HUJI).exclude(
        code__startswith=place["village"]).values_list("code", flat=True).first()
    rows = [person(place["grid"]), person(other_village)]
    result = residents_import(acting_user=admin, path=write_book(tmp_path / "v.xlsx", rows))
    assert (result.counts.created, result.counts.rejected) == (1, 1)
    assert result.rejections[0].reasons == [f"网格“{other_village}”不在您的管辖范围内"]


def test_anonymous_visitors_are_sent_to_login(media):
    client = Client()
    for name in ("upload", "template"):
        response = client.get(reverse(f"people_import:{name}"))
        assert response.status_code == 302 and "/accounts/" in response["Location"]


# --- files that cannot be imported --------------------------------------------------------------

def test_unreadable_and_unrecognised_files(place, tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"this is not a workbook")
    with pytest.raises(WorkbookError):
        residents_import(acting_user=place["town"], path=junk)
    other = tmp_path / "other.xlsx"
    book = xlsxwriter.Workbook(str(other))
    book.add_worksheet("Sheet1").write_row(0, 0, ["编号", "金额"])
    book.close()
    with pytest.raises(WorkbookError, match="没有找到人口信息表"):
        residents_import(acting_user=place["town"], path=other)
    missing = tmp_path / "missing.xlsx"
    book = xlsxwriter.Workbook(str(missing))
    book.add_worksheet(cols.DATA_SHEET).write_row(0, 0, ["姓名", "公民身份号码"])
    book.close()
    with pytest.raises(WorkbookError, match="缺少必填列：网格编码、人口类型"):
        residents_import(acting_user=place["town"], path=missing)
    # Each failed run is on the audit record too.
    assert AuditEntry.objects.filter(action="people.import", outcome="failure").count() >= 3


def test_sliced_reading_matches_reading_whole(place, tmp_path):
    rows = [person(place["grid"], name=f"陈{'一二三四五六七八九十'[n]}", phone=13800000000.0 + n) for n in range(10)]
    rows[4]["house_number"] = ""
    path = write_book(tmp_path / "s.xlsx", rows)
    sliced = open_workbook(path, is_header=cols.is_header_row, rows_per_slice=3)
    whole = _whole_book(path, cols.is_header_row)
    assert [s.name for s in sliced] == [s.name for s in whole] == [cols.DATA_SHEET]
    def trimmed(rows):
        out = []
        for n, r in rows:
            r = list(r)
            while r and r[-1] == "":
                r.pop()
            out.append((n, r))
        return out

    got, expected = trimmed(sliced[0].rows()), trimmed(whole[0].rows())
    assert got == expected and len(got) == 10 and got[0][0] == 2
    assert got[3][1][5] == 13800000003.0  # a phone typed as a number arrives as a float


# --- the command ------------------------------------------------------------------------------

def test_command_imports_reports_and_refuses_unreadable_files(place, tmp_path):
    rows = [person(place["grid"], name="褚一"), person(place["grid"], name="", id_number="")]
    path = write_book(tmp_path / "c.xlsx", rows)
    report = tmp_path / "c-report.xlsx"
    out = io.StringIO()
    call_command("import_people", str(path), "--user", place["town"].username, "--report", str(report), stdout=out,
                 stderr=io.StringIO())
    text = out.getvalue()
    assert "新增 1" in text and "未导入 1" in text and "第 3 行：姓名不能为空" in text
    assert report.exists()
    job = ImportJob.objects.filter(created_by=place["town"]).latest("id")
    assert (job.status, job.source, job.created, job.rejected) == (ImportJobStatus.DONE, "command", 1, 1)

    out = io.StringIO()
    call_command("import_people", str(path), "--dry-run", stdout=out, stderr=io.StringIO())  # the system
    assert "仅校验" in out.getvalue() and "未变 1" in out.getvalue()

    with pytest.raises(CommandError, match="无法读取文件"):
        call_command("import_people", str(tmp_path / "nowhere.xlsx"), stdout=io.StringIO(), stderr=io.StringIO())
    template = tmp_path / "t.xlsx"
    call_command("import_people", "--template", str(template), "--user", place["town"].username,
                 stdout=io.StringIO())
    assert read_sheet(template, cols.DATA_SHEET)[0] == HEADERS


# --- the web pages -----------------------------------------------------------------------------

def test_upload_progress_and_report_on_the_web(place, tmp_path, media, django_capture_on_commit_callbacks):
    town = place["town"]
    client = Client()
    client.force_login(town)
    page = client.get(reverse("people_import:upload"))
    assert page.status_code == 200 and "下载导入模板" in page.content.decode()
    template = client.get(reverse("people_import:template"))
    assert template.status_code == 200 and template["Content-Type"].startswith("application/vnd.openxmlformats")

    rows = [person(place["grid"], name="卫一"), person(place["far"], name="卫二")]
    path = write_book(tmp_path / "web.xlsx", rows)
    with django_capture_on_commit_callbacks(execute=True), open(path, "rb") as handle:
        response = client.post(reverse("people_import:upload"), {"file": handle})
    job = ImportJob.objects.filter(created_by=town).latest("id")
    assert response.status_code == 302 and response["Location"] == reverse("people_import:job", args=[job.pk])
    assert job.status == ImportJobStatus.DONE and (job.created, job.rejected) == (1, 1)
    assert not (media / job.upload_name).exists()  # the upload (plain ID numbers) is gone

    status = client.get(reverse("people_import:status", args=[job.pk])).json()
    assert status["finished"] and status["percent"] == 100 and status["created"] == 1
    assert status["errors"][0]["row"] == 3 and "不在您的管辖范围内" in status["errors"][0]["reasons"][0]
    detail = client.get(reverse("people_import:job", args=[job.pk])).content.decode()
    assert "import_progress.js" in detail and "job-progress" in detail
    report = client.get(status["report_url"])
    assert report.status_code == 200
    assert b"".join(report.streaming_content)[:2] == b"PK"

    # Someone else's job is a 404, as a missing one.
    other = Client()
    other.force_login(user_with_role(Role.CITY_OPERATOR))
    for name in ("job", "status", "report"):
        assert other.get(reverse(f"people_import:{name}", args=[job.pk])).status_code == 404


def test_a_bad_upload_is_refused_on_the_page(place, tmp_path, media):
    client = Client()
    client.force_login(place["town"])
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with open(text, "rb") as handle:
        response = client.post(reverse("people_import:upload"), {"file": handle})
    assert response.status_code == 400 and "请上传 Excel 文件" in response.content.decode()
    assert not ImportJob.objects.filter(created_by=place["town"]).exists()


def test_a_failed_job_says_why(place, tmp_path, media):
    junk_job = ImportJob.objects.create(created_by=place["town"], file_name="junk.xlsx", upload_name="imports/j.xlsx")
    (media / "imports").mkdir(parents=True)
    (media / "imports" / "j.xlsx").write_bytes(b"junk")
    job = run_job(junk_job.pk)
    assert job.status == ImportJobStatus.FAILED and "无法读取" in job.message
    assert not (media / "imports" / "j.xlsx").exists()


# --- the writer thread -------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_writer_thread_writes_while_the_next_batch_is_checked(tmp_path, monkeypatch):
    # Transactional tests may find the demo flushed by an earlier one: make the few regions needed.
    county, _ = Region.objects.get_or_create(code="420881", defaults={"name": "钟祥市", "kind": "county", "level": 1})
    town, _ = Region.objects.get_or_create(code=HUJI, defaults={"name": "胡集镇", "kind": "town", "level": 2,
                                                                  "parent": county})
    village, _ = Region.objects.get_or_create(code=HUJI + "201", defaults={"name": "湖山村", "kind": "village",
                                                                           "level": 3, "parent": town})
    grid, _ = Region.objects.get_or_create(code=village.code + "001", defaults={"name": "湖山村第1网格", "kind": "grid",
                                                                                "level": 4, "parent": village})
    from gridgov.people.importing import service

    threads = set()
    original = service._Importer._write_atomic

    def spy(self, plan):
        import threading

        threads.add(threading.current_thread().name)
        return original(self, plan)

    monkeypatch.setattr(service._Importer, "_write_atomic", spy)
    rows = [person(grid.code, household_number=f"W{n // 3}", relation_to_head="户主" if n % 3 == 0 else "子女",
                   name="沈" + "一二三四五六七八九十"[n]) for n in range(10)]
    rows.append(person(grid.code, name=""))
    path = write_book(tmp_path / "w.xlsx", rows)
    first = residents_import(acting_user=None, path=path, batch_size=3)
    assert threads and all(name.startswith("import-writer") for name in threads)
    assert (first.counts.created, first.counts.rejected, first.counts.households_created) == (10, 1, 4)
    heads = Household.objects.filter(region_id=grid.code, number__startswith="W").values_list("number", "head__name")
    assert dict(heads) == {"W0": "沈一", "W1": "沈四", "W2": "沈七", "W3": "沈十"}
    again = residents_import(acting_user=None, path=path, batch_size=3)
    assert (again.counts.unchanged, again.counts.created, again.counts.updated) == (10, 0, 0)


def test_a_checking_process_gives_the_same_result_as_checking_in_process(place, tmp_path, monkeypatch):
    # Large files are read and checked in a second process (worker.py); forced here on a small one.
    from gridgov.people.importing import service

    started = []
    original = service.CheckingProcess.__init__

    def spy(self, config):
        started.append(config.path)
        original(self, config)

    monkeypatch.setattr(service.CheckingProcess, "__init__", spy)
    grid, dup = place["grid"], new_id()
    first = [person(grid, household_number="C1", relation_to_head="户主", name="韩一"),
             person(grid, household_number="C1", relation_to_head="配偶", name="韩二", id_number=new_id(male=False),
                    phone=13912345678.0),
             person(grid, id_number=dup, name="韩三"),
             person("12345", name="", residency_status="暂住"),
             {**person(grid), "note": cols.EXAMPLE_NOTE, "id_number": cols.EXAMPLE_ID}]
    second = [person(grid, id_number=dup, name="韩四"), person(place["far"], name="韩五"),
              person(grid, house_number=date(2026, 3, 5))]
    path = write_book(tmp_path / "c.xlsx", first, sheets=[second])

    def outcome(result):
        return asdict_counts(result), [(r.sheet, r.row, r.name, r.reasons) for r in result.rejections]

    here = residents_import(acting_user=place["town"], path=path, dry_run=True)
    assert not started
    there = residents_import(acting_user=place["town"], path=path, dry_run=True, process_min_rows=0)
    assert started == [str(path)]
    assert outcome(there) == outcome(here)
    assert (here.counts.read, here.counts.created, here.counts.rejected, here.counts.skipped) == (7, 2, 5, 1)

    written = residents_import(acting_user=place["town"], path=path, process_min_rows=0)
    assert outcome(written)[1] == outcome(here)[1]
    spouse = by_id(first[1]["id_number"])  # encrypted by the checking process, read through the model
    assert (spouse.phone, spouse.id_number) == ("13912345678", first[1]["id_number"])
    again = residents_import(acting_user=place["town"], path=path, process_min_rows=0)
    assert (again.counts.unchanged, again.counts.created, again.counts.updated, again.counts.rejected) == (2, 0, 0, 5)


def test_a_failing_checking_process_fails_the_import_and_writes_nothing(place, tmp_path, monkeypatch):
    from gridgov.people.importing import service

    keys = service.crypto_settings

    def broken_keys():
        return {**keys(), "FIELD_BLIND_INDEX_KEY": "not base64!"}  # the child cannot hash with it

    monkeypatch.setattr(service, "crypto_settings", broken_keys)
    path = write_book(tmp_path / "x.xlsx", [person(place["grid"], name="失败")])
    with pytest.raises(RuntimeError, match="checking process failed"):
        residents_import(acting_user=place["town"], path=path, process_min_rows=0)
    assert not Resident.objects.filter(name="失败").exists()
    assert AuditEntry.objects.filter(action="people.import").latest("id").outcome == "failure"


def asdict_counts(result) -> dict:
    from dataclasses import asdict

    return asdict(result.counts)
