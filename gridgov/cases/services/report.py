"""上报: a new case from a grid worker, a village terminal or a desk (hotline, SMS, WeChat, Open311 …),
optionally resolved on the spot (自行处置) in the same request."""

import math
import uuid

from django.db import transaction
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.policy import require
from gridgov.core.crypto import blind_index
from gridgov.core.errors import ApplicationError, PermissionDenied, ValidationFailed
from gridgov.regions.choices import RegionLevel
from gridgov.regions.models import Region

from .. import attachments, duplicates, routing, workflow
from ..access import case_scope
from ..choices import CaseState, Source
from ..models import Case, CaseCategory
from . import common

MAX_DESCRIPTION = 2000


class OutsideScope(ApplicationError):
    status = 403

    def __init__(self):
        super().__init__("outside_scope", "该位置不在您负责的区域内")


def _finite(value, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ValidationFailed("经纬度应为数字", code="invalid_position", extra={"field": field})
    return number


def resolve_category(category) -> CaseCategory:
    if isinstance(category, CaseCategory):
        category = category.pk
    if category in (None, ""):
        raise ValidationFailed("请选择案件分类", code="category_required", extra={"field": "category"})
    qs = CaseCategory.objects.select_related("parent").filter(is_active=True)
    found = (qs.filter(pk=category).first() if isinstance(category, int) or str(category).isdigit()
             else qs.filter(code=str(category)).first())
    if found is None:
        raise ValidationFailed("案件分类不存在或已停用", code="invalid_category", extra={"field": "category"})
    return found


def resolve_place(acting_user, *, lon, lat, crs: str, grid: str | None) -> tuple[Region, float | None, float | None]:
    """(grid, WGS84 lon, WGS84 lat): the grid of the point if one is given (else the named grid, else
    the reporting grid worker's own grid)."""
    x, y = _finite(lon, "lon"), _finite(lat, "lat")
    if (x is None) != (y is None):
        raise ValidationFailed("经纬度须同时提供", code="invalid_position", extra={"field": "lon"})
    region = None
    if x is not None:
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            raise ValidationFailed("经纬度超出范围", code="invalid_position", extra={"field": "lon"})
        x, y = routing.to_wgs84(x, y, crs)
        region = routing.locate(x, y)
        if region is None and not grid:
            raise ValidationFailed("该位置不在本市任何网格内", code="outside_county", extra={"field": "lon"})
    if region is None and grid:
        region = Region.objects.filter(code=str(grid), level=RegionLevel.GRID).first()
        if region is None:
            raise ValidationFailed("网格不存在", code="invalid_grid", extra={"field": "grid"})
    if region is None:
        own = [code for role, code in case_scope(acting_user).region_roles if role == Role.GRID_WORKER]
        if len(own) != 1:
            raise ValidationFailed("请提供位置（经纬度）或网格代码", code="location_required", extra={"field": "lon"})
        region = Region.objects.get(code=own[0])
    return region, x, y


def _reporting_roles(acting_user, grid_code: str) -> set[str]:
    return {role for role, code in case_scope(acting_user).region_roles if grid_code.startswith(code)}


def _client_uuid(value) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed("client_id 应为 UUID", code="invalid_client_id", extra={"field": "client_id"}) from None


@transaction.atomic
def case_report(*, acting_user, category, description: str, lon: float | None = None, lat: float | None = None,
                crs: str = "wgs84", grid: str | None = None, address: str = "", urgency: str | None = None,
                source: str | None = None, reporter_name: str = "", reporter_phone: str = "",
                external_ref: str = "", client_id=None, files=None, self_resolved: bool = False,
                resolution_note: str = "", need: int | None = None, component=None) -> Case:
    """Records a new case in state `reported` with its accept-stage clock and timeline event.

    Guarantees: the actor may report (cases.report, else 403) in the grid the case lies in (403
    outside_scope otherwise: a case is never created outside its reporter's scope); the category is
    active and admits the urgency; files are checked by content before anything is written; an
    earlier live case of the same category within 50 m and 24 h is flagged as `duplicate_of`; a
    replay with the same client_id returns the first case (`replayed`). With `self_resolved` the
    grid worker's evidence photo moves it straight to awaiting verification (case_self_resolve).
    With `need` (a visit's need of kind "case"), the case is taken over from that visit in one step:
    source `visit`, the need's grid and the visit's position unless others are given, the need's text
    as description if none is, and the need marked forwarded under the case number (visits.need_forward).
    With `component` (a registered 部件, by id or code, in the reporter's area), the case is about it:
    its class is the case's category unless one is given (then it must be that class or below it), its
    position is the case's unless one is given, and routing suggests its owner department.
    """
    require(acting_user, "cases.report")
    cid = _client_uuid(client_id)
    if cid is not None:
        existing = Case.objects.visible_to(acting_user).filter(client_id=cid, reporter=acting_user).first()
        if existing is not None:
            existing.replayed = True
            return existing
    visit_need = _visit_need(acting_user, need) if need is not None else None
    if visit_need is not None:
        source = source or Source.VISIT
        description = description or visit_need.text
        external_ref = external_ref or f"visit:{visit_need.visit_id}"
        if lon in (None, "") and lat in (None, "") and not grid:
            if visit_need.visit.lon is not None:
                lon, lat, crs = visit_need.visit.lon, visit_need.visit.lat, "wgs84"
            else:
                grid = visit_need.region_id
    part = _component(acting_user, component) if component not in (None, "") else None
    if part is not None:
        category = category or part.category_id
        if lon in (None, "") and lat in (None, "") and not grid:
            lon, lat, crs = part.lon, part.lat, "wgs84"
    cat = resolve_category(category)
    if part is not None and not _within(cat, part.category):
        raise ValidationFailed(f"案件分类与部件类别（{part.category.name}）不符", code="component_category_mismatch",
                               extra={"field": "category"})
    urgency = urgency or cat.default_urgency
    if urgency not in (cat.urgency_levels or []):
        raise ValidationFailed("该分类不适用此紧急程度", code="invalid_urgency", extra={"field": "urgency"})
    description = common.text(description, field="description", required=True, limit=MAX_DESCRIPTION,
                              what="问题描述")
    address = common.text(address, field="address", limit=200, what="地址")
    region, x, y = resolve_place(acting_user, lon=lon, lat=lat, crs=crs, grid=grid)
    roles = _reporting_roles(acting_user, region.code)
    row = workflow.rows_for("report")[0]
    if not roles & row.roles:
        raise OutsideScope()
    if source is None:
        source = Source.SELF_RESOLVED if self_resolved else (
            Source.GRID_WORKER if roles & {Role.GRID_WORKER, Role.GRID_ADMIN} else Source.HOTLINE)
    if source not in Source.values:
        raise ValidationFailed("来源不正确", code="invalid_source", extra={"field": "source"})
    checked = attachments.check_all(files)
    if self_resolved:
        _check_self_resolvable(cat, roles, checked, existing=0)
    at = common.now()
    phone = common.text(reporter_phone, field="reporter_phone", limit=30, what="联系电话")
    case = Case(
        number=common.next_number(timezone.localdate(at)), region=region, source=source, category=cat,
        urgency=urgency, description=description, address=address, lon=x, lat=y, reporter=acting_user,
        reporter_name=common.text(reporter_name, field="reporter_name", limit=50, what="反映人"),
        reporter_phone=phone, reporter_phone_index=blind_index(phone, "case.reporter_phone") if phone else "",
        external_ref=common.text(external_ref, field="external_ref", limit=64, what="外部编号"), client_id=cid,
        created_at=at, component=part,
    )
    common.enter_stage(case, CaseState.REPORTED, at)
    case.full_clean(exclude=["region", "category", "reporter", "lead_department", "duplicate_of", "number"],
                    validate_constraints=False)
    earlier = duplicates.find_earlier(category_id=cat.pk, lon=x, lat=y, at=at)
    if earlier is not None:
        case.duplicate_of = earlier
    case.save()
    data = {"source": source, "grid": region.code}
    if part is not None:
        data["component"] = part.code
    report_event = common.event(case, actor=acting_user, action="report", from_state="", to_state=case.state, at=at,
                                role=common.main_role(roles, row.roles), note=description[:200], data=data)
    if earlier is not None:
        common.event(case, actor=None, action="flag_duplicate", from_state=case.state, to_state=case.state, at=at,
                     note=f"疑似与案件 {earlier.number} 重复（相距 {earlier.distance_m} 米）",
                     data={"duplicate_of": earlier.pk, "number": earlier.number, "distance_m": earlier.distance_m})
    for upload, ext in checked:
        attachments.store(case=case, upload=upload, ext=ext, uploaded_by=acting_user, event=report_event)
    common.audit(acting_user, case, "report", {"state": ["", case.state], "category": cat.code, "grid": region.code,
                                               "duplicate_of": earlier.pk if earlier else None})
    if visit_need is not None:
        from gridgov.visits.services import need_forward

        need_forward(acting_user=acting_user, need=visit_need.pk, forwarded_ref=case.number)
    if self_resolved:
        from .transitions import case_self_resolve

        case = case_self_resolve(acting_user=acting_user, case=case.pk, note=resolution_note or description)
    case.replayed = False
    return case


def _component(acting_user, component):
    """The component the case is about: one the reporter can see (its grid lies in their area)."""
    from ..models import Component

    qs = Component.objects.visible_to(acting_user).select_related("category", "owner_department")
    value = getattr(component, "pk", component)
    # Component codes are digits too (class + region + serial): a string is a code first, an id after.
    if isinstance(value, int):
        found = qs.filter(pk=value).first()
    else:
        value = str(value).strip()
        found = qs.filter(code=value).first() or (
            qs.filter(pk=int(value)).first() if value.isdigit() and len(value) <= 12 else None)
    if found is None:
        raise ValidationFailed("部件不存在或不在您的管辖范围内", code="invalid_component", extra={"field": "component"})
    return found


def _within(category, ancestor) -> bool:
    node = category
    while node is not None:
        if node.pk == ancestor.pk:
            return True
        node = node.parent
    return False


def _visit_need(acting_user, need):
    """The visit's need to take over: visible to the actor, of kind "case", not yet forwarded."""
    from gridgov.visits.choices import NeedKind, NeedStatus
    from gridgov.visits.models import Need

    found = (Need.objects.visible_to(acting_user).select_related("visit")
             .filter(pk=getattr(need, "pk", need)).first())
    if found is None:
        raise ValidationFailed("走访诉求不存在或不在您的管辖范围内", code="invalid_need", extra={"field": "need"})
    if found.kind != NeedKind.CASE:
        raise ValidationFailed("只有“事件上报”类的走访诉求可以转为案件", code="invalid_need", extra={"field": "need"})
    if found.status != NeedStatus.RECORDED:
        raise common.Conflict("need_already_forwarded", f"该诉求已转办（{found.forwarded_ref}）")
    return found


def _check_self_resolvable(category, roles: set[str], checked, existing: int) -> None:
    if Role.GRID_WORKER not in roles:
        raise PermissionDenied("只有本网格的网格员可以自行处置")
    if not category.self_resolvable:
        raise ValidationFailed("该分类的问题不能自行处置，请上报后由中心派遣", code="not_self_resolvable",
                               extra={"field": "category"})
    photos = sum(1 for _, ext in checked if attachments.TYPES[ext][1] == "photo")
    if photos + existing < 1:
        raise ValidationFailed("自行处置须附处置后的现场照片", code="evidence_required", extra={"field": "files"})

