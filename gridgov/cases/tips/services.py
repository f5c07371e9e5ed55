"""Writes for police tips (助警信息) and informant rewards (助警奖励). One service per transition:

    tip_send            (none) → sent        grid worker / grid administrator (tips.send), in their area
    tip_decide          sent → useful | not_useful          staff of the station it is routed to
    tip_reward_decide   useful → rewarded (amount, recipient) head of that station (tips.reward)
    reward_pay          rewarded → paid       a manager of the paying fund (tips.pay)
    payment_reverse     paid → rewarded       a manager of the fund that paid (tips.pay), with a reason

Each transition locks the tip row, checks its state, writes one TipEvent and one audit row; a
refusal changes nothing. Money follows CONVENTIONS rule 5: a fund's balance changes only with the
fund row locked (select_for_update) and an F() update guarded by `balance >= amount`, beside an
append-only FundEntry in the same transaction; a CHECK constraint keeps the balance ≥ 0. Every money
movement carries a caller-chosen idempotency key: the same key again returns the first result.
"""

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, Department
from gridgov.accounts.policy import get_scope, require
from gridgov.cases.models.tip import FundEntry, FundEntryKind, RecipientKind, RewardFund, Tip, TipEvent, TipState
from gridgov.core import crypto
from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from gridgov.regions import codes
from gridgov.regions.gcj02 import gcj02_to_wgs84
from gridgov.regions.locator import locate_point
from gridgov.regions.models import Region

from .access import access_fund, access_tip, manages_fund
from .scope import handles

