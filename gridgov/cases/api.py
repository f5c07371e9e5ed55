"""/api/v1/cases: the case desk, the case page, one POST per transition, routing, attachments, taxonomy.

Thin: parse, call one selector or service, serialise. Transitions answer with the case as the
actor now sees it (its detail, with the actions still open to them).
"""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from ninja import Query, Router, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.responses import NinjaJSONEncoder
from pydantic import ValidationError as PydanticValidationError

from gridgov.core.errors import ValidationFailed
from gridgov.core.masking import mask_phone
from gridgov.core.pagination import PageInput

from . import selectors, services, workflow
from .choices import OPEN_STATES, CaseState, Source, Urgency
from .schemas import (
    CaseDetailOut,
    CaseFilters,
    CaseListOut,
    CaseNoteIn,
    CaseReportIn,
    CategoryCreateIn,
    CategoryOut,
    CategoryQuery,
    CategoryUpdateIn,
    DispatchIn,
    EvaluateIn,
    ExtendDecideIn,
    ExtendRequestIn,
    FeedbackIn,
    MergeIn,
    NoteIn,
    ReasonIn,
    RegisterIn,
    RouteQuery,
    RoutingOut,
    SuperviseIn,
    SuspendIn,
    SuspensionListOut,
    VerifyIn,
)

router = Router(tags=["cases 事件案件"])

FILE_KEYS = ("files", "photos", "photo", "file")


# --- serialisation ------------------------------------------------------------------------------------

def _ref(obj) -> dict | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.full_name or user.username}


def _case(case, now=None) -> dict:
    now = now or timezone.now()
    live = case.state in OPEN_STATES and case.stage_deadline is not None
    return {
        "id": case.pk, "number": case.number, "state": case.state, "state_label": str(CaseState(case.state).label),
        "stage": case.stage, "category": _ref(case.category), "urgency": case.urgency, "source": case.source,
        "region_code": case.region_id, "grid_name": case.region.name, "description": case.description,
        "address": case.address, "lon": case.lon, "lat": case.lat, "lead_department": _ref(case.lead_department),
        "created_at": case.created_at, "stage_deadline": case.stage_deadline,
        # live: the flags as of this moment, whatever the last sweep saw
        "due_soon": live and case.stage_due_soon_at <= now < case.stage_deadline,
        "overdue": live and case.stage_deadline <= now,
        "escalated_to_level": case.escalated_to_level, "duplicate_of": case.duplicate_of_id,
        "self_resolved": case.self_resolved,
    }


def _attachment_url(case_id: int, attachment_id: int) -> str:
    return reverse("api:case_attachment", kwargs={"case_id": case_id, "attachment_id": attachment_id})


