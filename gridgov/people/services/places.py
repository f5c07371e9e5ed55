"""Standard addresses (标准地址) and houses (实有房屋)."""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record

from .. import access
from ..choices import HouseUse, Occupancy
from ..models import Address, House
from ..presenters import audit_changes
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

ADDRESS_FIELDS = {"road": ("街路巷/组", 100), "house_number": ("门牌号", 30), "building": ("楼栋", 30),
                  "unit": ("单元", 30), "room": ("房间", 30)}


def _address_values(data: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, (label, limit) in ADDRESS_FIELDS.items():
        text = _text(data, key, limit, label, errors)
        if text is not None:
            values[key] = text
    for key, label, lo, hi in (("lon", "经度", 73.0, 136.0), ("lat", "纬度", 3.0, 54.0)):
        if key not in data:
            continue
        value = data[key]
        if value in (None, ""):
            values[key] = None
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors[key] = f"{label}“{value}”不是数字"
            continue
        if not lo <= number <= hi:
            errors[key] = f"{label}应在 {lo:g} 到 {hi:g} 之间（中国境内）"
            continue
        values[key] = number
    return values


def _check_address(address: Address, errors: dict[str, str]) -> None:
    if not (address.road or address.house_number):
        errors.setdefault("road", "街路巷/组和门牌号至少填写一项")
    if (address.lon is None) != (address.lat is None):
        errors.setdefault("lon", "经度和纬度应同时填写")


@transaction.atomic
def address_create(*, acting_user, region_code: str, data: Mapping[str, Any]) -> Address:
    """Registers a standard address in a grid of the actor's scope."""
    require(acting_user, "people.edit")
    _unknown_keys(data, [*ADDRESS_FIELDS, "lon", "lat"])
    region = _grid(acting_user, region_code)
    errors: dict[str, str] = {}
    address = Address(region=region, **_address_values(data, errors))
    _check_address(address, errors)
    if errors:
        raise _invalid(errors)
    _full_clean(address)
    address.save()
    _ensure_in_scope(acting_user, address)
    audit_record(actor=acting_user, action="people.address.create", obj=address,
                 changes={"address": address.short_text, "region": region.code})
    return address


@transaction.atomic
def address_update(*, acting_user, address_id: int, data: Mapping[str, Any]) -> Address:
    """Corrects the parts or coordinates of an address; the grid does not change here."""
    require(acting_user, "people.edit")
    _unknown_keys(data, [*ADDRESS_FIELDS, "lon", "lat"])
    address = access.access_address(acting_user, address_id, for_update=True)
    errors: dict[str, str] = {}
    values = _address_values(data, errors)
    before = {k: getattr(address, k) for k in values}
    for key, value in values.items():
        setattr(address, key, value)
    _check_address(address, errors)
    if errors:
        raise _invalid(errors)
    changes = audit_changes(before, values)
    if not changes:
        return address
    _full_clean(address)
    address.save(update_fields=[*changes, "updated_at"])
    _ensure_in_scope(acting_user, address)
    audit_record(actor=acting_user, action="people.address.update", obj=address, changes=changes)
    return address


HOUSE_FIELDS = ("address_id", "use", "occupancy", "owner_id", "owner_name", "floor_area", "note")


def _house_values(user, data: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, choices, label in (("use", HouseUse, "房屋用途"), ("occupancy", Occupancy, "居住情况")):
        value = _choice(data, key, choices, label, errors)
        if value:
            values[key] = value
    for key, limit, label in (("owner_name", 50, "产权人姓名"), ("note", 200, "备注")):
        text = _text(data, key, limit, label, errors)
        if text is not None:
            values[key] = text
    if "owner_id" in data:
        pk = _optional_pk(data["owner_id"], "产权人", "owner_id", errors)
        values["owner"] = _linked(user, access.access_resident, pk, "产权人", "owner_id", errors)
    if "floor_area" in data:
        raw = data["floor_area"]
        if raw in (None, ""):
            values["floor_area"] = None
        else:
            try:
                area = Decimal(str(raw)).quantize(Decimal("0.1"))
            except (InvalidOperation, ValueError):
                errors["floor_area"] = f"建筑面积“{raw}”不是数字"
            else:
                if not Decimal("0") < area < Decimal("1000000"):
                    errors["floor_area"] = "建筑面积应大于 0 且小于 1000000 平方米"
                else:
                    values["floor_area"] = area
    return values


def _house_audit(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key == "owner":
            out["owner"] = value.pk if value else None
        else:
            out[key] = str(value) if isinstance(value, Decimal) else value
    return out


@transaction.atomic
def house_create(*, acting_user, data: Mapping[str, Any]) -> House:
    """Registers the house at an address of the actor's scope (one house per address)."""
    require(acting_user, "people.edit")
    _unknown_keys(data, HOUSE_FIELDS)
    errors: dict[str, str] = {}
    address_pk = _optional_pk(data.get("address_id"), "地址", "address_id", errors)
    if address_pk is None and "address_id" not in errors:
        errors["address_id"] = "请选择房屋所在的标准地址"
    address = _linked(acting_user, access.access_address, address_pk, "地址", "address_id", errors)
    values = _house_values(acting_user, {k: v for k, v in data.items() if k != "address_id"}, errors)
    if address is not None and House.objects.filter(address=address).exists():
        errors["address_id"] = "该地址已登记房屋"
    if errors:
        raise _invalid(errors)
    house = House(address=address, region_id=address.region_id, **values)
    _full_clean(house)
    house.save()
    _ensure_in_scope(acting_user, house)
    audit_record(actor=acting_user, action="people.house.create", obj=house,
                 changes={"address": address.pk, **_house_audit(values)})
    return house


@transaction.atomic
def house_update(*, acting_user, house_id: int, data: Mapping[str, Any]) -> House:
    """Changes use, occupancy, owner or notes of a house; its address stays."""
    require(acting_user, "people.edit")
    _unknown_keys(data, [f for f in HOUSE_FIELDS if f != "address_id"])
    house = access.access_house(acting_user, house_id, for_update=True)
    errors: dict[str, str] = {}
    values = _house_values(acting_user, data, errors)
    if errors:
        raise _invalid(errors)
    before = {k: getattr(house, k) for k in values}
    changes = {k: [_house_audit({k: before[k]})[k], _house_audit({k: v})[k]]
               for k, v in values.items() if before[k] != v}
    if not changes:
        return house
    for key, value in values.items():
        setattr(house, key, value)
    _full_clean(house)
    house.save(update_fields=[*values, "updated_at"])
    _ensure_in_scope(acting_user, house)
    audit_record(actor=acting_user, action="people.house.update", obj=house, changes=changes)
    return house
