"""Pages of the component registry (部件普查): the list with filters, one component, the import."""

import functools

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from gridgov.accounts.models import Department
from gridgov.accounts.policy import can, require
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied

from .choices import CategoryKind
from .components import importer, selectors, services
from .components.access import access_component
from .components.api import MAX_UPLOAD_BYTES
from .components.scope import covers_region, owns
from .models import Case, CaseCategory
from .models.component import ComponentState

PAGE_SIZE = 50


def page(view):
    """Missing or out of scope → 404; a role without the permission → the 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except PermissionDenied:
            return render(request, "core/forbidden.html", status=403)

    return login_required(wrapped)


def _category_choices():
    rows = CaseCategory.objects.filter(kind=CategoryKind.COMPONENT, is_active=True).order_by("code")
    return [("", "全部类别")] + [(c.code, f"{c.code} {'' if c.level == 1 else '· '}{c.name}") for c in rows]


def _department_choices():
    rows = Department.objects.filter(is_active=True).exclude(code__contains="-").order_by("code")
    return [("", "全部部门")] + [(d.code, d.name) for d in rows]


class FilterForm(forms.Form):
    category = forms.ChoiceField(label="部件类别", required=False)
    state = forms.ChoiceField(label="状态", required=False, choices=[("", "全部状态"), *ComponentState.choices])
    region = forms.RegexField(label="区划代码前缀", required=False, regex=r"^[0-9]{1,15}$",
                              widget=forms.TextInput(attrs={"placeholder": "如 420881103", "inputmode": "numeric"}),
                              error_messages={"invalid": "区划代码只能是 1-15 位数字"})
    department = forms.ChoiceField(label="权属部门", required=False)
    q = forms.CharField(label="编码或名称", required=False, max_length=50)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _category_choices()
        self.fields["department"].choices = _department_choices()


class StateForm(forms.Form):
    state = forms.ChoiceField(label="状态", choices=ComponentState.choices)
    note = forms.CharField(label="备注", required=False, max_length=200)


class ImportForm(forms.Form):
    file = forms.FileField(label="普查文件（Excel .xlsx 或 GeoJSON）", widget=forms.ClearableFileInput(
        attrs={"accept": ".xlsx,.geojson,.json"}))
    dry_run = forms.BooleanField(label="只校验，不写入", required=False)


def _state_counts(qs) -> list[dict]:
    counts = selectors.component_state_counts(qs)
    return [{"state": value, "label": label, "n": counts[value]} for value, label in ComponentState.choices]


@page
def component_list(request):
    require(request.user, "components.view")
    form = FilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    status = 400 if form.is_bound and not form.is_valid() else 200
    qs = selectors.component_list(user=request.user, **filters)
    page_obj = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/components_list.html", {
        "form": form, "page": page_obj, "state_counts": _state_counts(qs), "filtered": bool(filters),
        "can_import": can(request.user, "components.import"),
    }, status=status)


@page
@require_http_methods(["GET", "POST"])
def component_detail(request, pk: int):
    component = access_component(request.user, pk)
    may_edit = can(request.user, "components.edit") and (
        covers_region(request.user, component.region_id) or owns(request.user, component.owner_department_id))
    form = StateForm(request.POST or None, initial={"state": component.state, "note": component.note})
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied()
        if form.is_valid():
            try:
                services.component_update(acting_user=request.user, component_id=pk, data=form.cleaned_data)
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "已保存部件状态。")
                return redirect("components:detail", pk=pk)
    return render(request, "cases/components_detail.html", {
        "component": component, "form": form, "may_edit": may_edit,
        "cases": Case.objects.visible_to(request.user).filter(component=component).order_by("-created_at")[:20],
    }, status=400 if form.is_bound and form.errors else 200)


@page
@require_http_methods(["GET", "POST"])
def component_import(request):
    require(request.user, "components.import")
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            form.add_error("file", "文件不能超过 20 MB，请分批导入或使用命令 gridgov import_components")
        else:
            try:
                report = importer.import_components(upload.read(), file_name=upload.name, acting_user=request.user,
                                                    dry_run=form.cleaned_data["dry_run"])
            except importer.ImportFileError as exc:
                form.add_error("file", exc.message)
    return render(request, "cases/components_import.html", {"form": form, "report": report,
                                                            "headers": importer.ALIASES},
                  status=400 if form.is_bound and form.errors else 200)