def _detail(user, case_id) -> dict:
    d = selectors.case_detail(user=user, case_id=case_id)
    case = d.case
    phone = case.reporter_phone
    return {
        **_case(case),
        "component": ({"id": case.component.pk, "code": case.component.code, "name": case.component.name,
                       "owner_department": _ref(case.component.owner_department)} if case.component_id else None),
        "urgency_label": str(Urgency(case.urgency).label), "source_label": str(Source(case.source).label),
        "reporter": _person(case.reporter),
        "reporter_name": case.reporter_name if d.show_contact else (case.reporter_name[:1] + "*" * 2
                                                                   if case.reporter_name else ""),
        "reporter_phone": phone if d.show_contact else mask_phone(phone),
        "external_ref": case.external_ref, "stage_started_at": case.stage_started_at,
        "stage_due_soon_at": case.stage_due_soon_at, "stage_limit_minutes": case.stage_limit_minutes,
        "escalated_at": case.escalated_at, "accepted_at": case.accepted_at, "dispatched_at": case.dispatched_at,
        "feedback_at": case.feedback_at, "closed_at": case.closed_at, "actions": d.actions,
        "dispatches": [{"department": _ref(x.department), "role": x.role, "is_active": x.is_active,
                        "dispatched_at": x.dispatched_at, "ended_at": x.ended_at, "end_reason": x.end_reason}
                       for x in d.dispatches],
        "events": [{"id": e.pk, "action": e.action, "action_label": workflow.LABELS.get(e.action, e.action),
                    "actor": ({"id": e.actor_id, "name": e.actor_name} if e.actor_id else None),
                    "actor_role": e.actor_role, "from_state": e.from_state, "to_state": e.to_state, "note": e.note,
                    "data": e.data, "created_at": e.created_at, "attachments": [a.pk for a in e.attachments.all()]}
                   for e in d.events],
        "attachments": [{"id": a.pk, "kind": a.kind, "content_type": a.content_type, "size": a.size,
                         "original_name": a.original_name, "url": _attachment_url(case.pk, a.pk),
                         "created_at": a.created_at} for a in d.attachments],
        "supervisions": [{"id": s.pk, "supervisor": _person(s.supervisor), "level": s.level, "note": s.note,
                          "respond_by": s.respond_by, "created_at": s.created_at} for s in d.supervisions],
        "evaluations": [{"id": v.pk, "evaluator_kind": v.evaluator_kind, "score": v.score, "comment": v.comment,
                         "created_at": v.created_at} for v in d.evaluations],
        "extension_requests": [{"id": x.pk, "department": _ref(x.department), "hours": x.hours, "reason": x.reason,
                                "status": x.status, "decision_note": x.decision_note,
                                "old_deadline": x.old_deadline, "new_deadline": x.new_deadline,
                                "created_at": x.created_at, "decided_at": x.decided_at}
                               for x in d.extension_requests],
        "suspensions": [{"id": s.pk, "from_state": s.from_state, "reason": s.reason,
                         "expected_resume_on": s.expected_resume_on, "suspended_at": s.suspended_at,
                         "resumed_at": s.resumed_at} for s in d.suspensions],
        "duplicates": [{"id": c.pk, "number": c.number, "state": c.state} for c in d.duplicates],
    }


def _category(c) -> dict:
    return {"id": c.pk, "code": c.code, "name": c.name, "kind": c.kind, "parent": c.parent.code if c.parent else None,
            "level": c.level, "default_department_code": c.default_department_code,
            "route_to_station": c.route_to_station, "urgency_levels": c.urgency_levels, "time_limits": c.time_limits,
            "self_resolvable": c.self_resolvable, "standard_ref": c.standard_ref, "description": c.description,
            "sort_order": c.sort_order, "is_active": c.is_active}


# --- bodies: JSON, or multipart with files ----------------------------------------------------------------

def _inline_refs(schema: dict) -> dict:
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


def _body_doc(schema) -> dict:
    json_schema = _inline_refs(schema.json_schema())
    form = {"type": "object", "properties": {
        **{k: {"type": "string"} for k in json_schema.get("properties", {})},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "JPEG/PNG/WebP 照片或 PDF/DOCX 文档，每个 ≤10 MB，最多 9 个"},
    }}
    return {"requestBody": {"content": {"application/json": {"schema": json_schema},
                                        "multipart/form-data": {"schema": form}}, "required": True}}


def _payload(request, schema):
    """(validated body, uploaded files) from a JSON body or a multipart form (files under `files`)."""
    files = []
    if request.content_type == "multipart/form-data":
        data = {k: v for k, v in request.POST.items() if v != ""}
        for key in list(data):
            if key in ("helpers", "state") :
                data[key] = request.POST.getlist(key)
        for key in FILE_KEYS:
            files += request.FILES.getlist(key)
    else:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise ValidationFailed("请求体不是有效的 JSON", code="invalid_json") from None
        if not isinstance(data, dict):
            raise ValidationFailed("请求体应为 JSON 对象", code="invalid_json")
    try:
        payload = schema.model_validate(data)
    except PydanticValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        for e in errors:
            if "ctx" in e:
                e["ctx"] = {k: v if isinstance(v, str | int | float) else str(v) for k, v in e["ctx"].items()}
        raise NinjaValidationError(errors) from None
    return payload, files


# --- the desk --------------------------------------------------------------------------------------------

@router.post("", response={200: CaseDetailOut, 201: CaseDetailOut}, summary="上报案件（JSON 或带附件的 multipart）",
             openapi_extra=_body_doc(CaseReportIn))
def report_case(request):
    payload, files = _payload(request, CaseReportIn)
    case = services.case_report(acting_user=request.auth, files=files, **payload.dict())
    return Status(200 if case.replayed else 201, _detail(request.auth, case.pk))


