"""The taxonomy is data: the city centre (or the system administrator) adds and edits categories."""

from django.db import transaction

from gridgov.accounts.models import Department
from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record, changed_fields, snapshot
from gridgov.core.errors import NotFound, ValidationFailed

from ..choices import CategoryKind, Stage, Urgency
from ..models import CaseCategory
from .common import Conflict

FIELDS = ["name", "kind", "parent", "default_department_code", "route_to_station", "urgency_levels", "time_limits",
          "self_resolvable", "standard_ref", "description", "sort_order", "is_active"]
MAX_HOURS = 2000


def _limits(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed("时限格式不正确", code="invalid_limits", extra={"field": "time_limits"})
    for stage, hours in value.items():
        if stage not in Stage.values:
            raise ValidationFailed(f"未知阶段：{stage}", code="invalid_limits", extra={"field": "time_limits"})
        values = hours.values() if isinstance(hours, dict) else [hours]
        if isinstance(hours, dict) and not set(hours) <= set(Urgency.values):
            raise ValidationFailed("时限的紧急程度不正确", code="invalid_limits", extra={"field": "time_limits"})
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.25 <= v <= MAX_HOURS:
                raise ValidationFailed(f"时限应为 0.25-{MAX_HOURS} 个工作小时", code="invalid_limits",
                                       extra={"field": "time_limits"})
    return value


def _apply(category: CaseCategory, data: dict) -> None:
    for key, value in data.items():
        if key not in FIELDS:
            continue
        if key == "parent":
            if value in (None, ""):
                category.parent = None
            else:
                parent = CaseCategory.objects.filter(code=value).first() if not isinstance(value, int) else \
                    CaseCategory.objects.filter(pk=value).first()
                if parent is None:
                    raise ValidationFailed("上级分类不存在", code="invalid_parent", extra={"field": "parent"})
                node = parent
                while node is not None:
                    if category.pk and node.pk == category.pk:
                        raise ValidationFailed("上级分类不能是自身或下级", code="invalid_parent",
                                               extra={"field": "parent"})
                    node = node.parent
                category.parent = parent
            category.level = 1 if category.parent is None else category.parent.level + 1
        elif key == "time_limits":
            category.time_limits = _limits(value)
        elif key == "urgency_levels":
            if not value or not isinstance(value, list) or not set(value) <= set(Urgency.values) \
                    or len(set(value)) != len(value):
                raise ValidationFailed("紧急程度不正确", code="invalid_urgency", extra={"field": "urgency_levels"})
            category.urgency_levels = value
        elif key == "default_department_code":
            if value and not Department.objects.filter(code=value).exists():
                raise ValidationFailed("部门不存在", code="invalid_department",
                                       extra={"field": "default_department_code"})
            category.default_department_code = value or ""
        elif key == "kind":
            if value not in CategoryKind.values:
                raise ValidationFailed("类别不正确", code="invalid_kind", extra={"field": "kind"})
            category.kind = value
        else:
            setattr(category, key, value)
    if category.parent is not None and category.parent.kind != category.kind:
        raise ValidationFailed("下级分类应与上级属于同一类别", code="invalid_parent", extra={"field": "parent"})


@transaction.atomic
def category_create(*, acting_user, code: str, name: str, kind: str, **data) -> CaseCategory:
    """A new category (cases.categories.manage); the code is unique (409 duplicate_code)."""
    require(acting_user, "cases.categories.manage")
    code = (code or "").strip()
    if not code or len(code) > 16:
        raise ValidationFailed("分类代码应为 1-16 个字符", code="invalid_code", extra={"field": "code"})
    if CaseCategory.objects.filter(code=code).exists():
        raise Conflict("duplicate_code", "分类代码已存在")
    category = CaseCategory(code=code)
    _apply(category, {"name": name, "kind": kind, **data})
    category.full_clean(exclude=["parent"])
    category.save()
    audit_record(actor=acting_user, action="cases.category_create", obj=category, changes={"code": code})
    return category


@transaction.atomic
def category_update(*, acting_user, category_id: int, **data) -> CaseCategory:
    """Edits a category; cases keep their category, new stages use the new limits."""
    require(acting_user, "cases.categories.manage")
    category = CaseCategory.objects.select_for_update().filter(pk=category_id).first()
    if category is None:
        raise NotFound()
    before = snapshot(category, FIELDS)
    _apply(category, data)
    category.full_clean(exclude=["parent"])
    category.save()
    audit_record(actor=acting_user, action="cases.category_update", obj=category,
                 changes=changed_fields(before, snapshot(category, FIELDS)))
    return category
