"""Forms of the egov pages. They parse and present; the services decide (and answer in Chinese)."""

from django import forms

from .answers import PREFILLS, fen_from_yuan
from .choices import Category, QuestionType, State

MONTH_ATTRS = {"type": "month"}


class DeskFilterForm(forms.Form):
    state = forms.CharField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(label="申请人或编号", required=False, max_length=50)
    item = forms.ChoiceField(label="服务事项", required=False)
    category = forms.ChoiceField(label="类别", required=False, choices=[("", "全部"), *Category.choices])
    region = forms.RegexField(label="区划代码前缀", required=False, regex=r"^[0-9]{1,15}$",
                              error_messages={"invalid": "区划代码只能是 1-15 位数字"},
                              widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "如 420881103"}))
    month = forms.RegexField(label="申请月份", required=False, regex=r"^\d{4}-\d{2}$",
                             error_messages={"invalid": "月份格式应为 2026-03"},
                             widget=forms.TextInput(attrs=MONTH_ATTRS))
    overdue = forms.BooleanField(label="只看逾期", required=False)

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "全部"), *[(i.code, f"{i.code} {i.name}") for i in items]]

    def clean_state(self):
        value = self.cleaned_data.get("state") or ""
        states = [s for s in value.split(",") if s]
        if any(s not in State.values for s in states):
            raise forms.ValidationError("状态无效")
        return ",".join(states)

    def filters(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}


class ResidentPickForm(forms.Form):
    q = forms.CharField(label="申请人姓名", max_length=50, min_length=1,
                        widget=forms.TextInput(attrs={"placeholder": "输入姓名查找本辖区居民", "autofocus": True}))


class ApplyForm(forms.Form):
    """The item's own form: a field per question (pre-filled from the registry where it says so), a
    file field per material, the payee for paying items, and 立即受理 for the grid administrator."""

    def __init__(self, *args, item, prefill=None, can_accept=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.item = item
        prefill = prefill or {}
        self.question_names = []
        for q in item.questions:
            name = f"q_{q['key']}"
            self.question_names.append(name)
            self.fields[name] = self._field(q)
            if q.get("prefill") in PREFILLS and prefill.get(q["prefill"]) is not None:
                self.fields[name].initial = prefill[q["prefill"]]
                self.fields[name].help_text = "已从人口信息预填，请核对"
        self.material_names = []
        for m in item.materials:
            name = f"m_{m['code']}"
            self.material_names.append(name)
            self.fields[name] = forms.FileField(
                label=m["name"] + ("（必备）" if m.get("required") else "（可选）"), required=False,
                widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
                help_text="PDF、JPEG 或 PNG，单个不超过 10 MB")
        if item.pays_money:
            self.fields["payee_name"] = forms.CharField(label="收款人", required=False, max_length=50,
                                                        help_text="默认为申请人本人")
            self.fields["payee_account"] = forms.CharField(label="收款账号（银行卡或一卡通）", required=False,
                                                           max_length=40, widget=forms.TextInput(
                                                               attrs={"inputmode": "numeric", "autocomplete": "off"}))
        if can_accept:
            self.fields["accept"] = forms.BooleanField(label="材料齐全，立即受理", required=False, initial=True)
        self.fields["client_key"] = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    @staticmethod
    def _field(q):
        label, required = q.get("label", q["key"]), bool(q.get("required"))
        kind = q.get("type", QuestionType.TEXT)
        if kind == QuestionType.CHOICE:
            return forms.ChoiceField(label=label, required=required,
                                     choices=[("", "请选择"), *[(c, c) for c in q.get("choices", [])]])
        if kind == QuestionType.INT:
            return forms.IntegerField(label=label, required=required, min_value=q.get("min"), max_value=q.get("max"))
        if kind == QuestionType.MONEY:
            return forms.DecimalField(label=label + "", required=required, min_value=0, decimal_places=2,
                                      max_digits=12)
        if kind == QuestionType.BOOL:
            return forms.ChoiceField(label=label, required=required, choices=[("", "请选择"), ("true", "是"),
                                                                              ("false", "否")])
        if kind == QuestionType.DATE:
            return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs={"type": "date"}))
        limit = int(q.get("max") or 500)
        widget = forms.Textarea(attrs={"rows": 3}) if limit > 100 else forms.TextInput()
        return forms.CharField(label=label, required=required, max_length=limit, widget=widget)

    def answers(self) -> dict:
        out = {}
        for q in self.item.questions:
            value = self.cleaned_data.get(f"q_{q['key']}")
            if value in (None, ""):
                continue
            out[q["key"]] = value.isoformat() if hasattr(value, "isoformat") else (
                str(value) if q.get("type") == QuestionType.MONEY else value)
        return out

    def uploads(self) -> list[tuple[str, object]]:
        return [(name[2:], self.cleaned_data[name]) for name in self.material_names if self.cleaned_data.get(name)]


class NoteForm(forms.Form):
    note = forms.CharField(label="意见", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class RequiredNoteForm(forms.Form):
    note = forms.CharField(label="核实意见", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    proposed_amount = forms.DecimalField(label="建议金额（元）", required=False, min_value=0, decimal_places=2,
                                         max_digits=12)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="理由", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class ReturnForm(forms.Form):
    missing_materials = forms.MultipleChoiceField(label="需补正的材料", widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label="补正说明", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, item=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["missing_materials"].choices = [(m["code"], m["name"]) for m in (item.materials if item else [])]


class ApproveForm(forms.Form):
    amount = forms.DecimalField(label="核定金额（元）", required=False, min_value=0, decimal_places=2, max_digits=12)
    payee_account = forms.CharField(label="收款账号（不改可不填）", required=False, max_length=40)
    note = forms.CharField(label="审批意见", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def amount_fen(self):
        value = self.cleaned_data.get("amount")
        return fen_from_yuan(value) if value not in (None, "") else None


class MaterialForm(forms.Form):
    material_code = forms.ChoiceField(label="材料")
    file = forms.FileField(label="文件", widget=forms.ClearableFileInput(
        attrs={"accept": "application/pdf,image/jpeg,image/png"}))

    def __init__(self, *args, item=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["material_code"].choices = [(m["code"], m["name"]) for m in (item.materials if item else [])]


class PayForm(forms.Form):
    reference = forms.CharField(label="发放凭证号", max_length=64, min_length=4)
    paid_on = forms.DateField(label="发放日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    client_key = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)


class StatsForm(forms.Form):
    region = forms.RegexField(label="区划代码", required=False, regex=r"^[0-9]{6}([0-9]{3}){0,3}$",
                              error_messages={"invalid": "区划代码应为 6、9、12 或 15 位数字"})
    since = forms.DateField(label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
