import uuid

from django import forms
from django.utils import timezone

from gridgov.core.forms import DATETIME_INPUT

from .choices import NeedKind


class VisitForm(forms.Form):
    """The grid worker's visit form: pre-filled with what the platform knows (time, position, checklist)."""

    visited_at = forms.DateTimeField(label="走访时间", widget=DATETIME_INPUT, error_messages={
        "required": "请填写走访时间", "invalid": "请输入正确的时间"})
    checklist = forms.MultipleChoiceField(label="检查项（已查看的打勾）", required=False,
                                          widget=forms.CheckboxSelectMultiple)
    findings = forms.CharField(label="走访情况", required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 4, "placeholder": "身体、生活、家庭、安全等情况"}))
    need_case = forms.CharField(label="发现的问题（转事件上报）", required=False, max_length=500,
                                widget=forms.Textarea(attrs={"rows": 2}))
    need_service = forms.CharField(label="需要代办的服务", required=False, max_length=500,
                                   widget=forms.Textarea(attrs={"rows": 2}))
    need_other = forms.CharField(label="其他诉求", required=False, max_length=500,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    photo = forms.FileField(label="现场照片", required=False, widget=forms.ClearableFileInput(
        attrs={"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}))
    lon = forms.FloatField(required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    accuracy_m = forms.FloatField(required=False, widget=forms.HiddenInput)
    # A fresh id per form shown: pressing "save" twice, or re-posting after a timeout, records one visit.
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, checklist_items: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["checklist"].choices = [(c["item"], c["item"]) for c in checklist_items or []]
        if not self.is_bound:
            self.initial.setdefault("visited_at", timezone.localtime().replace(microsecond=0, second=0))
            self.initial.setdefault("client_id", uuid.uuid4())

    def needs(self) -> list[dict]:
        data = self.cleaned_data
        return [{"kind": kind, "text": data[key]} for key, kind in (
            ("need_case", NeedKind.CASE), ("need_service", NeedKind.SERVICE), ("need_other", NeedKind.OTHER))
            if data.get(key)]


class CoverageForm(forms.Form):
    region = forms.RegexField(label="区划代码", required=False, regex=r"^[0-9]{6}([0-9]{3}){0,3}$",
                              error_messages={"invalid": "区划代码应为 6、9、12 或 15 位数字"})
    date = forms.DateField(label="日期", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                           error_messages={"invalid": "请输入正确的日期"})


class MonthForm(forms.Form):
    month = forms.RegexField(label="月份", required=False, regex=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
                             widget=forms.TextInput(attrs={"type": "month"}),
                             error_messages={"invalid": "月份格式应为 2026-11"})
