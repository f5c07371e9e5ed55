"""Who sees which cameras, which grants hold for a user, and the one access_* function per entity.

Two different questions: *seeing* a camera in the registry (region scope, or a grant) and
*watching* it (only through a grant that holds now, and never for a grid worker)."""

from django.db.models import Q
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.accounts.policy import can, get_scope, has_role
from gridgov.core.errors import NotFound
from gridgov.regions.codes import ancestor_codes

from .models import AccessGrant, Camera, FootageReview, ViewSession

NONE = Q(pk__in=[])
# Roles that can never hold a viewing token, whatever a grant says.
NEVER_WATCH = frozenset({Role.GRID_WORKER})


def prefix_q(field: str, prefix: str) -> Q:
    """Rows whose `field` (a region code) starts with `prefix`, as an index-friendly range."""
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + ":"})


def holding_grants_q(user, at=None) -> Q:
    """A Q on AccessGrant: unrevoked grants, valid at `at`, whose grantee includes `user`."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NONE
    at = at or timezone.now()
    who = NONE
    rows = Assignment.objects.filter(user=user, is_active=True).values_list("role", "region_id", "department_id")
    for role, region_id, department_id in rows:
        if role in NEVER_WATCH:
            continue
        if department_id:
            who |= Q(grantee_department_id=department_id, grantee_department__is_active=True)
        if region_id:
            # A role granted at a node covers every holder of that role at the node or below it.
            who |= Q(grantee_role=role, grantee_region_id__in=ancestor_codes(region_id))
    if who == NONE:
        return NONE
    return who & Q(revoked_at__isnull=True, valid_from__lte=at, valid_until__gt=at)


def holding_grants(user, at=None):
    return AccessGrant.objects.filter(holding_grants_q(user, at))


def _granted_cameras_q(grants, path: str = "") -> Q:
    q = NONE
    list_ids = []
    for grant_id, scope_region_id in grants.values_list("id", "scope_region_id"):
        if scope_region_id:
            q |= prefix_q(f"{path}grid_id", scope_region_id)
        else:
            list_ids.append(grant_id)
    if list_ids:
        through = AccessGrant.cameras.through.objects.filter(accessgrant_id__in=list_ids).values("camera_id")
        q |= Q(**{f"{path}pk__in": through})
    return q


def camera_scope_q(user, path: str = "") -> Q:
    """Cameras the user may see in the registry: inside the region scope, or under a holding grant."""
    if not can(user, "video.view"):
        return NONE
    q = NONE
    for prefix in get_scope(user).region_prefixes:
        q |= prefix_q(f"{path}grid_id", prefix)
    return q | _granted_cameras_q(holding_grants(user), path)


def watch_grant(user, camera: Camera, at=None) -> AccessGrant | None:
    """The grant (the one ending last) that lets `user` watch `camera` now, or None."""
    if not can(user, "video.watch") or has_role(user, *NEVER_WATCH):
        return None
    grants = holding_grants(user, at).filter(
        Q(scope_region_id__in=ancestor_codes(camera.grid_id)) | Q(scope_region__isnull=True, cameras=camera)
    )
    return grants.order_by("-valid_until", "id").first()


def view_log_scope_q(user) -> Q:
    """The view log: the auditor and the city centre everything, centres with video.log.view the
    views of cameras in their region, everyone their own views."""
    if has_role(user, Role.AUDITOR, Role.SYSADMIN, Role.CITY_OPERATOR):
        return Q()
    q = Q(user_id=user.pk) if getattr(user, "is_authenticated", False) else NONE
    if can(user, "video.log.view"):
        for prefix in get_scope(user).region_prefixes:
            q |= prefix_q("camera__grid_id", prefix)
    return q


def review_scope_q(user) -> Q:
    """Footage reviews: those of cases the user may see."""
    if not can(user, "video.view"):
        return NONE
    from gridgov.cases.access import case_scope_q

    return case_scope_q(user, "case__")


def access_camera(user, pk) -> Camera:
    camera = Camera.objects.visible_to(user).select_related("grid").filter(pk=pk).first()
    if camera is None:
        raise NotFound()
    return camera


def access_camera_by_code(user, code: str) -> Camera:
    camera = Camera.objects.visible_to(user).select_related("grid").filter(code=code).first()
    if camera is None:
        raise NotFound()
    return camera


def access_grant(user, pk) -> AccessGrant:
    """Grants are the city centre's register: only video.grant may read them one by one."""
    if not can(user, "video.grant"):
        raise NotFound()
    grant = AccessGrant.objects.select_related("grantee_department", "grantee_region", "scope_region").filter(
        pk=pk).first()
    if grant is None:
        raise NotFound()
    return grant


def access_view(user, pk) -> ViewSession:
    view = ViewSession.objects.visible_to(user).select_related("camera", "user", "case").filter(pk=pk).first()
    if view is None:
        raise NotFound()
    return view


def access_review(user, pk) -> FootageReview:
    review = FootageReview.objects.visible_to(user).select_related("camera", "case", "reviewer").filter(pk=pk).first()
    if review is None:
        raise NotFound()
    return review
