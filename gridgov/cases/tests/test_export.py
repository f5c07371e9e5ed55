"""Excel export of the case desk: the filtered, scoped list; reporter contact masked; every export audited."""

import io

import pytest
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from gridgov.cases import services
from gridgov.cases.choices import CaseState
from gridgov.cases.export import COLUMNS, case_export
from gridgov.core.errors import PermissionDenied
from gridgov.core.models import AuditEntry

from . import factories as f

pytestmark = pytest.mark.django_db


def rows_of(data: bytes, sheet: str = "案件清单") -> list[list]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_name(sheet).to_python()


def hotline_case(world, phone="13812345678", name="张三丰"):
    return services.case_report(acting_user=world.town_op, category="G0203", description="工地拖欠工资（导出测试）",
                                grid=world.grid.code, source="hotline", reporter_name=name, reporter_phone=phone)


def test_export_of_the_filtered_list_is_masked_and_audited(world):
    hotline = hotline_case(world)
    dispatched = world.case_in(CaseState.DISPATCHED)
    client = Client()
    client.force_login(world.town_op)
    audits = AuditEntry.objects.filter(action="cases.export").count()
    response = client.post(reverse("cases:export"), {"region": world.grid.code, "state": "open"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response["Content-Disposition"] and response["Cache-Control"] == "no-store"
    data = b"".join(response.streaming_content)
    rows = rows_of(data)
    assert rows[0] == [title for title, _ in COLUMNS]
    by_number = {r[0]: r for r in rows[1:]}
    assert {hotline.number, dispatched.number} <= set(by_number)
    row = by_number[hotline.number]
    phone, name = row[COLUMNS.index(("联系电话", 13))], row[COLUMNS.index(("反映人", 8))]
    assert phone == "138****5678" and name == "张*丰"
    assert b"13812345678" not in data and "张三丰".encode() not in data
    assert by_number[dispatched.number][COLUMNS.index(("主办部门", 16))] == "胡集派出所"
    assert all(r[2] not in ("已结案", "已评价", "已作废") for r in rows[1:])  # the filter holds
    entry = AuditEntry.objects.filter(action="cases.export").latest("id")
    assert AuditEntry.objects.filter(action="cases.export").count() == audits + 1
    assert entry.actor == world.town_op and entry.changes["rows"] == len(rows) - 1
    assert entry.changes["masked"] is True and entry.changes["filters"]["region"] == world.grid.code
    about = dict((r[0], r[1]) for r in rows_of(data, "说明"))
    assert about["记录数"] == str(len(rows) - 1) and "办理中" in about["筛选条件"]


def test_export_is_scoped(world):
    mine = f.report(world.grid, category="G0104", description="导出范围测试")
    other = f.report(world.grid2, category="G0104", description="导出范围测试")
    output = io.BytesIO()
    result = case_export(acting_user=world.worker, output=output, filters={"q": "导出范围测试"})
    numbers = {r[0] for r in rows_of(output.getvalue())[1:]}
    assert mine.number in numbers and other.number not in numbers and result.rows == len(numbers)
    output = io.BytesIO()
    case_export(acting_user=world.town_op, output=output, filters={"q": "导出范围测试"})
    assert {mine.number, other.number} <= {r[0] for r in rows_of(output.getvalue())[1:]}


def test_export_refused_without_the_permission_and_nothing_audited(world):
    audits = AuditEntry.objects.filter(action="cases.export").count()
    with pytest.raises(PermissionDenied):
        case_export(acting_user=world.auditor, output=io.BytesIO())
    client = Client()
    client.force_login(world.auditor)
    assert client.post(reverse("cases:export"), {}).status_code == 403
    assert Client().post(reverse("cases:export"), {}).status_code == 302  # to the login page
    client.force_login(world.town_op)
    assert client.get(reverse("cases:export")).status_code == 405
    bad = client.post(reverse("cases:export"), {"region": "abc"})
    assert bad.status_code == 302 and bad["Location"] == reverse("cases:desk")
    assert AuditEntry.objects.filter(action="cases.export").count() == audits


def test_desk_offers_the_export_with_its_filters(world):
    f.report(world.grid, category="G0104")
    client = Client()
    client.force_login(world.town_op)
    html = client.get(reverse("cases:desk"), {"category": "G0104", "state": "reported"}).content.decode()
    assert f'action="{reverse("cases:export")}"' in html
    assert 'name="category" value="G0104"' in html and 'name="state" value="reported"' in html
