"""In/Out schemas of /api/v1/points."""

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

SubjectKindIn = Literal["resident", "household", "organisation", "party_member", "cadre"]
RegionCode = Field(None, pattern=r"^\d{6}(\d{3}(\d{3}(\d{3})?)?)?$", description="区划或网格代码（前缀匹配）")


class ItemOut(Schema):
    id: int
    code: str
    category: str
    category_label: str
    name: str
    description: str
    points_min: int
    points_max: int
    is_deduction: bool
    subject_kinds: list[str]
    evidence_required: bool
    evidence_hint: str
    cap_period: str
    cap_times: int | None
    cap_points: int | None
    cap_text: str


class ItemFilters(Schema):
    category: Literal["safety", "morality", "beautiful_village"] | None = None
    kind: SubjectKindIn | None = None
    q: str | None = Field(None, max_length=30)


class SchemeOut(Schema):
    region_code: str
    collective_threshold: int
    committee_quorum: int
    household_rollup: bool
    notice_full_names: bool
    notice_days: int
    defined_at: str | None = Field(description="设置所在的区划代码；为空表示使用系统默认值")


class SchemeIn(Schema):
    collective_threshold: int = Field(ge=1, le=100_000)
    committee_quorum: int = Field(ge=1, le=15)
    household_rollup: bool = True
    notice_full_names: bool = True
    notice_days: int = Field(30, ge=1, le=366)


class BalanceOut(Schema):
    earned: int
    spent: int
    spendable: int


class SubjectOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    region_code: str
    resident_id: int | None
    household_id: int | None
    organisation_id: int | None
    user_id: int | None
    balance: BalanceOut
    created_at: datetime


class SubjectFilters(Schema):
    q: str | None = Field(None, max_length=50)
    kind: SubjectKindIn | None = None
    region: str | None = RegionCode


class SubjectIn(Schema):
    kind: SubjectKindIn
    resident: int | None = Field(None, ge=1)
    household: int | None = Field(None, ge=1)
    organisation: int | None = Field(None, ge=1)
    user: int | None = Field(None, ge=1)


class CandidateOut(Schema):
    kind: str
    kind_label: str
    target: str
    target_id: int
    name: str
    region_code: str
    subject_id: int | None


class CandidateQuery(Schema):
    q: str = Field(min_length=1, max_length=50)


class ClaimIn(Schema):
    subject: int = Field(ge=1)
    item: str = Field(min_length=1, max_length=20, description="项目编号（如 M02）或 id")
    points: int | None = Field(None, ge=1, le=100_000, description="分值；固定分值的项目可不填")
    occurred_on: date
    description: str = Field(min_length=1, max_length=2000)
    public_reason: str = Field("", max_length=200, description="公示事由（公开展示，勿含号码）；默认项目名称")
    channel: Literal["phone", "wechat", "sms", "in_person", "app"]
    source: Literal["self", "neighbour", "grid_worker", "cadre"]
    reporter_name: str = Field("", max_length=50)
    evidence: str = Field("", max_length=500)
    idempotency_key: str | None = Field(None, max_length=64)


class ClaimFilters(Schema):
    status: Literal["pending", "collective", "posted", "rejected", "reversed"] | None = None
    region: str | None = RegionCode
    subject: int | None = Field(None, ge=1)
    awaiting_me: bool = Field(False, description="只看等我审核的申报（村委成员）")


class PointsPersonOut(Schema):
    id: int
    name: str


class VoteOut(Schema):
    member: PointsPersonOut
    decision: str
    reason: str
    created_at: datetime


class ClaimEventOut(Schema):
    action: str
    action_label: str
    from_status: str
    to_status: str
    actor: PointsPersonOut | None
    note: str
    created_at: datetime


class ClaimOut(Schema):
    id: int
    region_code: str
    subject: PointsPersonOut
    subject_kind: str
    item: str
    item_name: str
    points: int
    signed_points: int
    occurred_on: date
    public_reason: str
    channel: str
    source: str
    reporter_name: str
    evidence: str
    has_evidence_file: bool
    status: str
    status_label: str
    needs_collective: bool
    quorum: int
    approvals: int
    entered_by: PointsPersonOut
    created_at: datetime
    decided_at: datetime | None
    reject_reason: str


class ClaimDetailOut(ClaimOut):
    description: str
    votes: list[VoteOut]
    events: list[ClaimEventOut]
    committee_size: int
    entries: list[int]


class PointsNoteIn(Schema):
    note: str = Field("", max_length=300)


class PointsReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=300)


class EntryOut(Schema):
    id: int
    subject: PointsPersonOut
    subject_kind: str
    region_code: str
    kind: str
    kind_label: str
    delta: int
    score_delta: int
    item: str | None
    item_name: str | None
    claim_id: int | None
    order_id: int | None
    reverses_id: int | None
    reversed: bool
    reference: str
    occurred_on: date
    posted_at: datetime
    actor: PointsPersonOut | None


class LedgerFilters(Schema):
    region: str | None = RegionCode
    subject: int | None = Field(None, ge=1)
    kind: Literal["award", "deduction", "rollup", "redemption", "redemption_cancel", "correction"] | None = None
    item: int | None = Field(None, ge=1)
    date_from: date | None = None
    date_to: date | None = None


class RankingQuery(Schema):
    region: str | None = RegionCode
    period: Literal["month", "year"] = "month"
    year: int | None = Field(None, ge=2000, le=2100)
    month: int | None = Field(None, ge=1, le=12)
    kind: SubjectKindIn = "resident"
    limit: int = Field(100, ge=1, le=1000)


class RankingRowOut(Schema):
    rank: int
    subject_id: int
    name: str
    kind: str
    region_code: str
    village_name: str
    points: int


class RankingOut(Schema):
    region: dict
    period: str
    label: str
    start: date
    end: date
    kind: str
    items: list[RankingRowOut]


class RegionTotalOut(Schema):
    code: str
    name: str
    points: int
    awards: int
    subjects: int


class ShopIn(Schema):
    region: str = Field(pattern=r"^\d{9}(\d{3})?$")
    name: str = Field(min_length=1, max_length=100)
    address: str = Field("", max_length=200)
    opening_hours: str = Field("", max_length=100)


class GoodsOut(Schema):
    id: int
    shop_id: int
    name: str
    unit: str
    cost: int
    stock: int
    is_active: bool


class ShopOut(Schema):
    id: int
    region_code: str
    region_name: str
    name: str
    address: str
    opening_hours: str
    is_active: bool
    goods_count: int = 0


class ShopDetailOut(ShopOut):
    goods: list[GoodsOut]


class ShopFilters(Schema):
    region: str | None = RegionCode


class GoodsIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    cost: int = Field(ge=1, le=1_000_000)
    stock: int = Field(0, ge=0, le=100_000)
    unit: str = Field("件", min_length=1, max_length=10)


class GoodsPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    cost: int | None = Field(None, ge=1, le=1_000_000)
    is_active: bool | None = None


class StockIn(Schema):
    delta: int = Field(ge=-100_000, le=100_000)
    note: str = Field("", max_length=200)


class OrderIn(Schema):
    subject: int = Field(ge=1)
    goods: int = Field(ge=1)
    quantity: int = Field(1, ge=1, le=99)
    idempotency_key: str | None = Field(None, max_length=64)


class OrderOut(Schema):
    id: int
    region_code: str
    subject: PointsPersonOut
    goods: PointsPersonOut
    shop: PointsPersonOut
    quantity: int
    unit_cost: int
    total_cost: int
    status: str
    status_label: str
    placed_by: PointsPersonOut
    placed_at: datetime
    fulfilled_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str


class OrderFilters(Schema):
    region: str | None = RegionCode
    subject: int | None = Field(None, ge=1)
    status: Literal["placed", "fulfilled", "cancelled"] | None = None
    shop: int | None = Field(None, ge=1)


class CertificateIn(Schema):
    subject: int = Field(ge=1)
    purpose: Literal["school", "job", "civil_service", "promotion", "other"]


class CertificateOut(Schema):
    id: int
    code: str
    subject: PointsPersonOut
    purpose: str
    earned: int
    spendable: int
    year_earned: int
    issued_on: date
    issued_by: PointsPersonOut
    revoked_at: datetime | None
    pdf_url: str
    verify_url: str


class CertificateFilters(Schema):
    subject: int | None = Field(None, ge=1)


class VerificationOut(Schema):
    status: Literal["valid", "revoked", "invalid"]
    message: str
    name: str | None = None
    kind: str | None = None
    village: str | None = None
    earned: int | None = None
    year_earned: int | None = None
    issued_on: date | None = None


class NoticeRowOut(Schema):
    occurred_on: date
    name: str
    kind: str
    category: str
    item: str
    reason: str
    points: int
    reversed: bool


class PointsNoticeOut(Schema):
    village: dict
    since: date
    items: list[NoticeRowOut]
    top: list[dict]
