"""Who may see a case and in which capacity: the one place the cases app turns the scope policy
into row filters and into the roles an actor holds *on a given case*.

- Region roles (grid worker, grid admin, village cadre, town and city operators) see the cases of
  their node's subtree. The system administrator reads the county (policy.get_scope).
- Department roles see a case only while it is dispatched to their department (lead or helper,
  an active CaseDispatch) *and* it lies inside that department's jurisdiction.
- The auditor sees no case.

Region prefixes become ranges (`code >= p AND code < p + ":"`, ':' sorting right after '9'), which
both SQLite and PostgreSQL answer from an index; SQLite's case-insensitive LIKE cannot use one.
Missing and forbidden cases look alike (404).
"""

from dataclasses import dataclass

from django.db.models import Q

from gridgov.accounts.choices import DEPARTMENT_ROLES, REGION_ROLE_LEVELS, Role
from gridgov.accounts.policy import active_posts, get_scope, require
from gridgov.core.errors import NotFound

REPORTER = "reporter"  # a pseudo-role: the user who reported the case
ALL = ""  # the region prefix of a user who sees the whole (single-county) platform


def prefix_q(field: str, prefix: str) -> Q:
    """Rows whose `field` (a region code) starts with `prefix`, as an index-friendly range."""
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + ":"})


@dataclass(frozen=True)
class CaseScope:
    region_prefixes: tuple[str, ...]  # from region roles (and the sysadmin's county)
    region_roles: tuple[tuple[str, str], ...]  # (role, region code) of each region assignment
    departments: dict  # department id → (role set, jurisdiction prefixes)

    @property
    def department_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.departments))


def case_scope(user) -> CaseScope:
    """The user's region and department capacities, computed once per user object (one request)."""
    cached = getattr(user, "_gridgov_case_scope", None)
    if cached is not None:
        return cached
    scope = get_scope(user)
    if not scope.roles:
        result = CaseScope((), (), {})
    else:
        from gridgov.accounts.models import Department

        region_roles: list[tuple[str, str]] = []
        dept_roles: dict[int, set[str]] = {}
        for role, region_id, department_id in active_posts(user):
            if role in REGION_ROLE_LEVELS and region_id:
                region_roles.append((role, region_id))
            elif role in DEPARTMENT_ROLES and department_id:
                dept_roles.setdefault(department_id, set()).add(role)
        prefixes = {code for _, code in region_roles}
        if Role.SYSADMIN in scope.roles:
            prefixes.update(p for p in scope.region_prefixes if len(p) == 6)
        if any(len(p) == 6 for p in prefixes):
            from gridgov.regions.models import Region

            counties = list(Region.objects.filter(level=1).values_list("code", flat=True)[:2])
            if len(counties) == 1 and counties[0] in prefixes:
                # The whole platform: no region condition at all, so the planner may use any index.
                prefixes = {ALL}
        departments: dict[int, tuple[frozenset[str], tuple[str, ...]]] = {}
        if dept_roles:
            jurisdiction: dict[int, set[str]] = {}
            for dept_id, region_id in Department.jurisdiction.through.objects.filter(
                department_id__in=dept_roles, department__is_active=True
            ).values_list("department_id", "region_id"):
                jurisdiction.setdefault(dept_id, set()).add(region_id)
            departments = {d: (frozenset(roles), _minimal(jurisdiction.get(d, set())))
                           for d, roles in dept_roles.items() if d in jurisdiction}
        result = CaseScope(_minimal(prefixes), tuple(sorted(region_roles)), departments)
    user._gridgov_case_scope = result
    return result


def _minimal(codes) -> tuple[str, ...]:
    kept: list[str] = []
    for code in sorted(codes, key=len):
        if not any(code.startswith(k) for k in kept):
            kept.append(code)
    return tuple(sorted(kept))


def case_scope_q(user, path: str = "") -> Q:
    """A Q on Case (or on a model reaching Case through `path`, e.g. "case__") for the visible cases."""
    scope = case_scope(user)
    q = Q(pk__in=[]) if not path else Q(**{f"{path}pk__in": []})
    for prefix in scope.region_prefixes:
        if prefix == ALL:
            return Q()
        q |= prefix_q(f"{path}region_id", prefix)
    if scope.departments:
        from .models import CaseDispatch

        for dept_id, (_roles, prefixes) in scope.departments.items():
            inside = Q()
            for prefix in prefixes:
                inside |= prefix_q(f"{path}region_id", prefix)
            dispatched = CaseDispatch.objects.filter(department_id=dept_id, is_active=True).values("case_id")
            q |= Q(**{f"{path}pk__in": dispatched}) & inside
    return q


def actor_roles(user, case) -> set[str]:
    """The roles `user` holds *on this case*: region roles whose node covers the case's grid,
    department roles of the active lead department (when its jurisdiction covers the case), and
    `reporter` for the user who reported it."""
    scope = case_scope(user)
    roles = {role for role, code in scope.region_roles if case.region_id.startswith(code)}
    if Role.SYSADMIN in get_scope(user).roles and scope.region_prefixes:
        roles.add(Role.SYSADMIN)
    lead = case.lead_department_id
    if lead and lead in scope.departments:
        dept_roles, prefixes = scope.departments[lead]
        if any(case.region_id.startswith(p) for p in prefixes):
            roles |= set(dept_roles)
    if case.reporter_id and case.reporter_id == getattr(user, "pk", None):
        roles.add(REPORTER)
    return roles


def access_case(user, case_id, *, for_update: bool = False):
    """The case if `user` may see it, else 404 (missing and forbidden alike)."""
    from .models import Case

    require(user, "cases.view")
    try:
        case_id = int(case_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    qs = Case.objects.visible_to(user).filter(pk=case_id)
    if for_update:
        qs = qs.select_for_update(of=("self",)).select_related("category", "category__parent")
    else:
        qs = qs.select_related("category", "region", "lead_department", "reporter")
    case = qs.first()
    if case is None:
        raise NotFound()
    return case
