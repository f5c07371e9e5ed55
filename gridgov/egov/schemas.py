"""In/Out schemas of /api/v1/egov. Outputs are the presenters' dicts; payee accounts and ID numbers
leave only masked. Inputs take raw values; the services validate them and answer in Chinese."""

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from .choices import Category, PaymentStatus

_REGION = r"^[0-9]{1,15}$"


# --- outputs ------------------------------------------------------------------------------------------------

class Person(Schema):
    id: int
    name: str


class ServiceItemOut(Schema):
    code: str
    name: str
    category: str
    category_name: str
    department_code: str
    department_name: str
    acceptance_level: str
    promised_days: int = Field(..., description="承诺时限（工作日）")
    fee: str
    pays_money: bool
    benefit_kind: str = Field(..., description="none / one_off / monthly")
    standard_amount_fen: int | None = Field(None, description="标准金额（分）")
    needs_town_review: bool
    has_rule: bool = Field(..., description="是否配置了政策找人规则")
    is_active: bool


class ItemDetailOut(ServiceItemOut):
    summary: str
    materials: list[dict[str, Any]]
    steps: list[str]
    legal_basis: str
    schedule_months: int
    questions: list[dict[str, Any]]
    eligibility_rule: dict[str, Any] | None = None
    rule_sensitivity: int
    updated_at: datetime


class ItemRef(Schema):
    code: str
    name: str
    category: str | None = None


class ApplicantRef(Schema):
    id: int
    name: str


class ApplicationOut(Schema):
    id: int
    number: str
    item: ItemRef
    department_code: str
    department_name: str
    applicant: ApplicantRef
    region_code: str
    grid_name: str
    agent: Person | None
    channel: str
    channel_name: str
    found_by_match: bool
    state: str
    state_name: str
    created_at: datetime
    accepted_on: date | None
    due_on: date | None = Field(None, description="办结期限（受理日 + 承诺工作日 + 补正暂停的工作日）")
    paused_days: int
    overdue: bool
    decision: str
    amount_fen: int | None
    completed_on: date | None
    on_time: bool | None


class ApplicantOut(ApplicantRef):
    gender: str
    birth_date: date | None
    id_number_masked: str


class AnswerRow(Schema):
    key: str
    label: str
    text: str


class Clock(Schema):
    accepted_on: date | None
    promised_days: int
    paused_days: int
    due_on: date | None
    running: bool
    paused: bool
    overdue: bool
    working_days_left: int | None
    on_time: bool | None


class MaterialOut(Schema):
    id: int
    material_code: str
    name: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: Person | None = None
    url: str | None = None


class ChecklistRow(Schema):
    code: str
    name: str
    required: bool
    files: int


class ApplicationEventOut(Schema):
    id: int
    action: str
    action_name: str
    from_state: str
    to_state: str
    to_state_name: str
    actor: str
    actor_role: str
    note: str
    data: dict[str, Any]
    at: datetime


class PaymentOut(Schema):
    id: int
    application_id: int
    period: str = Field(..., description="once，或按月发放的 YYYY-MM")
    amount_fen: int
    amount_yuan: str
    due_on: date
    status: str
    paid_on: date | None
    reference: str


class ApplicationDetailOut(ApplicationOut):
    applicant: ApplicantOut
    answers: dict[str, Any]
    answer_rows: list[AnswerRow]
    payee_name: str
    payee_account_masked: str
    benefit_kind: str
    amount_yuan: str
    accepted_by: Person | None
    missing_materials: list[str]
    return_reason: str
    returned_from: str
    returned_on: date | None
    decision_reason: str
    decided_at: datetime | None
    completed_at: datetime | None
    clock: Clock
    materials: list[MaterialOut]
    material_checklist: list[ChecklistRow]
    timeline: list[ApplicationEventOut]
    payments: list[PaymentOut]
    paid_fen: int
    is_monthly: bool
    actions: list[str] = Field(..., description="您现在可以执行的办理操作")


class PaymentQueueOut(PaymentOut):
    application_number: str
    item_name: str
    applicant_name: str


class MatchOut(Schema):
    id: int
    item: ItemRef
    resident: dict[str, Any]
    region_code: str
    grid_name: str
    first_found_at: datetime
    last_seen_at: datetime


class ScanOut(Schema):
    id: int
    grid: str
    residents: int
    rules: int
    matches: int
    started_at: datetime
    finished_at: datetime | None


class NotificationOut(Schema):
    id: int
    application_id: int
    application_number: str
    text: str
    created_at: datetime
    read_at: datetime | None


