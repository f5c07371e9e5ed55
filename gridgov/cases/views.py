"""Pages of the cases module: the case desk (案件受理台), a case, the department inbox (部门待办), the
report form (上报) and the self-resolve form (自行处置), and the Excel export of the desk's list.

Thin: parse a form, call a selector or a service, render. Reads go through cases.selectors (every
query starts from the user's scope); writes through cases.services, one per workflow transition.
Which action forms a case page offers is asked of the workflow table (selectors.case_detail →
workflow.allowed_actions); a POST is checked against the same table and then by the service itself
under the row lock. Missing and out-of-scope cases are a 404; a missing permission the 403 page;
a refused action re-renders the case with the service's message and nothing changed.
"""

import functools
import tempfile
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import F, Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.accounts.policy import can, get_scope, has_role, require
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied
from gridgov.core.masking import mask_name, mask_phone
from gridgov.regions.choices import RegionLevel
from gridgov.regions.models import Region

from . import selectors, services, workflow
from .access import REPORTER, case_scope
from .choices import FINAL_STATES, OPEN_STATES, CaseState, DispatchRole, ExtensionStatus, Stage, Urgency
from .export import case_export
from .forms import (
    ACTION_FORMS,
    MULTIPART_ACTIONS,
    OPEN,
    AttachForm,
    DeskFilterForm,
    DispatchForm,
    ReportForm,
    SelfResolveReportForm,
)
from .models import Case, CaseDispatch

PAGE_SIZE = 30
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_GRID_CHOICES = 60  # more grids than this: the reporter picks the place on the map

SERVICES = {
    "accept": services.case_accept,
    "reject": services.case_reject,
    "register": services.case_register,
    "dispatch": services.case_dispatch,
    "handle": services.case_handle,
    "feedback": services.case_feedback,
    "return": services.case_return,
    "verify_pass": services.case_verify,
    "verify_fail": services.case_verify,
    "close": services.case_close,
    "evaluate": services.case_evaluate,
    "extend_request": services.case_extend_request,
    "extend_decide": services.case_extend_decide,
    "suspend": services.case_suspend,
    "resume": services.case_resume,
    "void": services.case_void,
    "self_resolve": services.case_self_resolve,
    "supervise": services.case_supervise,
    "merge": services.case_merge,
    "note": services.case_note,
}
# The main path is drawn as primary buttons, refusals and endings as warnings.
PRIMARY_ACTIONS = frozenset({"accept", "register", "dispatch", "handle", "feedback", "verify_pass", "close",
                             "self_resolve", "extend_decide"})
WARNING_ACTIONS = frozenset({"reject", "return", "verify_fail", "void"})
ROLE_LABELS = {**{r.value: str(r.label) for r in Role}, REPORTER: "上报人"}

# The department inbox: what is waiting for the department, what it has handed back.
INBOX_TABS = [
    ("todo", "待办", [CaseState.DISPATCHED, CaseState.HANDLING]),
    ("feedback", "已反馈待核查", [CaseState.AWAITING_VERIFICATION, CaseState.VERIFIED]),
    ("done", "已办结", [CaseState.CLOSED, CaseState.EVALUATED]),
]


