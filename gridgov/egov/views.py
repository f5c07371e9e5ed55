"""Pages of 政务网上办: the catalogue and item guides, the application form, the desks of the village,
the town and the departments, an application with its timeline and its steps, 政策找人, statistics
and the Excel export.

Thin: parse a form, call a selector or service, render. Missing and out-of-scope rows are a 404, a
role without the permission the 403 page; a refused step comes back as a message on the page.
"""

import functools
import tempfile
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from gridgov.accounts.choices import Role
from gridgov.accounts.policy import can, get_scope, has_role
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied
from gridgov.people import selectors as people_selectors

from . import presenters, rules, selectors, services
from .answers import fen_from_yuan, yuan
from .choices import Action, Category, State
from .export import application_export
from .forms import (
    ApplyForm,
    ApproveForm,
    DeskFilterForm,
    MaterialForm,
    NoteForm,
    PayForm,
    ReasonForm,
    RequiredNoteForm,
    ResidentPickForm,
    ReturnForm,
    StatsForm,
)

PAGE_SIZE = 25
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def page(view):
    """Missing or out of scope → 404 page; a role without the permission → the 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except PermissionDenied:
            return render(request, "core/forbidden.html", status=403)

    return login_required(wrapped)


def _paginate(request, qs, size=PAGE_SIZE):
    p = Paginator(qs, size).get_page(request.GET.get("page"))
    return p, p.paginator.get_elided_page_range(p.number, on_each_side=2, on_ends=1)


def _form_errors(form, exc: ApplicationError) -> None:
    placed = False
    for field, message in ((exc.extra or {}).get("errors") or {}).items():
        name = f"q_{field.split('.', 1)[1]}" if field.startswith("answers.") else field
        if name in form.fields:
            form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


# --- the catalogue -------------------------------------------------------------------------------------------

@page
def catalogue(request):
    """The 93 items by category, searchable; each links to its guide."""
    category = request.GET.get("category") or ""
    q = (request.GET.get("q") or "").strip()[:50]
    if category and category not in Category.values:
        category = ""
    items = list(selectors.service_item_list(user=request.user, category=category or None, q=q or None))
    departments = selectors.department_names()
    counts = selectors.category_counts()
    groups = []
    for code, name in Category.choices:
        rows = [presenters.item_row(i, departments) for i in items if i.category == code]
        if rows:
            groups.append({"code": code, "name": name, "items": rows})
    return render(request, "egov/catalogue.html", {
        "groups": groups, "category": category, "q": q, "total": len(items),
        "tabs": [{"code": c, "name": n, "count": counts.get(c, 0)} for c, n in Category.choices],
        "all_count": sum(counts.values()), "can_apply": can(request.user, "egov.apply"),
    })


@page
def item_detail(request, code: str):
    """An item's guide (办事指南): what to bring, the steps, the time limit, the fee, the legal basis."""
    item = selectors.service_item_get(code=code, user=request.user)
    departments = selectors.department_names()
    rule_text = None
    if item.eligibility_rule and can(request.user, "egov.catalogue.manage"):
        import json

        rule_text = json.dumps(item.eligibility_rule, ensure_ascii=False, indent=1)
    return render(request, "egov/item_detail.html", {
        "item": item, "row": presenters.item_row(item, departments), "can_apply": can(request.user, "egov.apply"),
        "standard_yuan": yuan(item.standard_amount_fen), "rule_text": rule_text,
        "rule_variables": sorted(rules.validate_rule(item.eligibility_rule).variables) if item.eligibility_rule
        else [],
    })


# --- the application form ------------------------------------------------------------------------------------

