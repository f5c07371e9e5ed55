from django import forms

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.regions.models import Region

from .choices import ReportCategory, ReportStatus
from .services import TARGET_ROLES, _allowed_departments

ROLE_LABELS = dict(Role.choices)


class InboxFilterForm(forms.Form):
    show = forms.ChoiceField(required=False, label="", choices=[("", "全部"), ("unread", "未读"),
                                                                  ("unacked", "待签收")])
    q = forms.CharField(required=False, max_length=100, label="",
                        widget=forms.TextInput(attrs={"placeholder": "搜索标题或正文", "type": "search"}))


class NoticeForm(forms.Form):
    title = forms.CharField(label="标题", max_length=120)
    body_html = forms.CharField(label="正文", required=False, max_length=50_000,
                                widget=forms.Textarea(attrs={"rows": 10, "data-rich": "1"}),
                                help_text="可使用段落、加粗、列表、表格、链接；其余格式与脚本会被清除")
    region = forms.ChoiceField(label="发送范围（含下级）")
    roles = forms.MultipleChoiceField(label="接收角色", required=False, widget=forms.CheckboxSelectMultiple,
                                      choices=[(r, ROLE_LABELS[r]) for r in TARGET_ROLES],
                                      help_text="不选表示范围内全部角色")
    departments = forms.MultipleChoiceField(label="接收部门", required=False, widget=forms.CheckboxSelectMultiple,
                                            help_text="只选部门、不选角色时，仅发给所选部门（含下属派出机构）")
    requires_ack = forms.BooleanField(label="需要签收", required=False)
    ack_deadline = forms.DateTimeField(label="签收截止时间", required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                  format="%Y-%m-%dT%H:%M"),
                                       input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from gridgov.accounts.policy import get_scope

        roots = get_scope(user).region_prefixes
        q = Region.objects.none()
        for root in roots:
            q = q | Region.objects.filter(code__startswith=root, level__lte=3)
        self.fields["region"].choices = [(r.code, f"{'　' * (r.level - 1)}{r.name}（{r.code}）")
                                         for r in q.order_by("code")[:1000]]
        allowed = _allowed_departments(user)
        self.fields["departments"].choices = [(str(d.pk), d.name) for d in
                                              Department.objects.filter(pk__in=allowed, is_active=True)]
        if not self.fields["departments"].choices:
            del self.fields["departments"]


class AckForm(forms.Form):
    comment = forms.CharField(label="签收意见（可选）", required=False, max_length=500,
                              widget=forms.TextInput(attrs={"placeholder": "如：已传达到各网格"}))


class WithdrawForm(forms.Form):
    reason = forms.CharField(label="撤回原因", max_length=200)


class ReportForm(forms.Form):
    category = forms.ChoiceField(label="类别", choices=ReportCategory.choices)
    text = forms.CharField(label="内容", max_length=2000, widget=forms.Textarea(attrs={"rows": 6}))
    lon = forms.FloatField(label="经度", required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(label="纬度", required=False, widget=forms.HiddenInput)
    photo = forms.FileField(label="照片（可选）", required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))


class ReportFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, label="", choices=[("", "全部状态"), *ReportStatus.choices])
    category = forms.ChoiceField(required=False, label="", choices=[("", "全部类别"), *ReportCategory.choices])
    q = forms.CharField(required=False, max_length=100, label="",
                        widget=forms.TextInput(attrs={"placeholder": "搜索内容", "type": "search"}))


class HandleForm(forms.Form):
    note = forms.CharField(label="处理意见", max_length=500)


class ToCaseForm(forms.Form):
    category = forms.ChoiceField(label="案件分类")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from gridgov.cases.models import CaseCategory

        self.fields["category"].choices = [
            (c.code, f"{c.parent.name if c.parent_id else ''} · {c.name}") for c in
            CaseCategory.objects.filter(is_active=True, level=2).select_related("parent").order_by("code")]
