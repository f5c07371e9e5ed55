"""Races on PostgreSQL: 200 concurrent redemptions against one balance, and retries racing each
other with one idempotency key. Real threads, each with its own connection (TESTING-NOTES.md).

Transactional tests flush the database afterwards (and may start from a flushed one), so each test
builds what it needs itself instead of relying on the session's demo seed.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection, connections

from gridgov.core.errors import ApplicationError
from gridgov.points import services
from gridgov.points.choices import EntryKind
from gridgov.points.ledger_check import check_ledger
from gridgov.points.models import Balance, Goods, Item, LedgerEntry, Order, StockMovement

from . import factories as f

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connections["default"].vendor != "postgresql",
                       reason="SQLite serialises every writer (BEGIN IMMEDIATE): the race needs PostgreSQL"),
]

CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "items.json"
REQUESTS = 200
WORKERS = 32


def _catalogue_item(code: str) -> Item:
    """The item, re-created from the catalogue file if an earlier transactional test flushed it."""
    row = next(r for r in json.loads(CATALOGUE.read_text(encoding="utf-8"))["items"] if r["code"] == code)
    item, _ = Item.objects.get_or_create(code=code, defaults={k: v for k, v in row.items() if k != "code"})
    return item


def _setup(points: int, cost: int, stock: int):
    _catalogue_item(f.CREDIT_ITEM)
    village = f.Village()
    subject = village.subject("并发测试")
    while points > 0:
        chunk = min(points, 500)
        f.credit(village, subject, chunk)
        points -= chunk
    shop = f.make_shop(village, goods=(("洗衣粉", cost, stock),))
    return village, subject, f.goods(shop, "洗衣粉")


def _run(fn, n: int) -> list:
    def call(i):
        try:
            return fn(i)
        except ApplicationError as exc:
            return exc.code
        finally:
            connection.close()  # each thread's own connection

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(call, range(n)))


def test_200_concurrent_redemptions_against_one_balance():
    village, subject, soap = _setup(points=1000, cost=7, stock=150)
    affordable = min(1000 // 7, 150)  # 142: the points run out before the stock

    def order(i):
        placed = services.order_place(acting_user=village.worker, subject=subject.pk, goods=soap.pk,
                                      idempotency_key_value=f"race-{i:04d}")
        return "ok" if placed.pk else "?"

    results = _run(order, REQUESTS)
    assert results.count("ok") == affordable, {r: results.count(r) for r in set(results)}
    assert set(results) <= {"ok", "insufficient_points"}
    balance = Balance.objects.get(subject=subject)
    assert (balance.earned, balance.spent, balance.spendable) == (1000, affordable * 7, 1000 - affordable * 7)
    assert balance.spendable >= 0
    assert Order.objects.filter(subject=subject).count() == affordable
    assert Goods.objects.get(pk=soap.pk).stock == 150 - affordable
    assert StockMovement.objects.filter(goods=soap).count() == 1 + affordable
    assert LedgerEntry.objects.filter(subject=subject, kind=EntryKind.REDEMPTION).count() == affordable
    assert check_ledger()[0] == []


def test_concurrent_redemptions_when_the_stock_runs_out_first():
    village, subject, soap = _setup(points=1000, cost=3, stock=40)

    def order(i):
        services.order_place(acting_user=village.worker, subject=subject.pk, goods=soap.pk)
        return "ok"

    results = _run(order, 120)
    assert results.count("ok") == 40 and set(results) <= {"ok", "out_of_stock"}
    assert Goods.objects.get(pk=soap.pk).stock == 0
    assert Balance.objects.get(subject=subject).spendable == 1000 - 40 * 3
    assert check_ledger()[0] == []


def test_retries_racing_with_one_idempotency_key_post_once():
    village, subject, soap = _setup(points=100, cost=10, stock=50)

    def order(i):
        placed = services.order_place(acting_user=village.worker, subject=subject.pk, goods=soap.pk,
                                      idempotency_key_value="the-same-retry-key")
        return placed.pk

    results = _run(order, 60)
    assert len(set(results)) == 1 and isinstance(results[0], int), set(results)
    assert Order.objects.filter(subject=subject).count() == 1
    assert Balance.objects.get(subject=subject).spendable == 90
    assert Goods.objects.get(pk=soap.pk).stock == 49
    assert check_ledger()[0] == []


def test_concurrent_orders_and_cancellations_keep_the_books_straight():
    village, subject, soap = _setup(points=500, cost=5, stock=100)
    orders = [services.order_place(acting_user=village.worker, subject=subject.pk, goods=soap.pk).pk
              for _ in range(30)]

    def work(i):
        if i < len(orders):
            services.order_cancel(acting_user=village.admin, order=orders[i], reason="并发撤销")
            return "cancelled"
        services.order_place(acting_user=village.worker, subject=subject.pk, goods=soap.pk)
        return "ok"

    results = _run(work, 90)
    assert results.count("cancelled") == 30 and results.count("ok") == 60
    balance = Balance.objects.get(subject=subject)
    assert balance.spendable == 500 - 60 * 5 and balance.spent == 60 * 5
    assert Goods.objects.get(pk=soap.pk).stock == 100 - 60
    assert check_ledger()[0] == []
