"""Excel files that leave the platform: a scope's residents, and one person's own data.

The resident list is written with xlsxwriter in constant-memory mode: rows go to a temporary
file as they are read (the queryset is iterated in chunks), so a city's million residents export
in flat memory; a sheet holds at most 1,000,000 rows and the next one continues. ID numbers and
phones are masked unless the user holds people.export.unmasked *and* asks (unmasked=True); care
tags of sensitivity 2-3 get their own column only with people.export.sensitive. Every export
writes one audit row (people.export) with the row count and whether it was masked.
"""

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

import xlsxwriter
from django.utils import timezone

from gridgov.accounts.policy import can, require
from gridgov.core.audit import audit_record
from gridgov.core.errors import PermissionDenied
from gridgov.core.masking import mask_id_number, mask_phone

from . import selectors
from .choices import Gender, PoliticalStatus, RelationToHead, ResidencyStatus, ResidentState, Sensitivity
from .presenters import display_name, export_tag_levels, shows_names, tag_attribute_rows, tag_levels

SHEET_ROWS = 1_000_000  # Excel allows 1,048,576 rows; a round number per sheet is easier to check
CHUNK = 2000
NOTICE = "本文件含个人信息，仅限本职工作使用，不得转发、公开或用于其他目的（《个人信息保护法》）。"

BASE_COLUMNS = [
    ("姓名", 10), ("性别", 5), ("出生日期", 11), ("民族", 7), ("公民身份号码", 21), ("联系电话", 14),
    ("人口类型", 9), ("政治面貌", 11), ("所属网格", 22), ("网格代码", 17), ("户号", 14), ("与户主关系", 10),
    ("居住地址", 26), ("职业/工作单位", 18), ("状态", 6), ("关爱对象", 24),
]
SENSITIVE_COLUMN = ("敏感关爱对象", 24)

class _Labels(dict):
    """Code → Chinese label as plain str (choice labels are lazy translations, not JSON-ready)."""

    def __init__(self, choices):
        super().__init__((code, str(label)) for code, label in choices.choices)


_GENDER = _Labels(Gender)
_RESIDENCY = _Labels(ResidencyStatus)
_POLITICAL = _Labels(PoliticalStatus)
_RELATION = _Labels(RelationToHead)
_STATE = _Labels(ResidentState)
_MASKED_FILTERS = {"id_number": mask_id_number, "phone": mask_phone,
                   "id_index": lambda _: "（完整身份证号码）", "phone_index": lambda _: "（完整电话号码）"}


@dataclass(frozen=True)
class ExportResult:
    rows: int
    masked: bool
    sensitive_tags: bool
    filename: str


def export_filename(today: date | None = None) -> str:
    return f"人员名单-{(today or timezone.localdate()):%Y%m%d}.xlsx"


