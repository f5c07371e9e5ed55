"""The points ledger under parallel HTTP requests (PostgreSQL): awards are never lost, a balance is
never spent twice, one idempotency key posts once, and `verify_points_ledger` agrees afterwards.

gridgov/points/tests/test_race.py races the services with 200 orders; these go through the API
(token, Idempotency-Key header, 409 mapping) and mix awards with redemptions on one balance row.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from gridgov.points.choices import EntryKind
from gridgov.points.ledger_check import check_ledger
from gridgov.points.models import Balance, Claim, Goods, LedgerEntry, Order
from gridgov.points.tests import factories as f

from .concurrency_support import ApiClient, N, key, post_parallel, reference_data, run_parallel, tally, token_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="SQLite serialises every writer (BEGIN IMMEDIATE): a race needs PostgreSQL's row locks"),
]


@pytest.fixture
def village():
    reference_data()
    return f.Village(name="并发积分村")


def _claim_body(subject, points: int = 10) -> dict:
    return {"subject": subject.pk, "item": f.CREDIT_ITEM, "points": points, "occurred_on": str(timezone.localdate()),
            "description": "并发测试", "channel": "in_person", "source": "grid_worker", "evidence": "村委会调查记录"}


def _ledger_is_clean(capsys):
    assert check_ledger()[0] == []
    call_command("verify_points_ledger")
    assert "核对通过" in capsys.readouterr().out


def test_parallel_awards_to_one_balance_are_all_counted(village, capsys):
    subject = village.subject("并发加分")
    claims = [f.submit(village, subject, points=10 + i) for i in range(N)]  # below the threshold: one vote posts
    cadre = token_for(village.cadres[0])

    outcomes = post_parallel(cadre, [(f"points/claims/{c.pk}/approve", {"note": "同意"}, {}) for c in claims])

    assert tally(outcomes) == {200: N}, tally(outcomes)
    assert all(body["status"] == "posted" for _, body in outcomes)
    total = sum(10 + i for i in range(N))
    balance = Balance.objects.get(subject=subject)
    assert (balance.earned, balance.spendable, balance.spent) == (total, total, 0)  # no lost update
    assert LedgerEntry.objects.filter(subject=subject, kind=EntryKind.AWARD).count() == N
    _ledger_is_clean(capsys)

    # One claim sent N times at once with one key (a phone retrying): entered once.
    body = _claim_body(subject) | {"idempotency_key": key()}
    outcomes = post_parallel(token_for(village.worker), [("points/claims", body, {})] * N)
    assert tally(outcomes) == {201: 1, 200: N - 1}, tally(outcomes)
    assert len({b["id"] for _, b in outcomes}) == 1
    assert Claim.objects.filter(subject=subject).count() == N + 1


def test_parallel_redemptions_never_spend_a_balance_twice_nor_lose_an_award(village, capsys):
    subject = village.subject("并发兑换")
    f.credit(village, subject, 50)
    shop = f.make_shop(village, goods=(("大米", 10, 100),))
    rice = f.goods(shop, "大米")
    worker = token_for(village.worker)
    order = {"subject": subject.pk, "goods": rice.pk}

    # N retries of one order with one key: one order, one debit.
    same = key()
    outcomes = post_parallel(worker, [("points/orders", order, {"HTTP_IDEMPOTENCY_KEY": same})] * N)
    assert tally(outcomes) == {201: 1, 200: N - 1}, tally(outcomes)
    assert Balance.objects.get(subject=subject).spendable == 40

    # N different orders against 40 points at 10 each: exactly four go through.
    outcomes = post_parallel(worker, [("points/orders", order, {"HTTP_IDEMPOTENCY_KEY": key()}) for _ in range(N)])
    assert tally(outcomes) == {201: 4, "409 insufficient_points": N - 4}, tally(outcomes)
    balance = Balance.objects.get(subject=subject)
    assert (balance.earned, balance.spent, balance.spendable) == (50, 50, 0)
    assert Order.objects.filter(subject=subject).count() == 5
    assert Goods.objects.get(pk=rice.pk).stock == 95
    _ledger_is_clean(capsys)

    # Awards and redemptions racing on one balance row: no lost update either way.
    subject = village.subject("边加边兑")
    f.credit(village, subject, 30)
    claims = [f.submit(village, subject, points=10) for _ in range(N // 2)]
    cadre = token_for(village.cadres[1])
    requests = []
    for c in claims:
        requests.append((cadre, f"points/claims/{c.pk}/approve", {"note": "同意"}))
        requests.append((worker, "points/orders", {"subject": subject.pk, "goods": rice.pk, "idempotency_key": key()}))

    outcomes = run_parallel([(lambda t=t, p=p, b=b: ApiClient(token=t).post(p, b)) for t, p, b in requests])

    approvals, orders = outcomes[0::2], outcomes[1::2]
    assert tally(approvals) == {200: N // 2}, tally(approvals)
    placed = sum(1 for s, _ in orders if s == 201)
    assert set(tally(orders)) <= {201, "409 insufficient_points"}, tally(orders)
    assert placed >= 3  # the first 30 points always buy three
    balance = Balance.objects.get(subject=subject)
    earned = 30 + 10 * (N // 2)
    assert (balance.earned, balance.spent, balance.spendable) == (earned, 10 * placed, earned - 10 * placed)
    assert balance.spendable >= 0
    _ledger_is_clean(capsys)
