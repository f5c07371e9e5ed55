"""/api/v1/tips: police tips (助警信息), the station's decisions, rewards, payments, funds and totals."""

from ninja import Query, Router, Status
from ninja.pagination import paginate

from gridgov.core.pagination import PageNumberCount

from . import selectors, services
from .access import access_fund, access_tip
from .schemas import (
    DecideIn,
    DepositIn,
    FundCheckOut,
    FundEntryOut,
    FundIn,
    FundOut,
    MoneyOut,
    ReverseIn,
    RewardIn,
    TipDetailOut,
    TipFilters,
    TipIn,
    TipOut,
    TipPayIn,
    TotalsOut,
    TotalsQuery,
)

router = Router(tags=["tips 助警信息与奖励"])


def _user_ref(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.full_name or user.username}


def tip_out(tip) -> dict:
    return {
        "id": tip.pk, "region_code": tip.region_id, "region_name": tip.region.name, "sender": _user_ref(tip.sender),
        "station": {"id": tip.station_id, "code": tip.station.code, "name": tip.station.name},
        "content": tip.content, "case_id": tip.case_id, "state": tip.state,
        "state_label": str(tip.get_state_display()), "sent_at": tip.sent_at, "reward_fen": tip.reward_fen,
        "paid_at": tip.paid_at,
    }


def tip_detail(tip, user) -> dict:
    return {
        **tip_out(tip), "lon": tip.lon, "lat": tip.lat,
        "informant": selectors.informant_view(tip, user).__dict__,
        "decided_at": tip.decided_at, "decision_note": tip.decision_note, "recipient_kind": tip.recipient_kind,
        "recipient": selectors.recipient_view(tip, user).__dict__, "reward_note": tip.reward_note,
        "reward_decided_at": tip.reward_decided_at,
        "events": [{"from_state": e.from_state, "to_state": e.to_state, "actor": _user_ref(e.actor), "note": e.note,
                    "at": e.at} for e in selectors.tip_events(tip)],
        "actions": selectors.can_act(user, tip),
    }


def entry_out(e) -> dict:
    return {
        "id": e.pk, "fund_id": e.fund_id, "kind": e.kind, "kind_label": str(e.get_kind_display()),
        "delta_fen": e.delta_fen, "balance_after_fen": e.balance_after_fen, "tip_id": e.tip_id,
        "reference": e.reference, "note": e.note, "actor": _user_ref(e.actor), "created_at": e.created_at,
        "idempotency_key": e.idempotency_key,
    }


def fund_out(f) -> dict:
    dept = f.department
    return {"id": f.pk, "name": f.name, "region_code": f.region_id, "balance_fen": f.balance_fen,
            "is_active": f.is_active,
            "department": {"id": dept.pk, "code": dept.code, "name": dept.name} if dept else None}


class _ConvertingList:
    def __init__(self, queryset, convert):
        self.queryset = queryset
        self.convert = convert

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, item):
        return [self.convert(row) for row in self.queryset[item]]


@router.get("", response=list[TipOut], summary="助警信息列表（按本人可见范围）")
@paginate(PageNumberCount)
def list_tips(request, filters: Query[TipFilters]):
    return _ConvertingList(selectors.tip_list(user=request.auth, **filters.dict()), tip_out)


@router.post("", response={200: TipDetailOut, 201: TipDetailOut}, summary="推送助警信息（网格员、网管员）")
def send_tip(request, data: TipIn):
    tip = services.tip_send(acting_user=request.auth, **data.dict())
    return Status(200 if tip.replayed else 201, tip_detail(access_tip(request.auth, tip.pk), request.auth))


@router.get("/totals", response=TotalsOut, summary="助警信息与奖励统计（按期间、区域）")
def totals(request, query: Query[TotalsQuery]):
    result = selectors.tip_totals(user=request.auth, **query.dict())
    return {"since": result.since, "until": result.until, "total": result.total.__dict__,
            "rows": [r.__dict__ for r in result.rows]}


@router.get("/funds", response=list[FundOut], summary="助警奖励资金")
def list_funds(request):
    return [fund_out(f) for f in selectors.fund_list(user=request.auth)]


@router.post("/funds", response={201: FundOut}, summary="设立奖励资金（市网格化管理中心）")
def create_fund(request, data: FundIn):
    fund = services.fund_create(acting_user=request.auth, **data.dict())
    return Status(201, fund_out(access_fund(request.auth, fund.pk)))


@router.get("/funds/{int:fund_id}", response=FundOut, summary="奖励资金详情")
def get_fund(request, fund_id: int):
    return fund_out(access_fund(request.auth, fund_id))


@router.get("/funds/{int:fund_id}/entries", response=list[FundEntryOut], summary="奖励资金流水")
@paginate(PageNumberCount)
def fund_entries(request, fund_id: int):
    fund = access_fund(request.auth, fund_id)
    return _ConvertingList(selectors.fund_entries(user=request.auth, fund=fund), entry_out)


@router.get("/funds/{int:fund_id}/verify", response=FundCheckOut, summary="核对余额与流水")
def verify_fund(request, fund_id: int):
    check = services.fund_verify(access_fund(request.auth, fund_id))
    return {**check.__dict__, "ok": check.ok}


@router.post("/funds/{int:fund_id}/deposits", response={200: MoneyOut, 201: MoneyOut}, summary="拨入资金")
def deposit(request, fund_id: int, data: DepositIn):
    result = services.fund_deposit(acting_user=request.auth, fund_id=fund_id, **data.dict())
    return Status(200 if result.replayed else 201, {"replayed": result.replayed, "entry": entry_out(result.entry)})


@router.get("/{int:tip_id}", response=TipDetailOut, summary="助警信息详情")
def get_tip(request, tip_id: int):
    return tip_detail(access_tip(request.auth, tip_id), request.auth)


@router.post("/{int:tip_id}/decide", response=TipDetailOut, summary="研判：有价值 / 无价值（接收派出所）")
def decide(request, tip_id: int, data: DecideIn):
    services.tip_decide(acting_user=request.auth, tip_id=tip_id, **data.dict())
    return tip_detail(access_tip(request.auth, tip_id), request.auth)


@router.post("/{int:tip_id}/reward", response=TipDetailOut, summary="核定奖励（接收派出所负责人）")
def reward(request, tip_id: int, data: RewardIn):
    services.tip_reward_decide(acting_user=request.auth, tip_id=tip_id, **data.dict())
    return tip_detail(access_tip(request.auth, tip_id), request.auth)


@router.post("/{int:tip_id}/pay", response={200: MoneyOut, 201: MoneyOut}, summary="发放奖励（幂等）",
             description="余额不足时返回 409 insufficient_funds（奖励资金余额不足），不做任何改动。"
                         "同一 idempotency_key 重试返回第一次的结果（200）。")
def pay(request, tip_id: int, data: TipPayIn):
    result = services.reward_pay(acting_user=request.auth, tip_id=tip_id, **data.dict())
    tip = tip_detail(access_tip(request.auth, tip_id), request.auth)
    return Status(200 if result.replayed else 201,
                  {"replayed": result.replayed, "entry": entry_out(result.entry), "tip": tip})


@router.post("/{int:tip_id}/reverse", response={200: MoneyOut, 201: MoneyOut}, summary="冲正已发放的奖励")
def reverse(request, tip_id: int, data: ReverseIn):
    result = services.payment_reverse(acting_user=request.auth, tip_id=tip_id, **data.dict())
    tip = tip_detail(access_tip(request.auth, tip_id), request.auth)
    return Status(200 if result.replayed else 201,
                  {"replayed": result.replayed, "entry": entry_out(result.entry), "tip": tip})
