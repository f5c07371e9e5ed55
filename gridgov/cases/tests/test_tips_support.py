"""Helpers for the police-tip tests (no tests here): seeded posts, tips in a given state, funds."""

import itertools
import uuid

from gridgov.accounts.choices import Role
from gridgov.cases.models.tip import RewardFund, Tip
from gridgov.cases.tips import services
from gridgov.core.testing import user_with_role
from gridgov.regions.models import Region

HUJI = "420881103"  # 胡集镇
SHIPAI = "420881108"

_seq = itertools.count(1)


def grid_in(town: str, nth: int = 0) -> Region:
    return Region.objects.filter(level=4, code__startswith=town).order_by("code")[nth]


def worker_in(town: str, nth: int = 0):
    return user_with_role(Role.GRID_WORKER, grid_in(town, nth).code)


def station_staff(town: str):
    return user_with_role(Role.DEPT_STAFF, department_code=f"GAJ-{town}")


def station_head(town: str):
    return user_with_role(Role.DEPT_HEAD, department_code=f"GAJ-{town}")


def city():
    return user_with_role(Role.CITY_OPERATOR)


def key() -> str:
    return uuid.uuid4().hex


def send(worker, content: str | None = None, **kwargs) -> Tip:
    return services.tip_send(acting_user=worker, content=content or f"可疑人员出没 {next(_seq)}", **kwargs)


def useful_tip(town: str = HUJI, worker=None, **kwargs) -> Tip:
    tip = send(worker or worker_in(town), **kwargs)
    return services.tip_decide(acting_user=station_staff(town), tip_id=tip.pk, useful=True, note="线索属实")


def rewarded_tip(town: str = HUJI, amount_fen: int = 50_000, recipient_kind: str = "sender", worker=None,
                 **kwargs) -> Tip:
    tip = useful_tip(town, worker, **kwargs)
    return services.tip_reward_decide(acting_user=station_head(town), tip_id=tip.pk, amount_fen=amount_fen,
                                      recipient_kind=recipient_kind, **_recipient(recipient_kind))


def _recipient(kind: str) -> dict:
    if kind == "other":
        n = next(_seq)
        return {"recipient_name": f"群众{n}", "recipient_phone": f"139{n:08d}"}
    return {}


def county_fund(balance_fen: int = 0) -> RewardFund:
    """The county's fund (the city centre manages it), topped up to at least `balance_fen`."""
    fund = RewardFund.objects.filter(department__isnull=True).first()
    if fund is None:
        fund = services.fund_create(acting_user=city(), name="钟祥市助警奖励资金")
    if balance_fen > fund.balance_fen:
        services.fund_deposit(acting_user=city(), fund_id=fund.pk, amount_fen=balance_fen - fund.balance_fen,
                              idempotency_key=key(), reference="财政拨款")
    fund.refresh_from_db()
    return fund
