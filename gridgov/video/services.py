"""Writes of the video module: each one transaction with one audit row (CONVENTIONS rule 2).

The media-server side (play, update, publish, HLS) lives in media.py; it uses the helpers here.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from gridgov.accounts.choices import DEPARTMENT_ROLES, GLOBAL_ROLES, REGION_ROLE_LEVELS, Role
from gridgov.accounts.models import Department
from gridgov.accounts.policy import get_scope, require
from gridgov.core.audit import audit_record, changed_fields, snapshot
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.regions.models import Region

from . import conf
from .access import NEVER_WATCH, access_camera, watch_grant
from .choices import CameraKind, CameraStatus, Funding, MaintenanceKind, ReviewOutcome, ViewEnd
from .models import AccessGrant, Camera, CameraMaintenance, FootageReview, ViewSession

CAMERA_FIELDS = ["code", "name", "grid", "lon", "lat", "kind", "owner", "installed_on", "funding", "funding_yuan",
                 "note"]
MAX_GRANT_DAYS = 366


def _clean(obj, exclude=None) -> None:
    """full_clean, with the first problem as a Chinese ValidationFailed naming its field."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            field, errors = next(iter(exc.error_dict.items()))
            label = obj._meta.get_field(field).verbose_name if field != "__all__" else ""
            message = errors[0].messages[0]
            raise ValidationFailed(f"{label}：{message}" if label else message, {"field": field}) from None
        raise ValidationFailed(exc.messages[0]) from None


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- cameras -------------------------------------------------------------------------------------------

def _grid_in_scope(user, grid_code: str) -> Region:
    grid = Region.objects.filter(code=grid_code, level=4).first()
    if grid is None:
        raise ValidationFailed(f"网格代码“{grid_code}”不存在，摄像机必须登记到网格", {"field": "grid"})
    if not get_scope(user).covers(grid.code):
        raise NotFound()
    return grid


@transaction.atomic
def camera_create(*, acting_user, code: str, name: str, grid_code: str, lon: float, lat: float,
                  kind: str = CameraKind.BULLET, owner: str = "", stream_source: str = "",
                  installed_on: date | None = None, funding: str = Funding.VILLAGE_SUBSIDY, funding_yuan: int = 0,
                  note: str = "") -> Camera:
    """Registers a camera in a grid of the actor's scope. The stream source is stored encrypted."""
    require(acting_user, "video.manage")
    grid = _grid_in_scope(acting_user, grid_code)
    if Camera.objects.filter(code=code).exists():
        raise ValidationFailed(f"摄像机编码“{code}”已存在", {"field": "code"}, code="duplicate")
    camera = Camera(code=code, name=name, grid=grid, lon=lon, lat=lat, kind=kind, owner=owner,
                    stream_source=stream_source, installed_on=installed_on, funding=funding,
                    funding_yuan=funding_yuan, note=note, status=CameraStatus.OFFLINE)
    _clean(camera)
    camera.save()
    audit_record(actor=acting_user, action="video.camera.create", obj=camera,
                 changes={**snapshot(camera, CAMERA_FIELDS), "stream_source": "<已加密>" if stream_source else ""},
                 message=f"登记摄像机 {camera.code}")
    return camera


@transaction.atomic
def camera_update(*, acting_user, camera_id: int, stream_source: str | None = None, **fields) -> Camera:
    """Changes a camera's registry fields (and, when given, its stream source, audited as changed only)."""
    require(acting_user, "video.manage")
    camera = access_camera(acting_user, camera_id)
    camera = Camera.objects.select_for_update().get(pk=camera.pk)
    before = snapshot(camera, CAMERA_FIELDS)
    if "grid_code" in fields:
        camera.grid = _grid_in_scope(acting_user, fields.pop("grid_code"))
    for name, value in fields.items():
        if name not in CAMERA_FIELDS or name in ("code", "grid"):
            raise ValidationFailed(f"字段“{name}”不可修改")
        setattr(camera, name, value)
    changes = changed_fields(before, snapshot(camera, CAMERA_FIELDS))
    if stream_source is not None and stream_source != camera.stream_source:
        camera.stream_source = stream_source
        changes["stream_source"] = ["<已加密>", "<已加密>"]
    if not changes:
        return camera
    _clean(camera)
    camera.save()
    audit_record(actor=acting_user, action="video.camera.update", obj=camera, changes=changes,
                 message=f"修改摄像机 {camera.code}")
    return camera