def page(view):
    """Missing or out of scope → the 404 page; a role without the permission → the 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except PermissionDenied:
            return render(request, "core/forbidden.html", status=403)

    return login_required(wrapped)


def _page(request, qs, size: int | None = None):
    page_obj = Paginator(qs, size or PAGE_SIZE).get_page(request.GET.get("page"))
    return page_obj, page_obj.paginator.get_elided_page_range(page_obj.number, on_each_side=2, on_ends=1)


class _Total:
    """What a Paginator needs of an object list it never slices: its length."""

    def __init__(self, n: int):
        self.n = n

    def count(self) -> int:
        return self.n


def _desk_page(request, filters: dict, size: int | None = None, counts: dict[str, int] | None = None):
    """The desk's page through selectors.case_page (ids first on the covering index, then the rows);
    `counts` (the tabs under the same filters) spare it a count of its own."""
    size = size or PAGE_SIZE
    try:
        number = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        number = 1
    total, rows = selectors.case_page(user=request.user, offset=(number - 1) * size, limit=size, counts=counts,
                                      **filters)
    paginator = Paginator(_Total(total), size)
    if number > paginator.num_pages:
        number = paginator.num_pages
        total, rows = selectors.case_page(user=request.user, offset=(number - 1) * size, limit=size, counts=counts,
                                          **filters)
    page_obj = Page(rows, number, paginator)
    return page_obj, paginator.get_elided_page_range(number, on_each_side=2, on_ends=1)


def _live(case: Case, now) -> Case:
    """Due-soon / overdue as of now (the flags on the row are the last sweep's view)."""
    live = case.state in OPEN_STATES and case.stage_deadline is not None
    case.live_deadline = case.stage_deadline if live else None
    case.live_overdue = live and case.stage_deadline <= now
    case.live_due_soon = live and not case.live_overdue and case.stage_due_soon_at is not None \
        and case.stage_due_soon_at <= now
    return case


def _nav_context(user) -> dict:
    return {
        "nav_inbox": can(user, "cases.handle"),
        "nav_report": can(user, "cases.report"),
        "nav_self_resolve": has_role(user, Role.GRID_WORKER),
    }


# --- the case desk ----------------------------------------------------------------------------------

def _region_options(user) -> list[dict]:
    """Suggestions for the region filter: the user's own nodes and the level below them."""
    roots = list(get_scope(user).root_codes)
    if not roots:
        return []
    rows = (Region.objects.filter(code__in=roots)
            | Region.objects.filter(parent_id__in=roots, level__lt=RegionLevel.GRID))
    return list(rows.order_by("code").values("code", "name")[:300])


def _tabs(form_query: dict, counts: dict[str, int], active: str) -> list[dict]:
    base = {k: v for k, v in form_query.items() if k not in ("state", "page")}

    def url(state: str) -> str:
        query = {**base, **({"state": state} if state else {})}
        return "?" + urlencode(query) if query else "?"

    tabs = [{"state": "", "label": "全部", "n": sum(counts.values()), "url": url("")},
            {"state": OPEN, "label": "办理中", "n": sum(counts[s] for s in OPEN_STATES), "url": url(OPEN)}]
    for value, label in CaseState.choices:
        n = counts.get(value, 0)
        if n or value == active:
            tabs.append({"state": value, "label": label, "n": n, "url": url(value),
                         "warn": value in (CaseState.RETURNED, CaseState.REOPENED)})
    for tab in tabs:
        tab["active"] = tab["state"] == active
    return tabs


@page
def desk(request):
    """案件受理台: the visible cases under the filters, counts per state as tabs, newest first."""
    require(request.user, "cases.view")
    form = DeskFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    filters = form.filters() if form.is_bound and valid else {}
    if valid:
        counts = selectors.case_counts(user=request.user, **filters)
        page_obj, page_range = _desk_page(request, filters, counts=counts)
    else:
        page_obj, page_range = _page(request, selectors.case_list(user=request.user).none())
        counts = dict.fromkeys(CaseState.values, 0)
    now = timezone.now()
    for case in page_obj.object_list:
        _live(case, now)
    query = form.query() if form.is_bound and valid else {}
    return render(request, "cases/desk.html", {
        "form": form, "valid": valid, "page": page_obj, "page_range": page_range,
        "filtered": bool({k for k in filters if k != "state"}), "tabs": _tabs(query, counts, query.get("state", "")),
        "export_query": query, "region_options": _region_options(request.user),
        "can_export": can(request.user, "cases.view"), **_nav_context(request.user),
    }, status=200 if valid else 400)


@page
@require_POST
def export(request):
    """The desk's filtered list as .xlsx (reporter phones masked); every export is audited."""
    require(request.user, "cases.view")
    form = DeskFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, "导出条件有误：" + "；".join(e for errs in form.errors.values() for e in errs))
        return redirect("cases:desk")
    output = tempfile.TemporaryFile()
    try:
        result = case_export(acting_user=request.user, output=output, filters=form.filters())
    except ApplicationError:
        output.close()
        raise
    output.seek(0)
    response = FileResponse(output, as_attachment=True, filename=result.filename, content_type=XLSX)
    response["Cache-Control"] = "no-store"
    return response


# --- one case -----------------------------------------------------------------------------------------

@dataclass
class ActionForm:
    action: str
    label: str
    form: object
    style: str
    multipart: bool
    open: bool = False
    error: str = ""


