"""Pages of police tips and informant rewards (助警信息 / 助警奖励): send, list/inbox, one tip with its
actions, the reward funds with their ledger, and the totals."""

import functools
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from gridgov.accounts.policy import can, get_scope, require
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied

from .models.tip import FundEntryKind, RecipientKind, TipState
from .tips import selectors, services
from .tips.access import access_fund, access_tip, manages_fund
from .tips.scope import DEPARTMENT_ROLES, OPERATOR_ROLES, SENDER_ROLES

PAGE_SIZE = 50


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


def yuan_to_fen(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


class YuanField(forms.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), **kwargs)


# --- forms ---------------------------------------------------------------------------------------

class TipForm(forms.Form):
    content = forms.CharField(label="信息内容", max_length=2000, widget=forms.Textarea(attrs={"rows": 5}),
                              error_messages={"required": "请填写信息内容"})
    region_code = forms.RegexField(label="所涉区域代码（留空为本人网格）", required=False,
                                   regex=r"^[0-9]{9}([0-9]{3}){0,2}$",
                                   error_messages={"invalid": "区域代码应为 9、12 或 15 位数字"})
    informant_name = forms.CharField(label="信息提供人姓名", required=False, max_length=50)
    informant_phone = forms.CharField(label="信息提供人电话", required=False, max_length=20)
    case_id = forms.IntegerField(label="关联案件编号（内部编号，可空）", required=False, min_value=1)
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_id", uuid.uuid4())


