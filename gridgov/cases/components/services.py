"""Writes to the component registry: register one component, change one. The importer is importer.py.

Who may write: components.edit, and the component must stand in the actor's area (region roles)
or belong to the actor's department — before and after the change, or nothing is written.
"""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from gridgov.accounts.policy import require
from gridgov.cases.models import CaseCategory
from gridgov.cases.models.component import Component, component_code
from gridgov.core.audit import audit_record, changed_fields, snapshot
from gridgov.core.errors import ApplicationError, ValidationFailed
from gridgov.regions.gcj02 import gcj02_to_wgs84
from gridgov.regions.locator import locate_point
from gridgov.regions.models import Region

from . import values
from .access import access_component
from .scope import covers_region, owns

MAX_SERIAL = 999_999
AUDITED = ["code", "category", "region", "name", "lon", "lat", "owner_department", "state", "installed_on", "note"]


class Conflict(ApplicationError):
    status = 409


class OutOfScope(ApplicationError):
    status = 403

    def __init__(self, message: str = "部件所在位置不在您的管辖范围内，且权属部门不是您所在的部门"):
        super().__init__("out_of_scope", message)


def county_name() -> str:
    return Region.objects.filter(level=1).values_list("name", flat=True).first() or "本县（市）"


def outside_reason(lon: float, lat: float, county: str | None = None) -> str:
    return f"位置（{lon:.6f}, {lat:.6f}）不在{county or county_name()}范围内（不在任何网格内）"


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    return values.rounded(lon), values.rounded(lat)


def lock_classes(category_ids) -> None:
    """Serialise serial-number allocation per class: concurrent registrations of the same class queue
    on its category row (ordered by pk, so two importers never deadlock)."""
    list(CaseCategory.objects.select_for_update().filter(pk__in=sorted(set(category_ids))).order_by("pk")
         .values_list("pk", flat=True))


def next_serial(prefix: str) -> int:
    """The first free serial after the highest code with this county+class prefix."""
    top = Component.objects.filter(code__startswith=prefix).aggregate(m=Max("code"))["m"]
    return int(top[len(prefix):]) + 1 if top else 1


def check_code(code: str, *, category, region_code: str) -> str | None:
    """Why a given code does not fit the component's class and county, or None."""
    if code[6:10] != values.class_code(category):
        return (f"部件编码“{code}”的类别代码 {code[6:10]} 与部件类别 {category.name}（{values.class_code(category)}）"
                "不一致")
    if code[:6] != region_code[:6]:
        return f"部件编码“{code}”的县级区划代码 {code[:6]} 与所在位置（{region_code[:6]}）不一致"
    return None


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed("；".join(errors.values()), extra={"errors": errors})


def _parse(data: Mapping[str, Any], lookups: values.Lookups, errors: dict[str, str], *, partial: bool) -> dict:
    """The fields present in `data`, parsed; faults go into `errors` by field."""
    out: dict[str, Any] = {}
    parsers = {
        "category": lookups.category,
        "name": lambda v: values.limited(v, what="名称", limit=values.MAX_NAME),
        "owner_department": lookups.department,
        "state": values.state,
        "installed_on": values.installed_on,
        "note": lambda v: values.limited(v, what="备注", limit=values.MAX_NOTE),
        "code": values.code,
        "crs": values.crs,
    }
    for key, parse in parsers.items():
        if key in data or (not partial and key in ("category", "state", "crs")):
            try:
                out[key] = parse(data.get(key))
            except values.FieldFault as fault:
                errors[key] = fault.reason
    if not partial or "lon" in data or "lat" in data:
        try:
            out["lon"] = values.coordinate(data.get("lon"), what="经度", low=-180, high=180)
        except values.FieldFault as fault:
            errors["lon"] = fault.reason
        try:
            out["lat"] = values.coordinate(data.get("lat"), what="纬度", low=-90, high=90)
        except values.FieldFault as fault:
            errors["lat"] = fault.reason
    return out


def _locate(lon: float, lat: float, crs: str, errors: dict[str, str]) -> tuple[float, float, str | None]:
    lon, lat = to_wgs84(lon, lat, crs)
    grid = locate_point(lon, lat)
    if grid is None:
        errors["lon"] = outside_reason(lon, lat)
    return lon, lat, grid


def _ensure_in_scope(user, component: Component) -> None:
    if not (covers_region(user, component.region_id) or owns(user, component.owner_department_id)):
        raise OutOfScope()


