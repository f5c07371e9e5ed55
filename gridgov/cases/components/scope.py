"""Who sees which components: region roles by where a component stands, departments by what they own.

The general scope (accounts.policy.get_scope) folds a department's jurisdiction into the region
prefixes, which would show 公安局 every manhole cover in the county; components are the one
registry where a department's sight is its ownership, so the region part comes from region-role
assignments only.
"""

from django.db.models import Q

from gridgov.accounts.choices import REGION_ROLE_LEVELS, Role
from gridgov.accounts.policy import can, get_scope


def region_role_prefixes(user) -> tuple[str, ...]:
    """Region-code prefixes of the user's region-role posts (the county for the system administrator)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ()
    cached = getattr(user, "_gridgov_region_role_prefixes", None)
    if cached is not None:
        return cached
    from gridgov.accounts.models import Assignment
    from gridgov.regions.models import Region

    codes = set(
        Assignment.objects.filter(user=user, is_active=True, role__in=list(REGION_ROLE_LEVELS),
                                  region__isnull=False).values_list("region_id", flat=True)
    )
    if Role.SYSADMIN in get_scope(user).roles:
        codes.update(Region.objects.filter(level=1).values_list("code", flat=True))
    kept: list[str] = []
    for code in sorted(codes, key=len):
        if not any(code.startswith(k) for k in kept):
            kept.append(code)
    result = tuple(sorted(kept))
    user._gridgov_region_role_prefixes = result
    return result


def prefix_q(prefixes, field: str) -> Q:
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(**{f"{field}__startswith": prefix})
    return q


def component_scope_q(user, path: str = "") -> Q:
    """Components (reached through `path`, e.g. "component__") the user may see."""
    if not can(user, "components.view"):
        return Q(pk__in=[])
    q = prefix_q(region_role_prefixes(user), f"{path}region__code")
    departments = get_scope(user).department_ids
    if departments:
        q |= Q(**{f"{path}owner_department_id__in": list(departments)})
    return q


def covers_region(user, code: str) -> bool:
    return any(code.startswith(p) for p in region_role_prefixes(user))


def owns(user, department_id: int | None) -> bool:
    return department_id is not None and department_id in get_scope(user).department_ids
