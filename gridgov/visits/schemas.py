import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Field, Schema

from .choices import LocationCheck, NeedKind

CODE = r"^[0-9]{6}([0-9]{3}){0,3}$"


class NeedIn(Schema):
    kind: NeedKind
    text: str = Field(..., max_length=500)


class VisitIn(Schema):
    resident: int = Field(..., ge=1, description="走访对象（实有人口 ID）")
    visited_at: dt.datetime = Field(..., description="走访时间，不晚于当前时间，不早于 7 天前")
    lon: float | None = Field(None, description="经度；与 lat 同时提供，省略表示无定位")
    lat: float | None = None
    accuracy_m: float | None = Field(None, description="定位精度（米）")
    crs: Literal["wgs84", "gcj02"] = Field("wgs84", description="坐标系：手机地图 SDK 的坐标为 gcj02")
    findings: str = Field("", max_length=2000, description="走访情况")
    needs: list[NeedIn] = Field(default_factory=list, max_length=10, description="发现的诉求")
    checklist: dict[str, bool] | list[str] | None = Field(
        None, description='检查项：{"服药情况": true} 或已勾选项的列表')
    client_id: UUID | None = Field(None, description="手机端生成的 UUID，重传时返回已有记录")


class Person(Schema):
    id: int
    name: str


class NeedOut(Schema):
    id: int
    kind: str
    text: str
    status: str
    forwarded_ref: str


class ChecklistAnswer(Schema):
    item: str
    checked: bool
    tag: str


class VisitOut(Schema):
    id: int
    resident: Person
    worker: Person
    region_code: str
    grid_name: str
    visited_at: dt.datetime
    visit_date: dt.date
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    crs: str
    location_check: LocationCheck
    distance_to_grid_m: float | None
    findings: str
    checklist: list[ChecklistAnswer]
    needs: list[NeedOut]
    photo_url: str | None
    client_id: UUID | None
    created_at: dt.datetime


class VisitFilters(Schema):
    resident: int | None = Field(None, ge=1)
    worker: int | None = Field(None, ge=1)
    since: dt.date | None = Field(None, description="走访日期起")
    until: dt.date | None = Field(None, description="走访日期止")
    region: str | None = Field(None, pattern=r"^[0-9]{1,15}$", description="区划代码前缀")
    location_check: LocationCheck | None = None


class TodayQuery(Schema):
    grid: str | None = Field(None, pattern=r"^[0-9]{15}$", description="网格代码；网格员可省略")
    date: dt.date | None = Field(None, description="日期，默认今天")


class VisitTagOut(Schema):
    code: str
    name: str


class CheckItem(Schema):
    item: str
    tag: str


class MustVisitItemOut(Schema):
    resident_id: int
    name: str
    gender: str
    address: str
    lon: float | None
    lat: float | None
    tags: list[VisitTagOut]
    frequency_days: int
    last_visit_date: dt.date | None
    due_date: dt.date
    days_overdue: int
    never_visited: bool
    overdue: bool
    done: bool
    visit_id: int | None
    checklist: list[CheckItem]


class RegionRef(Schema):
    code: str
    name: str


class MustVisitOut(Schema):
    grid: RegionRef
    date: dt.date
    count: int
    done: int
    overdue: int
    items: list[MustVisitItemOut]


class CoverageQuery(Schema):
    region: str = Field(..., pattern=CODE, description="区划代码（市、镇、村或网格）")
    date: dt.date | None = Field(None, description="日期，默认今天")


class CoverageRowOut(Schema):
    code: str
    name: str
    level: int
    required: int
    visited: int
    missing: int
    rate: float | None


class CoverageOut(Schema):
    region: CoverageRowOut
    date: dt.date
    children: list[CoverageRowOut]


class OverdueQuery(CoverageQuery):
    pass


class OverdueOut(Schema):
    resident_id: int
    name: str
    grid_code: str
    grid_name: str
    frequency_days: int
    last_visit_date: dt.date | None
    due_date: dt.date
    days_overdue: int


class MonthQuery(Schema):
    month: str | None = Field(None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="月份，如 2026-11")


class MonthDayOut(Schema):
    date: dt.date
    required: int | None
    done: int | None
    rate: float | None
    visits: int
    patrols: int
    patrol_m: float


class WorkerMonthOut(Schema):
    worker: Person
    grids: list[RegionRef]
    month: str
    required: int
    done: int
    visits: int
    days: list[MonthDayOut]


class PatrolStartIn(Schema):
    grid: str | None = Field(None, pattern=r"^[0-9]{15}$", description="网格代码；网格员可省略")
    started_at: dt.datetime | None = None
    client_id: UUID | None = None


class PointIn(Schema):
    t: dt.datetime | float = Field(..., description="时间：ISO 8601 或 Unix 秒")
    lon: float
    lat: float
    accuracy_m: float | None = None


class PointsIn(Schema):
    points: list[PointIn] = Field(..., min_length=1, max_length=2000)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    batch_id: UUID | None = Field(None, description="批次 UUID，重传时忽略")


class PatrolEndIn(Schema):
    ended_at: dt.datetime | None = None
    findings: str = Field("", max_length=2000)


class PatrolOut(Schema):
    id: int
    worker: Person
    region_code: str
    grid_name: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    distance_m: float
    point_count: int
    findings: str


class PatrolDetailOut(PatrolOut):
    track: list[list[float | None]]


class PatrolFilters(Schema):
    worker: int | None = Field(None, ge=1)
    region: str | None = Field(None, pattern=r"^[0-9]{1,15}$")
    since: dt.date | None = None
    until: dt.date | None = None
    open: bool | None = None
