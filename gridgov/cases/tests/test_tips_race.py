"""Races on the reward fund, with real threads and their own database connections (PostgreSQL only:
SQLite serialises every writer, so it cannot show a race).

These tests are transactional: they commit, and the database is flushed after them, so they build
the few rows they need themselves instead of relying on the seeded demo.
"""

import threading
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, Department
from gridgov.cases.models.tip import FundEntry, RewardFund, Tip
from gridgov.cases.tips import services
from gridgov.regions.models import Region

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a race needs PostgreSQL's row locks"),
]


def _region(code: str, name: str, kind: str, level: int, parent: Region | None) -> Region:
    region, _ = Region.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "level": level,
                                                                  "parent": parent})
    return region


def _user(role: str, *, region=None, department=None):
    user = get_user_model().objects.create_user(username=f"race-{role}-{uuid.uuid4().hex[:8]}", password=None)
    Assignment.objects.create(user=user, role=role, region=region, department=department)
    return user


@pytest.fixture
def world():
    """A grid with its worker, a police station of its own with a head and staff, and the station's fund."""
    county = _region("420881", "钟祥市", "county", 1, None)
    town = _region("420881103", "胡集镇", "town", 2, county)
    village = _region("420881103399", "竞态测试村", "village", 3, town)
    grid = _region("420881103399001", "竞态测试村第1网格", "grid", 4, village)
    bureau, _ = Department.objects.get_or_create(code="GAJ", defaults={"name": "公安局", "kind": "bureau"})
    station = Department.objects.create(code=f"GAJ-RACE-{uuid.uuid4().hex[:6]}", name="竞态警务室", kind="station",
                                        parent=bureau)
    station.jurisdiction.add(village)
    city = _user(Role.CITY_OPERATOR, region=county)
    head = _user(Role.DEPT_HEAD, department=station)
    staff = _user(Role.DEPT_STAFF, department=station)
    worker = _user(Role.GRID_WORKER, region=grid)
    fund = services.fund_create(acting_user=city, name="竞态测试资金", department_code=station.code)
    return {"grid": grid, "station": station, "head": head, "staff": staff, "worker": worker, "fund": fund,
            "city": city}


def _rewarded(world, amount_fen: int) -> Tip:
    tip = services.tip_send(acting_user=world["worker"], content="竞态测试线索", region_code=world["grid"].code)
    assert tip.station == world["station"]
    services.tip_decide(acting_user=world["staff"], tip_id=tip.pk, useful=True)
    return services.tip_reward_decide(acting_user=world["head"], tip_id=tip.pk, amount_fen=amount_fen,
                                      recipient_kind="sender")


def _run_concurrently(jobs) -> list:
    """Runs each (callable) in its own thread, all released at once; returns their outcomes in order."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def run(i, job):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = job()
        except Exception as exc:  # noqa: BLE001 — the outcome is what the test looks at
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a payment hung"
    return outcomes


def _payment(head_id: int, tip_id: int, key: str):
    def job():
        payer = get_user_model().objects.get(pk=head_id)  # each thread its own user object and connection
        return services.reward_pay(acting_user=payer, tip_id=tip_id, idempotency_key=key)

    return job


def test_two_payments_from_a_fund_that_affords_one(world):
    fund = world["fund"]
    services.fund_deposit(acting_user=world["city"], fund_id=fund.pk, amount_fen=100_000,
                          idempotency_key=uuid.uuid4().hex)
    first, second = _rewarded(world, 60_000), _rewarded(world, 60_000)
    outcomes = _run_concurrently([_payment(world["head"].pk, first.pk, uuid.uuid4().hex),
                                  _payment(world["head"].pk, second.pk, uuid.uuid4().hex)])
    paid = [o for o in outcomes if isinstance(o, services.MoneyResult)]
    refused = [o for o in outcomes if isinstance(o, services.InsufficientFunds)]
    assert len(paid) == 1 and len(refused) == 1, outcomes
    assert refused[0].message == "奖励资金余额不足"
    fund.refresh_from_db()
    assert fund.balance_fen == 40_000
    assert FundEntry.objects.filter(fund=fund, kind="payment").count() == 1
    states = sorted(Tip.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True))
    assert states == ["paid", "rewarded"]
    assert services.fund_verify(fund).ok


def test_the_same_payment_sent_twice_at_once_is_booked_once(world):
    fund = world["fund"]
    services.fund_deposit(acting_user=world["city"], fund_id=fund.pk, amount_fen=100_000,
                          idempotency_key=uuid.uuid4().hex)
    tip = _rewarded(world, 30_000)
    key = uuid.uuid4().hex
    outcomes = _run_concurrently([_payment(world["head"].pk, tip.pk, key), _payment(world["head"].pk, tip.pk, key)])
    assert all(isinstance(o, services.MoneyResult) for o in outcomes), outcomes
    assert sorted(o.replayed for o in outcomes) == [False, True]
    assert outcomes[0].entry.pk == outcomes[1].entry.pk
    fund.refresh_from_db()
    assert fund.balance_fen == 70_000 and FundEntry.objects.filter(tip=tip).count() == 1
    assert RewardFund.objects.get(pk=fund.pk).balance_fen == 70_000 and services.fund_verify(fund).ok


def test_many_payments_racing_never_overdraw(world):
    fund = world["fund"]
    services.fund_deposit(acting_user=world["city"], fund_id=fund.pk, amount_fen=50_000,
                          idempotency_key=uuid.uuid4().hex)
    tips = [_rewarded(world, 20_000) for _ in range(5)]
    outcomes = _run_concurrently([_payment(world["head"].pk, t.pk, uuid.uuid4().hex) for t in tips])
    paid = [o for o in outcomes if isinstance(o, services.MoneyResult)]
    refused = [o for o in outcomes if isinstance(o, services.InsufficientFunds)]
    assert (len(paid), len(refused)) == (2, 3), outcomes
    fund.refresh_from_db()
    assert fund.balance_fen == 10_000 and services.fund_verify(fund).ok