MAX_CONTENT = 2000
MAX_NOTE = 500
MAX_NAME = 50
MAX_REWARD_FEN = 10_000_000  # 100,000 yuan for one tip
MAX_DEPOSIT_FEN = 10_000_000_000  # 100 million yuan in one deposit
_PHONE = re.compile(r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$")
_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{8,64}$")


def police_bureau_code() -> str:
    return getattr(settings, "GRIDGOV_POLICE_DEPARTMENT", "GAJ")


class Conflict(ApplicationError):
    status = 409


class WrongState(Conflict):
    def __init__(self, tip: Tip, doing: str):
        super().__init__("wrong_state", f"该信息当前状态为“{tip.get_state_display()}”，不能{doing}",
                         extra={"state": tip.state})


class InsufficientFunds(Conflict):
    def __init__(self, fund: RewardFund, needed: int):
        super().__init__("insufficient_funds", "奖励资金余额不足",
                         extra={"fund": fund.pk, "balance_fen": fund.balance_fen, "needed_fen": needed})


@dataclass
class MoneyResult:
    entry: FundEntry
    replayed: bool


# --- helpers -----------------------------------------------------------------------------------

def _text(value: Any, *, what: str, limit: int, required: bool = False, field: str = "") -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationFailed(f"请填写{what}", code="required", extra={"field": field})
    if len(text) > limit:
        raise ValidationFailed(f"{what}不能超过 {limit} 字", code="too_long", extra={"field": field})
    return text


def _phone(value: Any, field: str) -> str:
    phone = str(value or "").strip().replace(" ", "")
    if phone and not _PHONE.fullmatch(phone):
        raise ValidationFailed("电话号码格式不正确（手机 11 位，座机如 0724-4221234）", code="invalid_phone",
                               extra={"field": field})
    return phone


def _amount(value: Any, *, limit: int, field: str = "amount_fen") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("金额应为整数（单位：分）", code="invalid_amount", extra={"field": field})
    if value <= 0:
        raise ValidationFailed("金额应大于 0", code="invalid_amount", extra={"field": field})
    if value > limit:
        raise ValidationFailed(f"金额不能超过 {limit // 100:,} 元", code="invalid_amount", extra={"field": field})
    return value


def _key(value: Any) -> str:
    key = str(value or "").strip()
    if not _KEY.fullmatch(key):
        raise ValidationFailed("幂等键应为 8-64 位字母、数字或 _.:-（建议每次操作生成一个 UUID）",
                               code="invalid_idempotency_key", extra={"field": "idempotency_key"})
    return key


def _event(tip: Tip, actor, from_state: str, note: str = "") -> None:
    TipEvent.objects.create(tip=tip, from_state=from_state, to_state=tip.state, actor=actor, note=note[:MAX_NOTE])


def _lock_tip(user, tip_id: int) -> Tip:
    return access_tip(user, tip_id, for_update=True)


def _require_handler(user, tip: Tip, doing: str) -> None:
    if not handles(user, tip):
        raise PermissionDenied(f"只有接收该信息的{tip.station.name}可以{doing}")


def person_key(name: str, phone: str) -> str:
    return "person:" + crypto.blind_index(f"{name}|{phone}", "tip.recipient")[:64]


# --- routing -----------------------------------------------------------------------------------

def route_station(region_code: str) -> Department:
    """The police station whose jurisdiction covers the place (the most specific one: a station of a
    village beats a station of its town), among the active stations under the police bureau; the
    bureau itself when no station covers it."""
    bureau = Department.objects.filter(code=police_bureau_code(), is_active=True).first()
    if bureau is None:
        raise Conflict("no_police_bureau", f"未配置公安局（部门代码 {police_bureau_code()}），无法推送助警信息")
    ancestors = codes.ancestor_codes(region_code)
    links = list(Department.jurisdiction.through.objects.filter(
        department__parent=bureau, department__is_active=True, region_id__in=ancestors,
    ).values_list("department_id", "region_id"))
    if not links:
        return bureau
    department_id, _ = max(links, key=lambda link: (len(link[1]), -link[0]))
    return Department.objects.get(pk=department_id)


def _sender_region(user, region_code: str | None, lon, lat, crs: str) -> tuple[Region, float | None, float | None]:
    scope = get_scope(user)
    x = y = None
    grid = None
    if lon is not None or lat is not None:
        if lon is None or lat is None:
            raise ValidationFailed("经纬度须同时提供", code="invalid_position", extra={"field": "lon"})
        x, y = (gcj02_to_wgs84(lon, lat) if crs == "gcj02" else (lon, lat))
        x, y = round(float(x), 7), round(float(y), 7)
        grid = locate_point(x, y)
        if grid is None:
            raise ValidationFailed("位置不在本县（市）任何网格内", code="outside_county", extra={"field": "lon"})
    code = grid or (str(region_code).strip() if region_code else None)
    if code is None:
        own = sorted(Assignment.objects.filter(user=user, is_active=True,
                                               role__in=[Role.GRID_WORKER, Role.GRID_ADMIN])
                     .values_list("region_id", flat=True))
        if len(own) != 1:
            raise ValidationFailed("请指定信息所涉区域（region_code）或位置", code="region_required",
                                   extra={"field": "region_code"})
        code = own[0]
    try:
        level = codes.level_of(code)
    except codes.CodeError as exc:
        raise ValidationFailed(str(exc), code="invalid_region", extra={"field": "region_code"}) from None
    if level < 2:
        raise ValidationFailed("请指定到乡镇（街道）及以下的区域", code="invalid_region",
                               extra={"field": "region_code"})
    if region_code and grid and not grid.startswith(str(region_code).strip()):
        raise ValidationFailed("位置不在所填区域内", code="position_outside_region", extra={"field": "lon"})
    if not scope.covers(code):
        raise NotFound("该区域不存在或不在您的管辖范围内")
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound("该区域不存在或不在您的管辖范围内")
    return region, x, y


# --- the tip workflow ----------------------------------------------------------------------------

@transaction.atomic
def tip_send(*, acting_user, content: str, region_code: str | None = None, lon: float | None = None,
             lat: float | None = None, crs: str = "wgs84", case_id: int | None = None,
             informant_resident_id: int | None = None, informant_name: str = "", informant_phone: str = "",
             client_id: uuid.UUID | str | None = None) -> Tip:
    """A grid worker or administrator sends a tip about a place in their area to its police station.

    Guarantees: the place (a region code, a position located to its grid, or the sender's own post)
    lies in the sender's area (else 404); the tip is routed by route_station; a linked case and a
    registered informant must be visible to the sender (else 404); an informant's name and phone
    are stored encrypted. A repeated `client_id` from the same sender returns the first tip
    (`tip.replayed`) and writes nothing.
    """
    require(acting_user, "tips.send")
    client_uuid = _client_uuid(client_id)
    if client_uuid is not None:
        existing = Tip.objects.filter(client_id=client_uuid).first()
        if existing is not None:
            return _replayed_tip(existing, acting_user)
    content = _text(content, what="信息内容", limit=MAX_CONTENT, required=True, field="content")
    if crs not in ("wgs84", "gcj02"):
        raise ValidationFailed("坐标系只能是 wgs84 或 gcj02", code="invalid_crs", extra={"field": "crs"})
    region, x, y = _sender_region(acting_user, region_code, lon, lat, crs)
    case = None
    if case_id is not None:
        from gridgov.cases.models import Case

        case = Case.objects.visible_to(acting_user).filter(pk=case_id).first()
        if case is None:
            raise NotFound("关联案件不存在或无权访问")
    resident = None
    if informant_resident_id is not None:
        from gridgov.people.models import Resident

        resident = Resident.objects.visible_to(acting_user).filter(pk=informant_resident_id).first()
        if resident is None:
            raise NotFound("信息提供人不存在或不在您的管辖范围内")
    name = _text(informant_name, what="信息提供人姓名", limit=MAX_NAME, field="informant_name")
    phone = _phone(informant_phone, "informant_phone")
    if phone and not name and resident is None:
        raise ValidationFailed("填写了信息提供人电话，请同时填写姓名", code="required",
                               extra={"field": "informant_name"})
    station = route_station(region.code)
    tip = Tip(region=region, sender=acting_user, station=station, content=content, case=case, lon=x, lat=y,
              informant_resident=resident, informant_name=name, informant_phone=phone, client_id=client_uuid)
    tip.full_clean(exclude=["region", "sender", "station", "case", "informant_resident", "client_id",
                            "informant_name", "informant_phone"])
    try:
        with transaction.atomic():
            tip.save()
    except IntegrityError:
        existing = Tip.objects.filter(client_id=client_uuid).first() if client_uuid else None
        if existing is not None:
            return _replayed_tip(existing, acting_user)
        raise
    _event(tip, acting_user, "", f"推送至{station.name}")
    audit_record(actor=acting_user, action="tip.send", obj=tip, changes={
        "station": station.code, "case": case.pk if case else None,
        "informant": "resident" if resident else ("named" if name else "none"),
    })
    tip.replayed = False
    return tip


def _client_uuid(value) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed("client_id 应为 UUID", code="invalid_client_id", extra={"field": "client_id"}) from None


def _replayed_tip(tip: Tip, user) -> Tip:
    if tip.sender_id != user.pk:
        raise Conflict("client_id_reused", "client_id 已被使用", extra={"field": "client_id"})
    tip.replayed = True
    return tip


@transaction.atomic
def tip_decide(*, acting_user, tip_id: int, useful: bool, note: str = "") -> Tip:
    """The station marks a sent tip useful or not useful. Only staff of the station it is routed to
    (else 403; other stations get 404); only from `sent` (else 409)."""
    require(acting_user, "tips.decide")
    tip = _lock_tip(acting_user, tip_id)
    _require_handler(acting_user, tip, "研判")
    if tip.state != TipState.SENT:
        raise WrongState(tip, "研判")
    note = _text(note, what="研判意见", limit=MAX_NOTE, field="note")
    before = tip.state
    tip.state = TipState.USEFUL if useful else TipState.NOT_USEFUL
    tip.decided_by, tip.decided_at, tip.decision_note = acting_user, timezone.now(), note
    tip.save(update_fields=["state", "decided_by", "decided_at", "decision_note", "updated_at"])
    _event(tip, acting_user, before, note)
    audit_record(actor=acting_user, action="tip.decide", obj=tip, changes={"state": [before, tip.state]})
    return tip


@transaction.atomic
def tip_reward_decide(*, acting_user, tip_id: int, amount_fen: int, recipient_kind: str,
                      recipient_name: str = "", recipient_phone: str = "", note: str = "") -> Tip:
    """The head of the station decides the reward for a useful tip: amount (fen) and recipient — the
    sender (网格员/网管员), the informant recorded on the tip, or another person named here.
    Only from `useful` (else 409)."""
    require(acting_user, "tips.reward")
    tip = _lock_tip(acting_user, tip_id)
    _require_handler(acting_user, tip, "核定奖励")
    if tip.state != TipState.USEFUL:
        raise WrongState(tip, "核定奖励")
    amount = _amount(amount_fen, limit=MAX_REWARD_FEN)
    note = _text(note, what="奖励说明", limit=MAX_NOTE, field="note")
    tip.recipient_user = tip.recipient_resident = None
    tip.recipient_name = tip.recipient_phone = ""
    if recipient_kind == RecipientKind.SENDER:
        tip.recipient_user = tip.sender
        tip.recipient_key = f"user:{tip.sender_id}"
    elif recipient_kind == RecipientKind.INFORMANT:
        if tip.informant_resident_id:
            tip.recipient_resident = tip.informant_resident
            tip.recipient_key = f"resident:{tip.informant_resident_id}"
        elif tip.informant_name:
            tip.recipient_name, tip.recipient_phone = tip.informant_name, tip.informant_phone
            tip.recipient_key = person_key(tip.informant_name, tip.informant_phone)
        else:
            raise ValidationFailed("该信息没有记录信息提供人，请选择报送人或其他人员", code="no_informant",
                                   extra={"field": "recipient_kind"})
    elif recipient_kind == RecipientKind.OTHER:
        name = _text(recipient_name, what="受奖人姓名", limit=MAX_NAME, required=True, field="recipient_name")
        phone = _phone(recipient_phone, "recipient_phone")
        if not phone:
            raise ValidationFailed("请填写受奖人电话", code="required", extra={"field": "recipient_phone"})
        tip.recipient_name, tip.recipient_phone = name, phone
        tip.recipient_key = person_key(name, phone)
    else:
        raise ValidationFailed("受奖人类型应为 sender、informant 或 other", code="invalid_recipient",
                               extra={"field": "recipient_kind"})
    before = tip.state
    tip.state = TipState.REWARDED
    tip.recipient_kind, tip.reward_fen, tip.reward_note = recipient_kind, amount, note
    tip.reward_decided_by, tip.reward_decided_at = acting_user, timezone.now()
    tip.save(update_fields=["state", "recipient_kind", "recipient_user", "recipient_resident", "recipient_name",
                            "recipient_phone", "recipient_key", "reward_fen", "reward_note", "reward_decided_by",
                            "reward_decided_at", "updated_at"])
    _event(tip, acting_user, before, f"核定奖励 {amount / 100:.2f} 元" + (f"：{note}" if note else ""))
    audit_record(actor=acting_user, action="tip.reward_decide", obj=tip, changes={
        "state": [before, tip.state], "reward_fen": amount, "recipient_kind": recipient_kind})
    return tip


# --- money ---------------------------------------------------------------------------------------

def serving_fund(tip: Tip) -> RewardFund | None:
    """The fund a tip's reward is paid from: the station's own, else its bureau's, else the county's."""
    candidates = [tip.station_id, tip.station.parent_id]
    funds = {f.department_id: f for f in RewardFund.objects.filter(is_active=True, department_id__in=[
        c for c in candidates if c is not None])}
    for department_id in candidates:
        if department_id in funds:
            return funds[department_id]
    return RewardFund.objects.filter(is_active=True, department__isnull=True,
                                     region_id=tip.region_id[:6]).first()


def _replay(entry: FundEntry, *, kind: str, tip_id: int | None = None, fund_id: int | None = None) -> MoneyResult:
    if entry.kind != kind or (tip_id is not None and entry.tip_id != tip_id) or (
            fund_id is not None and entry.fund_id != fund_id):
        raise Conflict("idempotency_key_reused", "该幂等键已用于另一笔操作", extra={"field": "idempotency_key"})
    return MoneyResult(entry=entry, replayed=True)


def _move(fund_id: int, delta: int) -> int:
    """Adds `delta` to the (locked) fund's balance in SQL, refusing to go below zero; the new balance."""
    qs = RewardFund.objects.filter(pk=fund_id)
    if delta < 0:
        qs = qs.filter(balance_fen__gte=-delta)
    if not qs.update(balance_fen=F("balance_fen") + delta):
        fund = RewardFund.objects.get(pk=fund_id)
        raise InsufficientFunds(fund, -delta)
    return RewardFund.objects.filter(pk=fund_id).values_list("balance_fen", flat=True).get()


def _lock_fund(fund_id: int) -> RewardFund:
    return RewardFund.objects.select_for_update().get(pk=fund_id)


@transaction.atomic
def reward_pay(*, acting_user, tip_id: int, idempotency_key: str, fund_id: int | None = None,
               reference: str = "") -> MoneyResult:
    """Pays a decided reward from a fund.

    Guarantees: the tip is visible (else 404) and `rewarded` (else 409); the fund (given, or
    serving_fund) is active and managed by the actor (else 403); the balance covers the amount, or
    409 insufficient_funds and nothing changes; the tip row, then the fund row are locked, the
    balance moves by an F() update and the ledger gets one payment row, all in one transaction.
    The same idempotency key again returns the first payment (`replayed`); a key used for something
    else is a 409.
    """
    require(acting_user, "tips.pay")
    key = _key(idempotency_key)
    existing = FundEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        access_tip(acting_user, tip_id)
        return _replay(existing, kind=FundEntryKind.PAYMENT, tip_id=tip_id)
    tip = _lock_tip(acting_user, tip_id)
    existing = FundEntry.objects.filter(idempotency_key=key).first()  # a twin request that held the lock first
    if existing is not None:
        return _replay(existing, kind=FundEntryKind.PAYMENT, tip_id=tip_id)
    if tip.state != TipState.REWARDED:
        raise WrongState(tip, "发放奖励")
    if fund_id is not None:
        fund = access_fund(acting_user, fund_id)
    else:
        fund = serving_fund(tip)
        if fund is None:
            raise Conflict("no_fund", "没有可用的助警奖励资金，请先设立资金")
    if not manages_fund(acting_user, fund):
        raise PermissionDenied(f"您不能从“{fund.name}”支付")
    fund = _lock_fund(fund.pk)
    if not fund.is_active:
        raise Conflict("fund_inactive", f"“{fund.name}”已停用")
    amount = tip.reward_fen
    balance = _move(fund.pk, -amount)
    reference = _text(reference, what="凭证号", limit=100, field="reference")
    entry = FundEntry.objects.create(fund=fund, delta_fen=-amount, balance_after_fen=balance,
                                     kind=FundEntryKind.PAYMENT, tip=tip, reference=reference, actor=acting_user,
                                     idempotency_key=key, note=f"助警奖励 #{tip.pk}")
    before = tip.state
    tip.state, tip.paid_at, tip.paid_by = TipState.PAID, entry.created_at, acting_user
    tip.save(update_fields=["state", "paid_at", "paid_by", "updated_at"])
    _event(tip, acting_user, before, f"从“{fund.name}”发放 {amount / 100:.2f} 元")
    audit_record(actor=acting_user, action="tip.reward_pay", obj=tip, changes={
        "fund": fund.pk, "amount_fen": amount, "balance_after_fen": balance, "entry": entry.pk})
    return MoneyResult(entry=entry, replayed=False)


@transaction.atomic
def payment_reverse(*, acting_user, tip_id: int, reason: str, idempotency_key: str) -> MoneyResult:
    """Reverses a paid reward (paid in error, money returned): the amount goes back into the fund that
    paid it by a new ledger row (kind reversal) and the tip returns to `rewarded`. The ledger keeps
    both rows. Only from `paid` (else 409), by a manager of that fund (else 403)."""
    require(acting_user, "tips.pay")
    key = _key(idempotency_key)
    reason = _text(reason, what="冲正原因", limit=MAX_NOTE, required=True, field="reason")
    existing = FundEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        access_tip(acting_user, tip_id)
        return _replay(existing, kind=FundEntryKind.REVERSAL, tip_id=tip_id)
    tip = _lock_tip(acting_user, tip_id)
    existing = FundEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replay(existing, kind=FundEntryKind.REVERSAL, tip_id=tip_id)
    if tip.state != TipState.PAID:
        raise WrongState(tip, "冲正")
    payment = FundEntry.objects.filter(tip=tip, kind=FundEntryKind.PAYMENT).order_by("-id").first()
    fund = RewardFund.objects.get(pk=payment.fund_id)
    if not manages_fund(acting_user, fund):
        raise PermissionDenied(f"您不能冲正“{fund.name}”的支出")
    fund = _lock_fund(fund.pk)
    amount = -payment.delta_fen
    balance = _move(fund.pk, amount)
    entry = FundEntry.objects.create(fund=fund, delta_fen=amount, balance_after_fen=balance,
                                     kind=FundEntryKind.REVERSAL, tip=tip, reference=payment.reference,
                                     actor=acting_user, idempotency_key=key, note=reason)
    before = tip.state
    tip.state, tip.paid_at, tip.paid_by = TipState.REWARDED, None, None
    tip.save(update_fields=["state", "paid_at", "paid_by", "updated_at"])
    _event(tip, acting_user, before, f"冲正退回 {amount / 100:.2f} 元：{reason}")
    audit_record(actor=acting_user, action="tip.reward_reverse", obj=tip, changes={
        "fund": fund.pk, "amount_fen": amount, "balance_after_fen": balance, "entry": entry.pk, "reason": reason})
    return MoneyResult(entry=entry, replayed=False)


@transaction.atomic
def fund_create(*, acting_user, name: str, department_code: str | None = None) -> RewardFund:
    """Sets up a reward fund for a department, or for the county (no department). The city centre only."""
    require(acting_user, "tips.fund.manage")
    if Role.CITY_OPERATOR not in get_scope(acting_user).roles:
        raise PermissionDenied("只有市网格化管理中心可以设立奖励资金")
    name = _text(name, what="资金名称", limit=100, required=True, field="name")
    county = Region.objects.filter(level=1).order_by("code").first()
    department = None
    if department_code:
        department = Department.objects.filter(code=str(department_code).strip(), is_active=True).first()
        if department is None:
            raise ValidationFailed(f"部门“{department_code}”不存在", code="unknown_department",
                                   extra={"field": "department_code"})
    exists = RewardFund.objects.filter(department=department) if department else RewardFund.objects.filter(
        department__isnull=True, region=county)
    if exists.exists():
        raise Conflict("fund_exists", "该部门（或本县市）已设立奖励资金")
    fund = RewardFund(name=name, region=county, department=department)
    fund.full_clean(exclude=["region", "department"], validate_constraints=False)
    fund.save()
    audit_record(actor=acting_user, action="tip.fund_create", obj=fund,
                 changes={"name": name, "department": department.code if department else None})
    return fund


@transaction.atomic
def fund_deposit(*, acting_user, fund_id: int, amount_fen: int, idempotency_key: str, reference: str = "",
                 note: str = "") -> MoneyResult:
    """Money allocated to a fund (拨入): fund row locked, F() increase, one ledger row; idempotent by key.
    The city centre for any fund, a department head for their own."""
    require(acting_user, "tips.fund.manage")
    key = _key(idempotency_key)
    existing = FundEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        access_fund(acting_user, fund_id)
        return _replay(existing, kind=FundEntryKind.DEPOSIT, fund_id=fund_id)
    fund = access_fund(acting_user, fund_id)
    if not manages_fund(acting_user, fund):
        raise PermissionDenied(f"您不能向“{fund.name}”拨入资金")
    amount = _amount(amount_fen, limit=MAX_DEPOSIT_FEN)
    reference = _text(reference, what="凭证号", limit=100, field="reference")
    note = _text(note, what="说明", limit=MAX_NOTE, field="note")
    fund = _lock_fund(fund.pk)
    existing = FundEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replay(existing, kind=FundEntryKind.DEPOSIT, fund_id=fund.pk)
    if not fund.is_active:
        raise Conflict("fund_inactive", f"“{fund.name}”已停用")
    balance = _move(fund.pk, amount)
    entry = FundEntry.objects.create(fund=fund, delta_fen=amount, balance_after_fen=balance,
                                     kind=FundEntryKind.DEPOSIT, reference=reference, note=note, actor=acting_user,
                                     idempotency_key=key)
    audit_record(actor=acting_user, action="tip.fund_deposit", obj=fund, changes={
        "amount_fen": amount, "balance_after_fen": balance, "entry": entry.pk, "reference": reference})
    return MoneyResult(entry=entry, replayed=False)


@dataclass(frozen=True)
class FundCheck:
    fund_id: int
    balance_fen: int
    ledger_fen: int
    entries: int
    last_balance_after_fen: int | None

    @property
    def ok(self) -> bool:
        return self.balance_fen == self.ledger_fen and self.last_balance_after_fen in (None, self.balance_fen)


def fund_verify(fund: RewardFund | int) -> FundCheck:
    """The stored balance against the ledger: the sum of all entries, and the last entry's running
    balance, must both equal it. Read in one transaction so a concurrent payment cannot split them."""
    fund_id = getattr(fund, "pk", fund)
    with transaction.atomic():
        balance = RewardFund.objects.filter(pk=fund_id).values_list("balance_fen", flat=True).get()
        agg = FundEntry.objects.filter(fund_id=fund_id).aggregate(total=Sum("delta_fen"))
        entries = FundEntry.objects.filter(fund_id=fund_id)
        last = entries.order_by("-id").values_list("balance_after_fen", flat=True).first()
        return FundCheck(fund_id=fund_id, balance_fen=balance, ledger_fen=agg["total"] or 0,
                         entries=entries.count(), last_balance_after_fen=last)
