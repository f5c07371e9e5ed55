"""Writes: recording visits, patrols and their tracks. Each is one transaction with one audit row.

Who may write: the grid worker whose scope covers the resident's (or patrol's) grid — the
visits.record permission plus the scope. Missing and out-of-scope residents are a 404, a role that
may not record at all a 403; a refused write changes nothing.
"""

import math
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from gridgov.accounts.policy import get_scope, require
from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from gridgov.core.uploads import PHOTOS, real_type
from gridgov.people.models import CareTag
from gridgov.regions.gcj02 import gcj02_to_wgs84

from . import geo, rules
from .access import access_grid, access_resident_for_visit, max_tag_sensitivity
from .choices import Crs, LocationCheck, NeedKind, NeedStatus
from .models import Need, Patrol, PatrolTrackBatch, Visit

CLOCK_SKEW = timedelta(minutes=5)
MAX_VISIT_AGE = timedelta(days=7)
GRID_TOLERANCE_M = 200.0
# A fix this poor says little: beyond it the accuracy no longer widens the tolerance.
MAX_ACCURACY_CREDIT_M = 500.0
MAX_ACCURACY_M = 50_000.0
MAX_FINDINGS = 2000
MAX_NEEDS = 10
MAX_NEED_TEXT = 500
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_POINTS_PER_BATCH = 2000


class Conflict(ApplicationError):
    status = 409


# --- shared checks -----------------------------------------------------------------------------------

def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _check_time(value: datetime, *, what: str, now: datetime, max_age: timedelta | None = MAX_VISIT_AGE) -> datetime:
    value = _aware(value)
    if value > now + CLOCK_SKEW:
        raise ValidationFailed(f"{what}不能晚于当前时间", code="time_in_future", extra={"field": "visited_at"})
    if max_age is not None and value < now - max_age:
        raise ValidationFailed(f"{what}不能早于 {max_age.days} 天前，过期记录请联系网管员补录",
                               code="time_too_old", extra={"field": "visited_at"})
    return value