@page
def apply(request, code: str):
    """The item's application form for one resident of the user's area: pick the person first
    (a search by name in scope), then fill the form pre-filled from the registry, attach the scans,
    and — for the grid administrator — accept at once."""
    if not can(request.user, "egov.apply"):
        raise PermissionDenied()
    item = selectors.service_item_get(code=code)
    resident_id = request.GET.get("resident") or request.POST.get("resident")
    if not resident_id:
        pick = ResidentPickForm(request.GET or None)
        found = []
        if pick.is_bound and pick.is_valid():
            found = list(people_selectors.resident_list(user=request.user, q=pick.cleaned_data["q"],
                                                        state="active")[:20])
        return render(request, "egov/apply_pick.html", {"item": item, "pick": pick, "found": found})
    from gridgov.people.access import access_resident

    resident = access_resident(request.user, resident_id)
    prefill = {"household_size": resident.household.members.count() if resident.household_id else None}
    can_accept = has_role(request.user, Role.GRID_ADMIN)
    form = ApplyForm(request.POST or None, request.FILES or None, item=item, prefill=prefill, can_accept=can_accept,
                     initial={"client_key": uuid.uuid4().hex})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                app = services.application_submit(
                    acting_user=request.user, item_code=item.code, applicant_id=resident.pk, answers=form.answers(),
                    files=form.uploads(), accept=bool(form.cleaned_data.get("accept")),
                    payee_name=form.cleaned_data.get("payee_name") or "",
                    payee_account=form.cleaned_data.get("payee_account") or "",
                    found_by_match=request.GET.get("match") == "1",
                    idempotency_key=form.cleaned_data.get("client_key") or None)
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as exc:
                _form_errors(form, exc)
                if exc.code == "duplicate_application" and exc.extra.get("application"):
                    messages.warning(request, exc.message)
            else:
                done = "已提交并受理" if app.state != State.PENDING else "已提交，等待村级受理"
                messages.success(request, f"{resident.name}的“{item.name}”申请{done}（{app.number}）。")
                return redirect("egov:application_detail", pk=app.pk)
        status = 400
    return render(request, "egov/apply.html", {
        "item": item, "resident": resident, "form": form,
        "questions": [form[n] for n in form.question_names], "materials": [form[n] for n in form.material_names],
        "from_match": request.GET.get("match") == "1",
    }, status=status)


# --- desks ---------------------------------------------------------------------------------------------------

DESKS = [
    (Role.GRID_ADMIN, "村级受理台", "pending,returned"),
    (Role.GRID_WORKER, "我的代办", "pending,returned"),
    (Role.TOWN_OPERATOR, "镇审核台", "town_review"),
    (Role.DEPT_HEAD, "部门审批台", "dept_decide"),
    (Role.DEPT_STAFF, "部门办理台", "dept_verify,approved,refused"),
    (Role.CITY_OPERATOR, "全市申请", ""),
]


def _desk(user) -> tuple[str, str]:
    for role, title, states in DESKS:
        if has_role(user, role):
            return title, states
    return "申请", ""


@page
def desk(request):
    """The desk: the user's applications with their to-do states first, counts per state, filters,
    pagination, and the Excel export of what is filtered."""
    if not can(request.user, "egov.view"):
        raise PermissionDenied()
    title, todo = _desk(request.user)
    data = request.GET.copy()
    if "state" not in data:
        data["state"] = todo
    items = list(selectors.service_item_list())
    form = DeskFilterForm(data, items=items)
    valid = form.is_valid()
    filters = form.filters() if valid else {}
    qs = None
    if valid:
        try:
            qs = selectors.application_list(user=request.user, **filters)
            counts = selectors.application_state_counts(user=request.user, **filters)
        except ApplicationError as exc:
            _form_errors(form, exc)
            valid = False
    if qs is None:
        qs = selectors.application_list(user=request.user).none()
        counts = {s: 0 for s in State.values}
    p, page_range = _paginate(request, qs)
    departments = selectors.department_names()
    today = timezone.localdate()
    rows = [presenters.application_row(a, departments, today) for a in p.object_list]
    current = filters.get("state", "")
    tabs = [{"state": todo, "name": "待办", "count": sum(counts.get(s, 0) for s in todo.split(",") if s)}] if todo \
        else []
    tabs += [{"state": s, "name": str(n), "count": counts.get(s, 0)} for s, n in State.choices]
    tabs.append({"state": "", "name": "全部", "count": sum(counts.values())})
    return render(request, "egov/desk.html", {
        "title": title, "form": form, "page": p, "page_range": page_range, "rows": rows, "tabs": tabs,
        "current": current, "valid": valid, "filtered": any(k != "state" for k in filters),
        "can_export": can(request.user, "egov.export"), "export_filters": filters,
    }, status=200 if valid else 400)


