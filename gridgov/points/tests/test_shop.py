"""积分超市: orders move points and stock together, refusals change nothing, retries post once,
cancellation gives both back; the ledger check command agrees or lists what does not."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gridgov.accounts.choices import Role
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied
from gridgov.points import services
from gridgov.points.choices import EntryKind, OrderStatus
from gridgov.points.ledger_check import check_ledger
from gridgov.points.models import Balance, Goods, LedgerEntry, Order, StockMovement

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(village):
    return f.make_shop(village, goods=(("洗衣粉", 20, 5), ("食用油", 50, 1), ("大米", 80, 10)))


@pytest.fixture
def rich(village):
    subject = village.subject("周富")
    f.credit(village, subject, 100)
    return subject


def snapshot(subject, goods):
    b = Balance.objects.get(subject=subject)
    return (b.earned, b.spent, b.spendable, Goods.objects.get(pk=goods.pk).stock,
            Order.objects.filter(subject=subject).count(), LedgerEntry.objects.filter(subject=subject).count(),
            StockMovement.objects.filter(goods=goods).count())


def test_an_order_moves_points_and_stock_together(village, shop, rich):
    soap = f.goods(shop, "洗衣粉")
    order = services.order_place(acting_user=village.worker, subject=rich.pk, goods=soap.pk, quantity=2)
    assert (order.status, order.unit_cost, order.total_cost) == (OrderStatus.PLACED, 20, 40)
    assert snapshot(rich, soap)[:4] == (100, 40, 60, 3)
    entry = LedgerEntry.objects.get(order=order)
    assert (entry.kind, entry.delta, entry.score_delta) == (EntryKind.REDEMPTION, -40, 0)
    assert StockMovement.objects.get(order=order).delta == -2
    assert check_ledger()[0] == []


def test_insufficient_points_are_refused_and_nothing_changes(village, shop, rich):
    rice = f.goods(shop, "大米")
    services.order_place(acting_user=village.worker, subject=rich.pk, goods=rice.pk)  # 80 of 100
    before = snapshot(rich, rice)
    with pytest.raises(ApplicationError) as info:
        services.order_place(acting_user=village.worker, subject=rich.pk, goods=rice.pk)
    assert info.value.code == "insufficient_points" and info.value.status == 409
    assert info.value.extra == {"spendable": 20, "cost": 80}
    assert snapshot(rich, rice) == before


def test_insufficient_stock_is_refused_and_nothing_changes(village, shop, rich):
    oil = f.goods(shop, "食用油")
    before = snapshot(rich, oil)
    with pytest.raises(ApplicationError) as info:
        services.order_place(acting_user=village.worker, subject=rich.pk, goods=oil.pk, quantity=2)
    assert info.value.code == "out_of_stock"
    assert snapshot(rich, oil) == before


def test_a_retried_order_with_the_same_key_posts_once(village, shop, rich):
    soap = f.goods(shop, "洗衣粉")
    first = services.order_place(acting_user=village.worker, subject=rich.pk, goods=soap.pk,
                                 idempotency_key_value="order-retry-0001")
    after_first = snapshot(rich, soap)
    for _ in range(3):
        again = services.order_place(acting_user=village.worker, subject=rich.pk, goods=soap.pk,
                                     idempotency_key_value="order-retry-0001")
        assert again.pk == first.pk and again.replayed
    assert snapshot(rich, soap) == after_first
    with pytest.raises(ApplicationError) as info:
        services.order_place(acting_user=village.worker, subject=rich.pk, goods=soap.pk, quantity=2,
                             idempotency_key_value="order-retry-0001")
    assert info.value.code == "idempotency_key_reused"
    assert snapshot(rich, soap) == after_first


def test_cancelling_gives_points_and_stock_back(village, shop, rich):
    soap = f.goods(shop, "洗衣粉")
    order = services.order_place(acting_user=village.worker, subject=rich.pk, goods=soap.pk, quantity=3)
    cancelled = services.order_cancel(acting_user=village.admin, order=order.pk, reason="村民改换物品")
    assert cancelled.status == OrderStatus.CANCELLED
    b = Balance.objects.get(subject=rich)
    assert (b.earned, b.spent, b.spendable) == (100, 0, 100)
    assert Goods.objects.get(pk=soap.pk).stock == 5
    assert list(LedgerEntry.objects.filter(order=order).order_by("id").values_list("kind", "delta")) == [
        ("redemption", -60), ("redemption_cancel", 60)]
    with pytest.raises(ApplicationError) as info:
        services.order_cancel(acting_user=village.admin, order=order.pk, reason="再撤一次")
    assert info.value.code == "wrong_state"
    assert check_ledger()[0] == []


def test_a_handed_out_order_cannot_be_cancelled(village, shop, rich):
    soap = f.goods(shop, "洗衣粉")
    order = services.order_place(acting_user=village.worker, subject=rich.pk, goods=soap.pk)
    services.order_fulfil(acting_user=village.admin, order=order.pk)
    with pytest.raises(ApplicationError):
        services.order_cancel(acting_user=village.admin, order=order.pk, reason="晚了")
    assert Goods.objects.get(pk=soap.pk).stock == 4


def test_shops_serve_their_village_and_town_only(village, other_village, rich):
    town_shop = f.make_shop(village, level="town", goods=(("毛巾", 10, 10),))
    towel = f.goods(town_shop, "毛巾")
    services.order_place(acting_user=village.worker, subject=rich.pk, goods=towel.pk)  # the town's shop: fine
    far_shop = f.make_shop(other_village, goods=(("肥皂", 5, 10),))
    soap = f.goods(far_shop, "肥皂")
    with pytest.raises(NotFound):  # another town's village shop is not even visible
        services.order_place(acting_user=village.worker, subject=rich.pk, goods=soap.pk)
    neighbour = f.Village(name="邻村")  # same town, another village: its shop is not ours
    near_shop = f.make_shop(neighbour, goods=(("香皂", 5, 10),))
    with pytest.raises(NotFound):
        services.order_place(acting_user=village.worker, subject=rich.pk, goods=f.goods(near_shop, "香皂").pk)
    with pytest.raises(PermissionDenied):
        services.order_place(acting_user=f.make_user(Role.TOWN_OPERATOR, village.region.parent), subject=rich.pk,
                             goods=towel.pk)


def test_stock_management(village, shop):
    soap = f.goods(shop, "洗衣粉")
    services.goods_restock(acting_user=village.admin, goods=soap.pk, delta=10)
    with pytest.raises(ApplicationError) as info:
        services.goods_restock(acting_user=village.admin, goods=soap.pk, delta=-3)
    assert info.value.code == "required"  # a decrease needs a note
    services.goods_restock(acting_user=village.admin, goods=soap.pk, delta=-3, note="盘点破损 3 袋")
    with pytest.raises(ApplicationError) as info:
        services.goods_restock(acting_user=village.admin, goods=soap.pk, delta=-100, note="盘点")
    assert info.value.code == "out_of_stock"
    assert Goods.objects.get(pk=soap.pk).stock == 12
    with pytest.raises(PermissionDenied):
        services.goods_restock(acting_user=village.worker, goods=soap.pk, delta=1)
    with pytest.raises(PermissionDenied):
        services.shop_create(acting_user=village.cadres[0], region=village.code, name="x")
    with pytest.raises(ApplicationError) as info:
        services.shop_create(acting_user=village.admin, region=village.grid.code, name="网格超市")
    assert info.value.code == "invalid_shop_region"
    assert check_ledger()[0] == []


def test_the_ledger_check_command(village, shop, rich):
    out = io.StringIO()
    call_command("verify_points_ledger", stdout=out)
    assert "核对通过" in out.getvalue()
    # Someone edits a balance behind the ledger's back (an UPDATE outside the services).
    Balance.objects.filter(subject=rich).update(spendable=999)
    Goods.objects.filter(pk=f.goods(shop, "食用油").pk).update(stock=7)
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("verify_points_ledger", stdout=out)
    assert info.value.returncode == 1
    text = out.getvalue()
    assert f"积分账户 #{rich.pk} 周富：spendable 应为 100，实为 999" in text
    assert "物品库存" in text and "食用油" in text and "stock 应为 1，实为 7" in text
