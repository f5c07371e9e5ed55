"""Who sees which tips (助警信息). Tips name informants, so sight is narrow:

- a grid worker or administrator: the tips they sent;
- a department (派出所 or 公安局): the tips routed to it, and a bureau those routed to its stations;
- a town or city operator: the tips about places in their region;
- everyone else (village cadres, other departments' work aside, the system administrator, the
  auditor): none.
"""

from django.db.models import Q

from gridgov.accounts.choices import Role
from gridgov.accounts.policy import can, get_scope

SENDER_ROLES = {Role.GRID_WORKER, Role.GRID_ADMIN}
OPERATOR_ROLES = {Role.TOWN_OPERATOR, Role.CITY_OPERATOR}
DEPARTMENT_ROLES = {Role.DEPT_STAFF, Role.DEPT_HEAD}


def operator_prefixes(user) -> tuple[str, ...]:
    """Region prefixes of the user's town/city operator posts."""
    cached = getattr(user, "_gridgov_tip_operator_prefixes", None)
    if cached is not None:
        return cached
    from gridgov.accounts.models import Assignment

    codes = sorted(set(Assignment.objects.filter(user=user, is_active=True, role__in=list(OPERATOR_ROLES))
                       .values_list("region_id", flat=True)), key=len)
    kept: list[str] = []
    for code in codes:
        if code and not any(code.startswith(k) for k in kept):
            kept.append(code)
    result = tuple(sorted(kept))
    user._gridgov_tip_operator_prefixes = result
    return result


def tip_scope_q(user, path: str = "") -> Q:
    if not can(user, "tips.view"):
        return Q(pk__in=[])
    scope = get_scope(user)
    q = Q(pk__in=[])
    if scope.roles & SENDER_ROLES:
        q |= Q(**{f"{path}sender": user})
    if scope.roles & OPERATOR_ROLES:
        for prefix in operator_prefixes(user):
            q |= Q(**{f"{path}region__code__startswith": prefix})
    if scope.roles & DEPARTMENT_ROLES and scope.department_ids:
        ids = list(scope.department_ids)
        q |= Q(**{f"{path}station_id__in": ids}) | Q(**{f"{path}station__parent_id__in": ids})
    return q


def handles(user, tip) -> bool:
    """The user works in the department the tip is routed to (who judges it and decides rewards)."""
    scope = get_scope(user)
    return bool(scope.roles & DEPARTMENT_ROLES) and tip.station_id in scope.department_ids


def sees_informant(user, tip) -> bool:
    """Informants are shown in full to the sender and to the department handling the tip; masked to the rest."""
    return tip.sender_id == getattr(user, "pk", None) or handles(user, tip) or _is_bureau_of(user, tip)


def _is_bureau_of(user, tip) -> bool:
    scope = get_scope(user)
    parent = getattr(tip.station, "parent_id", None)
    return bool(scope.roles & DEPARTMENT_ROLES) and parent is not None and parent in scope.department_ids
