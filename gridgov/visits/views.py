"""Pages: the grid worker's day (今日走访, the visit form), a visit, coverage, overdue, a worker's month."""

import calendar
import functools
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from gridgov.accounts.policy import can, get_scope
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied
from gridgov.regions import codes
from gridgov.regions.models import Region

from . import selectors, services
from .access import access_visit
from .forms import CoverageForm, MonthForm, VisitForm

WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日"]


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


def _default_region(user) -> str | None:
    roots = get_scope(user).root_codes
    return roots[0] if roots else None


def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _breadcrumb(user, code: str) -> list[dict]:
    chain = codes.ancestor_codes(code)
    names = dict(Region.objects.filter(code__in=chain).values_list("code", "name"))
    scope = get_scope(user)
    return [{"code": c, "name": names.get(c, c), "link": scope.covers(c)} for c in chain]


@page
def today(request):
    """The must-visit list of a grid for a day: the worker's own grid, or ?grid= for supervisors."""
    day = _parse_day(request.GET.get("date"))
    try:
        result = selectors.must_visit_list(user=request.user, grid=request.GET.get("grid") or None, day=day)
    except ApplicationError as exc:
        if exc.status == 400:
            return render(request, "visits/today.html", {"error": exc.message}, status=400)
        raise
    return render(request, "visits/today.html", {
        "result": result, "items": result.items, "can_record": can(request.user, "visits.record"),
        "is_today": result.day == timezone.localdate(), "prev_day": result.day - timedelta(days=1),
    })


@page
@require_http_methods(["GET", "POST"])
def record(request, resident_id: int):
    """The visit form for one resident. Errors from the service come back onto the form."""
    brief = selectors.visit_brief(user=request.user, resident_id=resident_id)
    form = VisitForm(request.POST or None, request.FILES or None, checklist_items=brief.checklist)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            visit = services.visit_record(
                acting_user=request.user, resident=brief.resident, visited_at=data["visited_at"],
                lon=data.get("lon"), lat=data.get("lat"), accuracy_m=data.get("accuracy_m"),
                findings=data.get("findings") or "", needs=form.needs(), checklist=data.get("checklist") or [],
                photo=data.get("photo"), client_id=data.get("client_id"),
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            field = exc.extra.get("field")
            field = {"needs": "need_case"}.get(field, field)
            form.add_error(field if field in form.fields and field not in ("lon", "lat", "accuracy_m",
                                                                          "client_id") else None, exc.message)
        else:
            if visit.location_check == "outside_grid":
                messages.warning(request, f"已保存。定位距网格约 {visit.distance_to_grid_m:.0f} 米，"
                                          "已标记为不在网格内。")
            else:
                messages.success(request, f"已保存对{brief.resident.name}的走访。")
            return redirect(f"{reverse('visits:today')}?grid={visit.region_id}")
    return render(request, "visits/record.html", {"brief": brief, "form": form},
                  status=400 if form.is_bound and form.errors else 200)


@page
def visit_detail(request, pk: int):
    visit = access_visit(request.user, pk)
    return render(request, "visits/visit_detail.html", {
        "visit": visit, "checklist": selectors.visible_checklist(visit, request.user), "needs": visit.needs.all(),
    })


@page
def visit_photo(request, pk: int):
    handle, content_type = selectors.visit_photo(user=request.user, visit_id=pk)
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@page
def coverage(request):
    """Visited vs required for a node and its children on a day, with links down the tree."""
    form = CoverageForm(request.GET or None)
    region, day = None, None
    if form.is_bound and form.is_valid():
        region, day = form.cleaned_data.get("region") or None, form.cleaned_data.get("date")
    region = region or _default_region(request.user)
    if region is None:
        raise PermissionDenied()
    if form.is_bound and not form.is_valid():
        return render(request, "visits/coverage.html", {"form": form}, status=400)
    try:
        result = selectors.coverage(user=request.user, region=region, day=day)
    except ApplicationError as exc:
        if exc.status == 400:
            form.add_error("date", exc.message)
            return render(request, "visits/coverage.html", {"form": form}, status=400)
        raise
    return render(request, "visits/coverage.html", {
        "form": form, "result": result, "breadcrumb": _breadcrumb(request.user, result.region.code),
        "is_grid": result.region.level == 4, "date_param": result.day.isoformat(),
    })


@page
def overdue(request):
    form = CoverageForm(request.GET or None)
    region, day = None, None
    if form.is_bound and form.is_valid():
        region, day = form.cleaned_data.get("region") or None, form.cleaned_data.get("date")
    region = region or _default_region(request.user)
    if region is None:
        raise PermissionDenied()
    items = selectors.overdue_list(user=request.user, region=region, day=day)
    node = Region.objects.get(code=region)
    page_obj = Paginator(items, 50).get_page(request.GET.get("page"))
    return render(request, "visits/overdue.html", {
        "form": form, "region": node, "page": page_obj, "breadcrumb": _breadcrumb(request.user, region),
        "day": day or timezone.localdate(),
    })


@page
def worker_month(request, user_id: int):
    form = MonthForm(request.GET or None)
    month = None
    if form.is_bound and form.is_valid() and form.cleaned_data.get("month"):
        year, mon = form.cleaned_data["month"].split("-")
        month = date(int(year), int(mon), 1)
    result = selectors.worker_month(user=request.user, worker_id=user_id, month=month)
    by_day = {d.day: d for d in result.days}
    weeks = [[by_day.get(d) if d.month == result.month.month else None for d in week]
             for week in calendar.Calendar(0).monthdatescalendar(result.month.year, result.month.month)]
    prev_month = (result.month.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    next_month = (result.month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return render(request, "visits/worker_month.html", {
        "result": result, "weeks": weeks, "weekdays": WEEKDAYS, "today": timezone.localdate(),
        "prev_month": prev_month,
        "next_month": next_month.strftime("%Y-%m") if next_month <= timezone.localdate() else None,
    })


@login_required
def index(request):
    if can(request.user, "visits.record"):
        return redirect("visits:today")
    return redirect("visits:coverage")