@page
@require_POST
def export(request):
    if not can(request.user, "egov.export"):
        raise PermissionDenied()
    form = DeskFilterForm(request.POST, items=list(selectors.service_item_list()))
    if not form.is_valid():
        messages.error(request, "导出条件有误")
        return redirect("egov:desk")
    output = tempfile.TemporaryFile()
    try:
        result = application_export(acting_user=request.user, output=output, filters=form.filters())
    except ApplicationError as exc:
        output.close()
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        messages.error(request, exc.message)
        return redirect("egov:desk")
    output.seek(0)
    response = FileResponse(output, as_attachment=True, filename=result.filename, content_type=XLSX)
    response["Cache-Control"] = "no-store"
    return response


# --- one application -----------------------------------------------------------------------------------------

def _detail_context(request, pk, **forms_):
    detail = selectors.application_get(user=request.user, application_id=pk)
    actions = services.available_actions(request.user, detail.application)
    data = presenters.application_detail(detail, actions)
    app = detail.application
    approve_initial = {"amount": yuan(app.amount_fen or app.item.standard_amount_fen).replace(",", "")}
    context = {
        "app": app, "data": data, "actions": actions, "item": app.item,
        "note_form": NoteForm(), "verify_form": RequiredNoteForm(), "reason_form": ReasonForm(),
        "return_form": ReturnForm(item=app.item), "approve_form": ApproveForm(initial=approve_initial),
        "material_form": MaterialForm(item=app.item), "pay_form": PayForm(initial={"client_key": uuid.uuid4().hex}),
        "can_pay": can(request.user, "egov.pay") and app.state in (State.APPROVED, State.COMPLETED),
        "events": data["timeline"],
    }
    context.update(forms_)
    return context


@page
def application_detail(request, pk: int):
    """An application: the applicant (masked), the answers, the scans, the clock, the timeline, the
    payments, and the steps the user may take now."""
    return render(request, "egov/application_detail.html", _detail_context(request, pk))


ACTION_FORMS = {
    Action.ACCEPT: NoteForm, Action.TOWN_PASS: NoteForm, Action.RESUBMIT: NoteForm, Action.COMPLETE: NoteForm,
    Action.VERIFY: RequiredNoteForm, Action.REFUSE: ReasonForm, Action.WITHDRAW: ReasonForm,
    Action.RETURN: ReturnForm, Action.APPROVE: ApproveForm,
}


@page
@require_POST
def act(request, pk: int, action: str):
    """One step from the page's forms; errors come back as a message on the application's page."""
    if action not in ACTION_FORMS:
        raise Http404
    form_class = ACTION_FORMS[action]
    kwargs = {}
    if form_class is ReturnForm:
        kwargs["item"] = selectors.application_get(user=request.user, application_id=pk).application.item
    form = form_class(request.POST, **kwargs)
    if not form.is_valid():
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
        return redirect("egov:application_detail", pk=pk)
    d = form.cleaned_data
    user = request.user
    try:
        if action == Action.ACCEPT:
            services.application_accept(acting_user=user, application_id=pk, note=d["note"])
        elif action == Action.TOWN_PASS:
            services.application_town_pass(acting_user=user, application_id=pk, note=d["note"])
        elif action == Action.RESUBMIT:
            services.application_resubmit(acting_user=user, application_id=pk, note=d["note"])
        elif action == Action.COMPLETE:
            services.application_complete(acting_user=user, application_id=pk, note=d["note"])
        elif action == Action.VERIFY:
            amount = d.get("proposed_amount")
            services.application_verify(acting_user=user, application_id=pk, note=d["note"],
                                        proposed_amount_fen=fen_from_yuan(amount) if amount else None)
        elif action == Action.REFUSE:
            services.application_refuse(acting_user=user, application_id=pk, reason=d["reason"])
        elif action == Action.WITHDRAW:
            services.application_withdraw(acting_user=user, application_id=pk, reason=d["reason"])
        elif action == Action.RETURN:
            services.application_return(acting_user=user, application_id=pk, missing_materials=d["missing_materials"],
                                        reason=d["reason"])
        elif action == Action.APPROVE:
            services.application_approve(acting_user=user, application_id=pk, amount_fen=form.amount_fen(),
                                         payee_account=d.get("payee_account") or None, note=d["note"])
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已{Action(action).label}。")
    return redirect("egov:application_detail", pk=pk)