@router.get("", response=CaseListOut, summary="案件列表（案件台）及各状态数量")
def list_cases(request, filters: Query[CaseFilters], page: Query[PageInput]):
    # counts: the tabs (every filter but the state); total: their sum over the states asked for
    counts, total, rows = selectors.case_desk(user=request.auth, offset=(page.page - 1) * page.page_size,
                                              limit=page.page_size, **filters.dict())
    now = timezone.now()
    labels = _state_labels()
    body = {"count": total, "counts": counts, "items": [_row(r, now, labels) for r in rows]}
    # Rendered as it stands: the rows are already CaseOut's shape and types (the tests compare each row
    # with the validated detail), and validating 20 rows field by field cost more than reading them.
    return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder), content_type="application/json; charset=utf-8")


_LABELS: dict[str, dict[str, str]] = {}


def _state_labels() -> dict[str, str]:
    """State → label in the request's language (computed once per language and process)."""
    language = get_language() or ""
    labels = _LABELS.get(language)
    if labels is None:
        labels = _LABELS[language] = {s.value: str(s.label) for s in CaseState}
    return labels


_iso = DjangoJSONEncoder().default  # a datetime as ninja's renderer writes it, without a call-back per value


def _row(r: tuple, now, labels: dict[str, str]) -> dict:
    """One list row (selectors.ROW_FIELDS) as _case() shows a case."""
    (pk, number, state, stage, category_code, category_name, urgency, source, region_code, grid_name, description,
     address, lon, lat, department_code, department_name, created_at, deadline, due_soon_at, escalated,
     duplicate_of, self_resolved) = r
    live = state in OPEN_STATES and deadline is not None
    return {
        "id": pk, "number": number, "state": state, "state_label": labels[state], "stage": stage,
        "category": {"code": category_code, "name": category_name}, "urgency": urgency, "source": source,
        "region_code": region_code, "grid_name": grid_name, "description": description, "address": address,
        "lon": lon, "lat": lat,
        "lead_department": {"code": department_code, "name": department_name} if department_code is not None else None,
        "created_at": _iso(created_at), "stage_deadline": _iso(deadline) if deadline is not None else None,
        "due_soon": live and due_soon_at <= now < deadline, "overdue": live and deadline <= now,
        "escalated_to_level": escalated, "duplicate_of": duplicate_of, "self_resolved": bool(self_resolved),
    }


@router.get("/route", response=RoutingOut, summary="按位置和分类给出网格与责任部门建议")
def route(request, query: Query[RouteQuery]):
    s = selectors.place_routing(user=request.auth, category=query.category, lon=query.lon, lat=query.lat,
                                crs=query.crs)
    return {"grid": _ref(s.grid), "town_code": s.town_code, "department": _ref(s.department), "reason": s.reason,
            "candidates": [_ref(d) for d in s.candidates]}


@router.get("/suspensions", response=SuspensionListOut, summary="挂账登记册（默认只列未恢复的）")
def suspensions(request, page: Query[PageInput], open_only: bool = True):
    qs = selectors.suspension_register(user=request.auth, open_only=open_only)
    offset = (page.page - 1) * page.page_size
    return {"count": qs.count(), "items": [
        {"id": s.pk, "case": {"id": s.case_id, "number": s.case.number, "state": s.case.state},
         "from_state": s.from_state, "reason": s.reason, "expected_resume_on": s.expected_resume_on,
         "suspended_by": _person(s.suspended_by), "suspended_at": s.suspended_at, "resumed_at": s.resumed_at}
        for s in qs[offset:offset + page.page_size]]}


@router.get("/categories", response=list[CategoryOut], summary="案件分类")
def list_categories(request, query: Query[CategoryQuery]):
    return [_category(c) for c in selectors.category_list(user=request.auth, kind=query.kind,
                                                          include_inactive=query.include_inactive)]


@router.post("/categories", response={201: CategoryOut}, summary="新增案件分类")
def create_category(request, body: CategoryCreateIn):
    data = {k: v for k, v in body.dict().items() if v is not None}
    category = services.category_create(acting_user=request.auth, **data)
    return Status(201, _category(category))


