"""Excel (xlsxwriter) and PDF (reportlab) files of every dashboard table. Each file is audited
with the node and period, and holds only what the same user sees on the page (the selectors)."""

import io
from dataclasses import dataclass
from datetime import date

import xlsxwriter

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.core.errors import NotFound

from . import selectors
from .selectors import MAP_KPIS, Period

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[tuple[str, str, int]]  # (key, header, width)
    rows: list[dict]


def _kpi_table(data: dict) -> Table:
    c, v, e, p, t, pe = data["cases"], data["visits"], data["egov"], data["points"], data["tips"], data["people"]
    pairs = [
        ("实有人口（人）", pe["residents"]), ("在岗网格员（人）", pe["grid_workers"]),
        *[(f"关爱对象·{g['name']}（人）", g["count"]) for g in pe["special_groups"]],
        ("走访（次）", v["done"]), ("巡查（次）", v["patrols"]), ("应走访（人次）", v["required"]),
        ("已走访（人次）", v["covered"]), ("走访完成率（%）", v["coverage_rate"]),
        ("上报事件（件）", c["reported"]), ("立案（件）", c["registered"]), ("结案（件）", c["closed"]),
        ("按期结案（件）", c["closed_on_time"]), ("结案率（%）", c["closure_rate"]),
        ("按期结案率（%）", c["on_time_rate"]), ("网格员自行处置（件）", c["self_resolved"]),
        ("当前在办（件）", c["open_now"]), ("当前超期（件）", c["overdue_now"]), ("评价均分", c["rating_avg"]),
        *[(f"来源·{s['name']}（件）", s["count"]) for s in c["by_source"]],
        *[(f"高发问题·{s['name']}（件）", s["count"]) for s in c["top_classes"]],
        ("政务申请（件）", e["applied"]), ("政务办结（件）", e["completed"]), ("按期办结（件）", e["on_time"]),
        ("按期办结率（%）", e["on_time_rate"]), ("资金发放（笔）", e["payments"]), ("发放金额（元）", e["paid_yuan"]),
        ("积分发放（分）", p["awarded"]), ("加分记录（条）", p["awards"]), ("积分兑换（分）", p["redeemed"]),
        ("积分活跃村（个）", p["active_villages"]), ("村（社区）总数", p["villages"]),
        ("摄像机（台）", data["video"]["cameras"]), ("在线摄像机（台）", data["video"]["online"]),
        ("摄像机在线率（%）", data["video"]["online_rate"]), ("视频查看（次）", data["video"]["views"]),
        ("录像查看（次）", data["video"]["reviews"]), ("视频协助案件（件）", data["video"]["cases_helped"]),
        ("通知回执（份）", data["notices"]["receipts"]), ("通知已读（份）", data["notices"]["read"]),
        ("通知签收（份）", data["notices"]["acknowledged"]), ("通知签收率（%）", data["notices"]["ack_rate"]),
        ("助警信息（条）", t["sent"]), ("有价值信息（条）", t["useful"]), ("奖励发放（笔）", t["rewards_paid"]),
        ("奖励金额（元）", t["reward_yuan"]),
    ]
    return Table("指标汇总", [("name", "指标", 30), ("value", "数值", 14)],
                 [{"name": n, "value": val} for n, val in pairs])


def table(*, user, name: str, code: str, period: Period) -> Table:
    """The named dashboard table for the node and period, as the user may see it."""
    if name == "kpis":
        return _kpi_table(selectors.node_kpis(user=user, code=code, period=period))
    if name == "children":
        cols = [("code", "区划代码", 17), ("name", "名称", 18)] + [(k, f"{lbl}（{u}）", 12)
                                                                   for k, (lbl, u) in MAP_KPIS.items()]
        return Table("下级区域", cols, selectors.children(user=user, code=code, period=period))
    if name == "departments":
        cols = [("rank", "名次", 6), ("name", "部门", 24), ("dispatched", "派遣（件）", 10),
                ("closed", "结案（件）", 10), ("on_time", "按期（件）", 10), ("on_time_rate", "按期结案率（%）", 14),
                ("avg_hours", "平均处置时长（小时）", 18), ("returned", "退回（次）", 10)]
        return Table("部门综合评价", cols, selectors.department_ranking(user=user, code=code, period=period))
    if name == "workers":
        cols = [("grid_code", "网格代码", 17), ("grid_name", "网格", 14), ("village", "村（社区）", 14),
                ("worker", "网格员", 10), ("visits", "走访（次）", 9), ("patrols", "巡查（次）", 9),
                ("required", "应走访（人次）", 12), ("covered", "已走访（人次）", 12),
                ("completion_rate", "走访完成率（%）", 13), ("reports", "上报（件）", 9),
                ("self_resolved", "自行处置（件）", 12), ("on_time_rate", "按期结案率（%）", 13),
                ("ratings", "评价（次）", 9), ("rating_avg", "评价均分", 9),
                ("score", "考核得分", 9)]
        return Table("网格员月度考核", cols, selectors.worker_evaluation(user=user, code=code, month=period.start))
    if name == "trend":
        data = selectors.trend(user=user, code=code, period=period, granularity="day")
        rows = [{"label": lbl, **{s["kpi"]: s["data"][i] for s in data["series"]}}
                for i, lbl in enumerate(data["labels"])]
        return Table("趋势", [("label", "日期", 12)] + [(s["kpi"], s["name"], 10) for s in data["series"]], rows)
    if name == "report":
        data = selectors.article_report(user=user, code=code, since=period.start, until=period.end)
        return Table("成效报告", [("name", "指标", 28), ("value", "数值", 14), ("unit", "单位", 6),
                                ("definition", "口径", 70)], data["figures"])
    raise NotFound("没有这张表")