class StatRow(Schema):
    count: int
    name: str | None = None


class EgovStatsOut(Schema):
    region: dict[str, Any] | None
    total: int
    by_state: list[dict[str, Any]]
    by_category: list[dict[str, Any]]
    by_item: list[dict[str, Any]]
    by_level: list[dict[str, Any]]
    by_month: list[dict[str, Any]]
    completed: int
    on_time: int
    on_time_rate: float | None = Field(None, description="按期办结率（已办结中按期的比例）")
    overdue_open: int
    paid_fen: int
    paid_count: int
    scheduled_fen: int


class RuleCheckOut(Schema):
    valid: bool
    variables: list[str]
    tags: list[str]
    sensitivity: int
    result: bool | None = None


# --- inputs -------------------------------------------------------------------------------------------------

class ServiceItemFilters(Schema):
    category: Category | None = None
    q: str | None = Field(None, max_length=50)
    department: str | None = Field(None, max_length=32)
    pays_money: bool | None = None


class ItemPatchIn(Schema):
    name: str | None = None
    category: str | None = None
    department_code: str | None = None
    acceptance_level: str | None = None
    summary: str | None = None
    materials: list[dict[str, Any]] | None = None
    steps: list[str] | None = None
    promised_days: int | None = None
    fee: str | None = None
    legal_basis: str | None = None
    pays_money: bool | None = None
    benefit_kind: str | None = None
    standard_amount_fen: int | None = None
    schedule_months: int | None = None
    needs_town_review: bool | None = None
    questions: list[dict[str, Any]] | None = None
    eligibility_rule: dict[str, Any] | None = Field(None, description="JSON Logic 规则；null 清除")
    is_active: bool | None = None


class ItemCreateIn(ItemPatchIn):
    code: str = Field(..., max_length=16)


class RuleCheckIn(Schema):
    rule: dict[str, Any]
    facts: dict[str, Any] | None = Field(None, description="可选：用这组居民信息试算规则")


class ApplicationFilters(Schema):
    state: str | None = Field(None, max_length=120, description="可多个，逗号分隔")
    item: str | None = Field(None, max_length=16)
    category: Category | None = None
    region: str | None = Field(None, pattern=_REGION)
    department: str | None = Field(None, max_length=32)
    q: str | None = Field(None, max_length=50, description="申请人姓名或申请编号")
    month: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="申请月份 YYYY-MM")
    overdue: bool | None = None
    applicant: int | None = Field(None, ge=1)
    found_by_match: bool | None = None


class ApplicationCreateIn(Schema):
    item: str = Field(..., max_length=16, description="事项编码，如 SB001")
    applicant: int = Field(..., ge=1, description="申请人（实有人口编号）")
    answers: dict[str, Any] = Field(default_factory=dict)
    payee_name: str = Field("", max_length=50)
    payee_account: str = Field("", max_length=40)
    found_by_match: bool = False
    need: int | None = Field(None, ge=1, description="走访中记录的诉求编号（转办）")


class EgovNoteIn(Schema):
    note: str = Field("", max_length=500)


class EgovReasonIn(Schema):
    reason: str = Field(..., max_length=500)


class ReturnIn(Schema):
    missing_materials: list[str] = Field(..., min_length=1, max_length=30)
    reason: str = Field(..., max_length=500)


class EgovVerifyIn(Schema):
    note: str = Field(..., max_length=500)
    proposed_amount_fen: int | None = Field(None, ge=1)


class ApproveIn(Schema):
    amount_fen: int | None = Field(None, ge=1, description="核定金额（分）；不填用事项标准金额")
    payee_name: str | None = Field(None, max_length=50)
    payee_account: str | None = Field(None, max_length=40)
    note: str = Field("", max_length=500)


class PayIn(Schema):
    reference: str = Field(..., max_length=64, description="发放凭证号（银行流水号）")
    paid_on: date | None = None


class PaymentFilters(Schema):
    status: PaymentStatus | None = None
    region: str | None = Field(None, pattern=_REGION)
    due_before: date | None = None


class EgovStatsQuery(Schema):
    region: str | None = Field(None, pattern=_REGION)
    since: date | None = None
    until: date | None = None


class MatchQuery(Schema):
    region: str | None = Field(None, pattern=_REGION)
    item: str | None = Field(None, max_length=16)


class ScanIn(Schema):
    grid: str = Field(..., pattern=r"^[0-9]{15}$")
