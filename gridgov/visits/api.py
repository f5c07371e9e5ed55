"""/api/v1/visits: the must-visit list, visit records, patrols, coverage, overdue and the worker's month."""

import json
from datetime import date

from django.http import FileResponse
from django.urls import reverse
from ninja import Query, Router, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import paginate
from pydantic import ValidationError as PydanticValidationError

from gridgov.core.errors import ValidationFailed
from gridgov.core.pagination import PageNumberCount

from . import selectors, services
from .access import access_patrol, access_visit
from .schemas import (
    CoverageOut,
    CoverageQuery,
    MonthQuery,
    MustVisitOut,
    OverdueOut,
    OverdueQuery,
    PatrolDetailOut,
    PatrolEndIn,
    PatrolFilters,
    PatrolOut,
    PatrolStartIn,
    PointsIn,
    TodayQuery,
    VisitFilters,
    VisitIn,
    VisitOut,
)

router = Router(tags=["visits 走访巡查"])


def _person(user) -> dict:
    return {"id": user.pk, "name": user.full_name or user.username}


def _visit(visit, user) -> dict:
    return {
        "id": visit.pk, "resident": {"id": visit.resident_id, "name": visit.resident.name},
        "worker": _person(visit.worker), "region_code": visit.region_id, "grid_name": visit.region.name,
        "visited_at": visit.visited_at, "visit_date": visit.visit_date, "lon": visit.lon, "lat": visit.lat,
        "accuracy_m": visit.accuracy_m, "crs": visit.crs, "location_check": visit.location_check,
        "distance_to_grid_m": visit.distance_to_grid_m, "findings": visit.findings,
        "checklist": selectors.visible_checklist(visit, user),
        "needs": [{"id": n.pk, "kind": n.kind, "text": n.text, "status": n.status, "forwarded_ref": n.forwarded_ref}
                  for n in visit.needs.all()],
        "photo_url": reverse("api:visit_photo", kwargs={"visit_id": visit.pk}) if visit.photo else None,
        "client_id": visit.client_id, "created_at": visit.created_at,
    }


def _patrol(patrol) -> dict:
    return {
        "id": patrol.pk, "worker": _person(patrol.worker), "region_code": patrol.region_id,
        "grid_name": patrol.region.name, "started_at": patrol.started_at, "ended_at": patrol.ended_at,
        "distance_m": patrol.distance_m, "point_count": patrol.point_count, "findings": patrol.findings,
    }


@router.get("/today", response=MustVisitOut, summary="今日必访名单")
def today(request, query: Query[TodayQuery]):
    result = selectors.must_visit_list(user=request.auth, grid=query.grid, day=query.date)
    return {
        "grid": {"code": result.grid.code, "name": result.grid.name}, "date": result.day,
        "count": result.count, "done": result.done_count, "overdue": result.overdue_count,
        "items": [{**item.__dict__, "overdue": item.overdue} for item in result.items],
    }


def _inline_refs(schema: dict) -> dict:
    """The schema with its local $defs written in place: an operation's inline schema may not carry
    $defs that OpenAPI would resolve against the document root."""
    defs = schema.pop("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.rsplit("/", 1)[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


_VISIT_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": _inline_refs(VisitIn.json_schema())},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["resident", "visited_at"],
                "properties": {
                    "resident": {"type": "integer"}, "visited_at": {"type": "string", "format": "date-time"},
                    "lon": {"type": "number"}, "lat": {"type": "number"}, "accuracy_m": {"type": "number"},
                    "crs": {"type": "string", "enum": ["wgs84", "gcj02"]}, "findings": {"type": "string"},
                    "needs": {"type": "string", "description": "JSON 列表，如 [{\"kind\": \"case\", \"text\": \"…\"}]"},
                    "checklist": {"type": "string", "description": "JSON 对象或列表"},
                    "client_id": {"type": "string", "format": "uuid"},
                    "photo": {"type": "string", "format": "binary", "description": "JPEG/PNG/WebP，≤10 MB"},
                },
            }},
        },
        "required": True,
    }
}


def _visit_payload(request) -> tuple[VisitIn, object]:
    """The visit from a JSON body or a multipart form (needs/checklist as JSON text, photo as a file)."""
    photo = None
    if request.content_type == "multipart/form-data":
        data: dict = {k: v for k, v in request.POST.items() if v != ""}
        for key in ("needs", "checklist"):
            if key in data:
                try:
                    data[key] = json.loads(data[key])
                except ValueError:
                    raise ValidationFailed(f"{key} 应为 JSON 文本", code="invalid_json", extra={"field": key}) from None
        photo = request.FILES.get("photo")
    else:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise ValidationFailed("请求体不是有效的 JSON", code="invalid_json") from None
        if not isinstance(data, dict):
            raise ValidationFailed("请求体应为 JSON 对象", code="invalid_json")
    try:
        payload = VisitIn.model_validate(data)
    except PydanticValidationError as exc:
        errors = [{**e, "loc": ("body", "visit", *e["loc"])} for e in exc.errors(include_url=False)]
        for e in errors:
            if "ctx" in e:
                e["ctx"] = {k: v if isinstance(v, str | int | float) else str(v) for k, v in e["ctx"].items()}
        raise NinjaValidationError(errors) from None
    return payload, photo


