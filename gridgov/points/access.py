"""Access to the scheme's rows: one function per entity, 404 for missing and forbidden alike.

A user without points.view at all (the auditor, departments) gets 403, which discloses nothing
about any row. Shops are the one exception to "scope is a prefix": a grid worker must see the shop
of their village and of their town, which lie *above* their grid, so shops are visible when they
lie inside the scope or on the path from the county down to it.
"""

from typing import Any

from django.db.models import Q

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.accounts.policy import get_scope, require
from gridgov.core.errors import NotFound
from gridgov.regions.models import Region

from .models import Certificate, Claim, Goods, LedgerEntry, Order, Shop, Subject

REGION_CODE_LENGTHS = (6, 9, 12, 15)


def _pk(value: Any) -> int:
    value = getattr(value, "pk", value)
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if pk <= 0 or pk > 2**62:
        raise NotFound()
    return pk


def _one(qs, pk):
    obj = qs.filter(pk=_pk(pk)).first()
    if obj is None:
        raise NotFound()
    return obj


def valid_region_code(code: Any) -> bool:
    return isinstance(code, str) and code.isdigit() and len(code) in REGION_CODE_LENGTHS


def access_region(user, code: str | None, *, permission: str = "points.view") -> Region:
    """A region node inside the user's scope."""
    require(user, permission)
    if not valid_region_code(code) or not get_scope(user).covers(code):
        raise NotFound()
    region = Region.objects.filter(code=code).defer("geom_wkb").first()
    if region is None:
        raise NotFound()
    return region


def access_subject(user, subject_id, *, permission: str = "points.view") -> Subject:
    require(user, permission)
    qs = Subject.objects.visible_to(user).select_related("balance", "region", "resident", "household", "organisation",
                                                          "user")
    return _one(qs.defer("region__geom_wkb"), subject_id)


def access_claim(user, claim_id, *, permission: str = "points.view", for_update: bool = False) -> Claim:
    require(user, permission)
    qs = Claim.objects.visible_to(user)
    if for_update:
        # Lock the claim row alone (joins with nullable sides cannot be locked on PostgreSQL).
        obj = qs.select_for_update().filter(pk=_pk(claim_id)).first()
        if obj is None:
            raise NotFound()
        return Claim.objects.select_related("subject", "item").get(pk=obj.pk)
    return _one(qs.select_related("subject", "item", "entered_by", "region").defer("region__geom_wkb"), claim_id)


def access_entry(user, entry_id, *, permission: str = "points.view") -> LedgerEntry:
    require(user, permission)
    qs = LedgerEntry.objects.visible_to(user).select_related("subject", "item", "claim", "order", "actor")
    return _one(qs, entry_id)


def shop_scope_q(user) -> Q:
    """Shops inside the user's scope, or at a town or village above it."""
    q = Q(pk__in=[])
    for prefix in get_scope(user).region_prefixes:
        above = [prefix[:n] for n in (9, 12) if len(prefix) > n]
        q |= Q(region__code__startswith=prefix)
        if above:
            q |= Q(region__code__in=above)
    return q


def access_shop(user, shop_id, *, permission: str = "points.view") -> Shop:
    require(user, permission)
    return _one(Shop.objects.filter(shop_scope_q(user)).select_related("region").defer("region__geom_wkb"), shop_id)


def access_goods(user, goods_id, *, permission: str = "points.view") -> Goods:
    require(user, permission)
    qs = Goods.objects.filter(shop__in=Shop.objects.filter(shop_scope_q(user))).select_related("shop")
    return _one(qs, goods_id)


def access_shop_for_management(user, shop_id) -> Shop:
    """A shop the user may stock: it lies inside the user's own scope (not merely above it)."""
    require(user, "points.shop.manage")
    shop = access_shop(user, shop_id, permission="points.shop.manage")
    if not get_scope(user).covers(shop.region_id):
        raise NotFound()
    return shop


def access_order(user, order_id, *, permission: str = "points.view") -> Order:
    require(user, permission)
    return _one(Order.objects.visible_to(user).select_related("subject", "goods", "shop", "placed_by"), order_id)


def access_certificate(user, certificate_id, *, permission: str = "points.view") -> Certificate:
    require(user, permission)
    return _one(Certificate.objects.visible_to(user).select_related("subject", "region", "issued_by")
                .defer("region__geom_wkb"), certificate_id)


def committee_members(village_code: str) -> set[int]:
    """The village committee: users holding an active village_cadre post at that village."""
    return set(Assignment.objects.filter(role=Role.VILLAGE_CADRE, region_id=village_code, is_active=True,
                                         user__is_active=True).values_list("user_id", flat=True))


def is_committee_member(user, village_code: str) -> bool:
    return Assignment.objects.filter(user=user, role=Role.VILLAGE_CADRE, region_id=village_code,
                                     is_active=True).exists()
