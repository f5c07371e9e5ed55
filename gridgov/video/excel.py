"""Excel import (python-calamine, all or nothing, one Chinese reason per fault per row) and export
(xlsxwriter) of the camera registry. Stream sources go in, never out."""

import io
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import IO, Any

import python_calamine
import xlsxwriter
from django.db import transaction
from django.utils import timezone

from gridgov.accounts.policy import get_scope, require
from gridgov.core.audit import audit_record
from gridgov.regions.models import Region

from . import selectors
from .choices import CameraKind, Funding
from .models import CAMERA_CODE_RE, Camera

MAX_ROWS = 20_000
BATCH = 2000
COLUMNS = [  # (field, header, width)
    ("code", "摄像机编码", 18), ("name", "名称", 24), ("grid", "网格代码", 17), ("lon", "经度", 12),
    ("lat", "纬度", 12), ("kind", "类型", 10), ("owner", "产权单位", 18), ("stream_source", "视频源地址", 30),
    ("installed_on", "安装日期", 12), ("funding", "资金来源", 10), ("funding_yuan", "投入金额(元)", 12),
    ("note", "备注", 20),
]
HEADERS = {header: name for name, header, _ in COLUMNS}
REQUIRED = ("code", "name", "grid", "lon", "lat")
KINDS = {str(label): value for value, label in CameraKind.choices} | {v: v for v in CameraKind.values}
FUNDINGS = {str(label): value for value, label in Funding.choices} | {v: v for v in Funding.values}
# The county's extent with a margin: a point outside is a typing error (or swapped lon/lat).
LON_RANGE, LAT_RANGE = (111.9, 113.4), (30.6, 31.8)


class ImportFileError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class RowError:
    row: int
    code: str
    reasons: list[str]


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return asdict(self)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (python_calamine.CalamineError, OSError, ValueError, IndexError) as exc:
        raise ImportFileError(f"无法读取 Excel 文件，请上传 .xlsx 工作簿（{exc}）") from None
    if not rows:
        raise ImportFileError("工作簿是空的")
    header = {i: HEADERS.get(_text(v).replace(" ", "").replace("*", "")) for i, v in enumerate(rows[0])}
    present = {f for f in header.values() if f}
    missing = [h for name, h, _ in COLUMNS if name in REQUIRED and name not in present]
    if missing:
        raise ImportFileError(f"第 1 行应为表头，缺少列：{'、'.join(missing)}（请使用导入模板）")
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        if all(_text(c) == "" for c in cells):
            continue
        out.append((number, {f: cells[i] if i < len(cells) else None for i, f in header.items() if f}))
    if len(out) > MAX_ROWS:
        raise ImportFileError(f"一次最多导入 {MAX_ROWS:,} 行，本文件有 {len(out):,} 行")
    return out


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError


def _float(value: Any) -> float | None:
    try:
        return float(_text(value))
    except ValueError:
        return None


