"""Forms of the case pages. They parse and show errors in Chinese; every rule beyond the shape of
the input (who may, in which state, which category admits which urgency …) lives in the services.

- DeskFilterForm: the case desk's filters, turned into selectors.case_list keyword arguments.
- ReportForm / SelfResolveReportForm: a new case (上报) and a small problem fixed on the spot (自行处置).
- ACTION_FORMS: one small form per workflow action, keyed by the action name of workflow.TABLE.
"""

from django import forms
from django.core.exceptions import ValidationError

from gridgov.accounts.models import Department

from .choices import OPEN_STATES, CaseState, CategoryKind, Source, Urgency
from .models import CaseCategory

ALL = [("", "全部")]
OPEN = "open"  # the desk's "办理中" tab: every open state at once
DUE_CHOICES = [("", "全部"), ("due_soon", "临期"), ("overdue", "超期")]

REQUIRED = {"required": "请填写此项"}


def _textarea(placeholder: str = "", rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder})


def category_choices(*, leaves_only: bool = True, self_resolvable: bool = False, blank: str | None = None):
    """Active categories grouped for a <select>: one optgroup per kind and class (部件 · 公用设施 …)."""
    rows = list(CaseCategory.objects.filter(is_active=True).select_related("parent")
                .order_by("kind", "sort_order", "code"))
    kind_order = {k: i for i, k in enumerate(CategoryKind.values)}
    parents = {c.pk: c for c in rows if c.parent_id is None}
    groups: dict[int, list] = {}
    for c in rows:
        if self_resolvable and not c.self_resolvable:
            continue
        if c.parent_id is None:
            if leaves_only:
                continue
            groups.setdefault(c.pk, []).insert(0, (c.code, f"{c.name}（全部）"))
            continue
        groups.setdefault(c.parent_id, []).append((c.code, c.name))
    out = [("", blank)] if blank is not None else []
    ordered = sorted(groups, key=lambda pk: (kind_order.get(parents[pk].kind, 9), parents[pk].sort_order,
                                              parents[pk].code) if pk in parents else (9, 0, ""))
    for pk in ordered:
        parent = parents.get(pk)
        label = f"{CategoryKind(parent.kind).label} · {parent.name}" if parent else "其他"
        out.append((label, groups[pk]))
    return out


def department_choices(blank: str = "全部部门"):
    rows = Department.objects.filter(is_active=True).order_by("kind", "code").values_list("code", "name")
    return [("", blank)] + list(rows)


class DeskFilterForm(forms.Form):
    """The case desk's filters (GET). `filters()` gives selectors.case_list's keyword arguments."""

    state = forms.ChoiceField(label="状态", required=False)
    q = forms.CharField(label="编号或内容", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "案件编号、描述或地址"}))
    category = forms.ChoiceField(label="分类", required=False)
    urgency = forms.ChoiceField(label="紧急程度", required=False, choices=ALL + list(Urgency.choices))
    due = forms.ChoiceField(label="时限", required=False, choices=DUE_CHOICES)
    source = forms.ChoiceField(label="来源", required=False, choices=ALL + list(Source.choices))
    region = forms.RegexField(label="区划", required=False, regex=r"^[0-9]{1,15}$", max_length=15,
                              widget=forms.TextInput(attrs={"list": "region-options", "inputmode": "numeric",
                                                            "placeholder": "区划代码，如 420881103"}),
                              error_messages={"invalid": "区划代码只能是 1-15 位数字"})
    department = forms.ChoiceField(label="责任部门", required=False)
    since = forms.DateField(label="上报日期起", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": "日期格式应为 年-月-日"})
    until = forms.DateField(label="上报日期止", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": "日期格式应为 年-月-日"})
    escalated = forms.BooleanField(label="只看已升级", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = ALL + [(OPEN, "办理中")] + list(CaseState.choices)
        self.fields["category"].choices = category_choices(leaves_only=False, blank="全部")
        self.fields["department"].choices = department_choices()

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "结束日期不能早于开始日期")
        return data

    def filters(self, *, with_state: bool = True) -> dict:
        """Keyword arguments for selectors.case_list / case_counts (empty values left out)."""
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}
        if "escalated" in data:
            data["escalated"] = True
        state = data.pop("state", None)
        if with_state and state:
            data["state"] = sorted(OPEN_STATES) if state == OPEN else state
        return data

    def query(self) -> dict:
        """The filters as GET parameters (for the export form and the state tabs)."""
        return {k: (v.isoformat() if hasattr(v, "isoformat") else ("1" if v is True else v))
                for k, v in self.cleaned_data.items() if v not in (None, "", False)}


# --- files --------------------------------------------------------------------------------------------

class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more uploads; their type and size are checked by content in the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,.pdf,.docx"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = [d for d in (data if isinstance(data, list | tuple) else [data]) if d]
        if not items:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        return [forms.FileField.clean(self, d, initial) for d in items]


def _photos_widget():
    return MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})


