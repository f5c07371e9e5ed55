"""部件普查 import: components from an Excel workbook (.xlsx, read with python-calamine) or a GeoJSON
FeatureCollection of Point features.

Every row is checked and gets one Chinese reason per fault (unknown class, missing or bad
coordinates, a point outside the county, an unknown department, a code that is malformed, does not
fit its class or county, or appears twice in the file, a row outside the importer's scope …).
Rejected rows are listed; all good rows are written in bulk in one transaction.

Re-importing is idempotent. A row is keyed on its code; a row without a code on its class and
position (rounded to 1e-7°, about 1 cm: two components of one class never share a point). A keyed
row that matches a component updates it when something changed and is counted unchanged otherwise;
a new row gets the next serial of its class. One audit row records each run.
"""

import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import python_calamine
from django.db import transaction
from django.utils import timezone

from gridgov.cases.models.component import Component, component_code
from gridgov.core.audit import audit_record
from gridgov.regions.locator import locate_points

from . import services, values
from .scope import covers_region, owns

BATCH = 2000
MAX_REPORTED_ERRORS = 1000
HEADER_SEARCH_ROWS = 5
FIELDS = ("code", "category", "name", "lon", "lat", "crs", "owner_department", "state", "installed_on", "note")
COMPARED = ("category_id", "region_id", "name", "lon", "lat", "owner_department_id", "state", "installed_on", "note")

# Column headers (Excel) and property names (GeoJSON) people use, normalised (no spaces, ASCII brackets).
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("部件编码", "部件标识码", "部件代码", "编码", "标识码", "code", "bjbm"),
    "category": ("部件类别", "部件小类", "小类", "小类代码", "类别", "类别代码", "部件类型", "category", "class",
                 "category_code", "xlbm"),
    "name": ("部件名称", "名称", "name", "bjmc"),
    "lon": ("经度", "lon", "lng", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "crs": ("坐标系", "crs"),
    "owner_department": ("权属部门", "权属单位", "主管部门", "主管单位", "养护单位", "department", "owner",
                         "owner_department", "zgbm"),
    "state": ("状态", "部件状态", "state", "status", "bjzt"),
    "installed_on": ("设置日期", "安装日期", "建设日期", "启用日期", "installed_on", "install_date", "date"),
    "note": ("备注", "说明", "note", "remark", "bz"),
}
_HEADER_TO_FIELD = {alias.lower(): name for name, aliases in ALIASES.items() for alias in aliases}
REQUIRED_HEADERS = ("category", "lon", "lat")


