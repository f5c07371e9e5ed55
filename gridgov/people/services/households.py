"""Households (户): members, head, relation to the head."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record

from .. import access
from ..choices import RelationToHead
from ..models import Household, Resident
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

HOUSEHOLD_FIELDS = ("number", "address_id", "registered_address", "head_id", "members")


@dataclass(frozen=True)
class Member:
    resident: Resident
    relation: str


def _household_values(user, data: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "number" in data:
        number = str(data["number"] or "").strip()
        if not number:
            errors["number"] = "户号不能为空"
        elif len(number) > 32:
            errors["number"] = "户号不能超过 32 个字符"
        else:
            values["number"] = number
    text = _text(data, "registered_address", 200, "户籍地址", errors)
    if text is not None:
        values["registered_address"] = text
    if "address_id" in data:
        pk = _optional_pk(data["address_id"], "实际居住地址", "address_id", errors)
        values["address"] = _linked(user, access.access_address, pk, "实际居住地址", "address_id", errors)
    return values


def _members(user, household: Household | None, raw: Any, errors: dict[str, str]) -> list[Member]:
    if not isinstance(raw, list | tuple):
        errors["members"] = "成员应为列表：[{resident_id, relation_to_head}]"
        return []
    out: list[Member] = []
    seen: set[int] = set()
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            errors["members"] = f"第 {i} 位成员格式不正确"
            continue
        pk = _optional_pk(item.get("resident_id"), "成员", "members", errors)
        if pk is None:
            errors.setdefault("members", f"第 {i} 位成员缺少人员编号")
            continue
        if pk in seen:
            errors["members"] = f"成员（编号 {pk}）重复"
            continue
        seen.add(pk)
        resident = _linked(user, access.access_resident, pk, "成员", "members", errors)
        relation_errors: dict[str, str] = {}
        relation = _choice({"relation_to_head": item.get("relation_to_head")}, "relation_to_head", RelationToHead,
                           "与户主关系", relation_errors, blank=True)
        if relation_errors:
            errors["members"] = f"第 {i} 位成员：{relation_errors['relation_to_head']}"
            continue
        if resident is None:
            continue
        if resident.household_id and (household is None or resident.household_id != household.pk):
            errors["members"] = f"{resident.name}已属于户 {resident.household.number}，请先从原户移出"
            continue
        out.append(Member(resident, relation or ""))
    return out


def _apply_members(household: Household, members: list[Member] | None, head: Resident | None,
                   head_given: bool, errors: dict[str, str]) -> dict[str, Any]:
    """Sets who belongs to the household and who heads it; returns what changed, for the audit row."""
    current = {r.pk: r for r in Resident.objects.filter(household=household).only("pk", "relation_to_head")}
    given = members is not None
    wanted = {m.resident.pk: m for m in members} if given else {
        pk: Member(r, r.relation_to_head) for pk, r in current.items()}
    declared = [pk for pk, m in wanted.items() if m.relation == RelationToHead.HEAD]
    if head_given:
        if head is not None and head.pk not in wanted:
            errors["head_id"] = "户主必须是本户成员"
            return {}
        new_head_pk = head.pk if head else None
    elif given and declared:
        new_head_pk = declared[0]
    else:
        new_head_pk = household.head_id if household.head_id in wanted else None
    if given and [pk for pk in declared if pk != new_head_pk]:
        errors["members"] = "一户只能有一位户主：与户主关系为“户主”的成员应就是户主本人"
        return {}
    now = timezone.now()
    added, removed, relations = [], [], {}
    for pk, member in wanted.items():
        # A former head who is no longer the head keeps no relation until someone records it.
        relation = RelationToHead.HEAD if pk == new_head_pk else member.relation
        if relation == RelationToHead.HEAD and pk != new_head_pk:
            relation = ""
        old = current.get(pk)
        if old is None or old.relation_to_head != relation:
            Resident.objects.filter(pk=pk).update(household=household, relation_to_head=relation, updated_at=now)
            relations[str(pk)] = relation
            if old is None:
                added.append(pk)
    for pk in set(current) - set(wanted):
        Resident.objects.filter(pk=pk).update(household=None, relation_to_head="", updated_at=now)
        removed.append(pk)
    changes: dict[str, Any] = {}
    if household.head_id != new_head_pk:
        changes["head"] = [household.head_id, new_head_pk]
        household.head_id = new_head_pk
    if added:
        changes["members_added"] = sorted(added)
    if removed:
        changes["members_removed"] = sorted(removed)
    if relations:
        changes["relations"] = relations
    return changes


def _head(user, data: Mapping[str, Any], errors: dict[str, str]) -> tuple[Resident | None, bool]:
    if "head_id" not in data:
        return None, False
    pk = _optional_pk(data["head_id"], "户主", "head_id", errors)
    return _linked(user, access.access_resident, pk, "户主", "head_id", errors), True


@transaction.atomic
def household_create(*, acting_user, region_code: str, data: Mapping[str, Any]) -> Household:
    """Registers a household in a grid, optionally with its members, their relation and the head.

    `data["members"]` is a list of {resident_id, relation_to_head}; a member already in another
    household is refused (move them out first), so nobody belongs to two households.
    """
    require(acting_user, "people.edit")
    _unknown_keys(data, HOUSEHOLD_FIELDS)
    region = _grid(acting_user, region_code)
    errors: dict[str, str] = {}
    values = _household_values(acting_user, data, errors)
    if "number" not in data:
        errors["number"] = "户号不能为空"
    members = _members(acting_user, None, data.get("members") or [], errors)
    head, head_given = _head(acting_user, data, errors)
    if values.get("number") and Household.objects.filter(region=region, number=values["number"]).exists():
        errors["number"] = f"户号“{values['number']}”在本网格已存在"
    if errors:
        raise _invalid(errors)
    household = Household(region=region, **values)
    _full_clean(household)
    household.save()
    changes = _apply_members(household, members, head, head_given, errors)
    if errors:
        raise _invalid(errors)
    if household.head_id:
        household.save(update_fields=["head"])
    _ensure_in_scope(acting_user, household)
    audit_record(actor=acting_user, action="people.household.create", obj=household, changes={
        "number": household.number, "address": household.address_id, **changes})
    return household


@transaction.atomic
def household_update(*, acting_user, household_id: int, data: Mapping[str, Any]) -> Household:
    """Changes a household's number, addresses, head or members (the list replaces the old one)."""
    require(acting_user, "people.edit")
    _unknown_keys(data, HOUSEHOLD_FIELDS)
    household = access.access_household(acting_user, household_id, for_update=True)
    errors: dict[str, str] = {}
    values = _household_values(acting_user, data, errors)
    members = _members(acting_user, household, data["members"], errors) if "members" in data else None
    head, head_given = _head(acting_user, data, errors)
    number = values.get("number")
    if number and number != household.number and Household.objects.filter(
            region_id=household.region_id, number=number).exists():
        errors["number"] = f"户号“{number}”在本网格已存在"
    if errors:
        raise _invalid(errors)
    changes: dict[str, Any] = {}
    for key, value in values.items():
        old = getattr(household, key)
        if old != value:
            changes[key] = [old.pk if isinstance(old, models.Model) else old,
                            value.pk if isinstance(value, models.Model) else value]
            setattr(household, key, value)
    if members is not None or head_given:
        changes.update(_apply_members(household, members, head, head_given, errors))
        if errors:
            raise _invalid(errors)
    if not changes:
        return household
    _full_clean(household)
    household.save(update_fields=["number", "address", "registered_address", "head", "updated_at"])
    _ensure_in_scope(acting_user, household)
    audit_record(actor=acting_user, action="people.household.update", obj=household, changes=changes)
    return household