def _style(action: str) -> str:
    return "primary" if action in PRIMARY_ACTIONS else "warn" if action in WARNING_ACTIONS else ""


def _action_form(action: str, d, data=None, files=None, user=None):
    cls = ACTION_FORMS[action]
    if cls is DispatchForm:
        suggestion = selectors.case_routing(user=user, case_id=d.case.pk)
        return cls(data, files, suggestion=suggestion, prefix=action)
    return cls(data, files, prefix=action)


def _offered(d) -> list[str]:
    """The actions the page has a form for, of those the selector offers (the API offers the same)."""
    return [a for a in d.actions if a in ACTION_FORMS]


def _event_text(event, departments: dict[str, str]) -> str:
    """A short reading of an event's data for the timeline."""
    data = event.data or {}
    a = event.action
    if a == "dispatch":
        text = f"主办：{departments.get(data.get('lead'), data.get('lead') or '')}"
        helpers = [departments.get(h, h) for h in data.get("helpers") or []]
        if helpers:
            text += f"；协办：{'、'.join(helpers)}"
        if data.get("redispatch"):
            text += "（重新派遣）"
        if data.get("overridden") and data.get("suggested"):
            text += f"；系统建议为{departments.get(data['suggested'], data['suggested'])}"
        return text
    if a == "return" and data.get("department"):
        return f"退回部门：{departments.get(data['department'], data['department'])}"
    if a == "evaluate":
        return f"评分 {data.get('score')} 分"
    if a == "extend_request":
        return f"申请延长 {data.get('hours')} 个工作小时"
    if a == "extend_decide":
        return ("同意" if data.get("granted") else "不同意") + f"延期 {data.get('hours')} 个工作小时"
    if a == "register":
        parts = []
        if data.get("category"):
            parts.append(f"分类 {data['category'][0]} → {data['category'][1]}")
        if data.get("urgency"):
            parts.append("紧急程度 " + " → ".join(str(Urgency(u).label) for u in data["urgency"]))
        return "；".join(parts)
    if a == "suspend" and data.get("expected_resume_on"):
        return f"预计恢复：{data['expected_resume_on']}"
    if a in ("merge", "absorb") and data.get("number"):
        return f"案件 {data['number']}"
    if a == "attach":
        return f"上传附件 {data.get('count', 0)} 个"
    return ""


