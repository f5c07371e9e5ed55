"""Residents (实有人口): registration, changes, corrections, moves."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.core.idcard import IdNumberError, parse_id_number

from .. import access
from ..choices import Gender, RelationToHead, ResidentState
from ..models import CareTag, Household, Resident
from ..presenters import audit_changes, audit_value
from ..validation import clean_resident_data, identity_fields
from ._common import (
    DUPLICATE_ID,
    _choice,
    _ensure_in_scope,
    _full_clean,
    _grid,
    _invalid,
    _linked,
    _optional_pk,
    _reason,
    _unknown_keys,
)

# Resident fields a caller may set, besides the links (household, address, guardian).
RESIDENT_FIELDS = (
    "name", "id_number", "phone", "gender", "birth_date", "ethnicity", "residency_status", "political_status",
    "relation_to_head", "occupation", "health_note", "guardian_note", "state",
)
RESIDENT_LINKS = {"household_id": "household", "address_id": "address", "guardian_id": "guardian"}
# Fields whose value is personal data: audited masked or as 已修改, never in clear.
PERSONAL_FIELDS = ("id_number", "phone", "health_note")
OPTIONAL_TEXT = {"occupation": "", "health_note": "", "guardian_note": "", "relation_to_head": "", "phone": ""}


def _resident_snapshot(resident: Resident) -> dict[str, Any]:
    out = {f: getattr(resident, f) for f in RESIDENT_FIELDS}
    for key, attr in RESIDENT_LINKS.items():
        out[key] = getattr(resident, attr + "_id")
    return out


def _clean_resident(user, data: Mapping[str, Any], *, partial: bool, resident: Resident | None) \
        -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Clean field values, resolved links, and errors, from raw input (codes or Chinese labels)."""
    raw = {k: v for k, v in data.items() if k in RESIDENT_FIELDS and k != "state"}
    result = clean_resident_data(raw, partial=partial)
    values, errors = dict(result.data), dict(result.errors)
    if partial:
        for key, empty in OPTIONAL_TEXT.items():
            if key in raw and raw[key] in (None, "") and key not in errors:
                values[key] = empty
        if "id_number" in raw and raw["id_number"] in (None, ""):
            errors["id_number"] = "公民身份号码不能清空"
        if "name" in raw and "name" in errors and raw["name"] in (None, ""):
            errors["name"] = "姓名不能为空"
    if "state" in data:
        state = _choice(data, "state", ResidentState, "状态", errors)
        if state:
            values["state"] = state
    links: dict[str, Any] = {}
    labels = {"household_id": "所在户", "address_id": "居住地址", "guardian_id": "监护人"}
    getters = {"household_id": access.access_household, "address_id": access.access_address,
               "guardian_id": access.access_resident}
    for key, attr in RESIDENT_LINKS.items():
        if key in data:
            pk = _optional_pk(data[key], labels[key], key, errors)
            links[attr] = _linked(user, getters[key], pk, labels[key], key, errors)
    guardian = links.get("guardian")
    if guardian is not None and resident is not None and guardian.pk == resident.pk:
        errors["guardian_id"] = "监护人不能是本人"
    _check_derived(raw, values, resident, errors)
    return values, links, errors


def _check_derived(raw: Mapping[str, Any], values: dict[str, Any], resident: Resident | None,
                   errors: dict[str, str]) -> None:
    """Gender and birth date follow the ID number: a contradicting value is an error, not ignored."""
    if "id_number" in errors:
        return
    id_number = values.get("id_number") or (resident.id_number if resident is not None else "")
    if not id_number:
        return
    try:
        parsed = parse_id_number(id_number)
    except IdNumberError:
        return  # an old row with a number that no longer validates: leave gender and birth date alone
    if raw.get("gender") not in (None, ""):
        code = _choice({"gender": raw["gender"]}, "gender", Gender, "性别", errors)
        if code and code != parsed.gender:
            errors["gender"] = f"性别与身份证号码不符：按身份证号码应为“{Gender(parsed.gender).label}”"
    if raw.get("birth_date") not in (None, ""):
        given = raw["birth_date"]
        given = given.date() if isinstance(given, datetime) else given
        if str(given).strip() != parsed.birth_date.isoformat():
            errors["birth_date"] = f"出生日期与身份证号码不符：按身份证号码应为 {parsed.birth_date:%Y-%m-%d}"
    values["gender"] = parsed.gender
    values["birth_date"] = parsed.birth_date


