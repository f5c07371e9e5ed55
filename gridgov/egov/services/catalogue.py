"""Editing the catalogue: an item's guide, form, materials, time limit, money and eligibility rule.

Rules are validated here, when saved (rules.validate_rule): an unknown variable, operator or tag is
a 400 with a Chinese message, and nothing is saved. The sensitivity of the rule's matches is derived
from the tags it reads and stored beside it.
"""

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from gridgov.accounts.models import Department
from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.core.errors import NotFound, ValidationFailed

from .. import rules
from ..answers import clean_materials, clean_questions
from ..choices import AcceptanceLevel, BenefitKind, Category
from ..models import ServiceItem
from ._common import invalid

TEXT_FIELDS = {"name": ("事项名称", 100), "summary": ("事项说明", 2000), "fee": ("收费标准", 200),
               "legal_basis": ("设定依据", 2000)}
EDITABLE = {*TEXT_FIELDS, "category", "department_code", "acceptance_level", "materials", "steps", "promised_days",
            "pays_money", "benefit_kind", "standard_amount_fen", "schedule_months", "needs_town_review",
            "questions", "eligibility_rule", "is_active"}


def _int(data, key, label, lo, hi, errors, *, nullable=False):
    value = data[key]
    if value in (None, "") and nullable:
        return None
    try:
        if isinstance(value, bool) or float(str(value)) != int(float(str(value))):
            raise ValueError
        number = int(float(str(value)))
    except (TypeError, ValueError):
        errors[key] = f"{label}应为整数"
        return None
    if not lo <= number <= hi:
        errors[key] = f"{label}应在 {lo}-{hi} 之间"
        return None
    return number


def _apply(item: ServiceItem, data: Mapping[str, Any]) -> dict[str, list]:
    unknown = sorted(set(data) - EDITABLE)
    if unknown:
        raise invalid({k: f"未知或不可修改的字段“{k}”" for k in unknown}, "unknown_field")
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, (label, limit) in TEXT_FIELDS.items():
        if key in data:
            text = str(data[key] or "").strip()
            if key == "name" and not text:
                errors[key] = "事项名称不能为空"
            elif len(text) > limit:
                errors[key] = f"{label}不能超过 {limit} 字"
            values[key] = text
    for key, choices, label in (("category", Category, "类别"), ("acceptance_level", AcceptanceLevel, "受理层级"),
                                ("benefit_kind", BenefitKind, "发放方式")):
        if key in data:
            if data[key] not in choices.values:
                errors[key] = f"{label}无效，可选：{'、'.join(choices.values)}"
            values[key] = data[key]
    if "department_code" in data:
        code = str(data["department_code"] or "").strip()
        if not Department.objects.filter(code=code, is_active=True).exists():
            errors["department_code"] = f"部门代码“{code[:32]}”不存在"
        values["department_code"] = code
    if "materials" in data:
        values["materials"], message = clean_materials(data["materials"])
        if message:
            errors["materials"] = message
    if "questions" in data:
        values["questions"], message = clean_questions(data["questions"])
        if message:
            errors["questions"] = message
    if "steps" in data:
        steps = data["steps"]
        if not isinstance(steps, list) or not all(isinstance(s, str) and 0 < len(s.strip()) <= 200 for s in steps):
            errors["steps"] = "办理流程应为文字列表，每步 1-200 字"
        else:
            values["steps"] = [s.strip() for s in steps]
    if "promised_days" in data:
        values["promised_days"] = _int(data, "promised_days", "承诺时限", 1, 365, errors)
    if "schedule_months" in data:
        values["schedule_months"] = _int(data, "schedule_months", "按月发放期数", 1, 60, errors)
    if "standard_amount_fen" in data:
        values["standard_amount_fen"] = _int(data, "standard_amount_fen", "标准金额（分）", 1, 10_000_000, errors,
                                             nullable=True)
    for key in ("pays_money", "needs_town_review", "is_active"):
        if key in data:
            if not isinstance(data[key], bool):
                errors[key] = "应为 true 或 false"
            values[key] = bool(data[key])
    if "eligibility_rule" in data:
        rule = data["eligibility_rule"]
        if rule in (None, "", {}):
            values["eligibility_rule"], values["rule_sensitivity"] = None, 1
        else:
            try:
                info = rules.validate_rule(rule)
            except ValidationFailed as exc:
                errors["eligibility_rule"] = exc.message
            else:
                values["eligibility_rule"] = rule if isinstance(rule, dict) else json.loads(rule)
                values["rule_sensitivity"] = info.sensitivity
    if errors:
        code = "invalid_rule" if set(errors) == {"eligibility_rule"} else "invalid"
        raise invalid(errors, code)
    changes: dict[str, list] = {}
    for key, value in values.items():
        old = getattr(item, key)
        if old != value:
            changes[key] = [old, value]
            setattr(item, key, value)
    return changes


def _clean(item: ServiceItem) -> None:
    try:
        item.full_clean()
    except ValidationError as exc:
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        raise invalid({k: "；".join(v) for k, v in messages.items()}) from None


@transaction.atomic
def service_item_update(*, acting_user, code: str, data: Mapping[str, Any]) -> ServiceItem:
    """Changes an item (city centre or system administrator). Applications already started keep the
    time limit and department they were accepted with."""
    require(acting_user, "egov.catalogue.manage")
    item = ServiceItem.objects.select_for_update().filter(code=str(code or "")[:16]).first()
    if item is None:
        raise NotFound()
    changes = _apply(item, data)
    if not changes:
        return item
    _clean(item)
    item.save()
    audit_record(actor=acting_user, action="egov.item.update", obj=item, changes=changes)
    return item


@transaction.atomic
def service_item_create(*, acting_user, code: str, data: Mapping[str, Any]) -> ServiceItem:
    """Adds an item to the catalogue (the same checks as an edit)."""
    require(acting_user, "egov.catalogue.manage")
    code = str(code or "").strip()
    if not code or len(code) > 16 or not code.replace("-", "").isalnum():
        raise invalid({"code": "事项编码应为 1-16 位字母或数字"})
    if ServiceItem.objects.filter(code=code).exists():
        raise invalid({"code": f"事项编码“{code}”已存在"}, "duplicate_code")
    for key in ("name", "category", "department_code", "promised_days"):
        if key not in data:
            raise invalid({key: "必填"})
    item = ServiceItem(code=code, name="", category="", department_code="", promised_days=1)
    _apply(item, data)
    _clean(item)
    item.save()
    audit_record(actor=acting_user, action="egov.item.create", obj=item, changes={"code": code, "name": item.name})
    return item
