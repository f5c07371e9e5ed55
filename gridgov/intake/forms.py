from django import forms

from gridgov.cases.models import CaseCategory

from .models import Channel, Outcome

KINDS = [("case", "事件上报（转案件）"), ("claim", "好人好事（转积分申报）")]


class HotlineForm(forms.Form):
    call_ref = forms.CharField(label="来电编号", max_length=40, help_text="话务系统的呼叫流水号；同一编号只登记一次")
    caller_phone = forms.CharField(label="来电号码", max_length=20)
    caller_name = forms.CharField(label="来电人", max_length=50, required=False)
    kind = forms.ChoiceField(label="受理类型", choices=KINDS, widget=forms.RadioSelect, initial="case")
    category = forms.ChoiceField(label="案件分类", required=False,
                                 help_text="不确定可不选：按“其他”受理，由中心登记时改分类")
    grid = forms.CharField(label="网格代码", max_length=15, required=False,
                           help_text="事件发生地所在网格（15 位）；与经纬度二选一")
    lon = forms.FloatField(label="经度", required=False)
    lat = forms.FloatField(label="纬度", required=False)
    address = forms.CharField(label="地址", max_length=200, required=False)
    description = forms.CharField(label="来电内容", max_length=2000, widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        leaves = CaseCategory.objects.filter(is_active=True, parent__isnull=False).order_by("code")
        self.fields["category"].choices = [("", "—— 其他 ——")] + [(c.code, f"{c.code} {c.name}") for c in leaves]


class MessageFilterForm(forms.Form):
    channel = forms.ChoiceField(label="渠道", required=False, choices=[("", "全部渠道"), *Channel.choices])
    outcome = forms.ChoiceField(label="结果", required=False, choices=[("", "全部结果"), *Outcome.choices])
    q = forms.CharField(label="搜索", required=False, max_length=64,
                        widget=forms.TextInput(attrs={"placeholder": "消息编号、案件编号或内容"}))
    date_from = forms.DateField(label="从", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="到", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