# --- reporting ----------------------------------------------------------------------------------------

# What a reporter may name as the source: grid roles report what they found, desks what came in.
FIELD_SOURCES = [Source.GRID_WORKER, Source.PATROL, Source.VISIT]
DESK_SOURCES = [Source.HOTLINE, Source.SMS, Source.WECHAT, Source.VIDEO, Source.GRID_WORKER]


class ReportForm(forms.Form):
    """上报: category, description, photos and a place (GPS, a click on the map, or the grid)."""

    category = forms.ChoiceField(label="问题分类", error_messages={"required": "请选择问题分类"})
    urgency = forms.ChoiceField(label="紧急程度", required=False, choices=[("", "按分类默认")] + list(Urgency.choices))
    description = forms.CharField(label="问题描述", max_length=2000,
                                  widget=_textarea("发生了什么、在哪里、影响多大", 4),
                                  error_messages={"required": "请填写问题描述",
                                                  "max_length": "问题描述不能超过 2000 字"})
    address = forms.CharField(label="地址或位置说明", required=False, max_length=200,
                              error_messages={"max_length": "地址不能超过 200 字"})
    source = forms.ChoiceField(label="来源", required=False)
    grid = forms.ChoiceField(label="所在网格", required=False,
                             help_text="没有定位时按所选网格上报；有定位时以定位所在网格为准")
    reporter_name = forms.CharField(label="反映人", required=False, max_length=50,
                                    error_messages={"max_length": "反映人不能超过 50 字"})
    reporter_phone = forms.RegexField(label="联系电话", required=False, max_length=30, regex=r"^[0-9+\- ]{5,30}$",
                                      error_messages={"invalid": "联系电话只能包含数字、空格、+ 和 -"})
    files = MultipleFileField(label="现场照片", widget=_photos_widget(),
                              help_text="JPEG、PNG、WebP，每张不超过 10 MB，最多 9 张")
    lon = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180,
                           error_messages={"invalid": "经度应为数字"})
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90,
                           error_messages={"invalid": "纬度应为数字"})

    self_resolved = False

    def __init__(self, *args, grids=None, desk: bool = False, **kwargs):
        """`grids`: the grids to choose from, or None when there are too many to list (a desk):
        then the grid code is typed, and the service checks that it exists and is in scope."""
        super().__init__(*args, **kwargs)
        self.desk = desk
        self.fields["category"].choices = category_choices(self_resolvable=self.self_resolved, blank="请选择")
        sources = DESK_SOURCES if desk else FIELD_SOURCES
        self.fields["source"].choices = [(s.value, s.label) for s in sources]
        self.fields["source"].initial = sources[0].value
        if grids is None:
            self.fields["grid"] = forms.RegexField(
                label="网格代码", required=False, regex=r"^[0-9]{15}$", max_length=15,
                widget=forms.TextInput(attrs={"inputmode": "numeric",
                                              "placeholder": "15 位网格代码，如 420881103201001"}),
                help_text=self.fields["grid"].help_text, error_messages={"invalid": "网格代码应为 15 位数字"})
        else:
            self.fields["grid"].choices = [("", "按定位确定")] + [(g.code, g.name) for g in grids]
            if len(grids) == 1:
                self.fields["grid"].initial = grids[0].code
        if not desk:
            del self.fields["reporter_name"], self.fields["reporter_phone"]

    def clean(self):
        data = super().clean()
        if (data.get("lon") is None) != (data.get("lat") is None):
            raise ValidationError("定位不完整，请重新定位或在地图上点选位置")
        if data.get("lon") is None and not data.get("grid"):
            raise ValidationError("请用手机定位、在地图上点选位置，或选择所在网格")
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        kwargs = {"category": d["category"], "description": d["description"], "address": d.get("address") or "",
                  "urgency": d.get("urgency") or None, "source": d.get("source") or None,
                  "lon": d.get("lon"), "lat": d.get("lat"), "grid": d.get("grid") or None,
                  "files": d.get("files") or []}
        if self.desk:
            kwargs["reporter_name"] = d.get("reporter_name") or ""
            kwargs["reporter_phone"] = d.get("reporter_phone") or ""
        return kwargs