def _finite(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _position(lon: Any, lat: Any, accuracy_m: Any, crs: str) -> tuple[float | None, float | None, float | None]:
    """Validated WGS84 (lon, lat, accuracy) or (None, None, None) when no position was given."""
    if crs not in Crs.values:
        raise ValidationFailed("坐标系只能是 wgs84 或 gcj02", code="invalid_crs", extra={"field": "crs"})
    if (lon is None or lon == "") and (lat is None or lat == ""):
        return None, None, None
    x, y = _finite(lon), _finite(lat)
    if x is None or y is None or not (-180 <= x <= 180) or not (-90 <= y <= 90):
        raise ValidationFailed("经纬度不正确：经度应在 -180~180，纬度应在 -90~90，且须同时提供",
                               code="invalid_position", extra={"field": "lon"})
    accuracy = None
    if accuracy_m is not None and accuracy_m != "":
        accuracy = _finite(accuracy_m)
        if accuracy is None or not (0 <= accuracy <= MAX_ACCURACY_M):
            raise ValidationFailed("定位精度应为 0~50000 米", code="invalid_accuracy", extra={"field": "accuracy_m"})
    if crs == Crs.GCJ02:
        x, y = gcj02_to_wgs84(x, y)
    return round(x, 7), round(y, 7), accuracy


def _sniff_photo(photo: UploadedFile) -> str:
    """The photo's real type from its first bytes (the declared content type and name are not trusted)."""
    if photo.size is not None and photo.size > MAX_PHOTO_BYTES:
        raise ValidationFailed("照片不能超过 10 MB", code="photo_too_large", extra={"field": "photo"})
    if not photo.size:
        raise ValidationFailed("照片文件为空", code="invalid_photo", extra={"field": "photo"})
    kind = real_type(photo)
    if kind in PHOTOS:
        return kind
    raise ValidationFailed("照片格式不支持，只接受 JPEG、PNG 或 WebP 图片", code="invalid_photo",
                           extra={"field": "photo"})


def _needs(needs: Iterable[dict] | None) -> list[tuple[str, str]]:
    out = []
    for raw in needs or []:
        if not isinstance(raw, dict):
            raise ValidationFailed("诉求格式不正确", code="invalid_need", extra={"field": "needs"})
        kind = str(raw.get("kind") or "").strip()
        text = str(raw.get("text") or "").strip()
        if kind not in NeedKind.values:
            raise ValidationFailed("诉求类型只能是 case（事件）、service（服务）或 other（其他）", code="invalid_need",
                                   extra={"field": "needs"})
        if not text:
            continue
        if len(text) > MAX_NEED_TEXT:
            raise ValidationFailed(f"每条诉求不能超过 {MAX_NEED_TEXT} 字", code="invalid_need",
                                   extra={"field": "needs"})
        out.append((kind, text))
    if len(out) > MAX_NEEDS:
        raise ValidationFailed(f"一次走访最多记录 {MAX_NEEDS} 条诉求", code="invalid_need", extra={"field": "needs"})
    return out


def _checklist(resident_id: int, day: date, user, answers) -> list[dict]:
    """Answers checked against the resident's open tags on `day`: one entry per checklist item, in the
    tags' order, each remembering its tag and sensitivity. Unknown items are refused."""
    if answers is None:
        answers = {}
    if isinstance(answers, list):
        if all(isinstance(a, str) for a in answers):
            answers = dict.fromkeys(answers, True)
        elif all(isinstance(a, dict) for a in answers):
            answers = {str(a.get("item")): bool(a.get("checked")) for a in answers}
        else:
            raise ValidationFailed("检查项格式不正确", code="invalid_checklist", extra={"field": "checklist"})
    if not isinstance(answers, dict):
        raise ValidationFailed("检查项格式不正确", code="invalid_checklist", extra={"field": "checklist"})
    tags = (CareTag.objects.filter(rules.tag_open_q(day), resident_id=resident_id,
                                   sensitivity__lte=max_tag_sensitivity(user))
            .select_related("tag_type").order_by("tag_type__sort_order", "tag_type__code"))
    items: list[dict] = []
    known: set[str] = set()
    for tag in tags:
        for entry in tag.tag_type.checklist or []:
            if entry not in known:
                known.add(entry)
                items.append({"item": entry, "checked": bool(answers.get(entry)), "tag": tag.tag_type.code,
                              "sensitivity": tag.sensitivity})
    unknown = [str(k) for k in answers if k not in known]
    if unknown:
        raise ValidationFailed(f"检查项“{unknown[0][:30]}”不属于该人员的关爱类别", code="invalid_checklist",
                               extra={"field": "checklist", "unknown": unknown[:10]})
    return items


def _location_check(region, lon: float | None, lat: float | None, accuracy: float | None):
    if lon is None:
        return LocationCheck.NO_GPS, None
    geom = region.geometry
    if geom is None:
        return LocationCheck.OK, None  # a grid without a boundary cannot be checked (docs/visits.md)
    distance = round(geo.distance_to_polygon_m(geom, lon, lat), 1)
    tolerance = GRID_TOLERANCE_M + min(accuracy or 0.0, MAX_ACCURACY_CREDIT_M)
    return (LocationCheck.OK if distance <= tolerance else LocationCheck.OUTSIDE_GRID), distance


def _client_uuid(value) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed("client_id 应为 UUID", code="invalid_client_id", extra={"field": "client_id"}) from None


# --- visits ----------------------------------------------------------------------------------------------

@transaction.atomic
def visit_record(*, acting_user, resident, visited_at: datetime, lon: float | None = None, lat: float | None = None,
                 accuracy_m: float | None = None, crs: str = Crs.WGS84, findings: str = "",
                 needs: Iterable[dict] | None = None, checklist: Any = None, photo: UploadedFile | None = None,
                 client_id: uuid.UUID | str | None = None) -> Visit:
    """Records one visit by the grid worker responsible for the resident.

    Guarantees: the resident is active and inside the actor's scope (else 404) and the actor may
    record visits (else 403); the time is neither in the future (5 minutes of clock skew allowed) nor
    more than 7 days old; the position, if any, is stored in WGS84 and checked against the grid with
    a tolerance of 200 m plus the fix's accuracy (at most 500 m of it) — a visit outside is recorded
    and flagged, not refused; the photo is a real JPEG/PNG/WebP of at most 10 MB. A repeated
    `client_id` from the same worker returns the visit already recorded (`visit.replayed` is True)
    and writes nothing.
    """
    require(acting_user, "visits.record")
    client_uuid = _client_uuid(client_id)
    if client_uuid is not None:
        existing = Visit.objects.filter(client_id=client_uuid).first()
        if existing is not None:
            return _replay(existing, acting_user)
    resident_obj = access_resident_for_visit(acting_user, getattr(resident, "pk", resident))
    now = timezone.now()
    if not isinstance(visited_at, datetime):
        raise ValidationFailed("请填写走访时间", code="invalid_time", extra={"field": "visited_at"})
    visited_at = _check_time(visited_at, what="走访时间", now=now)
    x, y, accuracy = _position(lon, lat, accuracy_m, crs)
    findings = (findings or "").strip()
    if len(findings) > MAX_FINDINGS:
        raise ValidationFailed(f"走访情况不能超过 {MAX_FINDINGS} 字", code="findings_too_long",
                               extra={"field": "findings"})
    need_rows = _needs(needs)
    visit_date = timezone.localdate(visited_at)
    items = _checklist(resident_obj.pk, visit_date, acting_user, checklist)
    region = resident_obj.region
    check, distance = _location_check(region, x, y, accuracy)

    visit = Visit(region=region, resident=resident_obj, worker=acting_user, visited_at=visited_at,
                  visit_date=visit_date, lon=x, lat=y, accuracy_m=accuracy, crs=crs, location_check=check,
                  distance_to_grid_m=distance, findings=findings, checklist=items, client_id=client_uuid)
    if photo is not None:
        ext = _sniff_photo(photo)
        photo.name = f"{uuid.uuid4().hex}.{ext}"
        visit.photo = photo
    visit.full_clean(exclude=["photo", "client_id"])
    try:
        with transaction.atomic():
            visit.save()
    except IntegrityError:
        # Two pushes of the same client_id raced: the other one won; answer as for a replay.
        if client_uuid is not None:
            existing = Visit.objects.filter(client_id=client_uuid).first()
            if existing is not None:
                return _replay(existing, acting_user)
        raise
    Need.objects.bulk_create([Need(visit=visit, region=region, kind=k, text=t) for k, t in need_rows])
    if not get_scope(acting_user).covers(visit.region_id):
        raise NotFound()
    audit_record(actor=acting_user, action="visit.record", obj=visit, changes={
        "resident": resident_obj.pk, "visited_at": visited_at, "location_check": check,
        "distance_to_grid_m": distance, "needs": len(need_rows), "photo": bool(visit.photo),
    })
    visit.replayed = False
    return visit


def _replay(existing: Visit, acting_user) -> Visit:
    if existing.worker_id != acting_user.pk:
        raise Conflict("client_id_conflict", "该 client_id 已被其他走访记录使用", extra={"field": "client_id"})
    existing.replayed = True
    return existing


# --- patrols ---------------------------------------------------------------------------------------------

def _own_patrol(acting_user, patrol) -> Patrol:
    """The actor's own patrol, locked for update: 404 if invisible, 403 if someone else's."""
    require(acting_user, "visits.record")
    patrol_id = getattr(patrol, "pk", patrol)
    locked = Patrol.objects.visible_to(acting_user).select_for_update().filter(pk=patrol_id).first()
    if locked is None:
        raise NotFound()
    if locked.worker_id != acting_user.pk:
        raise PermissionDenied("只能操作自己的巡查")
    return locked


@transaction.atomic
def patrol_start(*, acting_user, grid: str | None = None, started_at: datetime | None = None,
                 client_id: uuid.UUID | str | None = None) -> Patrol:
    """Starts a patrol of one of the actor's grids (their own grid when not named).

    One open patrol per worker: starting a second is a 409 naming the open one. A repeated
    `client_id` returns the patrol already started.
    """
    require(acting_user, "visits.record")
    client_uuid = _client_uuid(client_id)
    if client_uuid is not None:
        existing = Patrol.objects.filter(client_id=client_uuid).first()
        if existing is not None:
            if existing.worker_id != acting_user.pk:
                raise Conflict("client_id_conflict", "该 client_id 已被其他巡查使用", extra={"field": "client_id"})
            existing.replayed = True
            return existing
    region = access_grid(acting_user, grid, permission="visits.record")
    now = timezone.now()
    started_at = _check_time(started_at or now, what="开始时间", now=now, max_age=timedelta(days=1))
    open_patrol = Patrol.objects.filter(worker=acting_user, ended_at__isnull=True).first()
    if open_patrol is not None:
        raise Conflict("patrol_already_open", "您有一次巡查尚未结束，请先结束它",
                       extra={"patrol_id": open_patrol.pk})
    patrol = Patrol(region=region, worker=acting_user, started_at=started_at, client_id=client_uuid)
    patrol.full_clean(exclude=["client_id", "worker"])
    try:
        with transaction.atomic():
            patrol.save()
    except IntegrityError:
        raise Conflict("patrol_already_open", "您有一次巡查尚未结束，请先结束它") from None
    audit_record(actor=acting_user, action="patrol.start", obj=patrol, changes={"started_at": started_at})
    patrol.replayed = False
    return patrol


def _parse_points(points: Iterable[dict], crs: str, patrol: Patrol, now: datetime) -> list[list]:
    rows = list(points or [])
    if not rows:
        raise ValidationFailed("没有轨迹点", code="invalid_points", extra={"field": "points"})
    if len(rows) > MAX_POINTS_PER_BATCH:
        raise ValidationFailed(f"每批最多 {MAX_POINTS_PER_BATCH} 个轨迹点", code="invalid_points",
                               extra={"field": "points"})
    parsed = []
    for i, p in enumerate(rows):
        t = p.get("t") if isinstance(p, dict) else None
        if isinstance(t, int | float) and math.isfinite(t):
            t = datetime.fromtimestamp(t, tz=timezone.get_current_timezone())
        if not isinstance(t, datetime):
            raise ValidationFailed(f"第 {i + 1} 个轨迹点缺少时间", code="invalid_points", extra={"index": i})
        t = _aware(t)
        if t < patrol.started_at - CLOCK_SKEW or t > now + CLOCK_SKEW:
            raise ValidationFailed(f"第 {i + 1} 个轨迹点的时间不在巡查时段内", code="invalid_points",
                                   extra={"index": i})
        try:
            x, y, accuracy = _position(p.get("lon"), p.get("lat"), p.get("accuracy_m"), crs)
        except ValidationFailed as exc:
            raise ValidationFailed(f"第 {i + 1} 个轨迹点：{exc.message}", code="invalid_points",
                                   extra={"index": i}) from None
        if x is None:
            raise ValidationFailed(f"第 {i + 1} 个轨迹点缺少经纬度", code="invalid_points", extra={"index": i})
        parsed.append([round(t.timestamp(), 3), x, y, accuracy])
    parsed.sort(key=lambda r: r[0])
    return parsed


def _refresh_track(patrol: Patrol) -> None:
    from .selectors import patrol_track

    track = patrol_track(patrol)
    patrol.point_count = len(track)
    patrol.distance_m = round(geo.track_length_m(track), 1)


@transaction.atomic
def patrol_points_add(*, acting_user, patrol, points: Iterable[dict], crs: str = Crs.WGS84,
                      batch_id: uuid.UUID | str | None = None) -> Patrol:
    """Appends a batch of track points ({t, lon, lat, accuracy_m}, t as ISO time or unix seconds) to the
    actor's open patrol and updates its distance. A batch re-sent with the same `batch_id` is ignored."""
    locked = _own_patrol(acting_user, patrol)
    if not locked.is_open:
        raise Conflict("patrol_ended", "巡查已结束，不能再上传轨迹")
    batch_uuid = _client_uuid(batch_id)
    if batch_uuid is not None and locked.batches.filter(batch_id=batch_uuid).exists():
        locked.replayed = True
        return locked
    parsed = _parse_points(points, crs, locked, timezone.now())
    tz = timezone.get_current_timezone()
    PatrolTrackBatch.objects.create(
        patrol=locked, batch_id=batch_uuid, points=parsed, n=len(parsed),
        first_t=datetime.fromtimestamp(parsed[0][0], tz=tz), last_t=datetime.fromtimestamp(parsed[-1][0], tz=tz),
    )
    _refresh_track(locked)
    locked.save(update_fields=["point_count", "distance_m"])
    audit_record(actor=acting_user, action="patrol.points", obj=locked,
                 changes={"points": len(parsed), "distance_m": locked.distance_m})
    locked.replayed = False
    return locked


@transaction.atomic
def patrol_end(*, acting_user, patrol, ended_at: datetime | None = None, findings: str = "") -> Patrol:
    """Ends the actor's open patrol: the distance is computed from the whole track (glitches left out)."""
    locked = _own_patrol(acting_user, patrol)
    if not locked.is_open:
        raise Conflict("patrol_ended", "巡查已结束")
    now = timezone.now()
    ended_at = _check_time(ended_at or now, what="结束时间", now=now, max_age=None)
    if ended_at < locked.started_at:
        raise ValidationFailed("结束时间不能早于开始时间", code="invalid_time", extra={"field": "ended_at"})
    findings = (findings or "").strip()
    if len(findings) > MAX_FINDINGS:
        raise ValidationFailed(f"巡查发现不能超过 {MAX_FINDINGS} 字", code="findings_too_long",
                               extra={"field": "findings"})
    locked.ended_at = ended_at
    locked.findings = findings
    _refresh_track(locked)
    locked.full_clean(exclude=["client_id", "worker"])
    locked.save(update_fields=["ended_at", "findings", "point_count", "distance_m"])
    audit_record(actor=acting_user, action="patrol.end", obj=locked, changes={
        "ended_at": ended_at, "distance_m": locked.distance_m, "points": locked.point_count})
    return locked


# --- needs -----------------------------------------------------------------------------------------------

@transaction.atomic
def need_forward(*, acting_user, need, forwarded_ref: str) -> Need:
    """Marks a recorded need as turned into a case or a service application, under that one's number.

    For the cases and egov modules to call when they take a need over: allowed to whoever may
    record visits where the need is; recorded → forwarded only (a second forward is a 409).
    """
    require(acting_user, "visits.record")
    need_id = getattr(need, "pk", need)
    locked = Need.objects.visible_to(acting_user).select_for_update().filter(pk=need_id).first()
    if locked is None:
        raise NotFound()
    if locked.status != NeedStatus.RECORDED:
        raise Conflict("need_already_forwarded", f"该诉求已转办（{locked.forwarded_ref}）")
    ref = (forwarded_ref or "").strip()
    if not ref or len(ref) > 64:
        raise ValidationFailed("转办编号不能为空且不超过 64 个字符", code="invalid_reference",
                               extra={"field": "forwarded_ref"})
    locked.status = NeedStatus.FORWARDED
    locked.forwarded_ref = ref
    locked.full_clean()
    locked.save(update_fields=["status", "forwarded_ref"])
    audit_record(actor=acting_user, action="visit.need.forward", obj=locked,
                 changes={"status": [NeedStatus.RECORDED, NeedStatus.FORWARDED], "forwarded_ref": ref})
    return locked
