"""Helpers shared by the people services: errors, scope checks, field parsing."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from gridgov.accounts.policy import get_scope, require_region
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.regions import codes
from gridgov.regions.models import Region

GRID_LEVEL = 4
REASON_MIN = 4
DUPLICATE_ID = "该身份证号码已登记"


def _invalid(errors: Mapping[str, str], code: str = "invalid") -> ValidationFailed:
    message = "；".join(errors.values()) or "输入有误"
    return ValidationFailed(message, extra={"errors": dict(errors)}, code=code)


def _validation_failed(exc: ValidationError, model: type[models.Model], code: str = "invalid") -> ValidationFailed:
    """A Django ValidationError as one Chinese message plus {field: message}."""
    errors: dict[str, str] = {}
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            text = "；".join(messages)
            if field == NON_FIELD_ERRORS:
                errors["__all__"] = text
                continue
            try:
                label = str(model._meta.get_field(field).verbose_name)
            except Exception:
                label = field
            errors[field] = f"{label}：{text}"
    else:
        errors["__all__"] = "；".join(exc.messages)
    return _invalid(errors, code)


def _full_clean(obj: models.Model, *, exclude: Iterable[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=list(exclude or []))
    except ValidationError as exc:
        raise _validation_failed(exc, type(obj)) from exc


def _grid(user, region_code: Any) -> Region:
    """The grid `region_code` names, if it is one and lies in the user's scope (else 400 / 404)."""
    code = str(region_code or "").strip()
    try:
        level = codes.level_of(code)
    except codes.CodeError:
        raise _invalid({"region_code": f"所属网格代码“{code[:20]}”无效：应为 15 位数字的网格代码"},
                       "invalid_region") from None
    if level != GRID_LEVEL:
        raise _invalid({"region_code": "只能登记到网格（15 位网格代码），不能登记到镇、村一级"}, "invalid_region")
    require_region(user, code)
    region = Region.objects.filter(code=code).only("code", "name", "level").first()
    if region is None:
        raise NotFound()
    return region


def _ensure_in_scope(user, obj) -> None:
    """After a write: the row must still be inside the actor's scope, or everything rolls back."""
    if not get_scope(user).covers(obj.region_id):
        raise NotFound()


def _reason(reason: Any, what: str = "原因") -> str:
    text = str(reason or "").strip()
    if len(text) < REASON_MIN:
        raise _invalid({"reason": f"请填写{what}（至少 {REASON_MIN} 个字）"}, "reason_required")
    if len(text) > 500:
        raise _invalid({"reason": f"{what}不能超过 500 字"}, "reason_required")
    return text


def _unknown_keys(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise _invalid({k: f"未知字段“{k}”" for k in unknown}, "unknown_field")


def _optional_pk(value: Any, label: str, field: str, errors: dict[str, str]) -> int | None:
    if value in (None, "", 0):
        return None
    try:
        pk = int(value)
    except (TypeError, ValueError):
        errors[field] = f"{label}编号“{value}”无效"
        return None
    if pk <= 0:
        errors[field] = f"{label}编号“{value}”无效"
        return None
    return pk


def _linked(user, getter, pk: int | None, label: str, field: str, errors: dict[str, str]):
    """A referenced row in the user's scope, or an error on `field` (not a 404: the body is at fault)."""
    if pk is None:
        return None
    try:
        return getter(user, pk)
    except NotFound:
        errors[field] = f"{label}（编号 {pk}）不存在或不在您的管辖范围内"
        return None


def _text(data: Mapping[str, Any], key: str, limit: int, label: str, errors: dict[str, str]) -> str | None:
    if key not in data:
        return None
    value = data[key]
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        errors[key] = f"{label}不能超过 {limit} 字"
    return text


def _choice(data: Mapping[str, Any], key: str, choices, label: str, errors: dict[str, str],
            *, blank: bool = False) -> str | None:
    """Accepts the code or the Chinese label, like the resident validation does."""
    if key not in data:
        return None
    value = data[key]
    if value in (None, ""):
        if blank:
            return ""
        errors[key] = f"{label}不能为空"
        return None
    text = str(value).strip()
    for code, name in choices.choices:
        if text in (code, str(name)):
            return code
    allowed = "、".join(str(name) for _, name in choices.choices)
    errors[key] = f"{label}“{text[:20]}”无效，可选：{allowed}"
    return None