@transaction.atomic
def maintenance_record(*, acting_user, camera_id: int, kind: str, performed_on: date, note: str,
                       status_after: str = "") -> CameraMaintenance:
    """Appends to a camera's maintenance log; `status_after` fault/offline sets the camera's status
    (online only ever comes from the media server)."""
    require(acting_user, "video.maintain")
    camera = access_camera(acting_user, camera_id)
    if kind not in MaintenanceKind.values:
        raise ValidationFailed("维护类型不正确", {"field": "kind"})
    if status_after and status_after not in (CameraStatus.FAULT, CameraStatus.OFFLINE):
        raise ValidationFailed("维护后状态只能登记为“故障”或“离线”；“在线”由流媒体服务器自动判定",
                               {"field": "status_after"})
    if performed_on > timezone.localdate():
        raise ValidationFailed("维护日期不能晚于今天", {"field": "performed_on"})
    entry = CameraMaintenance(camera=camera, kind=kind, performed_on=performed_on, note=(note or "").strip(),
                              status_after=status_after, recorded_by=acting_user)
    _clean(entry, exclude=["camera", "recorded_by"])
    entry.save()
    if status_after and status_after != camera.status:
        Camera.objects.filter(pk=camera.pk).update(status=status_after, status_changed_at=timezone.now())
    audit_record(actor=acting_user, action="video.camera.maintain", obj=camera,
                 changes={"kind": kind, "performed_on": performed_on, "status_after": status_after},
                 message=f"摄像机 {camera.code} 维护记录：{entry.note[:100]}")
    return entry


# --- grants --------------------------------------------------------------------------------------------

@transaction.atomic
def grant_create(*, acting_user, purpose: str, valid_from: datetime, valid_until: datetime,
                 grantee_department_code: str = "", grantee_role: str = "", grantee_region_code: str = "",
                 scope_region_code: str = "", camera_codes: list[str] | None = None) -> AccessGrant:
    """The city centre authorises a department, or a role at a region node, to watch a region subtree
    or a list of cameras for a period. Grid workers can never be authorised."""
    require(acting_user, "video.grant")
    purpose = (purpose or "").strip()
    if len(purpose) < 4:
        raise ValidationFailed("请填写授权事由（至少 4 个字）", {"field": "purpose"})
    if valid_until <= valid_from:
        raise ValidationFailed("截止时间必须晚于生效时间", {"field": "valid_until"})
    if valid_until <= timezone.now():
        raise ValidationFailed("截止时间已过，授权不会生效", {"field": "valid_until"})
    if valid_until - valid_from > timedelta(days=MAX_GRANT_DAYS):
        raise ValidationFailed(f"一次授权最长 {MAX_GRANT_DAYS} 天，到期后请重新授权", {"field": "valid_until"})
    grant = AccessGrant(purpose=purpose, valid_from=valid_from, valid_until=valid_until, granted_by=acting_user,
                        granted_at=timezone.now())
    if grantee_department_code and (grantee_role or grantee_region_code):
        raise ValidationFailed("被授权对象只能是一个部门，或某区域的一个角色，不能同时填写", {"field": "grantee"})
    if grantee_department_code:
        department = Department.objects.filter(code=grantee_department_code, is_active=True).first()
        if department is None:
            raise ValidationFailed(f"部门“{grantee_department_code}”不存在或已停用", {"field": "grantee"})
        grant.grantee_department = department
    elif grantee_role:
        if grantee_role in NEVER_WATCH:
            raise ValidationFailed("网格员不能被授权查看视频", {"field": "grantee_role"}, code="grid_worker_refused")
        if grantee_role in DEPARTMENT_ROLES or grantee_role in GLOBAL_ROLES or grantee_role not in REGION_ROLE_LEVELS:
            raise ValidationFailed("按角色授权只适用于区域角色（如镇综治中心、市网格化管理中心）",
                                   {"field": "grantee_role"})
        region = Region.objects.filter(code=grantee_region_code).first()
        if region is None:
            raise ValidationFailed("请选择被授权角色所在的区域", {"field": "grantee_region"})
        if region.level > REGION_ROLE_LEVELS[grantee_role]:
            raise ValidationFailed(f"{Role(grantee_role).label}不在“{region.name}”这一级", {"field": "grantee_region"})
        grant.grantee_role, grant.grantee_region = grantee_role, region
    else:
        raise ValidationFailed("请选择被授权的部门或角色", {"field": "grantee"})
    cameras: list[Camera] = []
    if scope_region_code and camera_codes:
        raise ValidationFailed("可查看范围只能是一个区域，或一组摄像机，不能同时填写", {"field": "scope"})
    if scope_region_code:
        grant.scope_region = Region.objects.filter(code=scope_region_code).first()
        if grant.scope_region is None:
            raise ValidationFailed(f"区域“{scope_region_code}”不存在", {"field": "scope_region"})
    elif camera_codes:
        wanted = sorted({c.strip() for c in camera_codes if c and c.strip()})
        cameras = list(Camera.objects.filter(code__in=wanted))
        missing = sorted(set(wanted) - {c.code for c in cameras})
        if missing:
            raise ValidationFailed(f"摄像机编码不存在：{'、'.join(missing[:10])}", {"field": "camera_codes"})
    else:
        raise ValidationFailed("请选择可查看的区域或摄像机", {"field": "scope"})
    _clean(grant, exclude=["cameras", "granted_by", "revoked_by"])
    grant.save()
    if cameras:
        grant.cameras.set(cameras)
    audit_record(actor=acting_user, action="video.grant.create", obj=grant,
                 region_code=grant.scope_region_id or "",
                 changes={"grantee": grant.grantee_label(), "grantee_department": grant.grantee_department_id,
                          "grantee_role": grant.grantee_role, "grantee_region": grant.grantee_region_id,
                          "scope_region": grant.scope_region_id, "cameras": [c.code for c in cameras],
                          "valid_from": valid_from, "valid_until": valid_until, "purpose": purpose},
                 message=f"授权 {grant.grantee_label()} 查看视频：{purpose[:80]}")
    return grant