def camera_import(*, acting_user, data: bytes, file_name: str = "", dry_run: bool = False) -> ImportReport:
    """Checks every row; writes all of them (bulk, one transaction) only when none has a fault."""
    require(acting_user, "video.manage")
    rows = _read(data)
    report = ImportReport(total=len(rows))
    scope = get_scope(acting_user)
    grids = {_text(r.get("grid")) for _, r in rows}
    known_grids = set(Region.objects.filter(code__in=grids, level=4).values_list("code", flat=True))
    codes = [_text(r.get("code")) for _, r in rows]
    existing = set(Camera.objects.filter(code__in=codes).values_list("code", flat=True))
    seen: dict[str, int] = {}
    cameras: list[Camera] = []
    for number, raw in rows:
        reasons: list[str] = []
        code = _text(raw.get("code"))
        for name in REQUIRED:
            if _text(raw.get(name)) == "":
                reasons.append(f"缺少“{HEADERS_BY_FIELD[name]}”")
        if code and not CAMERA_CODE_RE.fullmatch(code):
            reasons.append("摄像机编码只能由字母、数字、“_”和“-”组成，2 到 32 位")
        elif code in existing:
            reasons.append(f"摄像机编码“{code}”已登记")
        elif code in seen:
            reasons.append(f"摄像机编码“{code}”与第 {seen[code]} 行重复")
        if code:
            seen.setdefault(code, number)
        grid = _text(raw.get("grid"))
        if grid and grid not in known_grids:
            reasons.append(f"网格代码“{grid}”不存在（应为 15 位网格代码）")
        elif grid and not scope.covers(grid):
            reasons.append(f"网格“{grid}”不在您的管辖范围内")
        lon, lat = _float(raw.get("lon")), _float(raw.get("lat"))
        if _text(raw.get("lon")) and lon is None or _text(raw.get("lat")) and lat is None:
            reasons.append("经纬度必须是数字")
        elif lon is not None and lat is not None and not (
                LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
            reasons.append(f"坐标（{lon}, {lat}）不在钟祥市范围内，请检查经纬度是否填反")
        kind = KINDS.get(_text(raw.get("kind")) or "枪机")
        if kind is None:
            allowed = "、".join(str(x) for x in CameraKind.labels)
            reasons.append(f"类型“{_text(raw.get('kind'))}”不正确，应为：{allowed}")
        funding = FUNDINGS.get(_text(raw.get("funding")) or "村级补贴")
        if funding is None:
            allowed = "、".join(str(x) for x in Funding.labels)
            reasons.append(f"资金来源“{_text(raw.get('funding'))}”不正确，应为：{allowed}")
        try:
            installed_on = _date(raw.get("installed_on"))
            if installed_on and installed_on > timezone.localdate():
                reasons.append("安装日期不能晚于今天")
        except ValueError:
            installed_on = None
            reasons.append("安装日期格式不正确，应为 2024-05-01")
        amount_text = _text(raw.get("funding_yuan")) or "0"
        amount = _float(amount_text)
        if amount is None or amount < 0 or amount != int(amount):
            reasons.append("投入金额必须是不小于 0 的整数（元）")
            amount = 0
        source = _text(raw.get("stream_source"))
        if source and not source.lower().startswith(("rtsp://", "rtmp://", "rtsps://", "rtmps://")):
            reasons.append("视频源地址应以 rtsp:// 或 rtmp:// 开头")
        name = _text(raw.get("name"))
        if len(name) > 100:
            reasons.append("名称最多 100 个字")
        if reasons:
            report.errors.append(RowError(number, code, reasons))
            continue
        cameras.append(Camera(code=code, name=name, grid_id=grid, lon=lon, lat=lat, kind=kind,
                              owner=_text(raw.get("owner"))[:100], stream_source=source, installed_on=installed_on,
                              funding=funding, funding_yuan=int(amount), note=_text(raw.get("note"))[:200]))
    if report.errors or dry_run:
        return report
    with transaction.atomic():
        Camera.objects.bulk_create(cameras, batch_size=BATCH)
        report.created = len(cameras)
        audit_record(actor=acting_user, action="video.camera.import", object_type="video.camera",
                     changes={"file": file_name, "rows": report.total, "created": report.created},
                     message=f"导入摄像机 {report.created} 台（{file_name}）")
    return report


HEADERS_BY_FIELD = {name: header for name, header, _ in COLUMNS}


def import_template() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("摄像机")
    bold = book.add_format({"bold": True, "bg_color": "#E6F0FA", "border": 1})
    for col, (name, header, width) in enumerate(COLUMNS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, header + ("*" if name in REQUIRED else ""), bold)
    example = ["ZX-DEMO-01", "村委会门口", "420881100201001", 112.58, 31.17, "枪机", "村委会",
               "rtsp://10.0.0.8:554/ch1", "2024-05-01", "村级补贴", 10000, ""]
    for col, value in enumerate(example):
        sheet.write(1, col, value)
    book.close()
    return buffer.getvalue()


def camera_export(*, acting_user, output: str | IO[bytes], **filters) -> int:
    """The registry as the user sees it (filters as camera_list takes them); audited. No stream source."""
    require(acting_user, "video.export")
    qs = selectors.camera_list(user=acting_user, **filters)
    book = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    head = book.add_format({"bold": True, "bg_color": "#E6F0FA", "border": 1})
    sheet = book.add_worksheet("摄像机")
    columns = [("摄像机编码", 18), ("名称", 24), ("所属网格", 24), ("网格代码", 17), ("经度", 11), ("纬度", 11),
               ("类型", 9), ("产权单位", 16), ("安装日期", 11), ("资金来源", 10), ("投入金额(元)", 11), ("状态", 7),
               ("最近在线", 17), ("备注", 20)]
    for col, (title, width) in enumerate(columns):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, title, head)
    sheet.freeze_panes(1, 0)
    row = 0
    for c in qs.iterator(chunk_size=2000):
        row += 1
        seen = timezone.localtime(c.last_seen_at).strftime("%Y-%m-%d %H:%M") if c.last_seen_at else ""
        values = [c.code, c.name, c.grid.name, c.grid_id, c.lon, c.lat, c.get_kind_display(), c.owner,
                  c.installed_on.isoformat() if c.installed_on else "", c.get_funding_display(), c.funding_yuan,
                  c.get_status_display(), seen, c.note]
        for col, value in enumerate(values):
            if isinstance(value, int | float):
                sheet.write_number(row, col, value)
            else:
                sheet.write_string(row, col, str(value))
    book.close()
    audit_record(actor=acting_user, action="video.camera.export", object_type="video.camera",
                 changes={"filters": {k: v for k, v in filters.items() if v}, "rows": row},
                 message=f"导出摄像机清单 {row} 台")
    return row
