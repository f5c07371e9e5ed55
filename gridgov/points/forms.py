"""Forms of the points pages. They parse input only; the rules live in the services."""

import uuid
from datetime import date

from django import forms
from django.utils import timezone

from .choices import Category, CertificatePurpose, ClaimChannel, ClaimSource, ClaimStatus, EntryKind, SubjectKind


class ClaimForm(forms.Form):
    item = forms.ChoiceField(label="积分项目")
    points = forms.IntegerField(label="分值", required=False, min_value=1, max_value=100_000,
                                help_text="固定分值的项目可不填")
    occurred_on = forms.DateField(label="发生日期", widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ChoiceField(label="反映渠道", choices=ClaimChannel.choices, initial=ClaimChannel.IN_PERSON)
    source = forms.ChoiceField(label="申报方式", choices=ClaimSource.choices, initial=ClaimSource.GRID_WORKER)
    reporter_name = forms.CharField(label="反映人", required=False, max_length=50, help_text="邻里帮报时必填")
    description = forms.CharField(label="事实经过", max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    public_reason = forms.CharField(label="公示事由", required=False, max_length=200,
                                    help_text="会在村公示栏公开，勿写电话、身份证号、健康状况；默认为项目名称")
    evidence = forms.CharField(label="证明材料说明", required=False, max_length=500)
    evidence_file = forms.FileField(label="证明材料附件", required=False, help_text="照片或 PDF，10 MB 以内")
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        groups: dict[str, list] = {}
        labels = dict(Category.choices)
        for item in items:
            groups.setdefault(str(labels[item.category]), []).append(
                (item.code, f"{item.code} {item.name}（{item.points_text} 分）"))
        self.fields["item"].choices = [("", "请选择")] + list(groups.items())
        if not self.is_bound:
            self.initial.setdefault("occurred_on", timezone.localdate())
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)


class NoteForm(forms.Form):
    note = forms.CharField(label="意见", required=False, max_length=300)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="理由", max_length=300)


class RedeemForm(forms.Form):
    goods = forms.ChoiceField(label="兑换物品")
    quantity = forms.IntegerField(label="数量", min_value=1, max_value=99, initial=1)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, goods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["goods"].choices = [("", "请选择")] + [
            (str(g.pk), f"{g.shop.name} · {g.name}（{g.cost} 分/{g.unit}，库存 {g.stock}）") for g in goods]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)


class CertificateForm(forms.Form):
    purpose = forms.ChoiceField(label="证明用途", choices=CertificatePurpose.choices)


class GoodsForm(forms.Form):
    name = forms.CharField(label="名称", max_length=100)
    cost = forms.IntegerField(label="所需积分", min_value=1, max_value=1_000_000)
    stock = forms.IntegerField(label="初始库存", min_value=0, max_value=100_000, initial=0)
    unit = forms.CharField(label="单位", max_length=10, initial="件")


class StockForm(forms.Form):
    delta = forms.IntegerField(label="数量变化", min_value=-100_000, max_value=100_000,
                               help_text="补货填正数；盘点减少填负数并说明")
    note = forms.CharField(label="说明", required=False, max_length=200)


class ShopForm(forms.Form):
    region = forms.ChoiceField(label="所在镇/村")
    name = forms.CharField(label="名称", max_length=100)
    address = forms.CharField(label="地址", required=False, max_length=200)
    opening_hours = forms.CharField(label="开放时间", required=False, max_length=100)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, r.name) for r in regions]


def _year_choices():
    this = timezone.localdate().year
    return [(str(y), f"{y}年") for y in range(this, this - 6, -1)]


class RankingForm(forms.Form):
    region = forms.RegexField(label="区域代码", regex=r"^\d{6}(\d{3}(\d{3}(\d{3})?)?)?$", required=False,
                              widget=forms.TextInput(attrs={"placeholder": "区域代码（留空为本辖区）"}))
    period = forms.ChoiceField(label="周期", choices=[("month", "月度"), ("year", "年度")], required=False)
    year = forms.TypedChoiceField(label="年份", coerce=int, required=False)
    month = forms.TypedChoiceField(label="月份", coerce=int, required=False,
                                   choices=[("", "—")] + [(str(m), f"{m}月") for m in range(1, 13)])
    kind = forms.ChoiceField(label="主体类别", choices=SubjectKind.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = _year_choices()


class LedgerFilterForm(forms.Form):
    region = forms.RegexField(label="区域代码", regex=r"^\d{6}(\d{3}(\d{3}(\d{3})?)?)?$", required=False,
                              widget=forms.TextInput(attrs={"placeholder": "区域代码（留空为本辖区）"}))
    kind = forms.ChoiceField(label="类型", choices=[("", "全部")] + list(EntryKind.choices), required=False)
    date_from = forms.DateField(label="从", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="至", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict:
        data = self.cleaned_data
        return {k: v for k, v in data.items() if v not in (None, "")}


class ClaimFilterForm(forms.Form):
    status = forms.ChoiceField(label="状态", choices=[("", "全部")] + list(ClaimStatus.choices), required=False)
    region = forms.RegexField(label="区域代码", regex=r"^\d{6}(\d{3}(\d{3}(\d{3})?)?)?$", required=False,
                              widget=forms.TextInput(attrs={"placeholder": "区域代码（留空为本辖区）"}))
    awaiting_me = forms.BooleanField(label="只看等我审核", required=False)


class VerifyForm(forms.Form):
    code = forms.CharField(label="证明编号", max_length=40)


def parse_month(value: str | None) -> date | None:
    try:
        year, month = (int(x) for x in (value or "").split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        return None