@transaction.atomic
def grant_revoke(*, acting_user, grant_id: int, reason: str) -> AccessGrant:
    """Revokes a grant now, and ends every open view it allowed (the media server cuts them on its
    next check)."""
    require(acting_user, "video.grant")
    grant = AccessGrant.objects.select_for_update().filter(pk=grant_id).first()
    if grant is None:
        raise NotFound()
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed("请填写撤销原因", {"field": "reason"})
    if grant.revoked_at is not None:
        raise ValidationFailed("该授权已经撤销", code="already_revoked")
    now = timezone.now()
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = now, acting_user, reason[:200]
    grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    ended = ViewSession.objects.filter(grant=grant, ended_at__isnull=True).update(
        ended_at=now, end_reason=ViewEnd.GRANT_LAPSED)
    audit_record(actor=acting_user, action="video.grant.revoke", obj=grant, region_code=grant.scope_region_id or "",
                 changes={"revoked_at": now, "reason": reason, "views_ended": ended},
                 message=f"撤销授权 #{grant.pk}（{grant.grantee_label()}）：{reason[:80]}")
    return grant


# --- viewing -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ViewTicket:
    view: ViewSession
    token: str
    hls_url: str
    rtmp_url: str


def _case_for(user, case_number: str):
    from gridgov.cases.models import Case

    case = Case.objects.visible_to(user).filter(number=case_number.strip()).first()
    if case is None:
        raise ValidationFailed(f"案件编号“{case_number}”不存在或无权查看", {"field": "case_number"})
    return case


@transaction.atomic
def view_start(*, acting_user, camera_id: int, purpose: str = "", case_number: str = "") -> ViewTicket:
    """Issues a short-lived token bound to the user, the camera and an expiry, for a user whose grant
    holds now. A purpose or a case number is required. The raw token is returned once."""
    require(acting_user, "video.watch")
    camera = access_camera(acting_user, camera_id)
    grant = watch_grant(acting_user, camera)
    if grant is None:
        raise PermissionDenied("没有查看该摄像机的有效授权，请联系市网格化管理中心")
    purpose = (purpose or "").strip()
    case = _case_for(acting_user, case_number) if (case_number or "").strip() else None
    if case is not None and not purpose:
        purpose = f"办理案件 {case.number}"
    if len(purpose) < 4:
        raise ValidationFailed("请填写查看事由（至少 4 个字）或关联案件编号", {"field": "purpose"})
    raw = secrets.token_urlsafe(24)
    now = timezone.now()
    view = ViewSession.objects.create(
        user=acting_user, camera=camera, grant=grant, purpose=purpose[:200], case=case, token_hash=hash_token(raw),
        token_expires_at=now + timedelta(seconds=conf.token_ttl_seconds()), issued_at=now)
    audit_record(actor=acting_user, action="video.view.issue", obj=camera, object_type="video.viewsession",
                 object_id=str(view.pk),
                 changes={"camera": camera.code, "grant": grant.pk, "purpose": view.purpose,
                          "case": case.number if case else "", "expires_at": view.token_expires_at},
                 message=f"申请查看摄像机 {camera.code}：{view.purpose[:80]}")
    return ViewTicket(view=view, token=raw, hls_url=f"{conf.hls_base()}/t/{raw}/{camera.code}.m3u8",
                      rtmp_url=f"{conf.rtmp_play_base()}/{camera.code}?token={raw}")


