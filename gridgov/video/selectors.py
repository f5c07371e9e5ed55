"""Reads of the video module. Every one starts from the user's scope (access.py)."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from gridgov.accounts.policy import can, require
from gridgov.core.errors import PermissionDenied

from .access import holding_grants, prefix_q
from .choices import CameraStatus, ReviewOutcome
from .models import AccessGrant, Camera, FootageReview, ViewSession


def camera_list(*, user, q: str = "", region: str = "", status: str = "", kind: str = "") -> QuerySet[Camera]:
    """Cameras the user may see, filtered by a code/name search, a region subtree, status and kind."""
    require(user, "video.view")
    qs = Camera.objects.visible_to(user).select_related("grid")
    if q:
        qs = qs.filter(Q(code__icontains=q.strip()) | Q(name__icontains=q.strip()))
    if region:
        qs = qs.filter(prefix_q("grid_id", region.strip()))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("code")


def camera_status_counts(*, user, region: str = "") -> dict[str, int]:
    qs = camera_list(user=user, region=region)
    counts = {s: 0 for s in CameraStatus.values}
    for row in qs.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    counts["total"] = sum(counts.values())
    return counts


def camera_geojson(*, user, region: str = "", status: str = "", limit: int = 5000) -> dict:
    """The camera layer for the region map: a FeatureCollection of the visible cameras (no sources)."""
    rows = camera_list(user=user, region=region, status=status).values_list(
        "id", "code", "name", "lon", "lat", "status", "kind", "grid_id", "last_seen_at")[:limit]
    watchable = _watchable_ids(user)
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"id": pk, "code": code, "name": name, "status": st, "kind": kind, "grid": grid,
                        "last_seen_at": seen.isoformat() if seen else None,
                        "watchable": watchable is True or pk in watchable}}
        for pk, code, name, lon, lat, st, kind, grid, seen in rows
    ]
    return {"type": "FeatureCollection", "features": features}


def _watchable_ids(user):
    """True when every visible camera is watchable (a county-wide grant), else a set of ids."""
    if not can(user, "video.watch"):
        return set()
    grants = list(holding_grants(user).values_list("id", "scope_region_id"))
    q = Q(pk__in=[])
    for grant_id, scope in grants:
        if scope and len(scope) == 6:
            return True
        q |= prefix_q("grid_id", scope) if scope else Q(grants=grant_id)
    return set(Camera.objects.filter(q).values_list("id", flat=True))


def maintenance_for(camera: Camera):
    return camera.maintenance.select_related("recorded_by").all()[:50]


def grant_list(*, user, state: str = "", q: str = "") -> QuerySet[AccessGrant]:
    """The grant register (the city centre's). state: active / expired / revoked / pending."""
    require(user, "video.grant")
    now = timezone.now()
    qs = AccessGrant.objects.select_related("grantee_department", "grantee_region", "scope_region", "granted_by",
                                            "revoked_by").annotate(camera_count=Count("cameras"))
    if state == "active":
        qs = qs.filter(revoked_at__isnull=True, valid_from__lte=now, valid_until__gt=now)
    elif state == "pending":
        qs = qs.filter(revoked_at__isnull=True, valid_from__gt=now)
    elif state == "expired":
        qs = qs.filter(revoked_at__isnull=True, valid_until__lte=now)
    elif state == "revoked":
        qs = qs.filter(revoked_at__isnull=False)
    if q:
        qs = qs.filter(Q(purpose__icontains=q) | Q(grantee_department__name__icontains=q)
                       | Q(grantee_region__name__icontains=q) | Q(scope_region__name__icontains=q))
    return qs.order_by("-granted_at", "-id")


def my_grants(*, user) -> QuerySet[AccessGrant]:
    return holding_grants(user).select_related("grantee_department", "grantee_region", "scope_region").order_by(
        "valid_until")


def view_log(*, user, camera: str = "", username: str = "", case_number: str = "",
             since: date | None = None, until: date | None = None, open_only: bool = False) -> QuerySet[ViewSession]:
    """The view log the user may read (access.view_log_scope_q), newest first."""
    if not (can(user, "video.log.view") or can(user, "video.watch")):
        raise PermissionDenied()
    qs = ViewSession.objects.visible_to(user).select_related("camera", "user", "case")
    if camera:
        qs = qs.filter(camera__code=camera.strip())
    if username:
        qs = qs.filter(Q(user__username=username.strip()) | Q(user__full_name=username.strip()))
    if case_number:
        qs = qs.filter(case__number=case_number.strip())
    tz = timezone.get_current_timezone()
    if since:
        qs = qs.filter(issued_at__gte=datetime.combine(since, time.min, tz))
    if until:
        qs = qs.filter(issued_at__lt=datetime.combine(until + timedelta(days=1), time.min, tz))
    if open_only:
        qs = qs.filter(ended_at__isnull=True, started_at__isnull=False)
    return qs.order_by("-issued_at", "-id")


def review_list(*, user, case_number: str = "", camera: str = "", outcome: str = "") -> QuerySet[FootageReview]:
    require(user, "video.view")
    qs = FootageReview.objects.visible_to(user).select_related("camera", "case", "reviewer")
    if case_number:
        qs = qs.filter(case__number=case_number.strip())
    if camera:
        qs = qs.filter(camera__code=camera.strip())
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs.order_by("-created_at", "-id")


def review_stats(*, user, since: date | None = None, until: date | None = None) -> list[dict]:
    """Per month: cases whose footage was reviewed, and cases where video helped (at least one
    review with outcome `helpful`). Counted as distinct cases."""
    qs = review_list(user=user)
    tz = timezone.get_current_timezone()
    if since:
        qs = qs.filter(created_at__gte=datetime.combine(since, time.min, tz))
    if until:
        qs = qs.filter(created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tz))
    rows = (qs.order_by().annotate(month=TruncMonth("created_at", tzinfo=tz)).values("month")
            .annotate(reviewed=Count("case", distinct=True),
                      helped=Count("case", filter=Q(outcome=ReviewOutcome.HELPFUL), distinct=True),
                      reviews=Count("id"))
            .order_by("month"))
    return [{"month": r["month"].strftime("%Y-%m"), "reviewed_cases": r["reviewed"], "helped_cases": r["helped"],
             "reviews": r["reviews"]} for r in rows]
