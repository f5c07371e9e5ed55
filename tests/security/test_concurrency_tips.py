"""The reward fund (助警奖励) under parallel HTTP payouts (PostgreSQL): the fund is never overdrawn,
a reward is never paid twice, and the fund's own check (`fund_verify`) agrees afterwards.

gridgov/cases/tests/test_tips_race.py races two to five service calls; these send N requests
through the API, with one key and with different keys for the same tip.
"""

import pytest
from django.db import connection

from gridgov.accounts.choices import Role
from gridgov.cases.models.tip import FundEntry, RewardFund, Tip
from gridgov.cases.tips import services

from .concurrency_support import (
    N,
    department,
    free_village,
    key,
    post_parallel,
    reference_data,
    tally,
    token_for,
    user,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="SQLite serialises every writer (BEGIN IMMEDIATE): a race needs PostgreSQL's row locks"),
]


@pytest.fixture
def world():
    """A village with its own police post (警务室, the longest-prefix station), its head, staff, a grid
    worker, and the post's fund (city centre)."""
    reference_data()
    village, grid = free_village("420881103", "并发警务村")
    bureau = department("GAJ", "公安局")
    station = department(f"GAJ-{village.code}", "并发警务室", kind="station", parent=bureau, jurisdiction=village.code)
    city = user(Role.CITY_OPERATOR, region_code="420881")
    w = {"grid": grid, "station": station, "city": city, "head": user(Role.DEPT_HEAD, department=station),
         "staff": user(Role.DEPT_STAFF, department=station), "worker": user(Role.GRID_WORKER, region_code=grid.code)}
    w["fund"] = services.fund_create(acting_user=city, name="并发测试资金", department_code=station.code)
    return w


def _rewarded(w, amount_fen: int) -> Tip:
    tip = services.tip_send(acting_user=w["worker"], content="并发测试线索", region_code=w["grid"].code)
    assert tip.station_id == w["station"].pk
    services.tip_decide(acting_user=w["staff"], tip_id=tip.pk, useful=True)
    return services.tip_reward_decide(acting_user=w["head"], tip_id=tip.pk, amount_fen=amount_fen,
                                      recipient_kind="sender")


def _deposit(w, amount_fen: int) -> None:
    services.fund_deposit(acting_user=w["city"], fund_id=w["fund"].pk, amount_fen=amount_fen, idempotency_key=key())


def test_parallel_payouts_never_exceed_the_fund_nor_pay_twice(world):
    _deposit(world, 100_000)
    tips = [_rewarded(world, 20_000) for _ in range(N)]

    outcomes = post_parallel(token_for(world["head"]),
                             [(f"tips/{t.pk}/pay", {"idempotency_key": key()}, {}) for t in tips])

    assert tally(outcomes) == {201: 5, "409 insufficient_funds": N - 5}, tally(outcomes)
    assert all(b["message"] == "奖励资金余额不足" for s, b in outcomes if s == 409)
    fund = RewardFund.objects.get(pk=world["fund"].pk)
    assert fund.balance_fen == 0
    assert FundEntry.objects.filter(fund=fund, kind="payment").count() == 5
    assert Tip.objects.filter(pk__in=[t.pk for t in tips], state="paid").count() == 5
    assert Tip.objects.filter(pk__in=[t.pk for t in tips], state="rewarded").count() == N - 5
    assert services.fund_verify(fund).ok

    # A deposit sent N times at once with one key is booked once.
    same = key()
    outcomes = post_parallel(token_for(world["city"]), [(f"tips/funds/{fund.pk}/deposits",
                                                         {"amount_fen": 100_000, "idempotency_key": same}, {})] * N)
    assert tally(outcomes) == {201: 1, 200: N - 1}, tally(outcomes)
    assert RewardFund.objects.get(pk=fund.pk).balance_fen == 100_000

    # One reward paid N times at once is paid once.
    once, twice = _rewarded(world, 30_000), _rewarded(world, 10_000)
    head = token_for(world["head"])

    # N retries with one key: the first books, the others answer its result.
    same = key()
    outcomes = post_parallel(head, [(f"tips/{once.pk}/pay", {"idempotency_key": same}, {})] * N)
    assert tally(outcomes) == {201: 1, 200: N - 1}, tally(outcomes)
    assert len({b["entry"]["id"] for _, b in outcomes}) == 1

    # N clerks paying the same reward with keys of their own: one pays, the others find it paid.
    outcomes = post_parallel(head, [(f"tips/{twice.pk}/pay", {"idempotency_key": key()}, {}) for _ in range(N)])
    assert tally(outcomes) == {201: 1, "409 wrong_state": N - 1}, tally(outcomes)

    fund = RewardFund.objects.get(pk=world["fund"].pk)
    assert fund.balance_fen == 60_000
    assert FundEntry.objects.filter(tip__in=[once, twice]).count() == 2
    assert services.fund_verify(fund).ok
