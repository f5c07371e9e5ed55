"""Pages of 上情下达 and 下情上报. Thin: parse a form, call a selector or service, render.

Missing and out-of-scope rows are the 404 page, a missing permission the 403 page; service errors go
back onto the form or into a message.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from gridgov.accounts.policy import can, require
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied

from . import presenters, selectors, services
from .access import access_notice, access_report, sees_whole
from .choices import NoticeStatus, ReportStatus
from .forms import AckForm, HandleForm, InboxFilterForm, NoticeForm, ReportFilterForm, ReportForm, ToCaseForm

PAGE_SIZE = 25


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


def _page(request, qs):
    paginator = Paginator(qs, PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    return current, paginator.get_elided_page_range(current.number, on_each_side=2, on_ends=1)


def _perms(user) -> dict:
    return {k.replace(".", "_"): can(user, k) for k in
            ("notices.send", "notices.stats", "reports.send", "reports.view", "reports.handle", "cases.report")}


def _fail(exc: ApplicationError, form=None, request=None):
    field = (exc.extra or {}).get("field")
    if form is not None and field in form.fields:
        form.add_error(field, exc.message)
    elif form is not None:
        form.add_error(None, exc.message)
    else:
        messages.error(request, exc.message)


# --- notices ----------------------------------------------------------------------------------------


@page
def inbox(request):
    require(request.user, "notices.view")
    form = InboxFilterForm(request.GET or None)
    show, q = ("", "")
    if form.is_valid():
        show, q = form.cleaned_data["show"], form.cleaned_data["q"]
    qs = selectors.inbox(request.user, unread=True if show == "unread" else None,
                         unacked=show == "unacked" or None, q=q)
    current, page_range = _page(request, qs)
    rows = [{"r": r, "overdue": presenters.is_overdue(r)} for r in current]
    return render(request, "notices/inbox.html", {
        "form": form, "page": current, "page_range": page_range, "rows": rows, "filtered": bool(show or q),
        "counts": selectors.inbox_counts(request.user), "perms": _perms(request.user), "active": "inbox"})


@page
def detail(request, pk: int):
    notice = access_notice(request.user, pk)
    receipt = services.notice_read(acting_user=request.user, notice=notice.pk)
    hide = notice.status == NoticeStatus.WITHDRAWN and not sees_whole(request.user, notice)
    return render(request, "notices/detail.html", {
        "notice": notice, "receipt": receipt, "hide": hide, "attachments": [] if hide else notice.attachments.all(),
        "departments": notice.target_departments.all(), "ack_form": AckForm(),
        "can_withdraw": presenters.can_withdraw(request.user, notice),
        "can_stats": presenters.can_stats(request.user, notice), "perms": _perms(request.user)})


@page
@require_POST
def ack(request, pk: int):
    form = AckForm(request.POST)
    if not form.is_valid():
        messages.error(request, "签收意见不能超过 500 个字")
        return redirect("notices:detail", pk=pk)
    try:
        services.acknowledge(request.user, pk, form.cleaned_data["comment"])
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已签收。")
    return redirect("notices:detail", pk=pk)


@page
@require_POST
def withdraw(request, pk: int):
    try:
        services.notice_withdraw(acting_user=request.user, notice=pk, reason=request.POST.get("reason", ""))
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "通知已撤回，已从所有接收人的收件箱中移除。")
    return redirect("notices:detail", pk=pk)


@page
def compose(request):
    require(request.user, "notices.send")
    form = NoticeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notice = services.notice_send(
                acting_user=request.user, title=data["title"], body_html=data["body_html"], region=data["region"],
                roles=data["roles"], departments=data.get("departments") or [], requires_ack=data["requires_ack"],
                ack_deadline=data["ack_deadline"], files=request.FILES.getlist("files"))
        except PermissionDenied:
            raise
        except ApplicationError as exc:
            _fail(exc, form)
        else:
            messages.success(request, f"通知已发送给 {notice.recipient_count} 人。")
            return redirect("notices:detail", pk=notice.pk)
    return render(request, "notices/compose.html", {"form": form, "perms": _perms(request.user), "active": "compose"},
                  status=400 if form.is_bound and form.errors else 200)


@page
def sent(request):
    require(request.user, "notices.view")
    mine = request.GET.get("mine") == "1" or not can(request.user, "notices.stats")
    q = request.GET.get("q", "")[:100]
    current, page_range = _page(request, selectors.notice_list(request.user, mine=mine, q=q))
    return render(request, "notices/sent.html", {"page": current, "page_range": page_range, "mine": mine, "q": q,
                                                 "perms": _perms(request.user), "active": "sent"})


@page
def stats(request, pk: int):
    notice = access_notice(request.user, pk)
    region = request.GET.get("region") or None
    if region is not None and not (region.isdigit() and len(region) in (6, 9, 12, 15)):
        raise NotFound()
    data = selectors.notice_stats(request.user, notice, region)
    state = request.GET.get("state") if request.GET.get("state") in ("unread", "unacked") else None
    people = None
    if state:
        people, people_range = _page(request, selectors.notice_receipts(request.user, notice, node=region,
                                                                         state=state))
        for r in people:
            r.role_label = presenters.ROLE_LABELS.get(r.role, r.role)
    return render(request, "notices/stats.html", {
        "notice": notice, "s": data, "state": state, "page": people,
        "page_range": people_range if state else None, "region": region or "", "perms": _perms(request.user)})


# --- reports ----------------------------------------------------------------------------------------


@page
def report_desk(request):
    user = request.user
    mine = request.GET.get("mine") == "1" or not can(user, "reports.view")
    if mine and not can(user, "reports.send") and not can(user, "reports.view"):
        raise PermissionDenied()
    form = ReportFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.report_list(user, status=filters.get("status") or None, category=filters.get("category") or None,
                               q=filters.get("q") or "", mine=mine)
    current, page_range = _page(request, qs)
    return render(request, "notices/reports.html", {
        "form": form, "page": current, "page_range": page_range, "mine": mine, "perms": _perms(user),
        "active": "reports"})


@page
def report_new(request):
    require(request.user, "reports.send")
    form = ReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            report = services.report_send(acting_user=request.user, category=d["category"], text=d["text"],
                                          lon=d.get("lon"), lat=d.get("lat"), photo=d.get("photo"))
        except PermissionDenied:
            raise
        except ApplicationError as exc:
            _fail(exc, form)
        else:
            messages.success(request, "已上报到村（社区）和镇（街道）。")
            return redirect("notices:report_detail", pk=report.pk)
    return render(request, "notices/report_form.html", {"form": form, "perms": _perms(request.user),
                                                        "active": "reports"},
                  status=400 if form.is_bound and form.errors else 200)


@page
def report_detail(request, pk: int):
    report = access_report(request.user, pk)
    from gridgov.accounts.policy import get_scope

    desk = can(request.user, "reports.handle") and get_scope(request.user).covers(report.region_id)
    return render(request, "notices/report_detail.html", {
        "report": report, "d": presenters.report_dict(report), "desk": desk,
        "open": report.status in (ReportStatus.NEW, ReportStatus.READ),
        "handle_form": HandleForm(), "case_form": ToCaseForm() if desk and can(request.user, "cases.report") else None,
        "perms": _perms(request.user)})


def _report_action(request, pk: int, call, done: str):
    try:
        result = call()
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("notices:report_detail", pk=pk)
    messages.success(request, done if "{}" not in done else done.format(result.number))
    return redirect("notices:report_detail", pk=pk)


@page
@require_POST
def report_read(request, pk: int):
    return _report_action(request, pk, lambda: services.report_mark_read(acting_user=request.user, report=pk),
                          "已标记为已阅。")


@page
@require_POST
def report_handle(request, pk: int):
    return _report_action(request, pk, lambda: services.report_handle(
        acting_user=request.user, report=pk, note=request.POST.get("note", "")), "已标记为已处理。")


@page
@require_POST
def report_case(request, pk: int):
    return _report_action(request, pk, lambda: services.report_to_case(
        acting_user=request.user, report=pk, category=request.POST.get("category", "")), "已转为案件 {}。")


