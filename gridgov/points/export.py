"""Excel files of the ledger and of rankings (xlsxwriter, constant memory, one audit row each).

Names follow the same rule as the pages (people.names); the ledger carries no ID numbers, phones
or care tags at all.
"""

from dataclasses import dataclass
from typing import IO

import xlsxwriter
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.people.presenters import display_name, shows_names

from . import selectors
from .choices import EntryKind, SubjectKind

CHUNK = 2000
SHEET_ROWS = 1_000_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_KINDS = {k: str(v) for k, v in EntryKind.choices}
_SUBJECT_KINDS = {k: str(v) for k, v in SubjectKind.choices}
LEDGER_COLUMNS = [("入账时间", 18), ("业务日期", 11), ("积分主体", 16), ("主体类别", 8), ("网格代码", 17),
                  ("类型", 9), ("项目编号", 8), ("积分项目", 20), ("摘要", 40), ("累计积分变化", 12),
                  ("可兑换积分变化", 14), ("已冲正", 7), ("经办人", 10), ("台账号", 9)]


@dataclass(frozen=True)
class ExportResult:
    rows: int
    filename: str


def _workbook(output, title: str):
    book = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": title, "company": "钟祥市网格化管理平台"})
    return book, book.add_format({"bold": True, "bg_color": "#E6F0FA", "border": 1})


def _sheet(book, header, name: str, columns):
    sheet = book.add_worksheet(name)
    for col, (title, width) in enumerate(columns):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, title, header)
    sheet.freeze_panes(1, 0)
    return sheet


def ledger_export(*, acting_user, output: str | IO[bytes], filters: dict | None = None) -> ExportResult:
    """The ledger entries of the user's scope matching `filters` (as ledger_list takes them)."""
    require(acting_user, "points.export")
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    qs = selectors.ledger_list(user=acting_user, **filters)
    full = shows_names(acting_user)
    book, header = _workbook(output, "积分台账")
    number, sheet, row, total = 1, _sheet(book, header, "积分台账", LEDGER_COLUMNS), 0, 0
    for e in qs.iterator(chunk_size=CHUNK):
        if row >= SHEET_ROWS:
            number += 1
            sheet, row = _sheet(book, header, f"积分台账{number}", LEDGER_COLUMNS), 0
        row += 1
        total += 1
        values = [timezone.localtime(e.posted_at).strftime("%Y-%m-%d %H:%M"), e.occurred_on.isoformat(),
                  display_name(e.subject.name, full=full), _SUBJECT_KINDS.get(e.subject.kind, ""), e.region_id,
                  _KINDS.get(e.kind, e.kind), e.item.code if e.item else "", e.item.name if e.item else "",
                  e.reference]
        for col, value in enumerate(values):
            sheet.write_string(row, col, value)
        sheet.write_number(row, 9, e.score_delta)
        sheet.write_number(row, 10, e.delta)
        sheet.write_string(row, 11, "是" if e.is_reversed else "")
        sheet.write_string(row, 12, (e.actor.full_name or e.actor.username) if e.actor else "系统")
        sheet.write_number(row, 13, e.pk)
    book.close()
    filename = f"积分台账-{timezone.localdate():%Y%m%d}.xlsx"
    audit_record(actor=acting_user, action="points.export.ledger", object_type="points.ledgerentry",
                 region_code=filters.get("region", ""), changes={"rows": total, "filters": {
                     k: str(v) for k, v in filters.items()}})
    return ExportResult(total, filename)


def ranking_export(*, acting_user, output: str | IO[bytes], region: str | None = None, period: str = "month",
                   year: int | None = None, month: int | None = None) -> ExportResult:
    """One sheet per subject kind (居民, 家庭, 单位, 党员, 干部) and one of the child regions' totals."""
    require(acting_user, "points.export")
    book, header = _workbook(output, "积分排名")
    total, title, node = 0, "", None
    for kind, label in SubjectKind.choices:
        result = selectors.ranking(user=acting_user, region=region, period=period, year=year, month=month,
                                   kind=kind, limit=1000)
        node, title = result.region, f"{result.region.name}{result.label}"
        sheet = _sheet(book, header, f"{label}排名", [("名次", 6), ("名称", 18), ("所在村（社区）", 18),
                                                      ("网格代码", 17), ("积分", 9)])
        for i, r in enumerate(result.rows, 1):
            sheet.write_number(i, 0, r.rank)
            sheet.write_string(i, 1, r.name)
            sheet.write_string(i, 2, r.village_name)
            sheet.write_string(i, 3, r.region_code)
            sheet.write_number(i, 4, r.points)
            total += 1
    totals = selectors.region_totals(user=acting_user, region=node.code, period=period, year=year, month=month)
    if totals:
        sheet = _sheet(book, header, "下级区域汇总", [("区划代码", 14), ("名称", 18), ("积分", 10), ("加分次数", 10),
                                                      ("有积分变动的主体", 16)])
        for i, t in enumerate(totals, 1):
            sheet.write_string(i, 0, t.code)
            sheet.write_string(i, 1, t.name)
            sheet.write_number(i, 2, t.points)
            sheet.write_number(i, 3, t.awards)
            sheet.write_number(i, 4, t.subjects)
    book.close()
    audit_record(actor=acting_user, action="points.export.ranking", object_type="regions.region",
                 object_id=node.code, region_code=node.code, changes={"rows": total, "period": period})
    return ExportResult(total, f"积分排名-{title}.xlsx")
