"""Pages of the security administrator (安全管理员): who holds the administrator roles, grant and
revoke them, reset a user's second factor. Everything here needs accounts.security (else 403)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied

from . import security_admin, twofactor
from .choices import ADMIN_ROLES, Role
from .models import Assignment, User
from .policy import can

ROLE_CHOICES = [(r.value, r.label) for r in Role if r in ADMIN_ROLES]


class GrantForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150, error_messages={"required": "请填写用户名"})
    role = forms.ChoiceField(label="角色", choices=ROLE_CHOICES,
                             error_messages={"required": "请选择角色", "invalid_choice": "只能授予三员角色"})


class ResetForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150, error_messages={"required": "请填写用户名"})
    confirm = forms.BooleanField(label="已当面或电话核实本人身份，确认重置其双因素认证",
                                 error_messages={"required": "请先确认已核实本人身份"})


def _forbidden(request):
    return render(request, "core/forbidden.html", status=403)


def _user(form, field="username"):
    user = User.objects.filter(username=form.cleaned_data[field], is_active=True).first()
    if user is None:
        form.add_error(field, "没有这个用户")
    return user


def _page(request, grant_form=None, reset_form=None, status=200):
    holders = (Assignment.objects.filter(role__in=ADMIN_ROLES, is_active=True)
               .select_related("user").order_by("role", "user__username"))
    return render(request, "accounts/security/admin.html", {
        "holders": holders, "grant_form": grant_form or GrantForm(), "reset_form": reset_form or ResetForm(),
    }, status=status)


@login_required
def security_admin_page(request):
    if not can(request.user, "accounts.security"):
        return _forbidden(request)
    return _page(request)


@login_required
@require_POST
def role_grant(request):
    if not can(request.user, "accounts.security"):
        return _forbidden(request)
    form = GrantForm(request.POST)
    user = _user(form) if form.is_valid() else None
    if user is None:
        return _page(request, grant_form=form, status=400)
    try:
        security_admin.admin_role_grant(acting_user=request.user, user=user, role=form.cleaned_data["role"])
    except PermissionDenied:
        form.add_error("username", "不能给自己授予管理员角色")
        return _page(request, grant_form=form, status=403)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _page(request, grant_form=form, status=400)
    messages.success(request, f"已授予 {user.username} {Role(form.cleaned_data['role']).label}角色。")
    return redirect("accounts:security_admin")


@login_required
@require_POST
def role_revoke(request, pk: int):
    if not can(request.user, "accounts.security"):
        return _forbidden(request)
    try:
        assignment = security_admin.admin_role_revoke(acting_user=request.user, assignment_id=pk)
    except NotFound:
        raise Http404 from None
    except PermissionDenied:
        return _forbidden(request)
    messages.success(request, f"已撤销 {assignment.user.username} 的{assignment.get_role_display()}角色。")
    return redirect("accounts:security_admin")


@login_required
@require_POST
def two_factor_reset(request):
    if not can(request.user, "accounts.security"):
        return _forbidden(request)
    form = ResetForm(request.POST)
    user = _user(form) if form.is_valid() else None
    if user is None:
        return _page(request, reset_form=form, status=400)
    try:
        twofactor.reset(acting_user=request.user, user=user)
    except PermissionDenied:
        form.add_error("username", "不能重置自己的双因素认证")
        return _page(request, reset_form=form, status=403)
    messages.success(request, f"已重置 {user.username} 的双因素认证，其下次登录时重新绑定。")
    return redirect("accounts:security_admin")