class SelfResolveReportForm(ReportForm):
    """自行处置: a small problem the grid worker fixed on the spot, reported with the evidence photo."""

    self_resolved = True
    resolution_note = forms.CharField(label="处置情况", max_length=2000,
                                      widget=_textarea("做了什么、现场现在的样子", 3),
                                      error_messages={"required": "请填写处置情况",
                                                      "max_length": "处置情况不能超过 2000 字"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["files"].label = "处置后现场照片"
        self.fields["files"].required = True
        self.fields["files"].error_messages["required"] = "自行处置须附处置后的现场照片"
        self.fields["category"].help_text = "只列出可由网格员现场处置的小问题"
        self.fields["source"].choices = [(Source.SELF_RESOLVED.value, Source.SELF_RESOLVED.label)]
        self.fields["source"].initial = Source.SELF_RESOLVED.value
        self.fields["source"].widget = forms.HiddenInput()
        del self.fields["urgency"]

    def service_kwargs(self) -> dict:
        kwargs = super().service_kwargs()
        kwargs.update(self_resolved=True, resolution_note=self.cleaned_data["resolution_note"],
                      source=Source.SELF_RESOLVED)
        return kwargs


# --- one form per workflow action ---------------------------------------------------------------------

class NoteForm(forms.Form):
    note = forms.CharField(label="说明", required=False, max_length=2000, widget=_textarea("选填"),
                           error_messages={"max_length": "说明不能超过 2000 字"})

    def service_kwargs(self) -> dict:
        return {"note": self.cleaned_data.get("note") or ""}


class ReasonForm(forms.Form):
    reason = forms.CharField(label="理由", max_length=2000, widget=_textarea(),
                             error_messages={"required": "请填写理由", "max_length": "理由不能超过 2000 字"})

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"]}


class RegisterForm(NoteForm):
    category = forms.ChoiceField(label="分类（可更正）", required=False)
    urgency = forms.ChoiceField(label="紧急程度（可更正）", required=False,
                                choices=[("", "不变")] + list(Urgency.choices))

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(blank="不变")
        if case is not None:
            self.fields["category"].initial = ""

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"note": d.get("note") or "", "category": d.get("category") or None, "urgency": d.get("urgency") or None}


class DispatchForm(NoteForm):
    department = forms.ChoiceField(label="主办部门", error_messages={"required": "请选择主办部门"})
    helpers = forms.MultipleChoiceField(label="协办部门", required=False,
                                        widget=forms.SelectMultiple(attrs={"size": 4}))

    def __init__(self, *args, suggestion=None, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = list(getattr(suggestion, "candidates", None) or [])
        choices = [(d.code, d.name) for d in candidates]
        self.fields["department"].choices = [("", "请选择")] + choices
        self.fields["helpers"].choices = choices
        if suggestion is not None and suggestion.department is not None:
            self.fields["department"].initial = suggestion.department.code
            self.fields["department"].help_text = f"建议：{suggestion.reason}"
        elif suggestion is not None:
            self.fields["department"].help_text = suggestion.reason

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"department": d["department"], "helpers": d.get("helpers") or [], "note": d.get("note") or ""}


class FeedbackForm(forms.Form):
    note = forms.CharField(label="处置情况", max_length=2000, widget=_textarea("做了什么、结果如何", 3),
                           error_messages={"required": "请填写处置情况", "max_length": "处置情况不能超过 2000 字"})
    files = MultipleFileField(label="处置照片或文件")

    def service_kwargs(self) -> dict:
        return {"note": self.cleaned_data["note"], "files": self.cleaned_data.get("files") or []}


class SelfResolveForm(FeedbackForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["files"].label = "处置后现场照片"
        self.fields["files"].widget = _photos_widget()
        self.fields["files"].help_text = "已上传过现场照片的可不再上传"


class VerifyPassForm(forms.Form):
    note = forms.CharField(label="核查意见", required=False, max_length=2000, widget=_textarea("选填"),
                           error_messages={"max_length": "核查意见不能超过 2000 字"})
    files = MultipleFileField(label="核查照片", widget=_photos_widget())

    passed = True

    def service_kwargs(self) -> dict:
        return {"passed": self.passed, "note": self.cleaned_data.get("note") or "",
                "files": self.cleaned_data.get("files") or []}


class VerifyFailForm(VerifyPassForm):
    passed = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].required = True
        self.fields["note"].label = "未通过原因"
        self.fields["note"].widget.attrs["placeholder"] = "现场仍存在的问题"
        self.fields["note"].error_messages["required"] = "请填写核查不通过的原因"


class EvaluateForm(forms.Form):
    score = forms.TypedChoiceField(label="评分", coerce=int, initial=5,
                                   choices=[(5, "5 非常满意"), (4, "4 满意"), (3, "3 基本满意"), (2, "2 不满意"),
                                            (1, "1 非常不满意")],
                                   error_messages={"required": "请选择评分", "invalid_choice": "评分应为 1-5"})
    comment = forms.CharField(label="评价意见", required=False, max_length=2000, widget=_textarea("选填"),
                              error_messages={"max_length": "评价意见不能超过 2000 字"})

    def service_kwargs(self) -> dict:
        return {"score": self.cleaned_data["score"], "comment": self.cleaned_data.get("comment") or ""}


class ExtendRequestForm(forms.Form):
    hours = forms.IntegerField(label="延长（工作小时）", min_value=1, max_value=400,
                               error_messages={"required": "请填写延长的工作小时数", "invalid": "请填写整数",
                                               "min_value": "至少延长 1 个工作小时",
                                               "max_value": "最多延长 400 个工作小时"})
    reason = forms.CharField(label="申请理由", max_length=2000, widget=_textarea(),
                             error_messages={"required": "请填写延期理由", "max_length": "理由不能超过 2000 字"})

    def service_kwargs(self) -> dict:
        return {"hours": self.cleaned_data["hours"], "reason": self.cleaned_data["reason"]}


class ExtendDecideForm(NoteForm):
    grant = forms.TypedChoiceField(label="审批结果", coerce=lambda v: v == "1", widget=forms.RadioSelect,
                                   choices=[("1", "同意延期"), ("0", "不同意")],
                                   error_messages={"required": "请选择是否同意"})

    def service_kwargs(self) -> dict:
        return {"grant": self.cleaned_data["grant"], "note": self.cleaned_data.get("note") or ""}


class SuspendForm(ReasonForm):
    expected_resume_on = forms.DateField(label="预计恢复日期", required=False,
                                         widget=forms.DateInput(attrs={"type": "date"}),
                                         error_messages={"invalid": "日期格式应为 年-月-日"})

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"],
                "expected_resume_on": self.cleaned_data.get("expected_resume_on")}


