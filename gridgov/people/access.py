"""One function per entity: the row if `user` may see it, else NotFound.

Missing rows and rows outside the user's scope give the same 404, so nothing leaks about who is
registered where. A care tag the user may not see (sensitivity) is missing too. A user without
`people.view` at all (the auditor) gets 403.
"""

from typing import Any

from gridgov.accounts.policy import require
from gridgov.core.errors import NotFound

from .models import Address, CareTag, House, Household, Organisation, Resident
from .presenters import tag_levels


def _pk(value: Any) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if pk <= 0 or pk > 2**62:
        raise NotFound()
    return pk


def _get(qs, pk, *, for_update: bool = False):
    qs = qs.filter(pk=_pk(pk))
    if for_update:
        qs = qs.select_for_update()
    obj = qs.first()
    if obj is None:
        raise NotFound()
    return obj


def access_resident(user, resident_id, *, for_update: bool = False) -> Resident:
    require(user, "people.view")
    qs = Resident.objects.visible_to(user).select_related("household", "address", "region").defer("region__geom_wkb")
    if for_update:
        # select_for_update with nullable joins is refused on PostgreSQL: lock the row alone.
        qs = Resident.objects.visible_to(user)
    return _get(qs, resident_id, for_update=for_update)


def access_household(user, household_id, *, for_update: bool = False) -> Household:
    require(user, "people.view")
    qs = Household.objects.visible_to(user)
    if not for_update:
        qs = qs.select_related("address", "head")
    return _get(qs, household_id, for_update=for_update)


def access_address(user, address_id, *, for_update: bool = False) -> Address:
    require(user, "people.view")
    return _get(Address.objects.visible_to(user), address_id, for_update=for_update)


def access_house(user, house_id, *, for_update: bool = False) -> House:
    require(user, "people.view")
    qs = House.objects.visible_to(user)
    if not for_update:
        qs = qs.select_related("address", "owner")
    return _get(qs, house_id, for_update=for_update)


def access_organisation(user, organisation_id, *, for_update: bool = False) -> Organisation:
    require(user, "people.view")
    qs = Organisation.objects.visible_to(user)
    if not for_update:
        qs = qs.select_related("address")
    return _get(qs, organisation_id, for_update=for_update)


def access_care_tag(user, tag_id, *, for_update: bool = False) -> CareTag:
    require(user, "people.view")
    qs = CareTag.objects.visible_to(user).filter(sensitivity__in=tag_levels(user))
    if not for_update:
        qs = qs.select_related("tag_type", "resident")
    return _get(qs, tag_id, for_update=for_update)
