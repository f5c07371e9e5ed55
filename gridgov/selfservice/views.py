"""/my/: the resident's mobile pages (Chinese, large touch targets, no inline scripts). Thin: parse,
call a selector or service, render; refusals become form errors."""

import uuid

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from gridgov.core.errors import ApplicationError, NotFound

from . import presenters, selectors, services
from .auth import address, clear_cookie, current_session, resident_required, set_cookie

PAGE = 20


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/my/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("selfservice:home")


@require_http_methods(["GET", "POST"])
def login(request):
    """Two steps on one page: the phone number, then the code sent to it."""
    if current_session(request) is not None and request.method == "GET":
        return redirect("selfservice:home")
    context = {"step": "phone", "phone": "", "error": "", "next": _safe_next(request)}
    status = 200
    if request.method == "POST":
        phone = (request.POST.get("phone") or "").strip()
        context["phone"] = phone
        try:
            if request.POST.get("step") == "code":
                context["step"] = "code"
                _, raw = services.otp_verify(phone=phone, code=request.POST.get("code", ""), address=address(request))
                response = redirect(context["next"])
                set_cookie(request, response, raw)
                return response
            services.otp_request(phone=phone, address=address(request))
            context["step"] = "code"
            context["sent"] = True
        except ApplicationError as error:
            context["error"] = error.message
            status = error.status
    return render(request, "selfservice/login.html", context, status=status)


@require_POST
def logout(request):
    session = current_session(request)
    if session is not None:
        services.session_end(session=session)
    response = redirect("selfservice:login")
    clear_cookie(response)
    return response


@resident_required
def home(request):
    resident = request.resident
    return render(request, "selfservice/home.html", {
        "resident": resident, "points": selectors.household_points(resident),
        "reports": [presenters.case_out(c) for c in selectors.report_list(resident)[:3]],
        "applications": [presenters.application_out(a) for a in selectors.application_list(resident)[:3]],
    })


@resident_required
def points(request):
    return render(request, "selfservice/points.html", {"points": selectors.household_points(request.resident)})


def _page(request, qs):
    try:
        page = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        page = 1
    count = qs.count()
    last = max(1, (count + PAGE - 1) // PAGE)
    page = min(page, last)
    return qs[(page - 1) * PAGE: page * PAGE], {"page": page, "last": last, "count": count,
                                               "previous": page - 1 if page > 1 else None,
                                               "next": page + 1 if page < last else None}


@resident_required
def applications(request):
    rows, pager = _page(request, selectors.application_list(request.resident))
    return render(request, "selfservice/applications.html",
                  {"items": [presenters.application_out(a) for a in rows], "pager": pager})


@resident_required
def application(request, application_id: int):
    try:
        app = selectors.application_get(request.resident, application_id)
    except NotFound:
        raise Http404 from None
    return render(request, "selfservice/application.html", {"app": presenters.application_out(app)})


@resident_required
def reports(request):
    rows, pager = _page(request, selectors.report_list(request.resident))
    return render(request, "selfservice/reports.html", {"items": [presenters.case_out(c) for c in rows],
                                                         "pager": pager})


@resident_required
def report(request, number: str):
    try:
        case = selectors.report_get(request.resident, number)
    except NotFound:
        raise Http404 from None
    return render(request, "selfservice/report.html", {"case": presenters.case_out(case, detail=True)})


@resident_required
@require_http_methods(["GET", "POST"])
def report_new(request):
    """上报问题: category, description, optional photo and position (filled by the phone's GPS)."""
    data = request.POST if request.method == "POST" else {}
    error = ""
    if request.method == "POST":
        try:
            case = services.problem_report(
                resident=request.resident, category=data.get("category", ""), description=data.get("description", ""),
                lon=data.get("lon") or None, lat=data.get("lat") or None, address=data.get("address", ""),
                photo=request.FILES.get("photo"), form_id=data.get("form_id") or None)
            messages.success(request, f"已提交，编号 {case.number}。处理进度可在“我的反映”中查看。")
            return redirect("selfservice:report", number=case.number)
        except ApplicationError as error_:
            error = error_.message
    return render(request, "selfservice/report_new.html", {
        "categories": selectors.report_categories(), "data": data, "error": error,
        "form_id": data.get("form_id") or uuid.uuid4()}, status=400 if error else 200)


@resident_required
@require_http_methods(["GET", "POST"])
def deed_new(request):
    """好人好事: a fixed-value points item; the village cadres verify it."""
    data = request.POST if request.method == "POST" else {}
    error = ""
    if request.method == "POST":
        try:
            from datetime import date

            try:
                occurred = date.fromisoformat(data.get("occurred_on", ""))
            except ValueError:
                occurred = None
            claim = services.good_deed_report(
                resident=request.resident, item=data.get("item", ""), occurred_on=occurred,
                description=data.get("description", ""), photo=request.FILES.get("photo"),
                form_id=data.get("form_id") or None)
            messages.success(request, f"已提交“{claim.item.name}”，村里核实后计入积分。")
            return redirect("selfservice:points")
        except ApplicationError as error_:
            error = error_.message
    return render(request, "selfservice/deed_new.html", {
        "items": selectors.claimable_items(), "data": data, "error": error,
        "today": timezone.localdate().isoformat(), "form_id": data.get("form_id") or f"my-{uuid.uuid4().hex}"},
        status=400 if error else 200)