class SuperviseForm(forms.Form):
    note = forms.CharField(label="督办意见", max_length=2000, widget=_textarea(),
                           error_messages={"required": "请填写督办意见", "max_length": "督办意见不能超过 2000 字"})
    respond_within_hours = forms.IntegerField(label="要求答复（工作小时内）", required=False, min_value=1,
                                              max_value=400,
                                              error_messages={"invalid": "请填写整数",
                                                              "min_value": "答复时限至少 1 个工作小时",
                                                              "max_value": "答复时限最多 400 个工作小时"})

    def service_kwargs(self) -> dict:
        return {"note": self.cleaned_data["note"],
                "respond_within_hours": self.cleaned_data.get("respond_within_hours")}


class CaseNoteForm(forms.Form):
    kind = forms.ChoiceField(label="类型", choices=[("note", "工作记录"), ("video_review", "视频研判")],
                             error_messages={"invalid_choice": "记录类型不正确"})
    note = forms.CharField(label="记录内容", max_length=2000, widget=_textarea("做了什么、发现了什么", 3),
                           error_messages={"required": "请填写记录内容", "max_length": "记录内容不能超过 2000 字"})
    files = MultipleFileField(label="照片或文件", required=False)

    def service_kwargs(self) -> dict:
        return {"kind": self.cleaned_data["kind"], "note": self.cleaned_data["note"],
                "files": self.cleaned_data.get("files") or []}


