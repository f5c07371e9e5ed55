"""/api/v1/video: camera registry and map layer, import/export, grants, viewing tokens, the view log,
footage reviews and their statistics. The media server's callbacks are plain views (views_media.py)."""

import io

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from gridgov.accounts.policy import require
from gridgov.core.errors import ValidationFailed
from gridgov.core.pagination import PageNumberCount

from . import excel, selectors, services
from .access import access_camera, access_grant, access_review, access_view, watch_grant
from .schemas import (
    CameraDetailOut,
    CameraFilters,
    CameraImportOut,
    CameraIn,
    CameraOut,
    CameraPatch,
    GrantFilters,
    GrantIn,
    GrantOut,
    MaintenanceIn,
    MaintenanceOut,
    ReviewFilters,
    ReviewIn,
    ReviewOut,
    ReviewStatOut,
    RevokeIn,
    ViewFilters,
    ViewIn,
    ViewOut,
    ViewTicketOut,
)

router = Router(tags=["video"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def _filters(f) -> dict:
    return {k: v for k, v in f.dict().items() if v not in (None, "")}


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# --- cameras -------------------------------------------------------------------------------------------

@router.get("/cameras", response=list[CameraOut], summary="摄像机列表（不含视频源地址）")
@paginate(PageNumberCount)
def list_cameras(request, filters: Query[CameraFilters]):
    return selectors.camera_list(user=request.auth, **_filters(filters))


@router.post("/cameras", response={201: CameraOut}, summary="登记摄像机（视频源地址只写、加密保存）")
def create_camera(request, data: CameraIn):
    body = data.dict()
    camera = services.camera_create(acting_user=request.auth, grid_code=body.pop("grid"), **body)
    return Status(201, access_camera(request.auth, camera.pk))


@router.get("/cameras/geojson", summary="摄像机图层 (GeoJSON FeatureCollection，供地图使用)")
def cameras_geojson(request, filters: Query[CameraFilters]):
    f = _filters(filters)
    return selectors.camera_geojson(user=request.auth, region=f.get("region", ""), status=f.get("status", ""))


@router.get("/cameras/export", summary="导出摄像机清单（Excel）")
def export_cameras(request, filters: Query[CameraFilters]):
    buffer = io.BytesIO()
    excel.camera_export(acting_user=request.auth, output=buffer, **_filters(filters))
    return _xlsx(buffer.getvalue(), f"摄像机清单-{timezone.localdate():%Y%m%d}.xlsx")


@router.get("/cameras/import-template", summary="摄像机导入模板（Excel）")
def import_template(request):
    require(request.auth, "video.manage")
    return _xlsx(excel.import_template(), "摄像机导入模板.xlsx")


@router.post("/cameras/import", response=CameraImportOut, summary="导入摄像机（Excel，全部正确才写入）",
             description="逐行校验，每个问题一条中文原因；任何一行有错则一行也不写入。dry_run=true 只校验。")
def import_cameras(request, file: File[UploadedFile], dry_run: Form[bool] = False):
    require(request.auth, "video.manage")
    if file.size and file.size > MAX_UPLOAD_BYTES:
        raise ValidationFailed("文件不能超过 10 MB", code="file_too_large", extra={"field": "file"})
    try:
        report = excel.camera_import(acting_user=request.auth, data=file.read(), file_name=file.name or "",
                                     dry_run=dry_run)
    except excel.ImportFileError as exc:
        raise ValidationFailed(exc.message, code="unreadable_file", extra={"field": "file"}) from None
    if report.errors:
        raise ValidationFailed(f"共 {len(report.errors)} 行有错误，全部未导入，请修改后重新上传",
                               code="import_rejected", extra=report.as_dict())
    return report.as_dict()


@router.get("/cameras/{int:camera_id}", response=CameraDetailOut, summary="摄像机详情与维护记录")
def get_camera(request, camera_id: int):
    camera = access_camera(request.auth, camera_id)
    camera.watchable = watch_grant(request.auth, camera) is not None
    return camera


@router.patch("/cameras/{int:camera_id}", response=CameraOut, summary="修改摄像机登记信息（视频源地址只写）")
def update_camera(request, camera_id: int, data: CameraPatch):
    fields = data.dict(exclude_unset=True)
    if "grid" in fields:
        fields["grid_code"] = fields.pop("grid")
    services.camera_update(acting_user=request.auth, camera_id=camera_id, **fields)
    return access_camera(request.auth, camera_id)


@router.post("/cameras/{int:camera_id}/maintenance", response={201: MaintenanceOut}, summary="登记维护记录")
def add_maintenance(request, camera_id: int, data: MaintenanceIn):
    entry = services.maintenance_record(acting_user=request.auth, camera_id=camera_id, kind=data.kind,
                                        performed_on=data.performed_on, note=data.note,
                                        status_after=data.status_after or "")
    return Status(201, entry)


@router.post("/cameras/{int:camera_id}/view", response={201: ViewTicketOut},
             summary="申请查看：签发短时令牌并返回播放地址",
             description="需持有有效授权；须填写查看事由或关联案件编号。令牌只返回一次，绑定用户、摄像机与有效期。")
def start_view(request, camera_id: int, data: ViewIn):
    ticket = services.view_start(acting_user=request.auth, camera_id=camera_id, purpose=data.purpose,
                                 case_number=data.case_number)
    return Status(201, {"view_id": ticket.view.pk, "token": ticket.token, "expires_at": ticket.view.token_expires_at,
                        "hls_url": ticket.hls_url, "rtmp_url": ticket.rtmp_url})


# --- view log ------------------------------------------------------------------------------------------

@router.get("/views", response=list[ViewOut], summary="视频查看日志")
@paginate(PageNumberCount)
def list_views(request, filters: Query[ViewFilters]):
    f = _filters(filters)
    if "user" in f:
        f["username"] = f.pop("user")
    return selectors.view_log(user=request.auth, **f)


@router.get("/views/{int:view_id}", response=ViewOut, summary="一次查看的记录")
def get_view(request, view_id: int):
    return access_view(request.auth, view_id)


@router.post("/views/{int:view_id}/stop", response=ViewOut, summary="结束本人的一次查看")
def stop_view(request, view_id: int):
    return services.view_stop(acting_user=request.auth, view_id=view_id)


# --- grants --------------------------------------------------------------------------------------------

@router.get("/grants", response=list[GrantOut], summary="查看授权登记（市网格化管理中心）")
@paginate(PageNumberCount)
def list_grants(request, filters: Query[GrantFilters]):
    return selectors.grant_list(user=request.auth, **_filters(filters))


@router.get("/grants/mine", response=list[GrantOut], summary="当前对我有效的授权")
def my_grants(request):
    return list(selectors.my_grants(user=request.auth))


@router.post("/grants", response={201: GrantOut}, summary="新增查看授权")
def create_grant(request, data: GrantIn):
    grant = services.grant_create(
        acting_user=request.auth, purpose=data.purpose, valid_from=data.valid_from or timezone.now(),
        valid_until=data.valid_until, grantee_department_code=data.grantee_department,
        grantee_role=data.grantee_role, grantee_region_code=data.grantee_region,
        scope_region_code=data.scope_region, camera_codes=data.camera_codes)
    return Status(201, access_grant(request.auth, grant.pk))


@router.get("/grants/{int:grant_id}", response=GrantOut, summary="授权详情")
def get_grant(request, grant_id: int):
    return access_grant(request.auth, grant_id)


@router.post("/grants/{int:grant_id}/revoke", response=GrantOut, summary="撤销授权（立即结束其下正在进行的查看）")
def revoke_grant(request, grant_id: int, data: RevokeIn):
    services.grant_revoke(acting_user=request.auth, grant_id=grant_id, reason=data.reason)
    return access_grant(request.auth, grant_id)


# --- footage reviews -----------------------------------------------------------------------------------

@router.get("/reviews", response=list[ReviewOut], summary="录像查看记录（关联案件）")
@paginate(PageNumberCount)
def list_reviews(request, filters: Query[ReviewFilters]):
    return selectors.review_list(user=request.auth, **_filters(filters))


@router.post("/reviews", response={201: ReviewOut}, summary="登记一次录像查看（写入案件流转记录）")
def create_review(request, data: ReviewIn):
    review = services.review_record(acting_user=request.auth, camera_id=data.camera_id,
                                    case_number=data.case_number, footage_from=data.footage_from,
                                    footage_to=data.footage_to, outcome=data.outcome, finding=data.finding)
    return Status(201, access_review(request.auth, review.pk))


@router.get("/reviews/stats", response=list[ReviewStatOut], summary="按月统计：查看录像的案件、视频起作用的案件")
def review_stats(request, since: str = "", until: str = ""):
    from datetime import date

    try:
        d_since = date.fromisoformat(since) if since else None
        d_until = date.fromisoformat(until) if until else None
    except ValueError:
        raise ValidationFailed("日期格式应为 2026-01-31", {"field": "since"}) from None
    return selectors.review_stats(user=request.auth, since=d_since, until=d_until)