class ImportFileError(Exception):
    """The file as a whole cannot be read (not a workbook, no header row, not GeoJSON …)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class RejectedRow:
    row: int  # Excel row number (1-based) or GeoJSON feature number (1-based)
    code: str
    reasons: list[str]


@dataclass
class ImportReport:
    file_name: str
    file_format: str
    dry_run: bool
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RejectedRow] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def row_label(self) -> str:
        return "要素" if self.file_format == "geojson" else "行"


@dataclass
class _Row:
    number: int
    raw: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    parsed: dict[str, Any] = field(default_factory=dict)
    grid: str | None = None
    match: Component | None = None


# --- reading ---------------------------------------------------------------------------------------

def _header(value: Any) -> str:
    text = "" if value is None else str(value)
    for ch in " \t\r\n\u3000*＊":
        text = text.replace(ch, "")
    return text.replace("（", "(").replace("）", ")").lower()


def _excel_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        raise ImportFileError(f"无法读取 Excel 文件，请上传 .xlsx 工作簿：{exc}") from None
    for name in book.sheet_names:
        try:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except python_calamine.CalamineError as exc:
            raise ImportFileError(f"工作表“{name}”无法读取：{exc}") from None
        for offset, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            columns = {i: _HEADER_TO_FIELD.get(_header(v)) for i, v in enumerate(row)}
            present = {f for f in columns.values() if f}
            if all(r in present for r in REQUIRED_HEADERS):
                header_row = offset + 1
                mapping = {i: f for i, f in columns.items() if f}
                for index, cells in enumerate(rows[offset + 1:], start=header_row + 1):
                    if all(values.blank(c) for c in cells):
                        continue
                    yield index, {f: cells[i] if i < len(cells) else None for i, f in mapping.items()}
                return
    wanted = "、".join(ALIASES[f][0] for f in REQUIRED_HEADERS)
    raise ImportFileError(f"没有找到表头：第一个工作表的前 {HEADER_SEARCH_ROWS} 行中应有“{wanted}”等列")


def _geojson_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ImportFileError("不是有效的 GeoJSON 文件（JSON 格式错误或不是 UTF-8 编码）") from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        features = doc["features"]
    else:
        raise ImportFileError("GeoJSON 应为 FeatureCollection（含 features 列表）")
    for number, feature in enumerate(features, start=1):
        raw: dict[str, Any] = {}
        if not isinstance(feature, dict):
            yield number, {"_fault": "要素格式不正确"}
            continue
        props = feature.get("properties") or {}
        if isinstance(props, dict):
            for key, value in props.items():
                name = _HEADER_TO_FIELD.get(_header(key))
                if name and name not in ("lon", "lat"):
                    raw.setdefault(name, value)
        geometry = feature.get("geometry") or {}
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            kind = geometry.get("type") if isinstance(geometry, dict) else None
            raw["_fault"] = f"只支持点（Point）要素，此要素为 {kind or '空几何'}"
        else:
            coords = geometry.get("coordinates")
            if isinstance(coords, list) and len(coords) >= 2:
                raw["lon"], raw["lat"] = coords[0], coords[1]
            else:
                raw["_fault"] = "点要素缺少坐标"
        yield number, raw


def sniff_format(data: bytes, file_name: str = "") -> str:
    suffix = Path(file_name).suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        return "excel"
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "excel"
    if data.lstrip()[:1] in (b"{", b"\xef"):
        return "geojson"
    raise ImportFileError("无法识别文件类型：请上传 Excel 工作簿（.xlsx）或 GeoJSON 文件（.geojson）")


def read_rows(data: bytes, file_format: str) -> list[_Row]:
    reader = _geojson_rows if file_format == "geojson" else _excel_rows
    return [_Row(number, raw) for number, raw in reader(data)]


# --- checking --------------------------------------------------------------------------------------

def _parse_rows(rows: list[_Row], lookups: values.Lookups) -> None:
    for row in rows:
        raw, parsed = row.raw, row.parsed
        if "_fault" in raw:
            row.reasons.append(raw["_fault"])
        steps: list[tuple[str, Callable[[Any], Any]]] = [
            ("code", values.code),
            ("category", lookups.category),
            ("name", lambda v: values.limited(v, what="名称", limit=values.MAX_NAME)),
            ("crs", values.crs),
            ("owner_department", lookups.department),
            ("state", values.state),
            ("installed_on", values.installed_on),
            ("note", lambda v: values.limited(v, what="备注", limit=values.MAX_NOTE)),
        ]
        for key, parse in steps:
            if key == "category" and values.blank(raw.get("category")) and parsed.get("code"):
                found = lookups.by_class.get(parsed["code"][6:10])  # the class is in the code
                if found is not None:
                    parsed["category"] = found
                    continue
            try:
                parsed[key] = parse(raw.get(key))
            except values.FieldFault as fault:
                row.reasons.append(fault.reason)
        if "_fault" not in raw:
            for key, what, low, high in (("lon", "经度", -180, 180), ("lat", "纬度", -90, 90)):
                try:
                    parsed[key] = values.coordinate(raw.get(key), what=what, low=low, high=high)
                except values.FieldFault as fault:
                    row.reasons.append(fault.reason)
        if "lon" in parsed and "lat" in parsed and "crs" in parsed:
            parsed["lon"], parsed["lat"] = services.to_wgs84(parsed["lon"], parsed["lat"], parsed["crs"])
        if "category" in parsed and "owner_department" in parsed and parsed["owner_department"] is None:
            parsed["owner_department"] = lookups.default_department(parsed["category"])


def _locate(rows: list[_Row]) -> None:
    placed = [r for r in rows if "lon" in r.parsed and "lat" in r.parsed]
    if not placed:
        return
    grids = locate_points([r.parsed["lon"] for r in placed], [r.parsed["lat"] for r in placed])
    county = services.county_name()
    for row, grid in zip(placed, grids, strict=True):
        row.grid = grid
        if grid is None:
            row.reasons.append(services.outside_reason(row.parsed["lon"], row.parsed["lat"], county))


def _check_codes(rows: list[_Row]) -> None:
    for row in rows:
        code, category = row.parsed.get("code"), row.parsed.get("category")
        if code and category is not None and row.grid:
            reason = services.check_code(code, category=category, region_code=row.grid)
            if reason:
                row.reasons.append(reason)


def _natural_key(row: _Row) -> tuple | None:
    p = row.parsed
    if p.get("code") or p.get("category") is None or "lon" not in p or "lat" not in p:
        return None
    return (p["category"].pk, p["lon"], p["lat"])


def _check_duplicates(rows: list[_Row], label: str) -> None:
    """A code (or, for rows without one, a class and point) that occurs twice: every occurrence is
    rejected, since the file does not say which is right."""
    by_code: dict[str, list[_Row]] = defaultdict(list)
    by_point: dict[tuple, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.parsed.get("code"):
            by_code[row.parsed["code"]].append(row)
        elif (key := _natural_key(row)) is not None:
            by_point[key].append(row)
    for code, group in by_code.items():
        if len(group) > 1:
            where = "、".join(str(r.number) for r in group[:10])
            for row in group:
                row.reasons.append(f"部件编码“{code}”在文件中重复（第 {where} {label}）")
    for group in by_point.values():
        if len(group) > 1:
            where = "、".join(str(r.number) for r in group[:10])
            for row in group:
                row.reasons.append(f"同一位置有多个同类部件且未填写编码（第 {where} {label}）")


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _match_existing(rows: list[_Row]) -> None:
    """Attach to each keyed row the component it names (by code, or by class and point)."""
    coded = [r for r in rows if not r.reasons and r.parsed.get("code")]
    for chunk in _chunks(coded):
        found = {c.code: c for c in Component.objects.filter(code__in=[r.parsed["code"] for r in chunk])}
        for row in chunk:
            row.match = found.get(row.parsed["code"])
    plain = [r for r in rows if not r.reasons and not r.parsed.get("code")]
    for chunk in _chunks(plain):
        lons = sorted({r.parsed["lon"] for r in chunk})
        cats = sorted({r.parsed["category"].pk for r in chunk})
        existing: dict[tuple, list[Component]] = defaultdict(list)
        for c in Component.objects.filter(lon__in=lons, category_id__in=cats):
            existing[(c.category_id, c.lon, c.lat)].append(c)
        for row in chunk:
            hits = existing.get(_natural_key(row), [])
            if len(hits) > 1:
                row.reasons.append("该位置已登记多个同类部件，请填写部件编码以指明是哪一个")
            elif hits:
                row.match = hits[0]


def _check_scope(rows: list[_Row], user) -> None:
    if user is None:
        return
    for row in rows:
        if row.reasons or not row.grid:
            continue
        owner = row.parsed.get("owner_department")
        if not (covers_region(user, row.grid) or owns(user, getattr(owner, "pk", None))):
            row.reasons.append("位置不在您的管辖范围内，且权属部门不是您所在的部门")
        elif row.match is not None and not (covers_region(user, row.match.region_id)
                                            or owns(user, row.match.owner_department_id)):
            row.reasons.append(f"部件编码“{row.match.code}”已由其他单位登记，您无权修改")


# --- writing ---------------------------------------------------------------------------------------

def _values(row: _Row) -> dict[str, Any]:
    p = row.parsed
    owner = p.get("owner_department")
    return {
        "category_id": p["category"].pk, "region_id": row.grid, "name": p.get("name", ""), "lon": p["lon"],
        "lat": p["lat"], "owner_department_id": owner.pk if owner else None, "state": p["state"],
        "installed_on": p.get("installed_on"), "note": p.get("note", ""),
    }


def _write(good: list[_Row], report: ImportReport, user, progress: Callable[[int, int], None] | None) -> None:
    services.lock_classes({r.parsed["category"].pk for r in good})
    # Matches were found before the lock; a concurrent import may have added codes since: look again.
    _match_existing(good)
    _check_scope(good, user)
    raced = [r for r in good if r.reasons]
    if raced:
        report.rejected += len(raced)
        report.errors += [RejectedRow(r.number, values.text(r.raw.get("code"))[:30], r.reasons) for r in raced]
        good = [r for r in good if not r.reasons]
    new_rows = [r for r in good if r.match is None]
    updates: list[Component] = []
    now = timezone.now()
    for row in good:
        if row.match is None:
            continue
        wanted = _values(row)
        if all(getattr(row.match, k) == v for k, v in wanted.items()):
            report.unchanged += 1
            continue
        for key, value in wanted.items():
            setattr(row.match, key, value)
        row.match.updated_at = now
        updates.append(row.match)
    serials: dict[str, int] = {}
    creates: list[Component] = []
    for row in new_rows:
        code = row.parsed.get("code")
        if not code:
            klass = values.class_code(row.parsed["category"])
            prefix = row.grid[:6] + klass
            if prefix not in serials:
                serials[prefix] = services.next_serial(prefix)
            serial = serials[prefix]
            serials[prefix] += 1
            if serial > services.MAX_SERIAL:
                raise ImportFileError(f"类别 {row.parsed['category'].name} 的流水号已用完")
            code = component_code(row.grid[:6], klass, serial)
        creates.append(Component(code=code, **_values(row)))
    done = 0
    total = len(creates) + len(updates)
    for chunk in _chunks(creates):
        Component.objects.bulk_create(chunk)
        done += len(chunk)
        if progress:
            progress(done, total)
    for chunk in _chunks(updates):
        Component.objects.bulk_update(chunk, [*COMPARED, "updated_at"])
        done += len(chunk)
        if progress:
            progress(done, total)
    report.created = len(creates)
    report.updated = len(updates)


def import_components(data: bytes, *, file_name: str = "", acting_user=None, dry_run: bool = False,
                      file_format: str | None = None, progress: Callable[[str, int, int], None] | None = None,
                      max_errors: int | None = MAX_REPORTED_ERRORS) -> ImportReport:
    """Checks every row of `data` (Excel or GeoJSON) and writes the good ones.

    `acting_user` None is the console (no scope limit); otherwise the user needs components.import and
    each row must lie in their area or belong to their department. With `dry_run` nothing is written
    but the counts are what a real run would give (apart from races). Raises ImportFileError when
    the file cannot be read at all (nothing is written then either). One audit row per run.
    """
    from gridgov.accounts.policy import require

    if acting_user is not None:
        require(acting_user, "components.import")
    file_format = file_format or sniff_format(data, file_name)
    report = ImportReport(file_name=Path(file_name).name[:255], file_format=file_format, dry_run=dry_run)
    step = progress or (lambda stage, done, total: None)
    rows = read_rows(data, file_format)
    report.total = len(rows)
    step("read", len(rows), len(rows))
    lookups = values.Lookups.load()
    _parse_rows(rows, lookups)
    step("checked", len(rows), len(rows))
    _locate(rows)
    _check_codes(rows)
    _check_duplicates(rows, report.row_label)
    _match_existing(rows)
    _check_scope(rows, acting_user)
    good = [r for r in rows if not r.reasons]
    bad = [r for r in rows if r.reasons]
    report.rejected = len(bad)
    report.errors = [RejectedRow(r.number, values.text(r.raw.get("code"))[:30], r.reasons)
                     for r in (bad if max_errors is None else bad[:max_errors])]
    with transaction.atomic():
        if dry_run:
            for row in good:
                if row.match is None:
                    report.created += 1
                elif all(getattr(row.match, k) == v for k, v in _values(row).items()):
                    report.unchanged += 1
                else:
                    report.updated += 1
        elif good:
            _write(good, report, acting_user, lambda done, total: step("write", done, total))
        audit_record(
            actor=acting_user, action="component.import", object_type="cases.component",
            region_code=_common_region(good), username="" if acting_user else "console",
            changes={"file": report.file_name, "format": file_format, "dry_run": dry_run, "total": report.total,
                     "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
                     "rejected": report.rejected},
            message=f"部件导入{'（仅校验）' if dry_run else ''}：新增 {report.created}，更新 {report.updated}，"
                    f"未变 {report.unchanged}，拒绝 {report.rejected}",
        )
    return report


def _common_region(rows: Iterable[_Row]) -> str:
    """The longest region prefix shared by the rows written (for the audit row's region)."""
    codes = [r.grid for r in rows if r.grid]
    if not codes:
        return ""
    prefix = codes[0]
    for code in codes[1:]:
        while not code.startswith(prefix):
            prefix = prefix[:-3] if len(prefix) > 6 else ""
            if not prefix:
                return ""
    return prefix

