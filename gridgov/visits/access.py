"""Access to visits, patrols and the grids they belong to: one function per entity.

Missing and forbidden look alike (404), so nothing leaks about what exists outside a scope.
A user without the module's permission at all gets 403: that discloses nothing about any row.
"""

from gridgov.accounts.choices import Role
from gridgov.accounts.policy import can, get_scope, require
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.people.choices import ResidentState, Sensitivity
from gridgov.people.models import Resident
from gridgov.regions.choices import RegionLevel
from gridgov.regions.models import Region

from .models import Patrol, Visit, scope_q


def max_tag_sensitivity(user) -> int:
    """The most sensitive care tag the user may see (people.tags.* permissions)."""
    if can(user, "people.tags.restricted"):
        return Sensitivity.RESTRICTED
    if can(user, "people.tags.sensitive"):
        return Sensitivity.SENSITIVE
    return Sensitivity.NORMAL


def access_visit(user, visit_id: int) -> Visit:
    require(user, "visits.view")
    visit = (Visit.objects.visible_to(user).select_related("resident", "worker", "region")
             .prefetch_related("needs").filter(pk=visit_id).first())
    if visit is None:
        raise NotFound()
    return visit


def access_patrol(user, patrol_id: int) -> Patrol:
    require(user, "visits.view")
    patrol = Patrol.objects.visible_to(user).select_related("worker", "region").filter(pk=patrol_id).first()
    if patrol is None:
        raise NotFound()
    return patrol


def access_resident_for_visit(user, resident_id: int) -> Resident:
    """A resident the user may record a visit to: active and inside the user's scope."""
    require(user, "visits.record")
    resident = (Resident.objects.filter(scope_q(user)).select_related("region")
                .filter(pk=resident_id, state=ResidentState.ACTIVE).first())
    if resident is None:
        raise NotFound("走访对象不存在或不在您负责的网格内")
    return resident


def access_region(user, code: str | None, *, permission: str = "visits.view") -> Region:
    """A region node (any level) inside the user's scope."""
    require(user, permission)
    if not code or not code.isdigit() or len(code) not in (6, 9, 12, 15):
        raise NotFound()
    if not get_scope(user).covers(code):
        raise NotFound()
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound()
    return region


def worker_grid_codes(user) -> list[str]:
    """The grids the user works as grid worker (usually one)."""
    from gridgov.accounts.models import Assignment

    return sorted(Assignment.objects.filter(user=user, role=Role.GRID_WORKER, is_active=True)
                  .values_list("region_id", flat=True))


def access_grid(user, code: str | None, *, permission: str = "visits.view") -> Region:
    """The grid asked for (which must be in scope), or the grid worker's own grid when none is asked for."""
    require(user, permission)
    if not code:
        own = worker_grid_codes(user)
        if len(own) != 1:
            raise ValidationFailed("请指定网格（grid 参数）", code="grid_required")
        code = own[0]
    region = access_region(user, code, permission=permission)
    if region.level != RegionLevel.GRID:
        raise ValidationFailed("请选择一个网格（15 位代码）", code="not_a_grid")
    return region
