"""Pages for 法定保存 holds: list the open ones in scope, set one, release one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from gridgov.accounts.policy import can
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied

from . import services
from .forms import HoldForm, ReleaseForm


def _forbidden(request):
    return render(request, "core/forbidden.html", status=403)


def _render(request, form, status=200):
    holds = services.holds_visible_to(request.user)[:200]
    return render(request, "privacy/holds.html", {"holds": holds, "form": form}, status=status)


@login_required
def hold_list(request):
    if not can(request.user, "privacy.hold"):
        return _forbidden(request)
    if request.method != "POST":
        return _render(request, HoldForm())
    form = HoldForm(request.POST)
    if not form.is_valid():
        return _render(request, form, status=400)
    try:
        services.hold_set(acting_user=request.user, resident_id=form.cleaned_data["resident_id"],
                          reason=form.cleaned_data["reason"])
    except NotFound:
        form.add_error("resident_id", "人员不存在或不在您的管辖范围内")
        return _render(request, form, status=404)
    except PermissionDenied:
        return _forbidden(request)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _render(request, form, status=400)
    messages.success(request, "已冻结：该人员的个人信息在解除前不会按保存期限删除。")
    return redirect("privacy:hold_list")


@login_required
@require_POST
def hold_release(request, pk: int):
    if not can(request.user, "privacy.hold"):
        return _forbidden(request)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
        return _render(request, HoldForm(), status=400)
    try:
        services.hold_release(acting_user=request.user, hold_id=pk, reason=form.cleaned_data["reason"])
    except NotFound:
        raise Http404 from None
    except PermissionDenied:
        return _forbidden(request)
    messages.success(request, "已解除冻结。")
    return redirect("privacy:hold_list")
