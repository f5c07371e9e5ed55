"""Pages of the intake desk: the hotline form, the intake log with filters and its Excel export,
one message. Thin: parse, call a selector or service, render."""

import functools
import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from gridgov.accounts.policy import can
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied

from . import selectors, services
from .export import message_export
from .forms import HotlineForm, MessageFilterForm
from .presenters import message_row

PAGE_SIZE = 25
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def page(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except PermissionDenied:
            return render(request, "core/forbidden.html", status=403)

    return login_required(wrapped)


@page
def hotline(request):
    if not can(request.user, "intake.hotline"):
        raise PermissionDenied()
    form = HotlineForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                msg, replayed = services.hotline_call_record(acting_user=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                if isinstance(exc, PermissionDenied):
                    raise
                field = (exc.extra or {}).get("field")
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                done = f"案件 {msg.case.number}" if msg.case_id else f"积分申报 #{msg.claim_id}"
                if replayed:
                    messages.info(request, f"来电 {msg.external_id} 已登记过：{done}")
                else:
                    messages.success(request, f"已受理：{done}")
                return redirect("intake:message", pk=msg.pk) if can(request.user, "intake.view") \
                    else redirect("intake:hotline")
        status = 400
    return render(request, "intake/hotline.html", {"form": form, "can_view": can(request.user, "intake.view")},
                  status=status)


@page
def message_list(request):
    if not can(request.user, "intake.view"):
        raise PermissionDenied()
    form = MessageFilterForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    filters = form.filters() if request.GET and valid else {}
    try:
        qs = selectors.message_list(user=request.user, **filters)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        valid, qs = False, selectors.message_list(user=request.user).none()
    p = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    page_range = p.paginator.get_elided_page_range(p.number, on_each_side=2, on_ends=1)
    return render(request, "intake/messages.html", {
        "form": form, "page": p, "page_range": page_range, "rows": [message_row(m) for m in p.object_list],
        "filtered": bool(filters), "can_export": can(request.user, "intake.export"),
        "can_hotline": can(request.user, "intake.hotline"),
    }, status=200 if valid else 400)


@page
@require_POST
def export(request):
    if not can(request.user, "intake.export"):
        raise PermissionDenied()
    form = MessageFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, "导出条件有误")
        return redirect("intake:messages")
    output = tempfile.TemporaryFile()
    try:
        filename = message_export(acting_user=request.user, output=output, filters=form.filters())
    except ApplicationError as exc:
        output.close()
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        messages.error(request, exc.message)
        return redirect("intake:messages")
    output.seek(0)
    response = FileResponse(output, as_attachment=True, filename=filename, content_type=XLSX)
    response["Cache-Control"] = "no-store"
    return response


@page
def message_detail(request, pk: int):
    msg = selectors.message_get(user=request.user, message_id=pk)
    return render(request, "intake/message.html", {"m": message_row(msg)})
