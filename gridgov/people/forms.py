"""Forms of the people pages. They parse and show errors; the rules live in services/selectors."""

from django import forms

from .choices import OrganisationKind, PoliticalStatus, ResidencyStatus, ResidentState
from .presenters import REVEALABLE_FIELDS

ALL = [("", "全部")]


def _textarea(placeholder: str) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": 2, "placeholder": placeholder})


class BlankAfterSubmit(forms.TextInput):
    """An exact ID or phone is searched for but never written back into the page."""

    def format_value(self, value):
        return None


class ResidentSearchForm(forms.Form):
    q = forms.CharField(label="姓名", required=False, max_length=50)
    id_tail = forms.RegexField(label="身份证后四位", required=False, regex=r"^[0-9]{3}[0-9Xx]$", max_length=4,
                               error_messages={"invalid": "身份证后四位应为 4 位数字（最后一位可为 X）"})
    id_number = forms.CharField(label="完整身份证号码", required=False, max_length=20, widget=BlankAfterSubmit,
                                help_text="精确查找，不会显示在页面上")
    phone = forms.CharField(label="联系电话", required=False, max_length=20, widget=BlankAfterSubmit,
                            help_text="完整号码精确查找，不会显示在页面上")
    address = forms.CharField(label="地址", required=False, max_length=100)
    tag = forms.ChoiceField(label="关爱对象", required=False, choices=ALL)
    region = forms.RegexField(label="区划代码前缀", required=False, regex=r"^[0-9]{1,15}$", max_length=15,
                              error_messages={"invalid": "区划代码只能是 1-15 位数字"})
    residency_status = forms.ChoiceField(label="人口类型", required=False, choices=ALL + list(ResidencyStatus.choices))
    state = forms.ChoiceField(label="状态", required=False, choices=ALL + list(ResidentState.choices))
    # Exact searches travel as blind-index tokens (see views.resident_list), never as the number.
    id_index = forms.RegexField(required=False, regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)
    phone_index = forms.RegexField(required=False, regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)

    def __init__(self, *args, tag_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Only the groups the user may see: a hidden group is not even offered as a filter.
        self.fields["tag"].choices = ALL + [(t.code, t.name) for t in tag_types]
        self.fields["id_number"].widget.attrs["autocomplete"] = "off"
        self.fields["phone"].widget.attrs["autocomplete"] = "off"

    def clean_id_tail(self):
        return (self.cleaned_data.get("id_tail") or "").upper()

    def filters(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v}


class RevealForm(forms.Form):
    what = forms.MultipleChoiceField(
        label="要查看的信息", choices=list(REVEALABLE_FIELDS.items()), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请选择要查看的信息"},
    )
    reason = forms.CharField(label="查看原因", min_length=4, max_length=500,
                             widget=_textarea("如：协助办理临时救助，需核对身份证号码"),
                             error_messages={"required": "请填写查看原因", "min_length": "查看原因至少 4 个字"})


class ReasonForm(forms.Form):
    reason = forms.CharField(label="申请说明", min_length=4, max_length=500,
                             widget=_textarea("如：本人到村委会申请查阅个人信息"),
                             error_messages={"required": "请填写申请说明", "min_length": "申请说明至少 4 个字"})


class CorrectionForm(forms.Form):
    """Fields shown with their current values; personal fields start empty (never put a
    plaintext ID or phone into a page) and are changed only when something is typed."""

    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="公民身份号码", required=False, max_length=20,
                                help_text="不修改请留空；填写后性别和出生日期随之更正")
    phone = forms.CharField(label="联系电话", required=False, max_length=20, help_text="不修改请留空")
    clear_phone = forms.BooleanField(label="清除联系电话", required=False)
    ethnicity = forms.CharField(label="民族", max_length=20)
    residency_status = forms.ChoiceField(label="人口类型", choices=ResidencyStatus.choices)
    political_status = forms.ChoiceField(label="政治面貌", choices=PoliticalStatus.choices)
    occupation = forms.CharField(label="职业/工作单位", required=False, max_length=100)
    state = forms.ChoiceField(label="状态", choices=ResidentState.choices)
    reason = forms.CharField(label="更正原因", min_length=4, max_length=500,
                             widget=_textarea("如：本人申请更正，已核对户口簿"),
                             error_messages={"required": "请填写更正原因", "min_length": "更正原因至少 4 个字"})

    PLAIN = ("name", "ethnicity", "residency_status", "political_status", "occupation", "state")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("id_number", "phone"):
            self.fields[name].widget.attrs["autocomplete"] = "off"

    def changes(self) -> dict:
        data = self.cleaned_data
        out = {k: data[k] for k in self.PLAIN if str(data.get(k) or "") != str(self.initial.get(k) or "")}
        if data.get("id_number"):
            out["id_number"] = data["id_number"]
        if data.get("clear_phone"):
            out["phone"] = ""
        elif data.get("phone"):
            out["phone"] = data["phone"]
        return out


class ExportForm(ResidentSearchForm):
    unmasked = forms.BooleanField(label="导出完整身份证号码和电话（需授权，记入审计）", required=False)


class OrganisationSearchForm(forms.Form):
    q = forms.CharField(label="单位名称", required=False, max_length=50)
    kind = forms.ChoiceField(label="单位类型", required=False, choices=ALL + list(OrganisationKind.choices))
    region = forms.RegexField(label="区划代码前缀", required=False, regex=r"^[0-9]{1,15}$", max_length=15,
                              error_messages={"invalid": "区划代码只能是 1-15 位数字"})

    def filters(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v}