@page
@require_POST
def material_upload(request, pk: int):
    app = selectors.application_get(user=request.user, application_id=pk).application
    form = MaterialForm(request.POST, request.FILES, item=app.item)
    if form.is_valid():
        try:
            services.application_material_add(acting_user=request.user, application_id=pk,
                                              material_code=form.cleaned_data["material_code"],
                                              upload=form.cleaned_data["file"])
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "材料已上传。")
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("egov:application_detail", pk=pk)


@page
def material_download(request, pk: int, material_id: int):
    handle, content_type, name = selectors.material_open(user=request.user, application_id=pk,
                                                         material_id=material_id)
    response = FileResponse(handle, content_type=content_type, filename=name)
    response["Cache-Control"] = "private, no-store"
    return response


@page
@require_POST
def pay(request, pk: int, payment_id: int):
    form = PayForm(request.POST)
    if form.is_valid():
        try:
            services.payment_record(acting_user=request.user, payment_id=payment_id,
                                    reference=form.cleaned_data["reference"], paid_on=form.cleaned_data["paid_on"],
                                    idempotency_key=form.cleaned_data.get("client_key") or None)
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "已登记发放。")
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("egov:application_detail", pk=pk)


# --- 政策找人 -----------------------------------------------------------------------------------------------------

@page
def matches(request):
    """政策找人 for a grid (the grid worker's own, or ?region= in scope): residents who look entitled
    and have neither applied nor been refused, each with a link to the item's form for them."""
    try:
        node = selectors.match_region(request.user, request.GET.get("region") or None)
    except ApplicationError as exc:
        if exc.status == 400:
            return render(request, "egov/matches.html", {"error": exc.message}, status=400)
        raise
    qs = selectors.match_list(user=request.user, region=node.code, item=request.GET.get("item") or None)
    p, page_range = _paginate(request, qs, 50)
    return render(request, "egov/matches.html", {
        "node": node, "page": p, "page_range": page_range, "rows": [presenters.match_row(m) for m in p.object_list],
        "last_scan": selectors.last_scan(node.code), "can_scan": node.level == 4,
        "can_apply": can(request.user, "egov.apply"),
    })


@page
@require_POST
def match_scan(request):
    grid = request.POST.get("grid") or ""
    try:
        scan = services.eligibility_scan_grid(grid_code=grid, acting_user=request.user)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已重新匹配：核对 {scan.residents} 人，{scan.rules} 条规则，{scan.matches} 条匹配。")
    return redirect(f"{reverse('egov:matches')}?region={grid}")


# --- statistics ----------------------------------------------------------------------------------------------

@page
def stats(request):
    """Counts by state, category, item, level and month; on-time rate; money paid — for any node in scope."""
    if not can(request.user, "egov.view"):
        raise PermissionDenied()
    form = StatsForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    region = filters.get("region") or None
    if region and not get_scope(request.user).covers(region):
        raise NotFound()
    result = selectors.application_stats(user=request.user, region=region, since=filters.get("since"),
                                         until=filters.get("until"))
    top = max([r["count"] for r in result.by_month] or [1])
    for r in result.by_month:
        r["width"] = round(100 * r["count"] / top) if top else 0
    return render(request, "egov/stats.html", {
        "form": form, "s": result, "paid_yuan": yuan(result.paid_fen), "scheduled_yuan": yuan(result.scheduled_fen),
        "rate": f"{result.on_time_rate:.1%}" if result.on_time_rate is not None else "—",
        "drill": result.region is not None and len(result.region.code) < 15,
    })
