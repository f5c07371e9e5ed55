import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Field, Schema

from .choices import CaseState, CategoryKind, Source, Urgency

GRID = r"^[0-9]{15}$"
PREFIX = r"^[0-9]{1,15}$"


class Ref(Schema):
    code: str
    name: str


class PersonOut(Schema):
    id: int | None
    name: str


class CaseReportIn(Schema):
    category: str | None = Field(None, max_length=16,
                                 description="分类代码（如 E0102 暴露垃圾）或 ID；关联部件时可省略（取部件类别）")
    description: str = Field("", max_length=2000, description="问题描述（由走访诉求转入时可省略）")
    component: str | None = Field(None, max_length=40,
                                  description="关联部件（部件编码或 ID）：位置与分类取自部件，按权属部门派遣")
    lon: float | None = Field(None, description="经度；与 lat 同时提供")
    lat: float | None = None
    crs: Literal["wgs84", "gcj02"] = Field("wgs84", description="坐标系：手机地图 SDK 的坐标为 gcj02")
    grid: str | None = Field(None, pattern=GRID, description="网格代码：无定位时必填（网格员可省略，默认本网格）")
    address: str = Field("", max_length=200)
    urgency: Urgency | None = Field(None, description="紧急程度，默认取分类的第一个")
    source: Source | None = Field(None, description="来源，默认按上报人角色")
    reporter_name: str = Field("", max_length=50, description="来电/反映人（热线、短信等）")
    reporter_phone: str = Field("", max_length=30)
    external_ref: str = Field("", max_length=64)
    client_id: UUID | None = Field(None, description="手机端生成的 UUID，重传时返回已有案件")
    self_resolved: bool = Field(False, description="网格员已现场处置（须附照片）")
    resolution_note: str = Field("", max_length=2000)
    need: int | None = Field(None, ge=1, description="走访诉求 ID：由走访发现的事件一步转为案件")


class CaseFilters(Schema):
    state: list[CaseState] | None = Field(None, description="状态，可多选")
    category: str | None = Field(None, max_length=16, description="分类代码（含下级）")
    urgency: Urgency | None = None
    due: Literal["due_soon", "overdue"] | None = Field(None, description="临期或超期")
    escalated: bool | None = None
    region: str | None = Field(None, pattern=PREFIX, description="区划代码前缀")
    department: str | None = Field(None, max_length=32, description="部门代码或 ID（主办或协办）")
    source: Source | None = None
    since: dt.date | None = Field(None, description="上报日期起")
    until: dt.date | None = Field(None, description="上报日期止")
    q: str | None = Field(None, max_length=100, description="案件编号或描述、地址中的文字")
    duplicate: bool | None = Field(None, description="是否疑似重复")


class CaseOut(Schema):
    id: int
    number: str
    state: str
    state_label: str
    stage: str
    category: Ref
    urgency: str
    source: str
    region_code: str
    grid_name: str
    description: str
    address: str
    lon: float | None
    lat: float | None
    lead_department: Ref | None
    created_at: dt.datetime
    stage_deadline: dt.datetime | None
    due_soon: bool
    overdue: bool
    escalated_to_level: int | None
    duplicate_of: int | None
    self_resolved: bool


class CaseListOut(Schema):
    count: int
    counts: dict[str, int]
    items: list[CaseOut]


class AttachmentOut(Schema):
    id: int
    kind: str
    content_type: str
    size: int
    original_name: str
    url: str
    created_at: dt.datetime


class EventOut(Schema):
    id: int
    action: str
    action_label: str
    actor: PersonOut | None
    actor_role: str
    from_state: str
    to_state: str
    note: str
    data: dict
    created_at: dt.datetime
    attachments: list[int]


class DispatchOut(Schema):
    department: Ref
    role: str
    is_active: bool
    dispatched_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str


class SupervisionOut(Schema):
    id: int
    supervisor: PersonOut
    level: int
    note: str
    respond_by: dt.datetime | None
    created_at: dt.datetime


class EvaluationOut(Schema):
    id: int
    evaluator_kind: str
    score: int
    comment: str
    created_at: dt.datetime


class ExtensionOut(Schema):
    id: int
    department: Ref
    hours: int
    reason: str
    status: str
    decision_note: str
    old_deadline: dt.datetime | None
    new_deadline: dt.datetime | None
    created_at: dt.datetime
    decided_at: dt.datetime | None