def export_xlsx(*, acting_user, name: str, code: str, period: Period) -> tuple[bytes, str]:
    require(acting_user, "dashboard.export")
    t = table(user=acting_user, name=name, code=code, period=period)
    node = selectors.access_node(acting_user, code)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    header = book.add_format({"bold": True, "bg_color": "#E6F0FA", "border": 1})
    sheet = book.add_worksheet(t.title[:31])
    sheet.write_string(0, 0, f"{node.name}（{node.code}）{t.title} · {period.start} 至 {period.end}")
    for col, (_, title, width) in enumerate(t.columns):
        sheet.set_column(col, col, width)
        sheet.write_string(1, col, title, header)
    for r, row in enumerate(t.rows, start=2):
        for col, (key, _, _) in enumerate(t.columns):
            value = row.get(key)
            if value is None:
                sheet.write_blank(r, col, None)
            elif isinstance(value, int | float):
                sheet.write_number(r, col, value)
            else:
                sheet.write_string(r, col, str(value))
    sheet.freeze_panes(2, 0)
    book.close()
    audit_record(actor=acting_user, action="dashboard.export", object_type="regions.region", object_id=node.code,
                 region_code=node.code, changes={"table": name, "start": str(period.start), "end": str(period.end),
                                                 "rows": len(t.rows)})
    return out.getvalue(), f"{node.name}-{t.title}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"


def monthly_pdf(*, acting_user, code: str, month: date) -> tuple[bytes, str]:
    """The printable monthly report (A4): KPIs, top classes, department ranking, the lowest-scoring grids."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
    from reportlab.platypus import Table as PdfTable

    require(acting_user, "dashboard.export")
    period = selectors.parse_period(month=f"{month:%Y-%m}")
    node = selectors.access_node(acting_user, code)
    font = "STSong-Light"  # reportlab's built-in CID font: CJK text with no font file to ship
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=13)

    def grid(t: Table, limit: int | None = None):
        rows = t.rows[:limit] if limit else t.rows
        data = [[Paragraph(h, body) for _, h, _ in t.columns]]
        data += [[Paragraph("—" if r.get(k) is None else str(r.get(k)), body) for k, _, _ in t.columns] for r in rows]
        widths = [w for _, _, w in t.columns]
        scale = 170 * mm / sum(widths)
        pt = PdfTable(data, colWidths=[w * scale for w in widths], repeatRows=1)
        pt.setStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                     ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6F0FA")), ("VALIGN", (0, 0), (-1, -1), "TOP")])
        return pt

    story = [Paragraph(f"{node.name}网格化治理月报（{month:%Y 年 %m 月}）", h1),
             Paragraph(f"区划代码 {node.code} · 统计期间 {period.start} 至 {period.end}", body)]
    for name, title, limit in (("kpis", "一、主要指标", None), ("departments", "二、部门综合评价", 20),
                               ("workers", "三、网格员考核（得分由低到高前 20 名）", None)):
        t = table(user=acting_user, name=name, code=code, period=period)
        if name == "workers":
            keep = ("grid_name", "village", "worker", "visits", "completion_rate", "reports", "rating_avg", "score")
            lowest = sorted(t.rows, key=lambda r: (r["score"] if r["score"] is not None else 101, r["grid_code"]))
            t = Table(t.title, [c for c in t.columns if c[0] in keep], lowest[:20])
        body_part = grid(t, limit) if t.rows else Paragraph("本期无数据。", body)
        story += [Paragraph(title, h2), body_part, Spacer(1, 4 * mm)]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                      bottomMargin=18 * mm, title=f"{node.name}月报 {month:%Y-%m}").build(story)
    audit_record(actor=acting_user, action="dashboard.report_pdf", object_type="regions.region", object_id=node.code,
                 region_code=node.code, changes={"month": f"{month:%Y-%m}"})
    return out.getvalue(), f"{node.name}-月报-{month:%Y%m}.pdf"
