from django import forms


class HoldForm(forms.Form):
    resident_id = forms.IntegerField(label="人员编号", min_value=1, max_value=2**63 - 1,
                                     error_messages={"required": "请填写人员编号", "invalid": "人员编号应为数字",
                                                     "max_value": "人员编号无效"})
    reason = forms.CharField(label="冻结原因（法定保存依据，如诉讼、调查、档案法规定）", min_length=4, max_length=200,
                             error_messages={"required": "请填写冻结原因", "min_length": "冻结原因至少 4 个字"})


class ReleaseForm(forms.Form):
    reason = forms.CharField(label="解除原因", min_length=4, max_length=200,
                             error_messages={"required": "请填写解除原因", "min_length": "解除原因至少 4 个字"})
