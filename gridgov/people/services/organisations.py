"""Organisations (实有单位)."""

import re
from collections.abc import Mapping
from typing import Any

from django.db import models, transaction

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record

from .. import access
from ..choices import OrganisationKind
from ..models import Organisation
from ..presenters import audit_value
from ..validation import normalise_phone, phone_error
from ._common import (
    _choice,
    _ensure_in_scope,
    _full_clean,
    _grid,
    _invalid,
    _linked,
    _optional_pk,
    _text,
    _unknown_keys,
)

ORGANISATION_FIELDS = ("name", "kind", "credit_code", "legal_person", "contact_name", "contact_phone", "address_id",
                       "employees")
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_CREDIT_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def credit_code_error(code: str) -> str | None:
    """统一社会信用代码 (GB 32100-2015): 18 characters with a MOD 31 check character."""
    if not code:
        return None
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位，实际为 {len(code)} 位"
    if not _CREDIT_SHAPE.match(code):
        return "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V），第 3-8 位应为行政区划码"
    total = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    expected = _CREDIT_ALPHABET[(31 - total % 31) % 31]
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：最后一位应为 {expected}，实际为 {code[17]}"
    return None


def _organisation_values(user, data: Mapping[str, Any], errors: dict[str, str], *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data or creating:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = "单位名称不能为空"
        elif len(name) > 100:
            errors["name"] = "单位名称不能超过 100 字"
        else:
            values["name"] = name
    if "kind" in data or creating:
        kind = _choice({"kind": data.get("kind")}, "kind", OrganisationKind, "单位类型", errors)
        if kind:
            values["kind"] = kind
    if "credit_code" in data:
        code = str(data["credit_code"] or "").strip().upper()
        err = credit_code_error(code)
        if err:
            errors["credit_code"] = err
        else:
            values["credit_code"] = code
    for key, label in (("legal_person", "法定代表人/负责人"), ("contact_name", "联系人")):
        text = _text(data, key, 50, label, errors)
        if text is not None:
            values[key] = text
    if "contact_phone" in data:
        phone = normalise_phone(data["contact_phone"])
        err = phone_error(phone)
        if err:
            errors["contact_phone"] = err
        else:
            values["contact_phone"] = phone
    if "address_id" in data:
        pk = _optional_pk(data["address_id"], "地址", "address_id", errors)
        values["address"] = _linked(user, access.access_address, pk, "地址", "address_id", errors)
    if "employees" in data:
        raw = data["employees"]
        if raw in (None, ""):
            values["employees"] = None
        else:
            try:
                number = int(raw)
                if isinstance(raw, bool) or number < 0 or number > 10_000_000 or float(raw) != number:
                    raise ValueError
            except (TypeError, ValueError):
                errors["employees"] = f"从业人数“{raw}”应为不小于 0 的整数"
            else:
                values["employees"] = number
    return values


def _organisation_audit(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.pk if isinstance(v, models.Model) else audit_value(k, v)) for k, v in values.items()}


@transaction.atomic
def organisation_create(*, acting_user, region_code: str, data: Mapping[str, Any]) -> Organisation:
    """Registers a shop, firm, school, clinic … in a grid of the actor's scope."""
    require(acting_user, "people.edit")
    _unknown_keys(data, ORGANISATION_FIELDS)
    region = _grid(acting_user, region_code)
    errors: dict[str, str] = {}
    values = _organisation_values(acting_user, data, errors, creating=True)
    if errors:
        raise _invalid(errors)
    organisation = Organisation(region=region, **values)
    _full_clean(organisation)
    organisation.save()
    _ensure_in_scope(acting_user, organisation)
    audit_record(actor=acting_user, action="people.organisation.create", obj=organisation,
                 changes=_organisation_audit(values))
    return organisation


@transaction.atomic
def organisation_update(*, acting_user, organisation_id: int, data: Mapping[str, Any]) -> Organisation:
    """Changes the fields present in `data`."""
    require(acting_user, "people.edit")
    _unknown_keys(data, ORGANISATION_FIELDS)
    organisation = access.access_organisation(acting_user, organisation_id, for_update=True)
    errors: dict[str, str] = {}
    values = _organisation_values(acting_user, data, errors, creating=False)
    if errors:
        raise _invalid(errors)
    before = {k: getattr(organisation, k) for k in values}
    changed = {k: v for k, v in values.items() if before[k] != v}
    if not changed:
        return organisation
    for key, value in changed.items():
        setattr(organisation, key, value)
    _full_clean(organisation)
    organisation.save(update_fields=[*changed, "updated_at"])
    _ensure_in_scope(acting_user, organisation)
    old, new = _organisation_audit({k: before[k] for k in changed}), _organisation_audit(changed)
    audit_record(actor=acting_user, action="people.organisation.update", obj=organisation,
                 changes={k: [old[k], new[k]] for k in changed})
    return organisation
