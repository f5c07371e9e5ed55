"""Excel export of the desk: the applications the user sees under the desk's filters, and the
statistics of the same scope on a second sheet. Written in constant-memory mode (rows stream to
the file as the queryset is read in chunks); applicants' ID numbers and payee accounts are not in
the file at all. Every export writes one audit row (egov.export) with the filters and row count."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import xlsxwriter
from django.db.models import Q, Sum
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record

from . import selectors
from .answers import yuan
from .choices import Channel, Decision, PaymentStatus, State

CHUNK = 2000
MAX_ROWS = 200_000
NOTICE = "本文件含个人信息，仅限本职工作使用，不得转发、公开或用于其他目的（《个人信息保护法》）。"
COLUMNS = [
    ("申请编号", 18), ("事项编码", 8), ("服务事项", 26), ("责任部门", 12), ("申请人", 10), ("所属网格", 22),
    ("网格代码", 17), ("代办人", 10), ("受理渠道", 10), ("政策找人", 8), ("状态", 9), ("申请时间", 17),
    ("受理日期", 11), ("办结期限", 11), ("补正暂停(工作日)", 9), ("逾期", 6), ("审批结果", 9),
    ("核定金额(元)", 12), ("已发放(元)", 12), ("办结日期", 11), ("按期办结", 8),
]


@dataclass(frozen=True)
class ExportResult:
    rows: int
    filename: str


def application_export(*, acting_user, output: str | IO[bytes], filters: Mapping[str, Any] | None = None
                       ) -> ExportResult:
    """Writes the user's applications matching `filters` (as application_list takes them) to
    `output` and audits the export (403 without egov.export)."""
    require(acting_user, "egov.export")
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    today = timezone.localdate()
    departments = selectors.department_names()
    qs = selectors.application_list(user=acting_user, **filters).annotate(
        paid=Sum("payments__amount_fen", filter=Q(payments__status=PaymentStatus.PAID)))
    workbook = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    workbook.set_properties({"title": "政务网上办申请", "company": "钟祥市网格化管理平台", "comments": NOTICE})
    header = workbook.add_format({"bold": True, "bg_color": "#E6F0FA", "border": 1})
    sheet = workbook.add_worksheet("申请")
    for col, (title, width) in enumerate(COLUMNS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, title, header)
    sheet.freeze_panes(1, 0)
    states = {c: str(n) for c, n in State.choices}
    channels = {c: str(n) for c, n in Channel.choices}
    decisions = {c: str(n) for c, n in Decision.choices}
    row = 0
    for app in qs.iterator(chunk_size=CHUNK):
        if row >= MAX_ROWS:
            break
        row += 1
        on_time = app.on_time
        values = [
            app.number, app.item.code, app.item.name, departments.get(app.department_code, app.department_code),
            app.applicant.name, app.region.name, app.region_id, (app.agent.full_name or app.agent.username),
            channels.get(app.channel, ""), "是" if app.found_by_match else "", states.get(app.state, app.state),
            timezone.localtime(app.created_at).strftime("%Y-%m-%d %H:%M"),
            app.accepted_on.isoformat() if app.accepted_on else "", app.due_on.isoformat() if app.due_on else "",
            str(app.paused_days) if app.paused_days else "", "逾期" if app.is_overdue(today) else "",
            decisions.get(app.decision, ""), yuan(app.amount_fen), yuan(app.paid) if app.paid else "",
            app.completed_on.isoformat() if app.completed_on else "",
            "" if on_time is None else ("是" if on_time else "否"),
        ]
        for col, value in enumerate(values):
            sheet.write_string(row, col, value)
    stats = selectors.application_stats(user=acting_user, region=filters.get("region"))
    summary = workbook.add_worksheet("统计")
    summary.set_column(0, 0, 26)
    summary.set_column(1, 3, 12)
    lines = [("范围", stats.region.name if stats.region else ""), ("申请总数", stats.total),
             ("已办结", stats.completed), ("按期办结", stats.on_time),
             ("按期办结率", f"{stats.on_time_rate:.1%}" if stats.on_time_rate is not None else "—"),
             ("在办逾期", stats.overdue_open), ("已发放资金(元)", yuan(stats.paid_fen)),
             ("待发放资金(元)", yuan(stats.scheduled_fen))]
    r = 0
    for label, value in lines:
        summary.write_string(r, 0, label, header)
        summary.write_string(r, 1, str(value))
        r += 1
    r += 1
    summary.write_row(r, 0, ["按事项", "申请数", "已办结", "批准"], header)
    for entry in stats.by_item:
        r += 1
        summary.write_row(r, 0, [entry["name"], entry["count"], entry["completed"], entry["approved"]])
    workbook.close()
    audit_record(actor=acting_user, action="egov.export", object_type="egov.application",
                 changes={"filters": {k: str(v) for k, v in filters.items()}, "rows": row})
    return ExportResult(rows=row, filename=f"政务网上办申请-{today:%Y%m%d}.xlsx")