@transaction.atomic
def component_create(*, acting_user, data: Mapping[str, Any]) -> Component:
    """Registers one component.

    Guarantees: the class is a component subclass, the position (WGS84, or GCJ-02 with crs=gcj02)
    lies in a grid of the county, the owner department exists (default: the class's responsible
    department); the actor's area covers the position or the actor's department owns it (else 403);
    a given code fits the class and county and is not taken (409), otherwise the next serial of the
    class is assigned. One audit row.
    """
    require(acting_user, "components.edit")
    lookups = values.Lookups.load()
    errors: dict[str, str] = {}
    parsed = _parse(data, lookups, errors, partial=False)
    grid = None
    if "lon" in parsed and "lat" in parsed and "crs" in parsed:
        parsed["lon"], parsed["lat"], grid = _locate(parsed["lon"], parsed["lat"], parsed["crs"], errors)
    _raise(errors)
    category = parsed["category"]
    owner = parsed.get("owner_department") or lookups.default_department(category)
    component = Component(category=category, region_id=grid, lon=parsed["lon"], lat=parsed["lat"],
                          owner_department=owner, name=parsed.get("name", ""), state=parsed["state"],
                          installed_on=parsed.get("installed_on"), note=parsed.get("note", ""))
    _ensure_in_scope(acting_user, component)
    lock_classes([category.pk])
    code = parsed.get("code") or ""
    if code:
        reason = check_code(code, category=category, region_code=grid)
        if reason:
            _raise({"code": reason})
        if Component.objects.filter(code=code).exists():
            raise Conflict("duplicate_code", f"部件编码“{code}”已被登记", extra={"field": "code"})
    else:
        prefix = grid[:6] + values.class_code(category)
        serial = next_serial(prefix)
        if serial > MAX_SERIAL:
            raise Conflict("serial_exhausted", f"类别 {category.name} 的流水号已用完")
        code = component_code(grid[:6], values.class_code(category), serial)
    component.code = code
    component.full_clean(exclude=["category", "region", "owner_department"])
    try:
        with transaction.atomic():
            component.save()
    except IntegrityError:
        raise Conflict("duplicate_code", f"部件编码“{code}”已被登记", extra={"field": "code"}) from None
    audit_record(actor=acting_user, action="component.create", obj=component,
                 changes=snapshot(component, AUDITED))
    return component


UPDATABLE = ("name", "lon", "lat", "crs", "owner_department", "state", "installed_on", "note")


@transaction.atomic
def component_update(*, acting_user, component_id: int, data: Mapping[str, Any]) -> Component:
    """Changes a component's state, position, owner, name, date or note (code and class stay: the code
    contains the class — register a new component and mark the old one 废弃 instead).

    Guarantees: the component is visible to the actor (else 404); a new position is located again to
    its grid; afterwards the component is still in the actor's area or department (else 403 and
    nothing changes). One audit row with the changed fields; an empty change writes nothing.
    """
    require(acting_user, "components.edit")
    component = access_component(acting_user, component_id, for_update=True)
    _ensure_in_scope(acting_user, component)  # visible through a view-only path is not enough to edit
    unknown = sorted(set(data) - set(UPDATABLE))
    if unknown:
        what = ("部件编码和类别不可修改" if set(unknown) & {"code", "category"}
                else f"不能修改的字段：{', '.join(unknown)}")
        raise ValidationFailed(what, code="not_updatable", extra={"fields": unknown})
    lookups = values.Lookups.load()
    errors: dict[str, str] = {}
    parsed = _parse(data, lookups, errors, partial=True)
    if "lon" in parsed and "lat" in parsed:
        parsed["lon"], parsed["lat"], grid = _locate(parsed["lon"], parsed["lat"], parsed.get("crs", "wgs84"),
                                                     errors)
        if grid is not None:
            parsed["region_id"] = grid
            if grid[:6] != component.code[:6]:
                errors["lon"] = f"新位置不在部件编码所属的县（{component.code[:6]}）内"
    _raise(errors)
    parsed.pop("crs", None)
    before = snapshot(component, AUDITED)
    for key, value in parsed.items():
        setattr(component, key, value)
    after = snapshot(component, AUDITED)
    changes = changed_fields(before, after)
    if not changes:
        return component
    _ensure_in_scope(acting_user, component)
    component.full_clean(exclude=["category", "region", "owner_department", "code"])
    fields = sorted(set(changes) | {"updated_at"})
    component.save(update_fields=fields)
    audit_record(actor=acting_user, action="component.update", obj=component, changes=changes)
    return component
