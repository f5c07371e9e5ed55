from datetime import date, datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Schema

from gridgov.cases.models.tip import FundEntryKind, TipState


class TipFilters(Schema):
    state: TipState | None = None
    since: date | None = Field(None, description="推送日期起（含）")
    until: date | None = Field(None, description="推送日期止（含）")
    region: str | None = Field(None, pattern=r"^[0-9]{1,15}$", description="区划代码前缀")
    station: int | None = Field(None, description="接收派出所（部门编号）")
    mine: bool = Field(False, description="只看我报送的")
    inbox: bool = Field(False, description="只看推送给我所在部门的")


class TotalsQuery(Schema):
    since: date | None = None
    until: date | None = None
    region: str | None = Field(None, pattern=r"^[0-9]{6}([0-9]{3}){0,3}$")


class TipRef(Schema):
    id: int
    name: str


class DepartmentRef(Schema):
    id: int
    code: str
    name: str


class TipPersonOut(Schema):
    kind: str
    name: str
    phone: str
    resident_id: int | None = None
    masked: bool = False


class TipOut(Schema):
    id: int
    region_code: str
    region_name: str
    sender: TipRef
    station: DepartmentRef
    content: str
    case_id: int | None
    state: str
    state_label: str
    sent_at: datetime
    reward_fen: int | None
    paid_at: datetime | None


class TipEventOut(Schema):
    from_state: str
    to_state: str
    actor: TipRef
    note: str
    at: datetime


class TipDetailOut(TipOut):
    lon: float | None
    lat: float | None
    informant: TipPersonOut
    decided_at: datetime | None
    decision_note: str
    recipient_kind: str
    recipient: TipPersonOut
    reward_note: str
    reward_decided_at: datetime | None
    events: list[TipEventOut]
    actions: dict[str, bool]


class TipIn(Schema):
    content: str = Field(..., min_length=1, max_length=2000)
    region_code: str | None = Field(None, pattern=r"^[0-9]{9}([0-9]{3}){0,2}$",
                                    description="所涉区域（乡镇 9 位、村 12 位或网格 15 位）；留空取位置或本人网格")
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    case_id: int | None = None
    informant_resident_id: int | None = None
    informant_name: str = Field("", max_length=50)
    informant_phone: str = Field("", max_length=20)
    client_id: UUID | None = None


class DecideIn(Schema):
    useful: bool
    note: str = Field("", max_length=500)


class RewardIn(Schema):
    amount_fen: int = Field(..., gt=0, description="奖励金额（分）")
    recipient_kind: Literal["sender", "informant", "other"]
    recipient_name: str = Field("", max_length=50)
    recipient_phone: str = Field("", max_length=20)
    note: str = Field("", max_length=500)


class TipPayIn(Schema):
    idempotency_key: str = Field(..., min_length=8, max_length=64, description="每笔支付一个，重试时不变")
    fund_id: int | None = Field(None, description="留空按 派出所 → 公安局 → 全市 的顺序选用资金")
    reference: str = Field("", max_length=100, description="凭证号")


class ReverseIn(Schema):
    idempotency_key: str = Field(..., min_length=8, max_length=64)
    reason: str = Field(..., min_length=2, max_length=500)


class FundIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    department_code: str | None = Field(None, max_length=32, description="留空为全市（县）资金")


class DepositIn(Schema):
    amount_fen: int = Field(..., gt=0)
    idempotency_key: str = Field(..., min_length=8, max_length=64)
    reference: str = Field("", max_length=100)
    note: str = Field("", max_length=500)


class FundOut(Schema):
    id: int
    name: str
    region_code: str
    department: DepartmentRef | None
    balance_fen: int
    is_active: bool


class FundCheckOut(Schema):
    fund_id: int
    balance_fen: int
    ledger_fen: int
    entries: int
    last_balance_after_fen: int | None
    ok: bool


class FundEntryOut(Schema):
    id: int
    fund_id: int
    kind: FundEntryKind
    kind_label: str
    delta_fen: int
    balance_after_fen: int
    tip_id: int | None
    reference: str
    note: str
    actor: TipRef | None
    created_at: datetime
    idempotency_key: str


class MoneyOut(Schema):
    replayed: bool
    entry: FundEntryOut
    tip: TipDetailOut | None = None


class TotalsRowOut(Schema):
    code: str
    name: str
    sent: int
    useful: int
    rewarded_people: int
    paid_fen: int
    paid_tips: int


class TotalsOut(Schema):
    since: date | None
    until: date | None
    total: TotalsRowOut
    rows: list[TotalsRowOut]