class SuspensionOut(Schema):
    id: int
    from_state: str
    reason: str
    expected_resume_on: dt.date | None
    suspended_at: dt.datetime
    resumed_at: dt.datetime | None


class CaseBrief(Schema):
    id: int
    number: str
    state: str


class SuspensionRowOut(SuspensionOut):
    case: CaseBrief
    suspended_by: PersonOut


class SuspensionListOut(Schema):
    count: int
    items: list[SuspensionRowOut]


class ComponentRef(Schema):
    id: int
    code: str
    name: str
    owner_department: Ref | None


class CaseDetailOut(CaseOut):
    component: ComponentRef | None
    urgency_label: str
    source_label: str
    reporter: PersonOut | None
    reporter_name: str
    reporter_phone: str
    external_ref: str
    stage_started_at: dt.datetime | None
    stage_due_soon_at: dt.datetime | None
    stage_limit_minutes: int | None
    escalated_at: dt.datetime | None
    accepted_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    feedback_at: dt.datetime | None
    closed_at: dt.datetime | None
    actions: list[str]
    dispatches: list[DispatchOut]
    events: list[EventOut]
    attachments: list[AttachmentOut]
    supervisions: list[SupervisionOut]
    evaluations: list[EvaluationOut]
    extension_requests: list[ExtensionOut]
    suspensions: list[SuspensionOut]
    duplicates: list[CaseBrief]


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class RegisterIn(NoteIn):
    category: str | None = Field(None, max_length=16)
    urgency: Urgency | None = None


class DispatchIn(NoteIn):
    department: str = Field(..., max_length=32, description="主办部门代码或 ID")
    helpers: list[str] = Field(default_factory=list, max_length=5, description="协办部门代码或 ID")


class FeedbackIn(Schema):
    note: str = Field(..., min_length=1, max_length=2000)


class VerifyIn(NoteIn):
    passed: bool


class EvaluateIn(Schema):
    score: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=2000)


class ExtendRequestIn(Schema):
    hours: int = Field(..., ge=1, le=400, description="申请延长的工作小时")
    reason: str = Field(..., min_length=1, max_length=2000)


class ExtendDecideIn(NoteIn):
    grant: bool


class SuspendIn(ReasonIn):
    expected_resume_on: dt.date | None = None


class SuperviseIn(Schema):
    note: str = Field(..., min_length=1, max_length=2000)
    respond_within_hours: int | None = Field(None, ge=1, le=400)


class CaseNoteIn(Schema):
    note: str = Field(..., min_length=1, max_length=2000, description="记录内容")
    kind: Literal["note", "video_review"] = Field("note", description="工作记录，或视频研判（调阅监控的结果）")


class MergeIn(NoteIn):
    into: int = Field(..., ge=1, description="合并入的案件 ID")


class RoutingOut(Schema):
    grid: Ref
    town_code: str
    department: Ref | None
    reason: str
    candidates: list[Ref]


class RouteQuery(Schema):
    category: str = Field(..., max_length=16)
    lon: float
    lat: float
    crs: Literal["wgs84", "gcj02"] = "wgs84"


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent: str | None
    level: int
    default_department_code: str
    route_to_station: bool
    urgency_levels: list[str]
    time_limits: dict
    self_resolvable: bool
    standard_ref: str
    description: str
    sort_order: int
    is_active: bool


class CategoryQuery(Schema):
    kind: CategoryKind | None = None
    include_inactive: bool = False


class CategoryUpdateIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=50)
    parent: str | None = Field(None, max_length=16)
    default_department_code: str | None = Field(None, max_length=32)
    route_to_station: bool | None = None
    urgency_levels: list[Urgency] | None = None
    time_limits: dict | None = None
    self_resolvable: bool | None = None
    standard_ref: str | None = Field(None, max_length=50)
    description: str | None = Field(None, max_length=200)
    sort_order: int | None = Field(None, ge=0, le=100000)
    is_active: bool | None = None


class CategoryCreateIn(CategoryUpdateIn):
    code: str = Field(..., min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(..., min_length=1, max_length=50)
    kind: CategoryKind


class SweepOut(Schema):
    due_soon: int
    overdue: int
    escalated: int