def _duplicate_id(resident: Resident, errors: dict[str, str]) -> None:
    if not resident.id_number_index:
        return
    clash = Resident.objects.filter(id_number_index=resident.id_number_index)
    if resident.pk:
        clash = clash.exclude(pk=resident.pk)
    if clash.exists():
        errors["id_number"] = DUPLICATE_ID


def _check_household_head(resident: Resident, errors: dict[str, str]) -> None:
    household = resident.household
    if household is None:
        if resident.relation_to_head:
            errors.setdefault("relation_to_head", "未加入任何户的人员不能填写与户主关系")
        return
    if resident.relation_to_head == RelationToHead.HEAD and household.head_id not in (None, resident.pk):
        errors["relation_to_head"] = f"户 {household.number} 已有户主，请先在户页面变更户主"


def _save_resident(resident: Resident, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            resident.save(update_fields=update_fields)
    except IntegrityError as exc:
        # Two clerks registering the same person at the same moment: the constraint decides.
        if "resident_id_number_unique" in str(exc) or "id_number_index" in str(exc):
            raise _invalid({"id_number": DUPLICATE_ID}, "duplicate_id_number") from None
        raise


def _raise_resident_errors(errors: dict[str, str]) -> None:
    if errors:
        code = "duplicate_id_number" if errors.get("id_number") == DUPLICATE_ID else "invalid"
        raise _invalid(errors, code)


def _sync_head(resident: Resident, before_household: int | None, before_relation: str) -> dict[str, Any]:
    """Keeps Household.head in step with a member's relation to the head."""
    changes: dict[str, Any] = {}
    if before_household and before_relation == RelationToHead.HEAD and (
            resident.household_id != before_household or resident.relation_to_head != RelationToHead.HEAD):
        Household.objects.filter(pk=before_household, head_id=resident.pk).update(head=None)
        changes["household_head_cleared"] = before_household
    if resident.household_id and resident.relation_to_head == RelationToHead.HEAD:
        updated = Household.objects.filter(pk=resident.household_id, head__isnull=True).update(head=resident)
        if updated:
            changes["household_head_set"] = resident.household_id
    return changes


@transaction.atomic
def resident_create(*, acting_user, region_code: str, data: Mapping[str, Any]) -> Resident:
    """Registers a person in a grid of the actor's scope.

    `data` holds the fields of RESIDENT_FIELDS (choices by code or Chinese label) and optionally
    household_id / address_id / guardian_id. Gender and birth date come from the ID number; an ID
    number already registered anywhere in the county is refused with 该身份证号码已登记.
    """
    require(acting_user, "people.edit")
    _unknown_keys(data, [*RESIDENT_FIELDS, *RESIDENT_LINKS])
    region = _grid(acting_user, region_code)
    values, links, errors = _clean_resident(acting_user, data, partial=False, resident=None)
    resident = Resident(region=region, **values, **links,
                        **identity_fields(id_number=values.get("id_number", ""), phone=values.get("phone", "")))
    if not errors:
        _check_household_head(resident, errors)
        _duplicate_id(resident, errors)
    _raise_resident_errors(errors)
    _full_clean(resident, exclude=["id_number_index"])
    _save_resident(resident)
    extra = _sync_head(resident, None, "")
    _ensure_in_scope(acting_user, resident)
    after = _resident_snapshot(resident)
    changes = {k: audit_value(k, v) for k, v in after.items() if v not in (None, "")}
    audit_record(actor=acting_user, action="people.resident.create", obj=resident, changes={**changes, **extra})
    return resident


def _resident_change(*, acting_user, resident_id: int, data: Mapping[str, Any], action: str,
                     message: str = "") -> Resident:
    require(acting_user, "people.edit")
    _unknown_keys(data, [*RESIDENT_FIELDS, *RESIDENT_LINKS])
    resident = access.access_resident(acting_user, resident_id, for_update=True)
    before = _resident_snapshot(resident)
    before_household, before_relation = resident.household_id, resident.relation_to_head
    values, links, errors = _clean_resident(acting_user, data, partial=True, resident=resident)
    _raise_resident_errors(errors)
    if "id_number" in values and values["id_number"] != resident.id_number:
        values.update(identity_fields(id_number=values["id_number"]))
    elif "id_number" in values:
        # Same number: keep gender and birth date as derived, but nothing else to re-index.
        values.pop("id_number")
    if "phone" in values:
        values.update(identity_fields(phone=values["phone"]))
    for key, value in {**values, **links}.items():
        setattr(resident, key, value)
    if "household" in links and resident.household is None and "relation_to_head" not in values:
        resident.relation_to_head = ""
    _check_household_head(resident, errors)
    _duplicate_id(resident, errors)
    _raise_resident_errors(errors)
    after = _resident_snapshot(resident)
    changes = audit_changes(before, after)
    if not changes and not message:
        return resident
    _full_clean(resident, exclude=["id_number_index"])
    fields = [f for f in RESIDENT_FIELDS if f in changes]
    fields += [RESIDENT_LINKS[k] for k in RESIDENT_LINKS if k in changes]
    if "id_number" in changes:
        fields += ["id_number_index", "id_tail"]
    if "phone" in changes:
        fields.append("phone_index")
    if "household" in fields and "relation_to_head" not in fields:
        fields.append("relation_to_head")
    _save_resident(resident, update_fields=[*dict.fromkeys(fields), "updated_at"])
    changes.update(_sync_head(resident, before_household, before_relation))
    _ensure_in_scope(acting_user, resident)
    audit_record(actor=acting_user, action=action, obj=resident, changes=changes, message=message)
    return resident


@transaction.atomic
def resident_update(*, acting_user, resident_id: int, data: Mapping[str, Any]) -> Resident:
    """Changes the fields present in `data` (partial). The grid changes only through resident_move."""
    return _resident_change(acting_user=acting_user, resident_id=resident_id, data=data,
                            action="people.resident.update")


@transaction.atomic
def resident_correct(*, acting_user, resident_id: int, data: Mapping[str, Any], reason: str) -> Resident:
    """A correction of wrong data (PIPL 更正), with the stated reason kept in the person's history.

    Unlike an update it is recorded even when the person's data turns out unchanged, so a request
    that was examined and found right is on the record too.
    """
    text = _reason(reason, "更正原因")
    return _resident_change(acting_user=acting_user, resident_id=resident_id, data=data,
                            action="people.resident.correct", message=text)


@transaction.atomic
def resident_move(*, acting_user, resident_id: int, to_region_code: str, reason: str = "") -> Resident:
    """Moves a person (and their care tags) to another grid. The actor needs both grids in scope."""
    require(acting_user, "people.edit")
    resident = access.access_resident(acting_user, resident_id, for_update=True)
    target = _grid(acting_user, to_region_code)
    if target.code == resident.region_id:
        raise _invalid({"region_code": "该人员已在此网格"}, "same_region")
    old = resident.region_id
    resident.region = target
    resident.save(update_fields=["region", "updated_at"])
    CareTag.objects.filter(resident=resident).update(region=target)
    _ensure_in_scope(acting_user, resident)
    audit_record(actor=acting_user, action="people.resident.move", obj=resident,
                 changes={"region": [old, target.code]}, message=str(reason or "").strip()[:500])
    return resident
