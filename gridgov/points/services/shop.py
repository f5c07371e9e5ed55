"""积分超市: shops, goods and their stock, and orders that exchange points for goods.

Lock order, everywhere: the order row (when there is one), then the subject's balance row, then the
goods row. Placing an order moves points (ledger + balance) and stock (movement + goods) in one
transaction; cancelling moves both back. The database refuses a negative spendable balance and a
negative stock, so even a bug above cannot oversell.
"""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.regions.choices import RegionLevel

from ..access import _pk, access_goods, access_order, access_region, access_shop_for_management, access_subject
from ..choices import EntryKind, OrderStatus, StockReason
from ..models import Goods, Order, Shop, StockMovement
from ._common import Conflict, Posting, idempotency_key, lock_balances, post

MAX_QUANTITY = 99
MAX_STOCK_CHANGE = 100_000


class InsufficientPoints(Conflict):
    def __init__(self, spendable: int, cost: int):
        super().__init__("insufficient_points", f"可兑换积分不足：需要 {cost} 分，现有 {spendable} 分",
                         extra={"spendable": spendable, "cost": cost})


class OutOfStock(Conflict):
    def __init__(self, stock: int, quantity: int):
        super().__init__("out_of_stock", f"库存不足：需要 {quantity}，现有 {stock}",
                         extra={"stock": stock, "quantity": quantity})


def _text(value, *, field: str, label: str, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"请填写{label}", code="required", extra={"field": field})
    if len(value) > max_length:
        raise ValidationFailed(f"{label}不能超过 {max_length} 字", code="too_long", extra={"field": field})
    return value