class MergeForm(NoteForm):
    into = forms.RegexField(label="合并入案件编号", regex=r"^[0-9]{13}$", max_length=13,
                            error_messages={"required": "请填写要合并入的案件编号",
                                            "invalid": "案件编号为 13 位数字"})

    def service_kwargs(self) -> dict:
        # The number is turned into the visible case's id by the view (views._merge_target).
        return {"into": self.cleaned_data["into"], "note": self.cleaned_data.get("note") or ""}


class RejectForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = "不予受理理由"


class ReturnForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = "退回理由"
        self.fields["reason"].widget.attrs["placeholder"] = "如：不属于本部门职责、不在本辖区"


class VoidForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = "作废理由"
        self.fields["reason"].widget.attrs["placeholder"] = "如：重复录入、测试数据"


class AttachForm(forms.Form):
    files = MultipleFileField(label="补充照片或文件", required=True, error_messages={"required": "请选择文件"},
                              help_text="JPEG、PNG、WebP 照片或 PDF、DOCX 文档，每个不超过 10 MB，最多 9 个")


# action (workflow.TABLE) → form class. The view passes `suggestion` to DispatchForm only.
ACTION_FORMS: dict[str, type[forms.Form]] = {
    "note": CaseNoteForm,
    "accept": NoteForm,
    "reject": RejectForm,
    "register": RegisterForm,
    "dispatch": DispatchForm,
    "handle": NoteForm,
    "feedback": FeedbackForm,
    "return": ReturnForm,
    "verify_pass": VerifyPassForm,
    "verify_fail": VerifyFailForm,
    "close": NoteForm,
    "evaluate": EvaluateForm,
    "extend_request": ExtendRequestForm,
    "extend_decide": ExtendDecideForm,
    "suspend": SuspendForm,
    "resume": NoteForm,
    "void": VoidForm,
    "self_resolve": SelfResolveForm,
    "supervise": SuperviseForm,
    "merge": MergeForm,
}
MULTIPART_ACTIONS = frozenset({"feedback", "verify_pass", "verify_fail", "self_resolve"})