class FilterForm(forms.Form):
    state = forms.ChoiceField(label="状态", required=False, choices=[("", "全部状态"), *TipState.choices])
    since = forms.DateField(label="推送日期起", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="推送日期止", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    region = forms.RegexField(label="区划代码前缀", required=False, regex=r"^[0-9]{1,15}$",
                              error_messages={"invalid": "区划代码只能是 1-15 位数字"})


class DecideForm(forms.Form):
    useful = forms.TypedChoiceField(label="研判结果", choices=[("1", "有价值"), ("0", "无价值")],
                                    coerce=lambda v: v == "1", widget=forms.RadioSelect)
    note = forms.CharField(label="研判意见", required=False, max_length=500)


class RewardForm(forms.Form):
    amount = YuanField(label="奖励金额（元）")
    recipient_kind = forms.ChoiceField(label="受奖人", choices=RecipientKind.choices, widget=forms.RadioSelect)
    recipient_name = forms.CharField(label="受奖人姓名（其他人员）", required=False, max_length=50)
    recipient_phone = forms.CharField(label="受奖人电话（其他人员）", required=False, max_length=20)
    note = forms.CharField(label="奖励说明", required=False, max_length=500)


class PayForm(forms.Form):
    reference = forms.CharField(label="凭证号", required=False, max_length=100)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


class DepositForm(forms.Form):
    amount = YuanField(label="拨入金额（元）")
    reference = forms.CharField(label="凭证号", required=False, max_length=100)
    note = forms.CharField(label="说明", required=False, max_length=500)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


class TotalsForm(forms.Form):
    since = forms.DateField(label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    region = forms.RegexField(label="区划代码", required=False, regex=r"^[0-9]{6}([0-9]{3}){0,3}$",
                              error_messages={"invalid": "区划代码应为 6、9、12 或 15 位数字"})


def _apply_error(form: forms.Form, exc: ApplicationError) -> None:
    field = exc.extra.get("field")
    form.add_error(field if field in form.fields and not form.fields[field].widget.is_hidden else None, exc.message)


# --- pages ---------------------------------------------------------------------------------------

@page
def index(request):
    require(request.user, "tips.view")
    roles = get_scope(request.user).roles
    if roles & SENDER_ROLES and not roles & (DEPARTMENT_ROLES | OPERATOR_ROLES):
        return redirect(f"{_list_url()}?mine=1")
    if roles & DEPARTMENT_ROLES:
        return redirect(f"{_list_url()}?inbox=1")
    return redirect(_list_url())


def _list_url() -> str:
    return reverse("tips:list")


@page
def tip_list(request):
    require(request.user, "tips.view")
    form = FilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    mine, inbox = request.GET.get("mine") == "1", request.GET.get("inbox") == "1"
    try:
        qs = selectors.tip_list(user=request.user, mine=mine, inbox=inbox, **filters)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        _apply_error(form, exc)
        qs = selectors.tip_list(user=request.user, mine=mine, inbox=inbox)
    page_obj = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    title = "我报送的助警信息" if mine else ("派出所收件箱" if inbox else "助警信息")
    return render(request, "cases/tips_list.html", {
        "form": form, "page": page_obj, "title": title, "mine": mine, "inbox": inbox,
        "can_send": can(request.user, "tips.send"), "can_funds": can(request.user, "tips.fund.view"),
    }, status=400 if form.is_bound and form.errors else 200)


@page
@require_http_methods(["GET", "POST"])
def tip_send(request):
    require(request.user, "tips.send")
    form = TipForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tip = services.tip_send(acting_user=request.user, content=data["content"],
                                    region_code=data.get("region_code") or None, case_id=data.get("case_id"),
                                    informant_name=data.get("informant_name") or "",
                                    informant_phone=data.get("informant_phone") or "",
                                    client_id=data.get("client_id"))
        except NotFound as exc:
            form.add_error(exc.extra.get("field") or None, exc.message)
        except PermissionDenied:
            raise
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, f"已推送至{tip.station.name}。")
            return redirect("tips:detail", pk=tip.pk)
    return render(request, "cases/tips_send.html", {"form": form},
                  status=400 if form.is_bound and form.errors else 200)


def _detail_context(request, tip, **forms_) -> dict:
    actions = selectors.can_act(request.user, tip)
    fund = services.serving_fund(tip) if actions["pay"] else None
    return {
        "tip": tip, "events": selectors.tip_events(tip), "actions": actions,
        "informant": selectors.informant_view(tip, request.user),
        "recipient": selectors.recipient_view(tip, request.user), "fund": fund,
        "decide_form": forms_.get("decide_form") or DecideForm(),
        "reward_form": forms_.get("reward_form") or RewardForm(initial={"recipient_kind": RecipientKind.SENDER}),
        "pay_form": forms_.get("pay_form") or PayForm(initial={"idempotency_key": uuid.uuid4().hex}),
    }


@page
def tip_detail(request, pk: int):
    tip = access_tip(request.user, pk)
    return render(request, "cases/tips_detail.html", _detail_context(request, tip))


def _transition(request, pk: int, form: forms.Form, name: str, action, success: str):
    error = None
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            _apply_error(form, exc)
            error = exc.message  # shown on top too: the form may no longer be offered in the tip's state
        else:
            messages.success(request, success)
            return redirect("tips:detail", pk=pk)
    tip = access_tip(request.user, pk)
    return render(request, "cases/tips_detail.html",
                  {**_detail_context(request, tip, **{name: form}), "error": error}, status=400)


@page
@require_POST
def tip_decide(request, pk: int):
    return _transition(request, pk, DecideForm(request.POST), "decide_form", lambda d: services.tip_decide(
        acting_user=request.user, tip_id=pk, useful=d["useful"], note=d.get("note") or ""), "已记录研判结果。")


@page
@require_POST
def tip_reward(request, pk: int):
    return _transition(request, pk, RewardForm(request.POST), "reward_form", lambda d: services.tip_reward_decide(
        acting_user=request.user, tip_id=pk, amount_fen=yuan_to_fen(d["amount"]), recipient_kind=d["recipient_kind"],
        recipient_name=d.get("recipient_name") or "", recipient_phone=d.get("recipient_phone") or "",
        note=d.get("note") or ""), "已核定奖励。")


@page
@require_POST
def tip_pay(request, pk: int):
    return _transition(request, pk, PayForm(request.POST), "pay_form", lambda d: services.reward_pay(
        acting_user=request.user, tip_id=pk, idempotency_key=d["idempotency_key"],
        reference=d.get("reference") or ""), "奖励已发放。")


@page
def fund_list(request):
    funds = list(selectors.fund_list(user=request.user))
    checks = {f.pk: services.fund_verify(f) for f in funds}
    return render(request, "cases/tips_funds.html", {
        "funds": [{"fund": f, "check": checks[f.pk]} for f in funds],
    })


@page
@require_http_methods(["GET", "POST"])
def fund_detail(request, pk: int):
    fund = access_fund(request.user, pk)
    may_manage = manages_fund(request.user, fund)
    form = DepositForm(request.POST or None, initial={"idempotency_key": uuid.uuid4().hex})
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied()
        if form.is_valid():
            d = form.cleaned_data
            try:
                result = services.fund_deposit(acting_user=request.user, fund_id=pk,
                                               amount_fen=yuan_to_fen(d["amount"]),
                                               idempotency_key=d["idempotency_key"],
                                               reference=d.get("reference") or "", note=d.get("note") or "")
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as exc:
                _apply_error(form, exc)
            else:
                messages.success(request, "已重复提交，未重复入账。" if result.replayed else "已拨入资金。")
                return redirect("tips:fund_detail", pk=pk)
    kind = request.GET.get("kind") if request.GET.get("kind") in FundEntryKind.values else None
    entries = selectors.fund_entries(user=request.user, fund=fund, kind=kind)
    page_obj = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/tips_fund_detail.html", {
        "fund": fund, "page": page_obj, "check": services.fund_verify(fund), "may_manage": may_manage,
        "form": form, "kinds": FundEntryKind.choices, "kind": kind,
    }, status=400 if form.is_bound and form.errors else 200)


@page
def totals(request):
    # Without a period the page shows the year so far.
    form = TotalsForm(request.GET or None, initial={"since": timezone.localdate().replace(month=1, day=1)})
    params: dict = {"since": form.initial["since"]} if not form.is_bound else {}
    if form.is_bound and form.is_valid():
        params = {k: v for k, v in form.cleaned_data.items() if v}
    try:
        result = selectors.tip_totals(user=request.user, **params)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        _apply_error(form, exc)
        result = selectors.tip_totals(user=request.user)
    return render(request, "cases/tips_totals.html", {"form": form, "result": result},
                  status=400 if form.is_bound and form.errors else 200)