def _timeline(events) -> list:
    codes = set()
    for e in events:
        data = e.data or {}
        codes.update(c for c in [data.get("lead"), data.get("department"), data.get("suggested"),
                                 *(data.get("helpers") or [])] if c)
    departments = dict(Department.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    for e in events:
        e.label = workflow.LABELS.get(e.action, e.action)
        e.role_label = ROLE_LABELS.get(e.actor_role, e.actor_role)
        e.from_label = CaseState(e.from_state).label if e.from_state in CaseState.values else ""
        e.to_label = CaseState(e.to_state).label if e.to_state in CaseState.values else ""
        e.moved = bool(e.to_state) and e.from_state != e.to_state
        e.detail = _event_text(e, departments)
        e.files = list(e.attachments.all())
    return events


def _render_detail(request, pk, *, bound: ActionForm | None = None, status: int = 200, attach_form=None):
    user = request.user
    d = selectors.case_detail(user=user, case_id=pk)
    case = _live(d.case, timezone.now())
    forms = []
    for action in _offered(d):
        if bound is not None and bound.action == action:
            bound.open = True
            forms.append(bound)
            continue
        try:
            form = _action_form(action, d, user=user)
        except ApplicationError:
            continue
        forms.append(ActionForm(action, workflow.LABELS[action], form, _style(action), action in MULTIPART_ACTIONS))
    refused = bound if bound is not None and bound.action not in {f.action for f in forms} else None
    if d.show_contact:
        reporter_name, reporter_phone = case.reporter_name, case.reporter_phone
    else:
        reporter_name, reporter_phone = mask_name(case.reporter_name), mask_phone(case.reporter_phone)
    mine = set(case_scope(user).department_ids)
    can_attach = case.state not in FINAL_STATES and bool(
        d.roles or any(x.is_active and x.department_id in mine for x in d.dispatches))
    photos = [a for a in d.attachments if a.kind == "photo"]
    documents = [a for a in d.attachments if a.kind != "photo"]
    return render(request, "cases/detail.html", {
        "case": case, "d": d, "forms": forms, "refused": refused, "events": _timeline(d.events),
        "photos": photos, "documents": documents,
        "reporter_name": reporter_name, "reporter_phone": reporter_phone,
        "geojson_url": reverse("api:region_geojson", kwargs={"code": case.region_id}),
        "chain": _chain(case.region_id),
        "lead_dispatches": [x for x in d.dispatches if x.is_active and x.role == DispatchRole.LEAD],
        "helper_dispatches": [x for x in d.dispatches if x.is_active and x.role == DispatchRole.HELPER],
        "ended_dispatches": [x for x in d.dispatches if not x.is_active],
        "pending_extension": next((x for x in d.extension_requests if x.status == ExtensionStatus.PENDING), None),
        "open_suspension": next((s for s in d.suspensions if s.resumed_at is None), None),
        "stage_label": Stage(case.stage).label if case.stage else "",
        "can_attach": can_attach, "attach_form": attach_form or AttachForm(),
        **_nav_context(user),
    }, status=status)


def _chain(code: str) -> str:
    """胡集镇 · 袁台村 · 袁台村第1网格: the names above the grid, from the town down."""
    codes = [code[:n] for n in (9, 12, 15) if len(code) >= n]
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return " · ".join(names.get(c, c) for c in codes)


@page
def detail(request, pk: int):
    """A case: details, map, photos, the timeline and the forms of the actions open to the user now."""
    return _render_detail(request, pk)


def _merge_target(user, number: str) -> int | None:
    return selectors.case_list(user=user, q=number).values_list("pk", flat=True).first()


def _place_error(form, exc: ApplicationError) -> None:
    field = (exc.extra or {}).get("field")
    if field in form.fields and not form.fields[field].widget.is_hidden:
        form.add_error(field, exc.message)
    else:
        form.add_error(None, exc.message)


def _still_visible(user, pk: int) -> bool:
    return Case.objects.visible_to(user).filter(pk=pk).exists()


@page
@require_POST
def act(request, pk: int, action: str):
    """One workflow action on a case: the table is asked first, then the service decides under its lock.

    A refusal (wrong state, wrong role, bad input) re-renders the case with the message and the
    user's input; nothing is written. Success redirects back to the case, or to the user's list when
    the case has left their sight (a department that returned it)."""
    if action not in ACTION_FORMS:
        raise Http404
    user = request.user
    d = selectors.case_detail(user=user, case_id=pk)
    label = workflow.LABELS[action]
    try:
        workflow.check(action, d.case.state, d.roles)
        form = _action_form(action, d, request.POST, request.FILES, user=user)
    except ApplicationError as exc:
        bound = ActionForm(action, label, None, "", False, error=exc.message)
        return _render_detail(request, pk, bound=bound, status=exc.status)
    bound = ActionForm(action, label, form, _style(action), action in MULTIPART_ACTIONS)
    if not form.is_valid():
        return _render_detail(request, pk, bound=bound, status=400)
    kwargs = form.service_kwargs()
    if action == "merge":
        target = _merge_target(user, kwargs["into"])
        if target is None:
            form.add_error("into", "未找到该编号的案件，或您无权查看")
            return _render_detail(request, pk, bound=bound, status=400)
        kwargs["into"] = target
    try:
        SERVICES[action](acting_user=user, case=pk, **kwargs)
    except NotFound:
        raise
    except ApplicationError as exc:
        _place_error(form, exc)
        return _render_detail(request, pk, bound=bound, status=exc.status)
    messages.success(request, f"已{label}。")
    if _still_visible(user, pk):
        return redirect("cases:detail", pk=pk)
    return redirect("cases:inbox" if can(user, "cases.handle") else "cases:desk")


@page
@require_POST
def attach(request, pk: int):
    """补充照片/附件 without a transition, by anyone who works the case (the service decides)."""
    user = request.user
    selectors.case_detail(user=user, case_id=pk)  # 404 before anything else
    form = AttachForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            stored = services.case_attach(acting_user=user, case=pk, files=form.cleaned_data["files"])
        except NotFound:
            raise
        except ApplicationError as exc:
            form.add_error("files", exc.message)
        else:
            messages.success(request, f"已上传 {len(stored)} 个附件。")
            return redirect("cases:detail", pk=pk)
    return _render_detail(request, pk, attach_form=form, status=400)


# --- the department inbox -----------------------------------------------------------------------------

@page
def inbox(request):
    """部门待办: the cases dispatched to the user's department, the nearest deadline first."""
    require(request.user, "cases.handle")
    dept_ids = case_scope(request.user).department_ids
    departments = list(Department.objects.filter(pk__in=dept_ids).order_by("code"))
    if not departments:
        raise PermissionDenied()
    chosen = request.GET.get("department")
    department = next((x for x in departments if x.code == chosen), departments[0])
    tab_key = request.GET.get("tab") or "todo"
    tab = next((t for t in INBOX_TABS if t[0] == tab_key), INBOX_TABS[0])
    counts = selectors.case_counts(user=request.user, department=department.pk)
    qs = (selectors.case_list(user=request.user, department=department.pk, state=list(tab[2]))
          .prefetch_related(Prefetch("dispatches", to_attr="mine",
                                     queryset=CaseDispatch.objects.filter(department=department, is_active=True)))
          .order_by(F("stage_deadline").asc(nulls_last=True), "id"))
    if tab[0] == "done":
        qs = qs.order_by("-closed_at", "-id")
    page_obj, page_range = _page(request, qs)
    now = timezone.now()
    for case in page_obj.object_list:
        _live(case, now)
        case.my_role = case.mine[0].get_role_display() if case.mine else ""
        case.is_lead = bool(case.mine) and case.mine[0].role == DispatchRole.LEAD
    tabs = [{"key": k, "label": label, "n": sum(counts.get(s, 0) for s in states),
             "url": "?" + urlencode({"department": department.code, "tab": k}), "active": k == tab[0]}
            for k, label, states in INBOX_TABS]
    return render(request, "cases/inbox.html", {
        "department": department, "departments": departments, "tabs": tabs, "tab": tab[0], "page": page_obj,
        "page_range": page_range, **_nav_context(request.user),
    })


# --- reporting ----------------------------------------------------------------------------------------

def _report_area(user) -> tuple[list[Region] | None, str | None]:
    """(grids offered in the form, the node whose map the reporter clicks on)."""
    scope = case_scope(user)
    codes = sorted({code for role, code in scope.region_roles
                    if role in (Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR)})
    if not codes:
        return None, None
    grids_q = Region.objects.none()
    for code in codes:
        grids_q |= Region.objects.filter(level=RegionLevel.GRID, code__startswith=code)
    grids = list(grids_q.order_by("code")[:MAX_GRID_CHOICES + 1])
    if len(grids) > MAX_GRID_CHOICES:
        grids = None  # too many for a list: the grid code is typed, or the place picked on the map
    return grids, codes[0]


def _report_page(request, form_class, template: str, *, success: str):
    user = request.user
    require(user, "cases.report")
    grids, map_code = _report_area(user)
    desk = has_role(user, Role.TOWN_OPERATOR, Role.CITY_OPERATOR) and form_class is ReportForm
    form = form_class(request.POST or None, request.FILES or None, grids=grids, desk=desk)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                case = services.case_report(acting_user=user, **form.service_kwargs())
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as exc:
                _place_error(form, exc)
            else:
                messages.success(request, success.format(number=case.number))
                return redirect("cases:detail", pk=case.pk)
        status = 400
    return render(request, template, {
        "form": form, "map_code": map_code,
        "geojson_url": reverse("api:region_geojson", kwargs={"code": map_code}) if map_code else "",
        "route_url": reverse("api:route"), "self_resolve": form_class is SelfResolveReportForm,
        **_nav_context(user),
    }, status=status)


@page
@require_http_methods(["GET", "POST"])
def report(request):
    """上报: a grid worker's (or a desk's) new case with photos and its place (GPS or a map click)."""
    return _report_page(request, ReportForm, "cases/report.html", success="已上报，案件编号 {number}。")


@page
@require_http_methods(["GET", "POST"])
def self_resolve(request):
    """自行处置: a small problem fixed on the spot, reported closed with its evidence for verification."""
    if not has_role(request.user, Role.GRID_WORKER):
        raise PermissionDenied()
    return _report_page(request, SelfResolveReportForm, "cases/report.html",
                        success="已上报自行处置，案件编号 {number}，等待核查。")



