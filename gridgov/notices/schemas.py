"""In/Out schemas of /api/v1/notices."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

RegionCode = Field(..., pattern=r"^\d{6}(\d{3}(\d{3}(\d{3})?)?)?$", description="发送范围：区划或网格代码（含下级）")
TargetRole = Literal["grid_worker", "grid_admin", "village_cadre", "town_operator", "city_operator",
                     "dept_staff", "dept_head"]


class ScopeIn(Schema):
    region: str = RegionCode
    roles: list[TargetRole] = Field(default_factory=list, max_length=7, description="接收角色；为空表示全部角色")
    departments: list[int] = Field(default_factory=list, max_length=100,
                                   description="接收部门编号；只选部门不选角色时仅发给这些部门（含下属派出机构）")


class NoticeIn(ScopeIn):
    title: str = Field(..., max_length=120)
    body_html: str = Field("", max_length=50_000, description="正文（HTML，保存前按白名单清洗）")
    requires_ack: bool = False
    ack_deadline: datetime | None = Field(None, description="签收截止时间（需要签收时必填）")


class PreviewOut(Schema):
    recipients: int
    by_role: dict[str, int]


class NoticeAttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class NoticeOut(Schema):
    id: int
    title: str
    author: str
    author_unit: str
    region: str
    region_name: str
    roles: list[str]
    requires_ack: bool
    ack_deadline: datetime | None
    status: str
    sent_at: datetime
    recipient_count: int
    withdrawn_at: datetime | None
    withdraw_reason: str


class ReceiptOut(Schema):
    read_at: datetime | None
    acked_at: datetime | None
    ack_comment: str


class NoticeDetailOut(NoticeOut):
    body_html: str
    attachments: list[NoticeAttachmentOut]
    departments: list[str]
    receipt: ReceiptOut | None = Field(description="本人的回执；发布人或上级查看时为空")
    can_withdraw: bool
    can_stats: bool


class InboxOut(Schema):
    id: int = Field(description="通知编号")
    title: str
    author_unit: str
    sent_at: datetime
    requires_ack: bool
    ack_deadline: datetime | None
    overdue: bool = Field(description="需要签收、未签收且已过截止时间")
    status: str
    read_at: datetime | None
    acked_at: datetime | None


class InboxFilters(Schema):
    unread: bool | None = Field(None, description="true 只看未读，false 只看已读")
    unacked: bool | None = Field(None, description="true 只看待签收")
    q: str | None = Field(None, max_length=100, description="搜索标题和正文")


class InboxCountsOut(Schema):
    total: int
    unread: int
    unacked: int


class SentFilters(Schema):
    mine: bool = Field(False, description="只看本人发布的")
    status: Literal["sent", "withdrawn"] | None = None
    q: str | None = Field(None, max_length=100)


class AckIn(Schema):
    comment: str = Field("", max_length=500)


class WithdrawIn(Schema):
    reason: str = Field(..., max_length=200)


class StatsQuery(Schema):
    region: str | None = Field(None, pattern=r"^\d{6}(\d{3}(\d{3}(\d{3})?)?)?$", description="下钻到的区划代码")


class StatsRowOut(Schema):
    code: str
    name: str
    level: int | None
    total: int
    read: int
    acked: int
    late: int
    read_rate: float | None
    ack_rate: float | None
    drill: bool


class StatsTotalsOut(Schema):
    total: int
    read: int
    acked: int
    late: int
    read_rate: float | None
    ack_rate: float | None


class StatsOut(Schema):
    node: dict
    path: list[dict]
    requires_ack: bool
    rows: list[StatsRowOut]
    totals: StatsTotalsOut


class ReceiptFilters(StatsQuery):
    state: Literal["unread", "unacked"] | None = None


class RecipientOut(Schema):
    name: str
    role: str
    region_code: str
    department: str
    read_at: datetime | None
    acked_at: datetime | None
    ack_comment: str


ReportCategoryIn = Literal["daily_log", "situation", "dispute", "hazard", "opinion", "other"]


class ReportIn(Schema):
    category: ReportCategoryIn
    text: str = Field(..., max_length=2000)
    lon: float | None = None
    lat: float | None = None
    grid: str | None = Field(None, pattern=r"^\d{15}$")
    client_id: str | None = Field(None, max_length=36, description="客户端生成的 UUID；重试时不会重复上报")


class ReportOut(Schema):
    id: int
    category: str
    category_label: str
    text: str
    grid: str
    grid_name: str
    author: str
    lon: float | None
    lat: float | None
    photo_url: str | None
    status: str
    status_label: str
    created_at: datetime
    read_at: datetime | None
    handled_at: datetime | None
    handle_note: str
    case_number: str | None


class ReportFilters(Schema):
    status: Literal["new", "read", "handled", "case"] | None = None
    category: ReportCategoryIn | None = None
    region: str | None = Field(None, pattern=r"^\d{6}(\d{3}(\d{3}(\d{3})?)?)?$")
    q: str | None = Field(None, max_length=100)
    mine: bool = False


class HandleIn(Schema):
    note: str = Field(..., max_length=500)


class ToCaseIn(Schema):
    category: str = Field(..., max_length=32, description="案件分类代码，如 G0403")
    urgency: str | None = Field(None, max_length=16)
    description: str = Field("", max_length=2000, description="为空时使用报告内容")


class CaseRefOut(Schema):
    report: int
    case_id: int
    case_number: str
