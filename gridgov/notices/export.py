"""Excel of a notice's statistics: the rows of one drill-down node, and who has not yet read/acknowledged."""

import io

import xlsxwriter
from django.utils import timezone

from . import presenters

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _t(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def stats_workbook(notice, stats: dict, receipts) -> io.BytesIO:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("签收统计")
    sheet.write(0, 0, f"{notice.title}（{stats['node']['name']}）", bold)
    headers = ["区划代码", "区域", "接收人数", "已读", "已签收", "逾期签收", "阅读率%", "签收率%"]
    sheet.write_row(2, 0, headers, bold)
    line = 3
    for r in [*stats["rows"], {**stats["totals"], "code": "", "name": "合计"}]:
        sheet.write_row(line, 0, [r["code"], r["name"], r["total"], r["read"], r["acked"], r["late"],
                                  r["read_rate"] if r["read_rate"] is not None else "",
                                  r["ack_rate"] if r["ack_rate"] is not None else ""])
        line += 1
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 24)
    people = book.add_worksheet("未签收名单" if notice.requires_ack else "未读名单")
    people.write_row(0, 0, ["姓名", "角色", "区划代码", "部门", "阅读时间", "签收时间"], bold)
    for i, r in enumerate(receipts.iterator(chunk_size=2000), start=1):
        d = presenters.recipient_dict(r)
        people.write_row(i, 0, [d["name"], d["role"], d["region_code"], d["department"], _t(d["read_at"]),
                                _t(d["acked_at"])])
    people.set_column(0, 3, 16)
    book.close()
    buffer.seek(0)
    return buffer


def reports_workbook(reports) -> io.BytesIO:
    """The report desk as filtered, one row per report (capped by the caller)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("情况报告")
    sheet.write_row(0, 0, ["编号", "类别", "内容", "网格代码", "网格", "报告人", "报告时间", "状态", "处理意见",
                           "处理时间", "案件编号"], bold)
    for i, r in enumerate(reports, start=1):
        sheet.write_row(i, 0, [r.pk, str(r.get_category_display()), r.text, r.region_id, r.region.name,
                               presenters.person(r.author), _t(r.created_at), str(r.get_status_display()),
                               r.handle_note, _t(r.handled_at), r.case.number if r.case_id else ""])
    sheet.set_column(2, 2, 50)
    sheet.set_column(3, 4, 18)
    book.close()
    buffer.seek(0)
    return buffer
