"""The one scope policy: what a user may see and do. Views and API endpoints never filter by hand.

A user's *scope* is a set of region-code prefixes. Region roles see their node and everything
below; department roles see their department's jurisdiction (what is dispatched to them is
further narrowed by each module); the city operator and the system administrator see the whole
county; the auditor sees no region data at all, only logs.
"""

from dataclasses import dataclass

from django.db.models import Q

from gridgov.core.errors import NotFound, PermissionDenied

from .choices import Role


@dataclass(frozen=True)
class Scope:
    roles: frozenset[str]
    region_prefixes: tuple[str, ...]
    department_ids: tuple[int, ...]
    root_codes: tuple[str, ...]  # the nodes a user's assignments are attached to, for the home page

    def covers(self, code: str) -> bool:
        return any(code.startswith(p) for p in self.region_prefixes)


EMPTY_SCOPE = Scope(frozenset(), (), (), ())

# What each role may do beyond reading its scope. Modules add their permissions here.
PERMISSIONS: dict[str, frozenset[str]] = {
    "regions.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR,
         Role.DEPT_STAFF, Role.DEPT_HEAD, Role.SYSADMIN}
    ),
    "regions.import": frozenset({Role.SYSADMIN}),
    # people (一标三实). Tags of sensitivity 2 need people.tags.sensitive, of 3 people.tags.restricted:
    # village cadres verify points and do not need health or assistance status; the most sensitive
    # groups (mental disorder, special populations) are for the visiting grid worker and the centres.
    "people.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR,
         Role.DEPT_STAFF, Role.DEPT_HEAD, Role.SYSADMIN}
    ),
    "people.edit": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.SYSADMIN}
    ),
    "people.tags.sensitive": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD,
         Role.SYSADMIN}
    ),
    "people.tags.restricted": frozenset({Role.GRID_WORKER, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.SYSADMIN}),
    "people.reveal": frozenset({Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    "people.export": frozenset({Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.SYSADMIN}),
    # Unmasked IDs/phones and sensitive tags in a file that leaves the platform: the city centre only.
    "people.export.unmasked": frozenset({Role.CITY_OPERATOR}),
    "people.export.sensitive": frozenset({Role.CITY_OPERATOR}),
    "people.import": frozenset({Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.SYSADMIN}),
    # Full names in the registry: the region roles who work with the people. Departments reach a
    # person through the case or application dispatched to them, so registry lists show them 李*艳.
    "people.names": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.SYSADMIN}
    ),
    # A PIPL access request (个人信息查阅复制): the office that receives it hands the person their data.
    "people.subject_access": frozenset({Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    "visits.record": frozenset({Role.GRID_WORKER}),
    "visits.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.SYSADMIN}
    ),
    # 部件 (components): region roles see their area, departments the components they own.
    "components.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR,
         Role.DEPT_STAFF, Role.DEPT_HEAD, Role.SYSADMIN}
    ),
    "components.edit": frozenset(
        {Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD, Role.SYSADMIN}
    ),
    "components.import": frozenset({Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_HEAD, Role.SYSADMIN}),
    # 助警信息 / 助警奖励. Senders see their own tips, stations what is routed to them, operators their
    # region; the system administrator and the auditor see no tips (informants are at stake).
    "tips.send": frozenset({Role.GRID_WORKER, Role.GRID_ADMIN}),
    "tips.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD}
    ),
    "tips.decide": frozenset({Role.DEPT_STAFF, Role.DEPT_HEAD}),
    "tips.reward": frozenset({Role.DEPT_HEAD}),
    "tips.pay": frozenset({Role.DEPT_HEAD, Role.CITY_OPERATOR}),
    "tips.fund.view": frozenset({Role.DEPT_STAFF, Role.DEPT_HEAD, Role.CITY_OPERATOR}),
    "tips.fund.manage": frozenset({Role.DEPT_HEAD, Role.CITY_OPERATOR}),
    # cases (事件/案件). Reading is further narrowed per row by cases/access.py (departments see only
    # what is dispatched to them); who may perform each transition is the table in cases/workflow.py.
    "cases.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR,
         Role.DEPT_STAFF, Role.DEPT_HEAD, Role.SYSADMIN}
    ),
    "cases.report": frozenset({Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    "cases.dispatch": frozenset({Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    "cases.handle": frozenset({Role.DEPT_STAFF, Role.DEPT_HEAD}),
    "cases.categories.manage": frozenset({Role.CITY_OPERATOR, Role.SYSADMIN}),
    # egov (政务网上办). Reading applications is narrowed per row by egov/access.py: region roles see
    # their area's applicants, departments the applications of their items inside their jurisdiction.
    # Who may perform each transition is the table in egov/services/workflow.py.
    "egov.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD}
    ),
    "egov.apply": frozenset({Role.GRID_WORKER, Role.GRID_ADMIN}),
    "egov.accept": frozenset({Role.GRID_ADMIN}),
    "egov.town_review": frozenset({Role.TOWN_OPERATOR}),
    "egov.verify": frozenset({Role.DEPT_STAFF, Role.DEPT_HEAD}),
    "egov.decide": frozenset({Role.DEPT_HEAD}),
    "egov.pay": frozenset({Role.DEPT_STAFF, Role.DEPT_HEAD}),
    "egov.export": frozenset(
        {Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD}
    ),
    "egov.catalogue.manage": frozenset({Role.CITY_OPERATOR, Role.SYSADMIN}),
    # 政策找人: who looks eligible reads decrypted care-tag attributes, so the visiting roles only.
    "egov.match.view": frozenset({Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    # points (积分制). Grid workers enter claims, village cadres verify them (a large award needs the
    # committee: distinct cadres of the claim's village); shops are stocked by the village terminal
    # and the town; corrections by the cadres and the town centre.
    "points.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.SYSADMIN}
    ),
    "points.subject.open": frozenset({Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR}),
    "points.claim": frozenset({Role.GRID_WORKER, Role.GRID_ADMIN}),
    "points.verify": frozenset({Role.VILLAGE_CADRE}),
    "points.correct": frozenset({Role.VILLAGE_CADRE, Role.TOWN_OPERATOR}),
    "points.redeem": frozenset({Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE}),
    "points.shop.manage": frozenset({Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    "points.certificate": frozenset({Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR}),
    "points.export": frozenset({Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    "points.scheme.manage": frozenset({Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    # Only the auditor reads the log: the system and security administrators are among those it watches.
    "audit.view": frozenset({Role.AUDITOR}),
    # --- video, notices, intake, dashboard: first entries; each module's owner refines its own ---
    # video (雪亮工程). video.view reads the registry and map (never a stream source); watching needs
    # video.watch *and* an access grant that holds now (video/access.py); grid workers never watch.
    # Grants are the city centre's; the view log is an access log, so the auditor reads it too.
    "video.view": frozenset(
        {Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD, Role.SYSADMIN}
    ),
    "video.watch": frozenset({Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD}),
    "video.manage": frozenset({Role.CITY_OPERATOR, Role.SYSADMIN}),
    "video.maintain": frozenset({Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.SYSADMIN}),
    "video.grant": frozenset({Role.CITY_OPERATOR, Role.SYSADMIN}),
    "video.log.view": frozenset({Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.AUDITOR, Role.SYSADMIN}),
    "video.review": frozenset({Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD}),
    "video.export": frozenset({Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.SYSADMIN}),
    "notices.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR,
         Role.DEPT_STAFF, Role.DEPT_HEAD}
    ),
    # 上情下达: authors at every level send inside their own scope; rates are for those who supervise.
    "notices.send": frozenset(
        {Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_HEAD}
    ),
    "notices.stats": frozenset(
        {Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_HEAD}
    ),
    # 下情上报: grid workers write; the village and the town read their desk and handle what comes up.
    "reports.send": frozenset({Role.GRID_WORKER}),
    "reports.view": frozenset(
        {Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR}
    ),
    "reports.handle": frozenset({Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    # intake (渠道接入): the 12345 desk of the city and the towns takes calls; the same desks read and
    # export what came in by SMS, WeChat and phone in their area (docs/intake.md).
    "intake.hotline": frozenset({Role.CITY_OPERATOR, Role.TOWN_OPERATOR}),
    "intake.view": frozenset({Role.CITY_OPERATOR, Role.TOWN_OPERATOR}),
    "intake.export": frozenset({Role.CITY_OPERATOR, Role.TOWN_OPERATOR}),
    "dashboard.view": frozenset(
        {Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE, Role.TOWN_OPERATOR, Role.CITY_OPERATOR,
         Role.DEPT_STAFF, Role.DEPT_HEAD}
    ),
    # Files of dashboard tables leave the platform: the offices that report upwards, not the field roles.
    "dashboard.export": frozenset(
        {Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD}
    ),
    "accounts.manage": frozenset({Role.SYSADMIN}),
    # Granting or removing the three administrator roles, resetting two-factor enrolment.
    "accounts.security": frozenset({Role.SECURITY_ADMIN}),
    # privacy: 法定保存 holds that exempt a person's data from the retention schedule (the offices
    # that answer PIPL requests and litigation; within their scope).
    "privacy.hold": frozenset({Role.TOWN_OPERATOR, Role.CITY_OPERATOR}),
    # mobile: the grid worker's phone app pulls their own grid and pushes what they recorded offline
    "mobile.sync": frozenset({Role.GRID_WORKER}),
}


def _minimal_prefixes(codes: set[str]) -> tuple[str, ...]:
    """Drop codes already covered by a shorter one, so the OR of prefixes stays small."""
    kept: list[str] = []
    for code in sorted(codes, key=len):
        if not any(code.startswith(k) for k in kept):
            kept.append(code)
    return tuple(sorted(kept))


def active_posts(user) -> list[tuple[str, str | None, int | None]]:
    """(role, region code, department id) of the user's active assignments, read once per user object
    (one request): the scope policy and the cases module's capacities both start from them."""
    cached = getattr(user, "_gridgov_posts", None)
    if cached is None:
        from .models import Assignment

        cached = list(Assignment.objects.filter(user=user, is_active=True).values_list(
            "role", "region_id", "department_id"))
        user._gridgov_posts = cached
    return cached


def get_scope(user) -> Scope:
    """The user's scope, computed once per user object (one request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return EMPTY_SCOPE
    cached = getattr(user, "_gridgov_scope", None)
    if cached is not None:
        return cached
    from gridgov.regions.models import Region

    from .models import Department

    roles: set[str] = set()
    codes: set[str] = set()
    roots: set[str] = set()
    departments: set[int] = set()
    posts = active_posts(user)
    for role, region_id, department_id in posts:
        roles.add(role)
        if region_id:
            codes.add(region_id)
            roots.add(region_id)
        if department_id:
            departments.add(department_id)
    if Role.SYSADMIN in roles:
        county = Region.objects.filter(level=1).values_list("code", flat=True)
        codes.update(county)
        roots.update(county)
    if departments:
        jurisdiction = set(
            Department.jurisdiction.through.objects.filter(
                department_id__in=departments, department__is_active=True
            ).values_list("region_id", flat=True)
        )
        codes.update(jurisdiction)
        roots.update(jurisdiction)
    scope = Scope(frozenset(roles), _minimal_prefixes(codes), tuple(sorted(departments)), _minimal_prefixes(roots))
    user._gridgov_scope = scope
    return scope


def forget_scope(user) -> None:
    for attr in ("_gridgov_scope", "_gridgov_posts"):
        if hasattr(user, attr):
            delattr(user, attr)


def region_scope_q(user, field: str = "region_code") -> Q:
    """A Q matching rows whose `field` (a region code) lies inside the user's scope."""
    prefixes = get_scope(user).region_prefixes
    if not prefixes:
        return Q(pk__in=[])
    q = Q()
    for prefix in prefixes:
        q |= Q(**{f"{field}__startswith": prefix})
    return q


def has_role(user, *roles: str) -> bool:
    return bool(get_scope(user).roles.intersection(roles))


def can(user, permission: str) -> bool:
    allowed = PERMISSIONS.get(permission)
    if allowed is None:
        raise KeyError(f"unknown permission {permission!r}")
    return bool(get_scope(user).roles & allowed)


def require(user, permission: str) -> None:
    if not can(user, permission):
        raise PermissionDenied()


def require_region(user, code: str) -> None:
    """404, not 403, for a region outside scope: existence is not disclosed."""
    if not get_scope(user).covers(code):
        raise NotFound()
