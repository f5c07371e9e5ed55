"""The case desk's list as an Excel file (案件导出).

Written with xlsxwriter in constant-memory mode while the queryset is read in chunks, so a city's
year of cases exports in flat memory; a sheet holds at most 1,000,000 rows and the next continues.
The reporter's name and phone are always masked (a file that leaves the platform carries no
contact details; the case page shows them to those who work the case). Every export writes one
audit row (cases.export) with the row count and the filters.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.core.masking import mask_name, mask_phone

from . import selectors
from .choices import OPEN_STATES, CaseState, Source, Stage, Urgency

SHEET_ROWS = 1_000_000
CHUNK = 2000
NOTICE = "本文件含案件信息，仅限本职工作使用，不得转发、公开或用于其他目的；反映人姓名和电话已脱敏。"
# Exporting needs what reading the desk needs; narrowing it to a dedicated permission (cases.export)
# belongs in accounts/policy.py.
PERMISSION = "cases.view"

COLUMNS = [
    ("案件编号", 15), ("上报时间", 17), ("状态", 12), ("大类", 12), ("小类", 16), ("紧急程度", 8), ("来源", 11),
    ("所属网格", 22), ("网格代码", 17), ("地址", 24), ("问题描述", 48), ("主办部门", 16), ("当前阶段", 8),
    ("阶段截止", 17), ("时限状态", 8), ("已升级", 12), ("受理时间", 17), ("派遣时间", 17), ("结案时间", 17),
    ("自行处置", 8), ("反映人", 8), ("联系电话", 13), ("经度", 12), ("纬度", 12),
]

_STATE = {k: str(v) for k, v in CaseState.choices}
_URGENCY = {k: str(v) for k, v in Urgency.choices}
_SOURCE = {k: str(v) for k, v in Source.choices}
_STAGE = {k: str(v) for k, v in Stage.choices}
_LEVEL = {1: "市网格化管理中心", 2: "镇综治中心"}
FILTER_LABELS = {"state": "状态", "category": "分类", "urgency": "紧急程度", "due": "时限", "escalated": "已升级",
                 "region": "区划", "department": "部门", "source": "来源", "since": "上报日期起", "until": "上报日期止",
                 "q": "关键字"}


@dataclass(frozen=True)
class ExportResult:
    rows: int
    filename: str


def export_filename(today: date | None = None) -> str:
    return f"案件清单-{(today or timezone.localdate()):%Y%m%d}.xlsx"


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _plain(filters: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in filters.items():
        if value in (None, "", [], False):
            continue
        if isinstance(value, list | tuple | set | frozenset):
            value = sorted(str(v) for v in value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[key] = value
    return out


def _describe(filters: Mapping[str, Any]) -> str:
    parts = []
    for key, value in _plain(filters).items():
        if key == "state":
            states = value if isinstance(value, list) else [value]
            value = "办理中" if set(states) == set(OPEN_STATES) else "、".join(_STATE.get(s, s) for s in states)
        parts.append(f"{FILTER_LABELS.get(key, key)}={value}")
    return "；".join(parts) or "无"


def case_export(*, acting_user, output: str | IO[bytes], filters: Mapping[str, Any] | None = None) -> ExportResult:
    """Writes the cases the user sees under `filters` (selectors.case_list's arguments) to `output`
    (a path or a binary file), newest first, and audits the export. Not one transaction: on SQLite
    that would hold the write lock for the length of a big export."""
    require(acting_user, PERMISSION)
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "", [])}
    qs = selectors.case_list(user=acting_user, **filters).select_related("category__parent")
    now = timezone.now()

    workbook = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    workbook.set_properties({"title": "案件清单", "company": "钟祥市网格化管理平台", "comments": NOTICE})
    header = workbook.add_format({"bold": True, "bg_color": "#E6F0FA", "border": 1})
    wrap = workbook.add_format({"text_wrap": False})

    def new_sheet(number: int):
        sheet = workbook.add_worksheet("案件清单" if number == 1 else f"案件清单{number}")
        for col, (_title, width) in enumerate(COLUMNS):
            sheet.set_column(col, col, width)
        sheet.freeze_panes(1, 1)
        for col, (title, _width) in enumerate(COLUMNS):
            sheet.write_string(0, col, title, header)
        return sheet

    sheet_no, sheet, row, total = 1, new_sheet(1), 0, 0
    for case in qs.iterator(chunk_size=CHUNK):
        if row >= SHEET_ROWS:
            sheet_no += 1
            sheet, row = new_sheet(sheet_no), 0
        row += 1
        total += 1
        category = case.category
        parent = category.parent if category.parent_id else None
        live = case.state in OPEN_STATES and case.stage_deadline is not None
        due = ("超期" if live and case.stage_deadline <= now else
               "临期" if live and case.stage_due_soon_at and case.stage_due_soon_at <= now else "")
        values = [
            case.number, _when(case.created_at), _STATE.get(case.state, case.state),
            parent.name if parent else category.name, category.name if parent else "",
            _URGENCY.get(case.urgency, case.urgency), _SOURCE.get(case.source, case.source),
            case.region.name, case.region_id, case.address, case.description,
            case.lead_department.name if case.lead_department_id else "",
            _STAGE.get(case.stage, "") if case.state in OPEN_STATES else "",
            _when(case.stage_deadline) if live else "", due,
            _LEVEL.get(case.escalated_to_level, "") if case.escalated_to_level else "",
            _when(case.accepted_at), _when(case.dispatched_at), _when(case.closed_at),
            "是" if case.self_resolved else "",
            mask_name(case.reporter_name), mask_phone(case.reporter_phone),
        ]
        for col, value in enumerate(values):
            if value:
                sheet.write_string(row, col, str(value), wrap)
        if case.lon is not None:
            sheet.write_number(row, len(values), case.lon)
            sheet.write_number(row, len(values) + 1, case.lat)

    about = workbook.add_worksheet("说明")
    about.set_column(0, 0, 14)
    about.set_column(1, 1, 70)
    lines = [
        ("导出时间", timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S")),
        ("导出人", f"{getattr(acting_user, 'full_name', '') or ''} ({acting_user.get_username()})".strip()),
        ("记录数", str(total)),
        ("筛选条件", _describe(filters)),
        ("反映人信息", "姓名和电话已脱敏"),
        ("注意", NOTICE),
    ]
    for i, (key, value) in enumerate(lines):
        about.write_string(i, 0, key, header)
        about.write_string(i, 1, value)
    workbook.close()

    audit_record(
        actor=acting_user, action="cases.export", object_type="cases.case",
        region_code=str(filters.get("region") or ""),
        changes={"rows": total, "masked": True, "filters": _plain(filters)},
        message=f"导出案件清单 {total} 条（反映人信息已脱敏）",
    )
    return ExportResult(rows=total, filename=export_filename())
