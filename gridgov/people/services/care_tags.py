"""Care tags: a resident belongs to a special group, with attributes and a visit frequency."""

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied

from .. import access
from ..choices import ResidentState
from ..models import CareTag, CareTagType
from ..presenters import audit_value, tag_attributes, tag_levels
from ._common import _ensure_in_scope, _full_clean, _invalid

_TRUE = {"true", "1", "是", "yes", "y"}
_FALSE = {"false", "0", "否", "no", "n"}


def clean_tag_attributes(tag_type: CareTagType, attributes: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Attribute values checked against the type's attribute_schema: keys, types, choices, ranges."""
    if attributes in (None, ""):
        return {}, {}
    if not isinstance(attributes, Mapping):
        return {}, {"attributes": "属性应为 JSON 对象，如 {\"risk_level\": 3}"}
    schema = {spec["key"]: spec for spec in tag_type.attribute_schema or [] if "key" in spec}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in attributes.items():
        spec = schema.get(key)
        if spec is None:
            known = "、".join(f"{k}（{s.get('label', k)}）" for k, s in schema.items()) or "无"
            errors[f"attributes.{key}"] = f"“{tag_type.name}”没有属性“{key}”，可用属性：{known}"
            continue
        if value in (None, ""):
            continue
        label, kind = spec.get("label", key), spec.get("type", "text")
        field = f"attributes.{key}"
        if kind == "choice":
            choices = spec.get("choices") or []
            if str(value) not in choices:
                errors[field] = f"{label}“{value}”无效，可选：{'、'.join(choices)}"
            else:
                clean[key] = str(value)
        elif kind == "int":
            try:
                if isinstance(value, bool) or float(value) != int(float(value)):
                    raise ValueError
                number = int(float(value))
            except (TypeError, ValueError):
                errors[field] = f"{label}应为整数"
                continue
            lo, hi = spec.get("min"), spec.get("max")
            if (lo is not None and number < lo) or (hi is not None and number > hi):
                errors[field] = f"{label}应在 {lo if lo is not None else '-∞'} 到 {hi if hi is not None else '∞'} 之间"
            else:
                clean[key] = number
        elif kind == "bool":
            if isinstance(value, bool):
                clean[key] = value
            elif str(value).strip().lower() in _TRUE:
                clean[key] = True
            elif str(value).strip().lower() in _FALSE:
                clean[key] = False
            else:
                errors[field] = f"{label}应为“是”或“否”"
        elif kind == "date":
            try:
                parsed = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
                clean[key] = parsed.isoformat()
            except ValueError:
                errors[field] = f"{label}“{value}”不是有效日期（例：2026-01-31）"
        else:
            text = str(value).strip()
            if len(text) > 200:
                errors[field] = f"{label}不能超过 200 字"
            else:
                clean[key] = text
    return clean, errors


def _tag_date(value: Any, label: str, field: str, errors: dict[str, str]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        result = value
    else:
        try:
            result = date.fromisoformat(str(value).strip())
        except ValueError:
            errors[field] = f"{label}“{value}”不是有效日期（例：2026-01-31）"
            return None
    if result > timezone.localdate():
        errors[field] = f"{label}不能晚于今天"
        return None
    return result


def _require_tag_level(user, sensitivity: int) -> None:
    if sensitivity not in tag_levels(user):
        raise PermissionDenied("您无权管理该类关爱对象")


def _tag_for_write(user, tag_id: int, resident_id: int | None) -> CareTag:
    tag = access.access_care_tag(user, tag_id, for_update=True)
    if resident_id is not None and str(tag.resident_id) != str(resident_id):
        raise NotFound()
    return tag


def _dump_attributes(values: Mapping[str, Any]) -> str:
    return json.dumps(dict(values), ensure_ascii=False, sort_keys=True) if values else ""


@transaction.atomic
def care_tag_add(*, acting_user, resident_id: int, tag_type_code: str, attributes: Mapping[str, Any] | None = None,
                 since: date | str | None = None) -> CareTag:
    """Marks a person as belonging to a special group.

    Attributes are checked against the type's schema and stored encrypted; the visit frequency
    is resolved now from the type's rules (a high risk level can tighten it); the sensitivity is
    copied from the type. Adding a tag of a level the actor may not see is refused.
    """
    require(acting_user, "people.edit")
    resident = access.access_resident(acting_user, resident_id, for_update=True)
    tag_type = CareTagType.objects.filter(code=str(tag_type_code or "").strip(), is_active=True).first()
    if tag_type is None:
        raise _invalid({"tag_type": f"关爱对象类别“{str(tag_type_code)[:32]}”不存在或已停用"}, "invalid_tag_type")
    _require_tag_level(acting_user, tag_type.sensitivity)
    values, errors = clean_tag_attributes(tag_type, attributes)
    since_date = _tag_date(since, "认定日期", "since", errors)
    if CareTag.objects.filter(resident=resident, tag_type=tag_type, ended_on__isnull=True).exists():
        errors["tag_type"] = f"该人员已有“{tag_type.name}”标签"
    if resident.state != ResidentState.ACTIVE:
        errors["resident"] = f"该人员状态为“{resident.get_state_display()}”，不能添加关爱对象标签"
    if errors:
        raise _invalid(errors)
    tag = CareTag(
        resident=resident, tag_type=tag_type, region_id=resident.region_id, attributes=_dump_attributes(values),
        visit_every_days=tag_type.frequency_for(values), sensitivity=tag_type.sensitivity, since=since_date,
        created_by=acting_user,
    )
    _full_clean(tag)
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError:
        raise _invalid({"tag_type": f"该人员已有“{tag_type.name}”标签"}) from None
    _ensure_in_scope(acting_user, tag)
    audit_record(actor=acting_user, action="people.care_tag.add", obj=tag, changes={
        "resident": resident.pk, "tag_type": tag_type.code, "visit_every_days": tag.visit_every_days,
        "attributes": audit_value("attributes", values), "since": since_date})
    return tag


@transaction.atomic
def care_tag_update(*, acting_user, tag_id: int, attributes: Mapping[str, Any] | None = None,
                    since: date | str | None = None, resident_id: int | None = None) -> CareTag:
    """Replaces a tag's attributes (and recomputes its visit frequency); ended tags are history.
    With `resident_id`, a tag of another person is reported missing."""
    require(acting_user, "people.edit")
    tag = _tag_for_write(acting_user, tag_id, resident_id)
    tag_type = tag.tag_type
    if tag.ended_on is not None:
        raise ApplicationError("wrong_state", "该标签已结束，不能修改")
    values, errors = clean_tag_attributes(tag_type, attributes) if attributes is not None else (None, {})
    since_date = _tag_date(since, "认定日期", "since", errors) if since is not None else tag.since
    if errors:
        raise _invalid(errors)
    changes: dict[str, Any] = {}
    fields: list[str] = []
    if values is not None:
        old_values = tag_attributes(tag)
        if old_values != values:
            tag.attributes = _dump_attributes(values)
            changes["attributes"] = ["已修改" if old_values else "", "已修改" if values else "已清空"]
            fields.append("attributes")
        days = tag_type.frequency_for(values)
        if days != tag.visit_every_days:
            changes["visit_every_days"] = [tag.visit_every_days, days]
            tag.visit_every_days = days
            fields.append("visit_every_days")
    if since_date != tag.since:
        changes["since"] = [audit_value("since", tag.since), audit_value("since", since_date)]
        tag.since = since_date
        fields.append("since")
    if not changes:
        return tag
    _full_clean(tag)
    tag.save(update_fields=fields)
    _ensure_in_scope(acting_user, tag)
    audit_record(actor=acting_user, action="people.care_tag.update", obj=tag, changes=changes)
    return tag


@transaction.atomic
def care_tag_end(*, acting_user, tag_id: int, ended_on: date | str | None = None, reason: str = "",
                 resident_id: int | None = None) -> CareTag:
    """Ends a tag (the person left the group): it stays as history and drops out of visit lists."""
    require(acting_user, "people.edit")
    tag = _tag_for_write(acting_user, tag_id, resident_id)
    if tag.ended_on is not None:
        raise ApplicationError("wrong_state", f"该标签已于 {tag.ended_on:%Y-%m-%d} 结束")
    errors: dict[str, str] = {}
    end = _tag_date(ended_on, "退出日期", "ended_on", errors) or (None if errors else timezone.localdate())
    if end and tag.since and end < tag.since:
        errors["ended_on"] = f"退出日期不能早于认定日期 {tag.since:%Y-%m-%d}"
    if errors:
        raise _invalid(errors)
    tag.ended_on = end
    tag.save(update_fields=["ended_on"])
    _ensure_in_scope(acting_user, tag)
    audit_record(actor=acting_user, action="people.care_tag.end", obj=tag,
                 changes={"resident": tag.resident_id, "tag_type": tag.tag_type.code, "ended_on": end},
                 message=str(reason or "").strip()[:500])
    return tag