def _audit_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filters as they may appear in the audit log: an exact ID or phone only masked."""
    out = {}
    for key, value in filters.items():
        if value in (None, ""):
            continue
        out[key] = _MASKED_FILTERS[key](str(value)) if key in _MASKED_FILTERS else value
    return out


def resident_export(*, acting_user, output: str | IO[bytes], unmasked: bool = False,
                    filters: Mapping[str, Any] | None = None) -> ExportResult:
    """Writes the residents of the user's scope matching `filters` (as resident_list takes them)
    to `output` (a path or a binary file) and audits the export.

    Refused (403) without people.export, and when unmasked is asked without people.export.unmasked.
    Not one transaction: on SQLite that would hold the write lock for the length of a city export.
    """
    require(acting_user, "people.export")
    if unmasked and not can(acting_user, "people.export.unmasked"):
        raise PermissionDenied("您没有导出完整身份证号码和联系电话的权限")
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    levels = export_tag_levels(acting_user)
    sensitive = any(level > Sensitivity.NORMAL for level in levels)
    qs = selectors.resident_list(user=acting_user, tag_levels_override=levels, **filters)
    full_names = shows_names(acting_user)

    workbook = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    workbook.set_properties({"title": "人员名单", "company": "钟祥市网格化管理平台",
                             "comments": NOTICE + ("（未脱敏）" if unmasked else "（已脱敏）")})
    header = workbook.add_format({"bold": True, "bg_color": "#E6F0FA", "border": 1})
    columns = BASE_COLUMNS + ([SENSITIVE_COLUMN] if sensitive else [])

    def new_sheet(number: int):
        sheet = workbook.add_worksheet("人员名单" if number == 1 else f"人员名单{number}")
        for col, (_title, width) in enumerate(columns):
            sheet.set_column(col, col, width)
        sheet.freeze_panes(1, 0)
        for col, (title, _width) in enumerate(columns):
            sheet.write_string(0, col, title, header)
        return sheet

    sheet_no, sheet, row, total = 1, new_sheet(1), 0, 0
    for resident in qs.iterator(chunk_size=CHUNK):
        if row >= SHEET_ROWS:
            sheet_no += 1
            sheet, row = new_sheet(sheet_no), 0
        row += 1
        total += 1
        household = resident.household
        normal = [t.tag_type.name for t in resident.visible_tags if t.sensitivity == Sensitivity.NORMAL]
        values = [
            display_name(resident.name, full=full_names),
            _GENDER.get(resident.gender, ""),
            resident.birth_date.isoformat() if resident.birth_date else "",
            resident.ethnicity,
            resident.id_number if unmasked else mask_id_number(resident.id_number),
            resident.phone if unmasked else mask_phone(resident.phone),
            _RESIDENCY.get(resident.residency_status, ""),
            _POLITICAL.get(resident.political_status, ""),
            resident.region.name,
            resident.region_id,
            household.number if household else "",
            _RELATION.get(resident.relation_to_head, ""),
            resident.address.short_text if resident.address else "",
            resident.occupation,
            _STATE.get(resident.state, ""),
            "、".join(normal),
        ]
        if sensitive:
            values.append("、".join(t.tag_type.name for t in resident.visible_tags
                                   if t.sensitivity != Sensitivity.NORMAL))
        for col, value in enumerate(values):
            if value:
                sheet.write_string(row, col, str(value))

    about = workbook.add_worksheet("说明")
    about.set_column(0, 0, 16)
    about.set_column(1, 1, 70)
    lines = [
        ("导出时间", timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")),
        ("导出人", acting_user.get_username()),
        ("记录数", str(total)),
        ("身份证号码与电话", "未脱敏（已授权）" if unmasked else "已脱敏"),
        ("敏感关爱对象", "已包含（已授权）" if sensitive else "未包含"),
        ("筛选条件", "；".join(f"{k}={v}" for k, v in _audit_filters(filters).items()) or "无"),
        ("注意", NOTICE),
    ]
    for i, (key, value) in enumerate(lines):
        about.write_string(i, 0, key, header)
        about.write_string(i, 1, value)
    workbook.close()

    audit_record(
        actor=acting_user, action="people.export", object_type="people.resident",
        region_code=str(filters.get("region") or ""),
        changes={"rows": total, "masked": not unmasked, "sensitive_tags": sensitive,
                 "filters": _audit_filters(filters)},
        message=f"导出人员名单 {total} 条（{'未脱敏' if unmasked else '已脱敏'}）",
    )
    return ExportResult(rows=total, masked=not unmasked, sensitive_tags=sensitive, filename=export_filename())


# --- one person's own data (PIPL access request) ---------------------------------------------------------------------

ACTION_LABELS = {
    "people.resident.create": "登记人员信息",
    "people.resident.update": "修改人员信息",
    "people.resident.correct": "更正人员信息",
    "people.resident.move": "变更所属网格",
    "people.reveal": "查看完整个人信息",
    "people.subject_access": "提供个人信息副本",
    "people.care_tag.add": "认定关爱对象",
    "people.care_tag.update": "修改关爱对象信息",
    "people.care_tag.end": "关爱对象退出",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def subject_access_data(*, user, resident) -> dict[str, Any]:
    """Everything held on `resident` that `user` may hand over, as plain JSON-ready values."""
    from gridgov.core.models import AuditOutcome

    from .models import CareTag

    region_chain = selectors.resident_region_names(resident)
    household = resident.household
    guardian = resident.guardian
    person = {
        "name": resident.name,
        "gender": _GENDER.get(resident.gender, ""),
        "birth_date": resident.birth_date.isoformat() if resident.birth_date else "",
        "ethnicity": resident.ethnicity,
        "id_number": resident.id_number,
        "phone": resident.phone,
        "residency_status": _RESIDENCY.get(resident.residency_status, ""),
        "political_status": _POLITICAL.get(resident.political_status, ""),
        "occupation": resident.occupation,
        "health_note": resident.health_note,
        "guardian": guardian.name if guardian else "",
        "guardian_note": resident.guardian_note,
        "state": _STATE.get(resident.state, ""),
        "grid": " / ".join(r["name"] for r in region_chain),
        "address": resident.address.short_text if resident.address else "",
        "registered_at": timezone.localtime(resident.created_at).strftime("%Y-%m-%d %H:%M"),
        "updated_at": timezone.localtime(resident.updated_at).strftime("%Y-%m-%d %H:%M"),
    }
    levels = tag_levels(user)
    tags = (CareTag.objects.filter(resident=resident, sensitivity__in=levels)
            .select_related("tag_type").order_by("since", "id"))
    care_tags = [
        {"type": t.tag_type.name, "since": t.since.isoformat() if t.since else "",
         "ended_on": t.ended_on.isoformat() if t.ended_on else "", "visit_every_days": t.visit_every_days,
         "attributes": {row["label"]: row["value"] for row in tag_attribute_rows(t)}}
        for t in tags
    ]
    houses = [{"address": h.address.short_text, "use": h.get_use_display(), "occupancy": h.get_occupancy_display()}
              for h in resident.houses_owned.select_related("address")]
    visits = []
    try:
        from gridgov.visits.selectors import visit_list_for_resident
    except ImportError:  # the visits module is optional for the registry
        visit_list_for_resident = None
    if visit_list_for_resident is not None:
        for v in visit_list_for_resident(user=user, resident=resident)[:500]:
            visits.append({"visited_at": timezone.localtime(v.visited_at).strftime("%Y-%m-%d %H:%M"),
                           "findings": getattr(v, "findings", "")})
    history = selectors.resident_history(user=user, resident=resident)
    records = [
        {"time": timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S"), "action": action_label(e.action),
         "outcome": "成功" if e.outcome == AuditOutcome.SUCCESS else "失败",
         "purpose": e.message if e.action in ("people.reveal", "people.resident.correct",
                                              "people.subject_access", "people.resident.move") else ""}
        for e in history[:2000]
    ]
    complete = levels == {int(s) for s in Sensitivity.values}
    return {
        "generated_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"),
        "controller": "钟祥市网格化管理中心",
        "person": person,
        "household": {
            "number": household.number, "relation_to_head": _RELATION.get(resident.relation_to_head, ""),
            "registered_address": household.registered_address,
            "address": household.address.short_text if household.address else "",
        } if household else None,
        "care_tags": care_tags,
        "houses_owned": houses,
        "visits": visits,
        "processing_records": records,
        "notice": "" if complete else "本副本由基层受理点出具；如需查询全部信息，请向钟祥市网格化管理中心申请。",
    }


PERSON_LABELS = {
    "name": "姓名", "gender": "性别", "birth_date": "出生日期", "ethnicity": "民族", "id_number": "公民身份号码",
    "phone": "联系电话", "residency_status": "人口类型", "political_status": "政治面貌", "occupation": "职业/工作单位",
    "health_note": "健康状况", "guardian": "监护人", "guardian_note": "监护人说明", "state": "状态", "grid": "所属网格",
    "address": "居住地址", "registered_at": "登记时间", "updated_at": "最近更新",
}


def subject_access_workbook(data: Mapping[str, Any]) -> bytes:
    """The access-request copy as an .xlsx: 基本信息, 关爱对象, 走访记录, 处理记录."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    bold = workbook.add_format({"bold": True, "bg_color": "#E6F0FA", "border": 1})

    def table(name: str, headers: list[str], rows: list[list[Any]], widths: list[int]):
        sheet = workbook.add_worksheet(name)
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)
        for col, title in enumerate(headers):
            sheet.write_string(0, col, title, bold)
        for r, values in enumerate(rows, start=1):
            for col, value in enumerate(values):
                sheet.write_string(r, col, "" if value is None else str(value))
        return sheet

    person_rows = [[label, data["person"].get(key, "")] for key, label in PERSON_LABELS.items()]
    if data.get("household"):
        h = data["household"]
        person_rows += [["户号", h["number"]], ["与户主关系", h["relation_to_head"]],
                        ["户籍地址", h["registered_address"]], ["户实际居住地址", h["address"]]]
    for house in data.get("houses_owned", []):
        person_rows.append(["名下房屋", f"{house['address']}（{house['use']}，{house['occupancy']}）"])
    person_rows += [["出具时间", data["generated_at"]], ["出具机构", data["controller"]]]
    if data.get("notice"):
        person_rows.append(["说明", data["notice"]])
    table("基本信息", ["项目", "内容"], person_rows, [16, 60])
    table("关爱对象", ["类别", "认定日期", "退出日期", "走访频次(天)", "属性"],
          [[t["type"], t["since"], t["ended_on"], t["visit_every_days"],
            "；".join(f"{k}：{v}" for k, v in t["attributes"].items())] for t in data["care_tags"]],
          [16, 12, 12, 12, 50])
    table("走访记录", ["走访时间", "走访情况"], [[v["visited_at"], v["findings"]] for v in data["visits"]], [18, 70])
    table("处理记录", ["时间", "处理活动", "结果", "目的/原因"],
          [[r["time"], r["action"], r["outcome"], r["purpose"]] for r in data["processing_records"]],
          [20, 20, 8, 50])
    workbook.close()
    return buffer.getvalue()

