from django import forms

from .models import AuditOutcome

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S")


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label="操作人账号", required=False, max_length=150)
    # Matched as a prefix: "auth" finds auth.login, auth.logout and auth.lockout.
    action = forms.CharField(label="操作", required=False, max_length=64,
                             widget=forms.TextInput(attrs={"placeholder": "前缀匹配，如 auth"}))
    object_type = forms.CharField(label="对象类型", required=False, max_length=64)
    object_id = forms.CharField(label="对象标识", required=False, max_length=64)
    region = forms.RegexField(label="区划代码前缀", required=False, regex=r"^[0-9]{1,15}$",
                              widget=forms.TextInput(attrs={"placeholder": "如 420881103", "inputmode": "numeric"}),
                              error_messages={"invalid": "区划代码只能是 1-15 位数字"})
    outcome = forms.ChoiceField(label="结果", required=False, choices=[("", "全部"), *AuditOutcome.choices])
    since = forms.DateTimeField(label="起始时间", required=False, widget=DATETIME_INPUT,
                                error_messages={"invalid": "请输入正确的时间"})
    until = forms.DateTimeField(label="截止时间", required=False, widget=DATETIME_INPUT,
                                error_messages={"invalid": "请输入正确的时间"})

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", "截止时间应晚于起始时间")
        return data