def _int(value, *, field: str, label: str, lo: int, hi: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{label}应为整数", code="invalid_number", extra={"field": field}) from None
    if not lo <= number <= hi:
        raise ValidationFailed(f"{label}应在 {lo}~{hi} 之间", code="out_of_range", extra={"field": field})
    return number


# --- shops and goods -------------------------------------------------------------------------------------


@transaction.atomic
def shop_create(*, acting_user, region: str, name: str, address: str = "", opening_hours: str = "") -> Shop:
    """Opens a shop at a town or a village inside the actor's scope (points.shop.manage)."""
    node = access_region(acting_user, region, permission="points.shop.manage")
    if node.level not in (RegionLevel.TOWN, RegionLevel.VILLAGE):
        raise ValidationFailed("积分超市只能设在镇（街道）或村（社区）", code="invalid_shop_region",
                               extra={"field": "region"})
    shop = Shop(region=node, name=_text(name, field="name", label="名称", max_length=100),
                address=_text(address, field="address", label="地址", max_length=200, required=False),
                opening_hours=_text(opening_hours, field="opening_hours", label="开放时间", max_length=100,
                                    required=False))
    shop.full_clean(exclude=["region"])
    shop.save(force_insert=True)
    audit_record(actor=acting_user, action="points.shop.create", obj=shop, changes={"name": shop.name})
    return shop


@transaction.atomic
def goods_create(*, acting_user, shop, name: str, cost: int, stock: int = 0, unit: str = "件") -> Goods:
    """Puts a good on a shop's shelf with its initial stock (recorded as the first stock movement)."""
    shop_obj = access_shop_for_management(acting_user, shop)
    goods = Goods(shop=shop_obj, name=_text(name, field="name", label="名称", max_length=100),
                  unit=_text(unit or "件", field="unit", label="单位", max_length=10),
                  cost=_int(cost, field="cost", label="所需积分", lo=1, hi=1_000_000),
                  stock=_int(stock, field="stock", label="库存", lo=0, hi=MAX_STOCK_CHANGE))
    goods.full_clean(exclude=["shop"])
    goods.save(force_insert=True)
    if goods.stock:
        StockMovement.objects.create(goods=goods, delta=goods.stock, reason=StockReason.INITIAL, actor=acting_user)
    audit_record(actor=acting_user, action="points.goods.create", obj=goods, region_code=shop_obj.region_id,
                 changes={"name": goods.name, "cost": goods.cost, "stock": goods.stock})
    return goods


@transaction.atomic
def goods_update(*, acting_user, goods, name: str | None = None, cost: int | None = None,
                 is_active: bool | None = None) -> Goods:
    """Renames, re-prices or shelves a good. Orders already placed keep the price they were placed at."""
    found = access_goods(acting_user, goods, permission="points.shop.manage")
    access_shop_for_management(acting_user, found.shop_id)
    goods_obj = Goods.objects.select_for_update().get(pk=found.pk)
    changes = {}
    if name is not None:
        goods_obj.name = _text(name, field="name", label="名称", max_length=100)
        changes["name"] = goods_obj.name
    if cost is not None:
        goods_obj.cost = _int(cost, field="cost", label="所需积分", lo=1, hi=1_000_000)
        changes["cost"] = goods_obj.cost
    if is_active is not None:
        goods_obj.is_active = bool(is_active)
        changes["is_active"] = goods_obj.is_active
    goods_obj.full_clean(exclude=["shop"])
    goods_obj.save(update_fields=["name", "cost", "is_active"])
    audit_record(actor=acting_user, action="points.goods.update", obj=goods_obj, region_code=found.shop.region_id,
                 changes=changes)
    return goods_obj


@transaction.atomic
def goods_restock(*, acting_user, goods, delta: int, note: str = "") -> Goods:
    """Adds stock (restock) or corrects it after a count (adjust, with a note); never below zero."""
    found = access_goods(acting_user, goods, permission="points.shop.manage")
    access_shop_for_management(acting_user, found.shop_id)
    change = _int(delta, field="delta", label="数量变化", lo=-MAX_STOCK_CHANGE, hi=MAX_STOCK_CHANGE)
    if change == 0:
        raise ValidationFailed("数量变化不能为 0", code="out_of_range", extra={"field": "delta"})
    note = _text(note, field="note", label="说明", max_length=200, required=change < 0)
    goods_obj = Goods.objects.select_for_update().get(pk=found.pk)
    if goods_obj.stock + change < 0:
        raise OutOfStock(goods_obj.stock, -change)
    Goods.objects.filter(pk=goods_obj.pk).update(stock=F("stock") + change)
    StockMovement.objects.create(goods=goods_obj, delta=change, reason=StockReason.RESTOCK if change > 0
                                 else StockReason.ADJUST, actor=acting_user, note=note)
    goods_obj.refresh_from_db(fields=["stock"])
    audit_record(actor=acting_user, action="points.goods.restock", obj=goods_obj, region_code=found.shop.region_id,
                 changes={"delta": change, "stock": goods_obj.stock, "note": note})
    return goods_obj


# --- orders ----------------------------------------------------------------------------------------------


def _replay(existing: Order, *, subject_id: int, goods_id: int, quantity: int) -> Order:
    if (existing.subject_id, existing.goods_id, existing.quantity) != (subject_id, goods_id, quantity):
        raise Conflict("idempotency_key_reused", "该幂等键已用于另一笔兑换", extra={"order": existing.pk})
    existing.replayed = True
    return existing


def order_place(*, acting_user, subject, goods, quantity: int = 1, idempotency_key_value: str | None = None) -> Order:
    """Exchanges a subject's points for goods at a shop of the subject's village or town.

    Guarantees: all or nothing — the order, the ledger entry, the balance, the stock movement and the
    stock change commit together; the subject had the points (409 insufficient_points) and the shop
    the stock (409 out_of_stock) at the moment of the exchange, checked under the locks, and refused
    requests change nothing. A retried request with the same idempotency key returns the first
    order (`order.replayed`) and moves nothing again, also when the retries race each other.
    """
    require(acting_user, "points.redeem")
    key = idempotency_key(idempotency_key_value)
    qty = _int(quantity, field="quantity", label="数量", lo=1, hi=MAX_QUANTITY)
    subject_id, goods_id = _pk(subject), _pk(goods)
    if key:
        existing = Order.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return _replay(existing, subject_id=subject_id, goods_id=goods_id, quantity=qty)
    try:
        return _place(acting_user=acting_user, subject_id=subject_id, goods_id=goods_id, quantity=qty, key=key)
    except IntegrityError:
        # A concurrent retry with the same key committed first (the unique key refused this one),
        # or — should a check above ever be wrong — the balance or stock constraint refused it.
        existing = Order.objects.filter(idempotency_key=key).first() if key else None
        if existing is not None:
            return _replay(existing, subject_id=subject_id, goods_id=goods_id, quantity=qty)
        raise Conflict("order_refused", "兑换未完成（积分或库存已变化），请刷新后重试") from None


@transaction.atomic
def _place(*, acting_user, subject_id: int, goods_id: int, quantity: int, key: str | None) -> Order:
    subject = access_subject(acting_user, subject_id, permission="points.redeem")
    goods = access_goods(acting_user, goods_id, permission="points.redeem")
    shop = goods.shop
    if not subject.region_id.startswith(shop.region_id):
        raise ValidationFailed("只能在本村或本镇的积分超市兑换", code="shop_not_for_subject", extra={"field": "goods"})
    if not (shop.is_active and goods.is_active):
        raise Conflict("not_available", "该物品已下架或超市暂停营业")
    balance = lock_balances([subject.pk])[subject.pk]
    goods = Goods.objects.select_for_update().get(pk=goods.pk)
    cost = goods.cost * quantity
    if balance.spendable < cost:
        raise InsufficientPoints(balance.spendable, cost)
    if goods.stock < quantity:
        raise OutOfStock(goods.stock, quantity)
    order = Order(region_id=subject.region_id, subject=subject, goods=goods, shop=shop, quantity=quantity,
                  unit_cost=goods.cost, total_cost=cost, placed_by=acting_user, idempotency_key=key)
    order.save(force_insert=True)
    Goods.objects.filter(pk=goods.pk).update(stock=F("stock") - quantity)
    StockMovement.objects.create(goods=goods, delta=-quantity, reason=StockReason.ORDER, order=order,
                                 actor=acting_user)
    post([Posting(subject_id=subject.pk, region_id=subject.region_id, kind=EntryKind.REDEMPTION, delta=-cost,
                  score_delta=0, occurred_on=timezone.localdate(order.placed_at), key=f"order:{order.pk}",
                  reference=f"兑换 {goods.name}×{quantity}（{shop.name}）", order_id=order.pk)], actor=acting_user)
    audit_record(actor=acting_user, action="points.order.place", obj=order, changes={
        "subject": subject.pk, "goods": goods.pk, "quantity": quantity, "cost": cost,
    })
    order.replayed = False
    return order


def _locked_order(acting_user, order) -> Order:
    found = access_order(acting_user, order, permission="points.redeem")
    locked = Order.objects.select_for_update().filter(pk=found.pk).first()
    if locked is None:
        raise NotFound()
    return locked


@transaction.atomic
def order_cancel(*, acting_user, order, reason: str) -> Order:
    """Cancels an order not yet handed out: the points and the stock go back (new entries, never edits)."""
    reason = _text(reason, field="reason", label="撤销原因", max_length=300)
    order_obj = _locked_order(acting_user, order)
    if order_obj.status != OrderStatus.PLACED:
        raise Conflict("wrong_state", f"该兑换{order_obj.get_status_display()}，不能撤销")
    lock_balances([order_obj.subject_id])
    goods = Goods.objects.select_for_update().get(pk=order_obj.goods_id)
    Goods.objects.filter(pk=goods.pk).update(stock=F("stock") + order_obj.quantity)
    StockMovement.objects.create(goods=goods, delta=order_obj.quantity, reason=StockReason.CANCEL, order=order_obj,
                                 actor=acting_user, note=reason[:200])
    post([Posting(subject_id=order_obj.subject_id, region_id=order_obj.region_id, kind=EntryKind.REDEMPTION_CANCEL,
                  delta=order_obj.total_cost, score_delta=0, occurred_on=timezone.localdate(order_obj.placed_at),
                  key=f"order:{order_obj.pk}:cancel", reference=f"撤销兑换 {goods.name}×{order_obj.quantity}：{reason}",
                  order_id=order_obj.pk)], actor=acting_user)
    order_obj.status = OrderStatus.CANCELLED
    order_obj.cancelled_at = timezone.now()
    order_obj.cancelled_by = acting_user
    order_obj.cancel_reason = reason
    order_obj.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    audit_record(actor=acting_user, action="points.order.cancel", obj=order_obj, changes={"reason": reason})
    return order_obj


@transaction.atomic
def order_fulfil(*, acting_user, order) -> Order:
    """Records that the goods were handed out (the order can then no longer be cancelled)."""
    order_obj = _locked_order(acting_user, order)
    if order_obj.status != OrderStatus.PLACED:
        raise Conflict("wrong_state", f"该兑换{order_obj.get_status_display()}，不能再领取")
    order_obj.status = OrderStatus.FULFILLED
    order_obj.fulfilled_at = timezone.now()
    order_obj.fulfilled_by = acting_user
    order_obj.save(update_fields=["status", "fulfilled_at", "fulfilled_by"])
    audit_record(actor=acting_user, action="points.order.fulfil", obj=order_obj)
    return order_obj
