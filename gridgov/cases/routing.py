"""Routing: where a case is (point → grid → village → town) and who should handle it.

The suggestion follows the category's default department. Departments have jurisdictions: when the
category prefers stations (治安, 矛盾纠纷, 涉稳 …) and the department has an active station whose
jurisdiction covers the case's grid (a 派出所 covers its town), the station is suggested; otherwise
the department itself if its jurisdiction covers the grid (城管局 covers the two streets only).
A case about a registered component goes to the component's owner department (部件权属单位).
When nobody covers the place, there is no suggestion and the dispatcher chooses. The dispatcher
always may override the suggestion (services.case_dispatch checks only the jurisdiction).
"""

from dataclasses import dataclass, field

from gridgov.accounts.models import Department
from gridgov.core.errors import ValidationFailed
from gridgov.regions import locator
from gridgov.regions.choices import RegionLevel
from gridgov.regions.gcj02 import gcj02_to_wgs84
from gridgov.regions.models import Region


def to_wgs84(lon: float, lat: float, crs: str = "wgs84") -> tuple[float, float]:
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    elif crs != "wgs84":
        raise ValidationFailed("坐标系只能是 wgs84 或 gcj02", code="invalid_crs", extra={"field": "crs"})
    return round(float(lon), 7), round(float(lat), 7)


def locate(lon: float, lat: float) -> Region | None:
    """The grid containing the WGS84 point, or None outside every grid."""
    code = locator.locate_point(lon, lat)
    return Region.objects.filter(code=code).first() if code else None


def covers(department: Department, region_code: str, jurisdiction: list[str] | None = None) -> bool:
    codes = jurisdiction if jurisdiction is not None else list(
        department.jurisdiction.values_list("code", flat=True))
    return department.is_active and any(region_code.startswith(c) for c in codes)


@dataclass
class Suggestion:
    grid: Region
    town_code: str
    department: Department | None
    reason: str
    helpers: list[Department] = field(default_factory=list)
    candidates: list[Department] = field(default_factory=list)


def _with_jurisdiction(qs):
    return list(qs.prefetch_related("jurisdiction"))


def _covering(departments: list[Department], code: str) -> list[Department]:
    return [d for d in departments if covers(d, code, [r.code for r in d.jurisdiction.all()])]


def active_departments() -> list[Department]:
    """Every active department with its jurisdiction, in two queries (a county has a few dozen): one
    dispatch checks the lead, the helpers and the suggestion against this list instead of asking the
    database for each."""
    return _with_jurisdiction(Department.objects.filter(is_active=True))


def suggest(*, category, grid: Region, component=None, departments: list[Department] | None = None) -> Suggestion:
    """The suggested lead department for a case of `category` in `grid`, with the reason.

    A case about a registered component (部件) goes to the component's owner first: whoever owns the
    manhole cover mends it, whatever the class default says."""
    if grid.level != RegionLevel.GRID:
        raise ValidationFailed("案件所在位置应为网格", code="not_a_grid")
    town_code = grid.code[:9]
    owner = getattr(component, "owner_department", None)
    if owner is not None and owner.is_active:
        return Suggestion(grid, town_code, owner, f"部件 {component.code} 的权属部门：{owner.name}")
    code = category.default_department_code
    node = category
    while not code and node.parent_id:
        node = node.parent
        code = node.default_department_code
    if not code:
        return Suggestion(grid, town_code, None, "该分类未设默认责任部门，请指定")
    if departments is None:
        base = Department.objects.filter(code=code, is_active=True).prefetch_related("jurisdiction").first()
    else:
        base = next((d for d in departments if d.code == code), None)
    if base is None:
        return Suggestion(grid, town_code, None, f"默认责任部门 {code} 不存在或已停用，请指定")
    if category.route_to_station:
        children = (_with_jurisdiction(Department.objects.filter(parent=base, is_active=True)) if departments is None
                    else [d for d in departments if d.parent_id == base.pk])
        stations = _covering(children, grid.code)
        if stations:
            # the most specific jurisdiction wins (a village post before a town station)
            station = max(stations, key=lambda d: max(len(r.code) for r in d.jurisdiction.all()
                                                     if grid.code.startswith(r.code)))
            return Suggestion(grid, town_code, station, f"{base.name}辖区派出机构：{station.name}")
    if covers(base, grid.code, [r.code for r in base.jurisdiction.all()]):
        return Suggestion(grid, town_code, base, f"分类默认责任部门：{base.name}")
    return Suggestion(grid, town_code, None, f"{base.name}的管辖范围不含该网格，请指定责任部门")
