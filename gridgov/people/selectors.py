"""Reads of the people registry. Every function starts from the user's scope (`visible_to`).

Care tags a user may not see (sensitivity above their level) are neither shown nor usable as a
filter: filtering by such a tag gives an empty result, the same as a tag nobody has, so the
filter cannot be used to learn who belongs to the group. Lists prefetch what they show, so the
number of queries does not depend on the page size.
"""

import re
from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from gridgov.accounts.policy import require
from gridgov.core import crypto
from gridgov.core.errors import ValidationFailed
from gridgov.core.models import AuditEntry

from . import access
from .choices import ResidencyStatus, ResidentState
from .models import Address, CareTag, CareTagType, House, Household, Organisation, Resident
from .presenters import tag_levels
from .validation import ID_PURPOSE, PHONE_PURPOSE, normalise_phone

_REGION_PREFIX = re.compile(r"^[0-9]{1,15}$")
_ID_TAIL = re.compile(r"^[0-9]{3}[0-9X]$")
_INDEX = re.compile(r"^[0-9a-f]{64}$")
# Region columns a list needs; the boundary (geom_wkb) stays in the database.
REGION_DEFER = ("region__geom_wkb",)


def _open_tags(levels) -> QuerySet:
    """Open tags of the given sensitivity levels, without decrypting their attributes."""
    return (
        CareTag.objects.filter(ended_on__isnull=True, sensitivity__in=levels)
        .select_related("tag_type").defer("attributes").order_by("tag_type__sort_order", "id")
    )


def visible_tags_prefetch(user, levels=None, to_attr: str = "visible_tags") -> Prefetch:
    return Prefetch("care_tags", queryset=_open_tags(levels or tag_levels(user)), to_attr=to_attr)


def exact_search_tokens(*, id_number: str | None = None, phone: str | None = None) -> dict[str, str]:
    """The blind-index tokens for an exact ID / phone search: what a page URL may carry instead
    of the number (nor does it end up in access logs, browser history or the Referer)."""
    out = {}
    if id_number:
        out["id_index"] = crypto.blind_index(id_number.replace(" ", ""), ID_PURPOSE)
    if phone:
        out["phone_index"] = crypto.blind_index(normalise_phone(phone), PHONE_PURPOSE)
    return out


def _bad_filter(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, extra={"errors": {field: message}}, code="invalid_filter")


def resident_list(
    *, user, q: str | None = None, id_tail: str | None = None, id_number: str | None = None,
    phone: str | None = None, address: str | None = None, tag: str | None = None, region: str | None = None,
    residency_status: str | None = None, state: str | None = None, household: int | None = None,
    id_index: str | None = None, phone_index: str | None = None, tag_levels_override=None,
) -> QuerySet:
    """Residents in the user's scope matching every given filter, ordered by grid and id.

    q: name contains · id_tail: last four of the ID number · id_number / phone: exact, through the
    blind index (id_index / phone_index: the index itself, so a page URL never carries the number)
    · address: text in the address · tag: care tag type code (open tags of a level the
    user may see only) · region: region-code prefix · residency_status, state: codes.
    Each row carries `visible_tags` (open tags the user may see) and its household and address.
    """
    require(user, "people.view")
    levels = tag_levels_override if tag_levels_override is not None else tag_levels(user)
    qs = Resident.objects.visible_to(user)
    if q:
        qs = qs.filter(name__contains=q.strip())
    if id_tail:
        tail = id_tail.strip().upper()
        if not _ID_TAIL.match(tail):
            raise _bad_filter("id_tail", "身份证后四位应为 4 位数字（最后一位可为 X）")
        qs = qs.filter(id_tail=tail)
    if id_number:
        qs = qs.filter(id_number_index=crypto.blind_index(id_number.replace(" ", ""), ID_PURPOSE))
    if phone:
        qs = qs.filter(phone_index=crypto.blind_index(normalise_phone(phone), PHONE_PURPOSE))
    for field, token in (("id_number_index", id_index), ("phone_index", phone_index)):
        if token:
            if not _INDEX.match(token):
                raise _bad_filter(field, "查找标识无效")
            qs = qs.filter(**{field: token})
    if address:
        text = address.strip()
        qs = qs.filter(
            Q(address__road__contains=text) | Q(address__house_number=text.removesuffix("号"))
            | Q(address__building=text) | Q(household__registered_address__contains=text)
        )
    if tag:
        tag_type = CareTagType.objects.filter(code=tag).only("id", "sensitivity").first()
        if tag_type is None or tag_type.sensitivity not in levels:
            return qs.none()
        qs = qs.filter(Exists(CareTag.objects.filter(
            resident=OuterRef("pk"), tag_type=tag_type, ended_on__isnull=True, sensitivity__in=levels)))
    if region:
        if not _REGION_PREFIX.match(region):
            raise _bad_filter("region", "区划代码只能是 1-15 位数字")
        qs = qs.filter(region__code__startswith=region)
    if residency_status:
        if residency_status not in ResidencyStatus.values:
            raise _bad_filter("residency_status", "人口类型无效")
        qs = qs.filter(residency_status=residency_status)
    if state:
        if state not in ResidentState.values:
            raise _bad_filter("state", "状态无效")
        qs = qs.filter(state=state)
    if household:
        qs = qs.filter(household_id=household)
    return (
        qs.select_related("household", "address", "region").defer("health_note", *REGION_DEFER)
        .prefetch_related(visible_tags_prefetch(user, levels))
        .order_by("region_id", "id")
    )


