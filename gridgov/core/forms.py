from django import forms

from .models import AuditOutcome


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label="操作人账号", required=False, max_length=150)
    action = forms.CharField(label="操作", required=False, max_length=64)
    object_type = forms.CharField(label="对象类型", required=False, max_length=64)
    object_id = forms.CharField(label="对象标识", required=False, max_length=64)
    region = forms.RegexField(label="区划代码前缀", required=False, regex=r"^[0-9]{1,15}$",
                              error_messages={"invalid": "区划代码只能是 1-15 位数字"})
    outcome = forms.ChoiceField(label="结果", required=False, choices=[("", "全部"), *AuditOutcome.choices])
    since = forms.DateTimeField(label="起始时间", required=False)
    until = forms.DateTimeField(label="截止时间", required=False)
