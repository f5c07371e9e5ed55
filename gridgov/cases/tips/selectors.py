"""Reads of tips, funds and totals. Every function takes the user and starts from their sight (scope.py)."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.cases.models.tip import FundEntry, RewardFund, Tip, TipState
from gridgov.core.errors import ValidationFailed
from gridgov.core.masking import mask_name, mask_phone
from gridgov.regions.models import Region

from .access import fund_scope_q
from .scope import handles, sees_informant

USEFUL_STATES = (TipState.USEFUL, TipState.REWARDED, TipState.PAID)
CHILD_CODE_LENGTH = {6: 9, 9: 12, 12: 15, 15: 15}
MAX_PERIOD_DAYS = 3660


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _period(since: date | None, until: date | None) -> tuple[date | None, date | None]:
    if since and until and since > until:
        raise ValidationFailed("起始日期不能晚于截止日期", code="invalid_period", extra={"field": "since"})
    if since and until and (until - since).days > MAX_PERIOD_DAYS:
        raise ValidationFailed("统计区间不能超过 10 年", code="invalid_period", extra={"field": "since"})
    return since, until


def _in_period(field_name: str, since: date | None, until: date | None) -> Q:
    q = Q()
    if since:
        q &= Q(**{f"{field_name}__gte": _day_start(since)})
    if until:
        q &= Q(**{f"{field_name}__lt": _day_start(until + timedelta(days=1))})
    return q


def tip_list(*, user, state: str | None = None, since: date | None = None, until: date | None = None,
             region: str | None = None, station: int | None = None, mine: bool = False, inbox: bool = False):
    """Tips the user may see, newest first. `mine`: sent by the user; `inbox`: routed to the user's
    department(s) and waiting for a decision or payment step there."""
    require(user, "tips.view")
    since, until = _period(since, until)
    qs = Tip.objects.visible_to(user).select_related("region", "sender", "station", "station__parent")
    if state:
        if state not in TipState.values:
            raise ValidationFailed("状态无效", code="invalid_state", extra={"field": "state"})
        qs = qs.filter(state=state)
    qs = qs.filter(_in_period("sent_at", since, until))
    if region:
        qs = qs.filter(region__code__startswith=region)
    if station:
        qs = qs.filter(station_id=station)
    if mine:
        qs = qs.filter(sender=user)
    if inbox:
        from gridgov.accounts.policy import get_scope

        qs = qs.filter(station_id__in=list(get_scope(user).department_ids))
    return qs.order_by("-sent_at", "-id")


def tip_events(tip: Tip):
    return tip.events.select_related("actor").order_by("at", "id")


@dataclass(frozen=True)
class PersonView:
    kind: str  # resident / named / user / none
    name: str
    phone: str
    resident_id: int | None = None
    masked: bool = False


def informant_view(tip: Tip, user) -> PersonView:
    """The informant as this user may see them: in full for the sender and the handling police, masked for
    the rest (least sight)."""
    full = sees_informant(user, tip)
    if tip.informant_resident_id:
        resident = tip.informant_resident
        return _person("resident", resident.name, "", full, tip.informant_resident_id)
    if tip.informant_name:
        return _person("named", tip.informant_name, tip.informant_phone, full)
    return PersonView("none", "", "")


def recipient_view(tip: Tip, user) -> PersonView:
    full = sees_informant(user, tip)
    if not tip.recipient_kind:
        return PersonView("none", "", "")
    if tip.recipient_user_id:
        person = tip.recipient_user
        return PersonView("user", person.full_name or person.username, "")
    if tip.recipient_resident_id:
        return _person("resident", tip.recipient_resident.name, "", full, tip.recipient_resident_id)
    return _person("named", tip.recipient_name, tip.recipient_phone, full)


def _person(kind: str, name: str, phone: str, full: bool, resident_id: int | None = None) -> PersonView:
    if full:
        return PersonView(kind, name, phone, resident_id)
    return PersonView(kind, mask_name(name), mask_phone(phone), None, masked=True)


def can_act(user, tip: Tip) -> dict[str, bool]:
    """Which transitions the user could start on this tip now (for pages and API hints)."""
    from gridgov.accounts.policy import can

    from .access import manages_fund
    from .services import serving_fund

    handler = handles(user, tip)
    pay = False
    if tip.state == TipState.REWARDED and can(user, "tips.pay"):
        fund = serving_fund(tip)
        pay = fund is not None and manages_fund(user, fund)
    return {
        "decide": tip.state == TipState.SENT and handler and can(user, "tips.decide"),
        "reward": tip.state == TipState.USEFUL and handler and can(user, "tips.reward"),
        "pay": pay,
    }


# --- funds -----------------------------------------------------------------------------------------

def fund_list(*, user):
    require(user, "tips.fund.view")
    return RewardFund.objects.filter(fund_scope_q(user)).select_related("department", "region").order_by("id")


def fund_entries(*, user, fund: RewardFund, since: date | None = None, until: date | None = None,
                 kind: str | None = None):
    """The ledger of a fund the user may see, newest first."""
    require(user, "tips.fund.view")
    qs = FundEntry.objects.filter(fund=fund).select_related("actor", "tip").filter(
        _in_period("created_at", *_period(since, until)))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id")


# --- totals ----------------------------------------------------------------------------------------

@dataclass
class TotalsRow:
    code: str
    name: str
    sent: int = 0
    useful: int = 0
    rewarded_people: int = 0
    paid_fen: int = 0
    paid_tips: int = 0

    @property
    def paid_yuan(self) -> float:
        return self.paid_fen / 100


@dataclass
class Totals:
    since: date | None
    until: date | None
    region: Region | None
    total: TotalsRow
    rows: list[TotalsRow] = field(default_factory=list)


def tip_totals(*, user, since: date | None = None, until: date | None = None, region: str | None = None) -> Totals:
    """Tips sent and judged useful (by the day they were sent), people rewarded and amount paid (by the day
    it was paid; reversed payments drop out) for the user's visible tips in a region, with one row per
    child region (towns under the county, villages under a town …). People rewarded counts distinct
    recipients, so a person rewarded twice counts once."""
    require(user, "tips.view")
    since, until = _period(since, until)
    base = Tip.objects.visible_to(user)
    node = None
    if region:
        node = Region.objects.filter(code=region).first()
        if node is None:
            raise ValidationFailed("区划代码不存在", code="invalid_region", extra={"field": "region"})
        base = base.filter(region__code__startswith=region)
    else:
        node = Region.objects.filter(level=1).order_by("code").first()
    child_len = CHILD_CODE_LENGTH.get(len(node.code), 9) if node else 9
    sent_q = _in_period("sent_at", since, until)
    paid_q = Q(state=TipState.PAID) & _in_period("paid_at", since, until)

    def figures(qs) -> dict:
        sent = qs.filter(sent_q).aggregate(sent=Count("id"), useful=Count("id", filter=Q(state__in=USEFUL_STATES)))
        paid = qs.filter(paid_q).aggregate(people=Count("recipient_key", distinct=True), fen=Sum("reward_fen"),
                                           tips=Count("id"))
        return {"sent": sent["sent"], "useful": sent["useful"], "rewarded_people": paid["people"],
                "paid_fen": paid["fen"] or 0, "paid_tips": paid["tips"]}

    total = TotalsRow(code=node.code if node else "", name=node.name if node else "全部", **figures(base))
    keyed = base.annotate(child=Substr("region_id", 1, child_len))
    rows: dict[str, TotalsRow] = {}
    for r in keyed.filter(sent_q).values("child").annotate(
            sent=Count("id"), useful=Count("id", filter=Q(state__in=USEFUL_STATES))).order_by():
        rows.setdefault(r["child"], TotalsRow(r["child"], "")).__dict__.update(sent=r["sent"], useful=r["useful"])
    for r in keyed.filter(paid_q).values("child").annotate(
            people=Count("recipient_key", distinct=True), fen=Sum("reward_fen"), tips=Count("id")).order_by():
        row = rows.setdefault(r["child"], TotalsRow(r["child"], ""))
        row.rewarded_people, row.paid_fen, row.paid_tips = r["people"], r["fen"] or 0, r["tips"]
    names = dict(Region.objects.filter(code__in=list(rows)).values_list("code", "name"))
    for code, row in rows.items():
        row.name = names.get(code, code)
    return Totals(since=since, until=until, region=node, total=total,
                  rows=sorted(rows.values(), key=lambda r: r.code))