def resident_get(*, user, resident_id) -> Resident:
    """One resident in scope (404 otherwise) with their visible tags, open and ended."""
    resident = access.access_resident(user, resident_id)
    levels = tag_levels(user)
    resident.visible_tags = list(
        CareTag.objects.filter(resident=resident, sensitivity__in=levels)
        .select_related("tag_type").order_by("ended_on", "tag_type__sort_order", "id")
    )
    resident.open_tags = [t for t in resident.visible_tags if t.ended_on is None]
    return resident


def resident_region_names(resident: Resident) -> list[dict]:
    """The chain county → grid for a resident, names only."""
    from gridgov.regions import codes
    from gridgov.regions.models import Region

    chain = codes.ancestor_codes(resident.region_id)
    names = dict(Region.objects.filter(code__in=chain).values_list("code", "name"))
    return [{"code": c, "name": names.get(c, c)} for c in chain]


def resident_history(*, user, resident: Resident) -> QuerySet:
    """Audit entries about this person: registration, changes, corrections, moves, reveals, and
    changes of the care tags the user may see. The caller has already passed `resident_get`."""
    levels = tag_levels(user)
    tag_ids = [str(pk) for pk in CareTag.objects.filter(resident=resident, sensitivity__in=levels)
               .values_list("pk", flat=True)]
    return (
        AuditEntry.objects.filter(
            Q(object_type="people.resident", object_id=str(resident.pk))
            | Q(object_type="people.caretag", object_id__in=tag_ids)
        ).order_by("-created_at", "-id")
    )


def household_list(*, user, q: str | None = None, region: str | None = None) -> QuerySet:
    """Households in scope, by number, with their head and address."""
    require(user, "people.view")
    qs = Household.objects.visible_to(user)
    if q:
        qs = qs.filter(Q(number__contains=q.strip()) | Q(head__name__contains=q.strip()))
    if region:
        if not _REGION_PREFIX.match(region):
            raise _bad_filter("region", "区划代码只能是 1-15 位数字")
        qs = qs.filter(region__code__startswith=region)
    return qs.select_related("head", "address").defer("head__health_note").order_by("region_id", "number", "id")


def household_get(*, user, household_id) -> Household:
    """One household in scope with its members (in scope) and their visible tags."""
    household = access.access_household(user, household_id)
    household.member_list = list(
        Resident.objects.visible_to(user).filter(household=household)
        .defer("health_note").prefetch_related(visible_tags_prefetch(user))
        .order_by("-relation_to_head", "birth_date", "id")
    )
    household.member_list.sort(key=lambda r: (r.relation_to_head != "head", r.birth_date or date.max, r.pk))
    return household


def address_list(*, user, q: str | None = None, region: str | None = None) -> QuerySet:
    require(user, "people.view")
    qs = Address.objects.visible_to(user)
    if q:
        qs = qs.filter(Q(road__contains=q.strip()) | Q(house_number=q.strip().removesuffix("号")))
    if region:
        if not _REGION_PREFIX.match(region):
            raise _bad_filter("region", "区划代码只能是 1-15 位数字")
        qs = qs.filter(region__code__startswith=region)
    return qs.order_by("region_id", "road", "house_number", "id")


def house_list(*, user, region: str | None = None, use: str | None = None) -> QuerySet:
    require(user, "people.view")
    qs = House.objects.visible_to(user)
    if region:
        if not _REGION_PREFIX.match(region):
            raise _bad_filter("region", "区划代码只能是 1-15 位数字")
        qs = qs.filter(region__code__startswith=region)
    if use:
        qs = qs.filter(use=use)
    return qs.select_related("address", "owner").defer("owner__health_note").order_by("region_id", "id")


def organisation_list(*, user, q: str | None = None, kind: str | None = None, region: str | None = None) -> QuerySet:
    """Organisations in scope, filtered by name, kind and region prefix."""
    require(user, "people.view")
    qs = Organisation.objects.visible_to(user)
    if q:
        qs = qs.filter(name__contains=q.strip())
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        if not _REGION_PREFIX.match(region):
            raise _bad_filter("region", "区划代码只能是 1-15 位数字")
        qs = qs.filter(region__code__startswith=region)
    return qs.select_related("address", "region").defer(*REGION_DEFER).order_by("region_id", "name", "id")


def organisation_get(*, user, organisation_id) -> Organisation:
    return access.access_organisation(user, organisation_id)


def care_tag_type_list(*, user) -> QuerySet:
    """The active special groups whose tags the user may see."""
    require(user, "people.view")
    return CareTagType.objects.filter(is_active=True, sensitivity__in=tag_levels(user)).order_by("sort_order", "code")