@router.post("", response={200: VisitOut, 201: VisitOut}, summary="记录走访（JSON 或带照片的 multipart）",
             openapi_extra=_VISIT_BODY)
def record_visit(request):
    payload, photo = _visit_payload(request)
    visit = services.visit_record(
        acting_user=request.auth, resident=payload.resident, visited_at=payload.visited_at, lon=payload.lon,
        lat=payload.lat, accuracy_m=payload.accuracy_m, crs=payload.crs, findings=payload.findings,
        needs=[n.dict() for n in payload.needs], checklist=payload.checklist, photo=photo,
        client_id=payload.client_id,
    )
    return Status(200 if visit.replayed else 201, _visit(access_visit(request.auth, visit.pk), request.auth))


@router.get("", response=list[VisitOut], summary="走访记录查询")
@paginate(PageNumberCount)
def list_visits(request, filters: Query[VisitFilters]):
    return _ConvertingList(selectors.visit_list(user=request.auth, **filters.dict()),
                           lambda v: _visit(v, request.auth))


@router.get("/coverage", response=CoverageOut, summary="走访覆盖率（区划及下级）")
def coverage(request, query: Query[CoverageQuery]):
    result = selectors.coverage(user=request.auth, region=query.region, day=query.date)

    def row(r):
        return {"code": r.code, "name": r.name, "level": r.level, "required": r.required, "visited": r.visited,
                "missing": r.missing, "rate": r.rate}

    return {"region": row(result.total), "date": result.day, "children": [row(c) for c in result.children]}


@router.get("/overdue", response=list[OverdueOut], summary="逾期未访名单")
@paginate(PageNumberCount)
def overdue(request, query: Query[OverdueQuery]):
    return [i.__dict__ for i in selectors.overdue_list(user=request.auth, region=query.region, day=query.date)]


@router.get("/workers/{int:user_id}/month", response=dict, summary="网格员月度走访一览")
def worker_month(request, user_id: int, query: Query[MonthQuery]):
    month = None
    if query.month:
        year, mon = query.month.split("-")
        month = date(int(year), int(mon), 1)
    result = selectors.worker_month(user=request.auth, worker_id=user_id, month=month)
    return {
        "worker": _person(result.worker), "grids": [{"code": g.code, "name": g.name} for g in result.grids],
        "month": result.month.strftime("%Y-%m"), "required": result.required, "done": result.done,
        "visits": result.visits,
        "days": [{"date": d.day, "required": d.required, "done": d.done, "rate": d.rate, "visits": d.visits,
                  "patrols": d.patrols, "patrol_m": round(d.patrol_m, 1)} for d in result.days],
    }


# --- patrols --------------------------------------------------------------------------------------------

@router.post("/patrols", response={200: PatrolOut, 201: PatrolOut}, summary="开始巡查")
def start_patrol(request, body: PatrolStartIn):
    patrol = services.patrol_start(acting_user=request.auth, grid=body.grid, started_at=body.started_at,
                                   client_id=body.client_id)
    replayed = getattr(patrol, "replayed", False)
    return Status(200 if replayed else 201, _patrol(access_patrol(request.auth, patrol.pk)))


@router.get("/patrols", response=list[PatrolOut], summary="巡查记录查询")
@paginate(PageNumberCount)
def list_patrols(request, filters: Query[PatrolFilters]):
    return _ConvertingList(selectors.patrol_list(user=request.auth, **filters.dict()), _patrol)


@router.get("/patrols/{int:patrol_id}", response=PatrolDetailOut, summary="巡查详情（含轨迹）")
def get_patrol(request, patrol_id: int):
    patrol = access_patrol(request.auth, patrol_id)
    return {**_patrol(patrol), "track": selectors.patrol_track(patrol)}


@router.post("/patrols/{int:patrol_id}/points", response=PatrolOut, summary="上传巡查轨迹点（批量）")
def add_points(request, patrol_id: int, body: PointsIn):
    services.patrol_points_add(acting_user=request.auth, patrol=patrol_id, crs=body.crs, batch_id=body.batch_id,
                               points=[p.dict() for p in body.points])
    return _patrol(access_patrol(request.auth, patrol_id))


@router.post("/patrols/{int:patrol_id}/end", response=PatrolOut, summary="结束巡查")
def end_patrol(request, patrol_id: int, body: PatrolEndIn):
    services.patrol_end(acting_user=request.auth, patrol=patrol_id, ended_at=body.ended_at, findings=body.findings)
    return _patrol(access_patrol(request.auth, patrol_id))


# --- one visit (after the fixed paths) -------------------------------------------------------------------

@router.get("/{int:visit_id}", response=VisitOut, summary="走访详情")
def get_visit(request, visit_id: int):
    return _visit(access_visit(request.auth, visit_id), request.auth)


@router.get("/{int:visit_id}/photo", url_name="visit_photo", summary="走访照片")
def visit_photo(request, visit_id: int):
    handle, content_type = selectors.visit_photo(user=request.auth, visit_id=visit_id)
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


class _ConvertingList:
    """A queryset that converts the rows of the requested page only (count and slicing stay in SQL)."""

    def __init__(self, queryset, convert):
        self.queryset = queryset
        self.convert = convert

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, item):
        return [self.convert(row) for row in self.queryset[item]]
