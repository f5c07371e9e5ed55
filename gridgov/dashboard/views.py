"""Dashboard pages: a node's dashboard, the grid workers' monthly evaluation, the article report and
the wall screen. Thin: parse, call the selectors, render; charts and the map load their data from
/api/v1/dashboard with static JS (static/dashboard/dashboard.js)."""

import functools
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from gridgov.accounts.policy import can, get_scope, require
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.regions import codes as region_codes
from gridgov.regions.models import Region

from . import selectors

LEVEL_NAMES = {1: "市", 2: "镇（街道）", 3: "村（社区）", 4: "网格"}


def page(view):
    """Login required; missing or out of scope → 404 page; a role without the permission → 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except PermissionDenied:
            return render(request, "core/forbidden.html", status=403)

    return login_required(wrapped)


def _period(request):
    """The period asked for, or the current month with a message when it is malformed."""
    g = request.GET
    try:
        return selectors.parse_period(g.get("start") or None, g.get("end") or None, g.get("month") or None)
    except ValidationFailed as e:
        messages.error(request, e.message)
        return selectors.parse_period()


def _context(request, node, period, **extra):
    scope = get_scope(request.user)
    chain = Region.objects.filter(code__in=region_codes.ancestor_codes(node.code)).order_by("code")
    query = urlencode({"start": period.start.isoformat(), "end": period.end.isoformat()})
    return {"node": node, "period": period, "query": query, "level_name": LEVEL_NAMES[node.level],
            "breadcrumb": [{"code": r.code, "name": r.name, "link": scope.covers(r.code)} for r in chain],
            "can_export": can(request.user, "dashboard.export"), "month": period.start.strftime("%Y-%m"), **extra}


@page
def index(request):
    require(request.user, "dashboard.view")
    code = selectors.home_node(request.user)
    if not code:
        raise NotFound()
    return redirect("dashboard:node", code=code)


@page
def node(request, code: str):
    period = _period(request)
    data = selectors.node_kpis(user=request.user, code=code, period=period)
    node = selectors.access_node(request.user, code)
    return render(request, "dashboard/node.html", _context(
        request, node, period, k=data, children=selectors.children(user=request.user, code=code, period=period),
        departments=selectors.rank_departments(data["cases"]["departments"]),
        map_kpis=selectors.MAP_KPIS, coverage_visible=selectors.coverage_visible(request.user)))


@page
def wall(request, code: str):
    period = _period(request)
    node = selectors.access_node(request.user, code)
    data = selectors.node_kpis(user=request.user, code=code, period=period)
    return render(request, "dashboard/wall.html", _context(request, node, period, k=data,
                                                            map_kpis=selectors.MAP_KPIS))


@page
def workers(request, code: str):
    month = request.GET.get("month") or f"{timezone.localdate():%Y-%m}"
    try:
        period = selectors.parse_period(month=month)
    except ValidationFailed as e:
        messages.error(request, e.message)
        period = selectors.parse_period()
    node = selectors.access_node(request.user, code)
    rows = selectors.worker_evaluation(user=request.user, code=code, month=period.start)
    q = (request.GET.get("q") or "").strip()
    if q:
        rows = [r for r in rows if q in r["grid_name"] or q in r["worker"] or q in r["village"]]
    page_obj = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "dashboard/workers.html", _context(
        request, node, period, page_obj=page_obj, q=q, total=len(rows),
        coverage_visible=selectors.coverage_visible(request.user)))


@page
def report(request, code: str):
    g = request.GET
    try:
        period = selectors.parse_period(g.get("since") or "2021-01-01", g.get("until") or None)
    except ValidationFailed as e:
        messages.error(request, e.message)
        period = selectors.parse_period("2021-01-01")
    node = selectors.access_node(request.user, code)
    data = selectors.article_report(user=request.user, code=code, since=period.start, until=period.end)
    return render(request, "dashboard/report.html", _context(request, node, period, report=data))