@transaction.atomic
def view_stop(*, acting_user, view_id: int) -> ViewSession:
    """The viewer closes the player: the view ends now (the token is dead from here on)."""
    view = ViewSession.objects.select_for_update().filter(pk=view_id, user=acting_user).first()
    if view is None:
        raise NotFound()
    if view.ended_at is None:
        view.ended_at, view.end_reason = timezone.now(), ViewEnd.STOPPED
        view.save(update_fields=["ended_at", "end_reason"])
    return view


def view_close_idle(*, now: datetime | None = None, idle_seconds: int | None = None) -> int:
    """Ends HLS views nobody fetched for `idle_seconds` (end = last fetch), and unstarted or running
    views whose token expired. Run every minute (`gridgov video_close_idle`)."""
    now = now or timezone.now()
    idle = timedelta(seconds=conf.idle_seconds() if idle_seconds is None else idle_seconds)
    closed = 0
    with transaction.atomic():
        for view in ViewSession.objects.select_for_update().filter(
                ended_at__isnull=True, started_at__isnull=False, last_checked_at__lte=now - idle):
            view.ended_at = view.last_checked_at
            view.end_reason = ViewEnd.TOKEN_EXPIRED if view.token_expires_at <= view.last_checked_at else ViewEnd.IDLE
            view.save(update_fields=["ended_at", "end_reason"])
            closed += 1
        # Never played and the token lapsed: the view log keeps the request, with no start.
        closed += ViewSession.objects.filter(ended_at__isnull=True, started_at__isnull=True,
                                             token_expires_at__lte=now).update(ended_at=now,
                                                                               end_reason=ViewEnd.TOKEN_EXPIRED)
    return closed


# --- footage reviews -----------------------------------------------------------------------------------

@transaction.atomic
def review_record(*, acting_user, camera_id: int, case_number: str, footage_from: datetime, footage_to: datetime,
                  outcome: str, finding: str) -> FootageReview:
    """Records that the actor reviewed a camera's footage for a case, and puts a `video_review`
    event on the case's timeline."""
    from gridgov.cases.models import CaseEvent

    require(acting_user, "video.review")
    camera = access_camera(acting_user, camera_id)
    case = _case_for(acting_user, case_number or "")
    if outcome not in ReviewOutcome.values:
        raise ValidationFailed("请选择查看结果", {"field": "outcome"})
    if footage_to <= footage_from:
        raise ValidationFailed("录像结束时间必须晚于开始时间", {"field": "footage_to"})
    now = timezone.now()
    if footage_from > now:
        raise ValidationFailed("录像开始时间不能晚于现在", {"field": "footage_from"})
    if footage_to - footage_from > timedelta(days=7):
        raise ValidationFailed("一次录像查看的时间段最长 7 天", {"field": "footage_to"})
    finding = (finding or "").strip()
    if len(finding) < 2:
        raise ValidationFailed("请填写发现情况", {"field": "finding"})
    review = FootageReview(camera=camera, case=case, footage_from=footage_from, footage_to=footage_to,
                           outcome=outcome, finding=finding, reviewer=acting_user, created_at=now)
    _clean(review, exclude=["camera", "case", "reviewer"])
    review.save()
    roles = sorted(get_scope(acting_user).roles)
    CaseEvent.objects.create(
        case=case, actor=acting_user, actor_name=str(acting_user)[:100], actor_role=roles[0] if roles else "",
        action="video_review",
        note=f"{camera.name}（{camera.code}）{timezone.localtime(footage_from):%m-%d %H:%M}—"
             f"{timezone.localtime(footage_to):%m-%d %H:%M}：{ReviewOutcome(outcome).label}。{finding}"[:1000],
        data={"camera": camera.code, "review": review.pk, "outcome": outcome}, created_at=now)
    audit_record(actor=acting_user, action="video.review.record", obj=review, region_code=camera.grid_id,
                 changes={"camera": camera.code, "case": case.number, "footage_from": footage_from,
                          "footage_to": footage_to, "outcome": outcome},
                 message=f"录像查看 {camera.code} · 案件 {case.number}")
    return review