@router.patch("/categories/{int:category_id}", response=CategoryOut, summary="修改案件分类")
def update_category(request, category_id: int, body: CategoryUpdateIn):
    data = body.dict(exclude_unset=True)
    return _category(services.category_update(acting_user=request.auth, category_id=category_id, **data))


# --- one case ---------------------------------------------------------------------------------------------

@router.get("/{int:case_id}", response=CaseDetailOut, summary="案件详情（含流转记录）")
def get_case(request, case_id: int):
    return _detail(request.auth, case_id)


@router.get("/{int:case_id}/routing", response=RoutingOut, summary="派遣建议（可改派）")
def case_routing(request, case_id: int):
    s = selectors.case_routing(user=request.auth, case_id=case_id)
    return {"grid": _ref(s.grid), "town_code": s.town_code, "department": _ref(s.department), "reason": s.reason,
            "candidates": [_ref(d) for d in s.candidates]}


@router.post("/{int:case_id}/attachments", response={201: CaseDetailOut}, summary="上传附件（multipart files）",
             openapi_extra=_body_doc(NoteIn))
def upload_attachments(request, case_id: int):
    _, files = _payload(request, NoteIn)
    services.case_attach(acting_user=request.auth, case=case_id, files=files)
    return Status(201, _detail(request.auth, case_id))


@router.get("/{int:case_id}/attachments/{int:attachment_id}", url_name="case_attachment", summary="下载附件")
def download_attachment(request, case_id: int, attachment_id: int):
    attachment, handle = selectors.attachment_file(user=request.auth, case_id=case_id, attachment_id=attachment_id)
    response = FileResponse(handle, content_type=attachment.content_type)
    inline = attachment.kind == "photo"
    name = attachment.original_name or attachment.file.name.rsplit("/", 1)[-1]
    response["Content-Disposition"] = content_disposition_header(not inline, name)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _transition(path: str, schema, summary: str, call, *, files: bool = False):
    """Registers POST /{id}/<path>: body → service → the case detail."""

    def endpoint(request, case_id: int):
        payload, uploaded = _payload(request, schema)
        kwargs = payload.dict()
        if files:
            kwargs["files"] = uploaded
        elif uploaded:
            raise ValidationFailed("该操作不接受附件", code="unexpected_files", extra={"field": "files"})
        call(acting_user=request.auth, case=case_id, **kwargs)
        return _detail(request.auth, case_id)

    endpoint.__name__ = f"case_{path.replace('-', '_')}"
    router.post(f"/{{int:case_id}}/{path}", response=CaseDetailOut, summary=summary,
                openapi_extra=_body_doc(schema), operation_id=f"cases_{path.replace('-', '_')}")(endpoint)


_transition("accept", NoteIn, "受理", services.case_accept)
_transition("reject", ReasonIn, "不予受理", services.case_reject)
_transition("register", RegisterIn, "立案（可更正分类、紧急程度）", services.case_register)
_transition("dispatch", DispatchIn, "派遣（主办 + 协办）", services.case_dispatch)
_transition("handle", NoteIn, "签收处置", services.case_handle)
_transition("feedback", FeedbackIn, "处置反馈（可附照片）", services.case_feedback, files=True)
_transition("return", ReasonIn, "退回", services.case_return)
_transition("verify", VerifyIn, "核查（通过/不通过，可附照片）", services.case_verify, files=True)
_transition("close", NoteIn, "结案", services.case_close)
_transition("evaluate", EvaluateIn, "评价", services.case_evaluate)
_transition("extend-request", ExtendRequestIn, "申请延期", services.case_extend_request)
_transition("extend-decide", ExtendDecideIn, "延期审批", services.case_extend_decide)
_transition("suspend", SuspendIn, "挂账", services.case_suspend)
_transition("resume", NoteIn, "恢复（出挂账）", services.case_resume)
_transition("void", ReasonIn, "作废", services.case_void)
_transition("self-resolve", FeedbackIn, "自行处置（须附照片）", services.case_self_resolve, files=True)
_transition("supervise", SuperviseIn, "督办", services.case_supervise)
_transition("merge", MergeIn, "合并入另一案件", services.case_merge)
_transition("notes", CaseNoteIn, "工作记录（不改变状态，可附照片）", services.case_note, files=True)
