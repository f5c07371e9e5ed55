from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from gridgov.cases.models.component import ComponentState


class ComponentFilters(Schema):
    category: str | None = Field(None, pattern=r"^[Cc]?([0-9]{2}|[0-9]{4})$",
                                 description="大类（C01）或小类（C0101）代码")
    state: ComponentState | None = None
    region: str | None = Field(None, pattern=r"^[0-9]{1,15}$", description="区划代码前缀")
    department: str | None = Field(None, max_length=32, description="权属部门代码（如 CGJ）或编号")
    bbox: str | None = Field(None, max_length=100, description="最小经度,最小纬度,最大经度,最大纬度 (WGS84)")
    q: str | None = Field(None, max_length=50, description="编码前缀或名称包含")


class GeoJsonQuery(Schema):
    bbox: str = Field(..., max_length=100, description="最小经度,最小纬度,最大经度,最大纬度 (WGS84)，跨度不超过 2 度")
    category: str | None = Field(None, pattern=r"^[Cc]?([0-9]{2}|[0-9]{4})$")
    state: ComponentState | None = None


class CategoryRef(Schema):
    code: str
    name: str


class DepartmentRef(Schema):
    id: int
    code: str
    name: str


class ComponentOut(Schema):
    id: int
    code: str
    category: CategoryRef
    region_code: str
    grid_name: str
    name: str
    lon: float
    lat: float
    owner_department: DepartmentRef | None
    state: str
    state_label: str
    installed_on: date | None
    note: str
    created_at: datetime
    updated_at: datetime


class ComponentIn(Schema):
    category: str = Field(..., max_length=50, description="部件小类：代码（C0101 或 0101）或名称（上水井盖）")
    lon: float = Field(..., ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(..., ge=-90, le=90, allow_inf_nan=False)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    code: str | None = Field(None, pattern=r"^[0-9]{16}$", description="留空则按类别自动编号")
    name: str = Field("", max_length=100)
    owner_department: str | None = Field(None, max_length=100, description="权属部门代码或名称；留空取类别的默认部门")
    state: ComponentState = ComponentState.INTACT
    installed_on: date | None = None
    note: str = Field("", max_length=200)


class ComponentPatch(Schema):
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    crs: Literal["wgs84", "gcj02"] | None = None
    name: str | None = Field(None, max_length=100)
    owner_department: str | None = Field(None, max_length=100)
    state: ComponentState | None = None
    installed_on: date | None = None
    note: str | None = Field(None, max_length=200)


class RejectedRowOut(Schema):
    row: int
    code: str
    reasons: list[str]


class ImportOut(Schema):
    file_name: str
    file_format: str
    dry_run: bool
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[RejectedRowOut]
