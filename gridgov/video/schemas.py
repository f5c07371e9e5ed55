"""API schemas. No schema has a stream-source field: the address never leaves the platform."""

from datetime import date, datetime

from ninja import Field, Schema

from .choices import CameraKind, CameraStatus, Funding, MaintenanceKind, ReviewOutcome


class CameraFilters(Schema):
    q: str = Field("", max_length=50, description="编码或名称")
    region: str = Field("", pattern=r"^(\d{6}|\d{9}|\d{12}|\d{15})?$", description="区划代码（含下级）")
    status: CameraStatus | None = None
    kind: CameraKind | None = None


class CameraOut(Schema):
    id: int
    code: str
    name: str
    grid: str = Field(alias="grid_id")
    grid_name: str = Field(alias="grid.name")
    lon: float
    lat: float
    kind: str
    owner: str
    installed_on: date | None
    funding: str
    funding_yuan: int
    status: str
    last_seen_at: datetime | None


class MaintenanceOut(Schema):
    id: int
    kind: str
    performed_on: date
    note: str
    status_after: str
    recorded_by: str = Field(alias="recorded_by.username")
    created_at: datetime


class CameraDetailOut(CameraOut):
    note: str
    watchable: bool
    maintenance: list[MaintenanceOut]

    @staticmethod
    def resolve_maintenance(obj):
        return list(obj.maintenance.select_related("recorded_by")[:50])


class CameraIn(Schema):
    code: str = Field(..., min_length=2, max_length=32)
    name: str = Field(..., min_length=1, max_length=100)
    grid: str = Field(..., pattern=r"^\d{15}$")
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    kind: CameraKind = CameraKind.BULLET
    owner: str = Field("", max_length=100)
    stream_source: str = Field("", max_length=500, description="只写：加密保存，任何接口都不会返回")
    installed_on: date | None = None
    funding: Funding = Funding.VILLAGE_SUBSIDY
    funding_yuan: int = Field(0, ge=0, le=10_000_000)
    note: str = Field("", max_length=200)


class CameraPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    grid: str | None = Field(None, pattern=r"^\d{15}$")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    kind: CameraKind | None = None
    owner: str | None = Field(None, max_length=100)
    stream_source: str | None = Field(None, max_length=500, description="只写：加密保存，任何接口都不会返回")
    installed_on: date | None = None
    funding: Funding | None = None
    funding_yuan: int | None = Field(None, ge=0, le=10_000_000)
    note: str | None = Field(None, max_length=200)


class MaintenanceIn(Schema):
    kind: MaintenanceKind
    performed_on: date
    note: str = Field(..., min_length=2, max_length=500)
    status_after: CameraStatus | None = None


class ViewIn(Schema):
    purpose: str = Field("", max_length=200)
    case_number: str = Field("", max_length=20)


class ViewTicketOut(Schema):
    view_id: int
    token: str
    expires_at: datetime
    hls_url: str
    rtmp_url: str


class ViewOut(Schema):
    id: int
    camera: str = Field(alias="camera.code")
    camera_name: str = Field(alias="camera.name")
    user: str = Field(alias="user.username")
    user_name: str = Field(alias="user.full_name")
    purpose: str
    case_number: str | None = Field(None, alias="case.number")
    issued_at: datetime
    token_expires_at: datetime
    protocol: str
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str


class ViewFilters(Schema):
    camera: str = Field("", max_length=32)
    user: str = Field("", max_length=150)
    case_number: str = Field("", max_length=20)
    since: date | None = None
    until: date | None = None
    open_only: bool = False


class GrantIn(Schema):
    grantee_department: str = Field("", max_length=32, description="部门代码；与 grantee_role 二选一")
    grantee_role: str = Field("", max_length=32)
    grantee_region: str = Field("", pattern=r"^(\d{6}|\d{9}|\d{12}|\d{15})?$")
    scope_region: str = Field("", pattern=r"^(\d{6}|\d{9}|\d{12}|\d{15})?$", description="可查看区域（含下级）")
    camera_codes: list[str] = Field(default_factory=list, max_length=500)
    valid_from: datetime | None = None
    valid_until: datetime
    purpose: str = Field(..., max_length=200)


class RevokeIn(Schema):
    reason: str = Field(..., max_length=200)


class GrantOut(Schema):
    id: int
    grantee: str
    grantee_department: str | None
    grantee_role: str
    grantee_region: str | None
    scope_region: str | None
    scope_region_name: str | None
    camera_count: int
    valid_from: datetime
    valid_until: datetime
    purpose: str
    granted_by: str
    granted_at: datetime
    revoked_at: datetime | None
    revoke_reason: str

    @staticmethod
    def resolve_grantee(obj) -> str:
        return obj.grantee_label()

    @staticmethod
    def resolve_grantee_department(obj):
        return obj.grantee_department.code if obj.grantee_department_id else None

    @staticmethod
    def resolve_grantee_region(obj):
        return obj.grantee_region_id

    @staticmethod
    def resolve_scope_region(obj):
        return obj.scope_region_id

    @staticmethod
    def resolve_scope_region_name(obj):
        return obj.scope_region.name if obj.scope_region_id else None

    @staticmethod
    def resolve_camera_count(obj) -> int:
        return getattr(obj, "camera_count", None) or obj.cameras.count()

    @staticmethod
    def resolve_granted_by(obj) -> str:
        return obj.granted_by.username


class GrantFilters(Schema):
    state: str = Field("", pattern=r"^(active|pending|expired|revoked)?$")
    q: str = Field("", max_length=50)


class ReviewIn(Schema):
    camera_id: int
    case_number: str = Field(..., min_length=1, max_length=20)
    footage_from: datetime
    footage_to: datetime
    outcome: ReviewOutcome
    finding: str = Field(..., max_length=500)


class ReviewOut(Schema):
    id: int
    camera: str = Field(alias="camera.code")
    case_number: str = Field(alias="case.number")
    footage_from: datetime
    footage_to: datetime
    outcome: str
    finding: str
    reviewer: str = Field(alias="reviewer.username")
    created_at: datetime


class ReviewFilters(Schema):
    case_number: str = Field("", max_length=20)
    camera: str = Field("", max_length=32)
    outcome: ReviewOutcome | None = None


class ReviewStatOut(Schema):
    month: str
    reviewed_cases: int
    helped_cases: int
    reviews: int


class ImportErrorOut(Schema):
    row: int
    code: str
    reasons: list[str]


class CameraImportOut(Schema):
    total: int
    created: int
    errors: list[ImportErrorOut]
