"""Reads of the cases app. Every query starts from Case.objects.visible_to(user) (access.py).

The case desk (list + counts) is built for 500,000+ cases: filters map onto the composite indexes
on (region_code, state, created_at), (state, region_code, created_at), (region_code, created_at),
(lead_department, state, created_at) and the deadline columns; the region filter is a range, not a
LIKE (see access.prefix_q).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import CharField, Count, Prefetch, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.accounts.policy import require
from gridgov.core.errors import NotFound, ValidationFailed

from . import desk, routing, workflow
from .access import ALL, REPORTER, access_case, actor_roles, case_scope, prefix_q
from .choices import CaseState, EvaluatorKind, ExtensionStatus
from .counts import by_state as counts_by_state
from .models import Case, CaseAttachment, CaseCategory, CaseDispatch, CaseEvent

DUE_CHOICES = ("due_soon", "overdue")
STATES = tuple(CaseState.values)  # (the enum rebuilds its list on every access)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def category_ids(code: str) -> list[int]:
    """The category and every category below it (codes are hierarchical: E01 ⊃ E0102)."""
    return list(CaseCategory.objects.filter(code__startswith=code).values_list("pk", flat=True))


def _department_id(value) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    found = Department.objects.filter(code=str(value)).values_list("pk", flat=True).first()
    return found if found is not None else -1


def filtered(*, user, state=None, category: str | None = None, urgency: str | None = None, due: str | None = None,
             escalated: bool | None = None, region: str | None = None, department=None, source: str | None = None,
             since: date | None = None, until: date | None = None, q: str | None = None,
             duplicate: bool | None = None, now: datetime | None = None):
    """The visible cases matching the desk's filters (unordered, no state filter applied if None)."""
    require(user, "cases.view")
    now = now or timezone.now()
    qs = Case.objects.visible_to(user)
    if state:
        states = [state] if isinstance(state, str) else list(state)
        qs = qs.filter(state__in=states) if len(states) > 1 else qs.filter(state=states[0])
    if category:
        qs = qs.filter(category_id__in=category_ids(category))
    if urgency:
        qs = qs.filter(urgency=urgency)
    # Only a state with a running stage has a deadline (final and suspended cases have none), so the
    # deadline columns alone select open cases, from the (region_code, stage_deadline) index.
    if due == "overdue":
        qs = qs.filter(stage_deadline__lte=now)
    elif due == "due_soon":
        qs = qs.filter(stage_deadline__gt=now, stage_due_soon_at__lte=now)
    elif due:
        raise ValidationFailed("due 只能是 due_soon 或 overdue", code="invalid_filter", extra={"field": "due"})
    if escalated is not None:
        qs = qs.filter(escalated_to_level__isnull=not escalated)
    if region:
        qs = qs.filter(prefix_q("region_id", region))
    dept = _department_id(department)
    if dept is not None:
        qs = qs.filter(pk__in=CaseDispatch.objects.filter(department_id=dept, is_active=True).values("case_id"))
    if source:
        qs = qs.filter(source=source)
    if since:
        qs = qs.filter(created_at__gte=_day_start(since))
    if until:
        qs = qs.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    if duplicate is not None:
        qs = qs.filter(duplicate_of__isnull=not duplicate)
    if q:
        q = q.strip()
        if q.isdigit() and len(q) >= 13:
            qs = qs.filter(number=q)
        else:
            qs = qs.filter(Q(description__contains=q) | Q(address__contains=q))
    return qs


def case_list(*, user, **filters):
    """The case desk's list, newest first, with what each row shows joined in (no N+1)."""
    return (filtered(user=user, **filters).select_related("category", "region", "lead_department")
            .order_by("-created_at", "-id"))


def case_page(*, user, offset: int = 0, limit: int = 20, counts: dict[str, int] | None = None,
              **filters) -> tuple[int, list[Case]]:
    """(total, the page's cases) for the desk. The page is found on ids first — a covering index scan
    of the filter and sort columns — and only its rows are then read with their joins: sorting
    30,000 index entries is cheap, fetching 30,000 rows to sort them is not.

    `counts` (case_counts under the same filters) gives the total without counting again: the desk's
    tabs are the per-state counts under every filter but the state, so the total is their sum over
    the states asked for."""
    qs = filtered(user=user, **filters)
    total = _total(user, qs, counts, filters)
    ids = list(qs.order_by("-created_at", "-id").values_list("id", flat=True)[offset:offset + limit])
    rows = Case.objects.filter(pk__in=ids).select_related("category", "region", "lead_department").in_bulk()
    return total, [rows[i] for i in ids if i in rows]


def _total(user, qs, counts: dict[str, int] | None, filters: dict) -> int:
    if counts is None:
        kept = _counted_prefixes(user, filters)
        counts = counts_by_state(kept) if kept is not False else None
    if counts is None:
        return qs.count()
    state = filters.get("state")
    states = None if not state else ([state] if isinstance(state, str) else list(state))
    return sum(n for s, n in counts.items() if states is None or s in states)


# What a row of the desk's list shows (api.CaseOut), read as plain values: no model instances.
ROW_FIELDS = ("id", "number", "state", "stage", "category__code", "category__name", "urgency", "source", "region_id",
              "region__name", "description", "address", "lon", "lat", "lead_department__code",
              "lead_department__name", "created_at", "stage_deadline", "stage_due_soon_at", "escalated_to_level",
              "duplicate_of_id", "self_resolved")


def case_page_rows(*, user, offset: int = 0, limit: int = 20, counts: dict[str, int] | None = None,
                   **filters) -> tuple[int, list[tuple]]:
    """case_page for the API: the same total and page, in one query, as tuples in ROW_FIELDS order.

    The page's ids come from the same covering-index scan as case_page, here as a subquery, and the
    outer query joins only those rows; values instead of model instances, since building 20 Cases with
    three related objects each cost more than the query."""
    qs = filtered(user=user, **filters)
    total = _total(user, qs, counts, filters)
    order = ("-created_at", "-id")
    page = qs.order_by(*order).values("id")[offset:offset + limit]
    rows = list(Case.objects.filter(pk__in=page).order_by(*order).values_list(*ROW_FIELDS))
    return total, rows


def case_desk(*, user, offset: int = 0, limit: int = 20, **filters) -> tuple[dict[str, int], int, list[tuple]]:
    """(per-state counts, total, the page's rows in ROW_FIELDS order): the API's desk list.

    One statement (desk.py) when the counts may come from the rollup and no filter but state and
    region applies; otherwise case_counts + case_page_rows through the ORM. Both give the same answer."""
    kept = _counted_prefixes(user, filters)
    if kept is not False:
        require(user, "cases.view")
        state = filters.get("state")
        states = None if not state else ([state] if isinstance(state, str) else [str(s) for s in state])
        try:
            kept_counts, rows = desk.page(kept, states, offset, limit)
        except ValueError:  # a value the statement will not write in: the ORM binds it instead
            kept = False
    if kept is not False:
        if kept_counts is None:  # an empty page carries no counts
            kept_counts = counts_by_state(kept)
        counts = dict.fromkeys(STATES, 0) | kept_counts
        total = sum(n for s, n in counts.items() if states is None or s in states)
        return counts, total, rows
    counts = case_counts(user=user, **filters)
    total, rows = case_page_rows(user=user, offset=offset, limit=limit, counts=counts, **filters)
    return counts, total, rows


def case_counts(*, user, **filters) -> dict[str, int]:
    """Cases per state under the same filters (the desk's tabs), every state present."""
    filters.pop("state", None)
    kept = _counted_prefixes(user, filters)
    if kept is not False:
        require(user, "cases.view")
        return dict.fromkeys(CaseState.values, 0) | counts_by_state(kept)
    qs = filtered(user=user, **filters).order_by()
    if filters.get("due"):
        # Grouped by an expression, so SQLite reads the due cases from the (region, deadline) index
        # instead of skip-scanning the state index and fetching every row of the town for its deadline.
        qs = qs.annotate(s=Concat("state", Value(""), output_field=CharField())).values("s")
        rows = [{"state": r["s"], "n": r["n"]} for r in qs.annotate(n=Count("*"))]
    else:
        rows = qs.values("state").annotate(n=Count("*"))
    counts = dict.fromkeys(CaseState.values, 0)
    for row in rows:
        counts[row["state"]] = row["n"]
    return counts


def _counted_prefixes(user, filters: dict):
    """The region prefixes (None: everything) whose per-town counts (models.CaseCount) answer this
    desk's counts, or False when they cannot: a filter other than state and a town-or-wider region,
    a department capacity, or a scope below the town (a village's desk counts its few rows directly)."""
    if any(v not in (None, "", [], ()) for k, v in filters.items() if k not in ("state", "region", "now")):
        return False
    scope = case_scope(user)
    if scope.departments and ALL not in scope.region_prefixes:
        return False
    mine = scope.region_prefixes
    if not mine or any(p != ALL and len(p) > 9 for p in mine):
        return False
    region = filters.get("region") or None
    if region is None:
        return None if ALL in mine else mine
    if len(region) > 9:
        return False
    if ALL in mine or any(region.startswith(p) for p in mine):
        return (region,)
    return tuple(p for p in mine if p.startswith(region))


@dataclass
class CaseDetail:
    case: Case
    roles: set[str]
    actions: list[str]
    events: list
    dispatches: list
    attachments: list
    supervisions: list
    evaluations: list
    extension_requests: list
    suspensions: list
    duplicates: list
    show_contact: bool


def case_detail(*, user, case_id) -> CaseDetail:
    """One case with its timeline and everything attached, and the actions the user may take now."""
    case = access_case(user, case_id)
    roles = actor_roles(user, case)
    events = list(CaseEvent.objects.filter(case=case).select_related("actor")
                  .prefetch_related(Prefetch("attachments", queryset=CaseAttachment.objects.order_by("id")))
                  .order_by("created_at", "id"))
    dispatches = list(case.dispatches.select_related("department").order_by("-is_active", "role", "id"))
    evaluations = list(case.evaluations.order_by("id"))
    extension_requests = list(case.extension_requests.select_related("department").order_by("id"))
    actions = _offered(case, roles, evaluations, extension_requests)
    show_contact = bool(roles & {Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.DEPT_STAFF, Role.DEPT_HEAD, REPORTER})
    return CaseDetail(
        case=case, roles=roles, actions=actions, events=events,
        dispatches=dispatches, attachments=list(case.attachments.order_by("id")),
        supervisions=list(case.supervisions.select_related("supervisor")),
        evaluations=evaluations, extension_requests=extension_requests,
        suspensions=list(case.suspensions.order_by("id")),
        duplicates=list(Case.objects.visible_to(user).filter(duplicate_of=case).only("id", "number", "state")),
        show_contact=show_contact,
    )


def _offered(case, roles: set[str], evaluations, extension_requests) -> list[str]:
    """The actions open to the user now: the workflow table's list, less what has nothing to act on —
    评价 once every evaluator kind the user could give is given, 延期审批 without a pending request
    (and no new request while one is pending), 自行处置 for a class that does not allow it. The API
    and the case page offer the same list."""
    actions = workflow.allowed_actions(case.state, roles)
    if not case.category.self_resolvable:
        actions = [a for a in actions if a != "self_resolve"]
    kinds = ({EvaluatorKind.REPORTER} if REPORTER in roles else set()) | (
        {EvaluatorKind.CENTRE} if roles & {Role.TOWN_OPERATOR, Role.CITY_OPERATOR} else set())
    if kinds <= {v.evaluator_kind for v in evaluations}:
        actions = [a for a in actions if a != "evaluate"]
    pending = any(x.status == ExtensionStatus.PENDING for x in extension_requests)
    actions = [a for a in actions if a != ("extend_request" if pending else "extend_decide")]
    return actions


def case_routing(*, user, case_id) -> routing.Suggestion:
    """The dispatch suggestion for a case, for those who may dispatch it."""
    case = access_case(user, case_id)
    roles = actor_roles(user, case)
    if not roles & workflow.DESK:
        from gridgov.core.errors import PermissionDenied

        raise PermissionDenied()
    suggestion = routing.suggest(category=case.category, grid=case.region, component=case.component)
    suggestion.candidates = departments_covering(case.region_id)
    return suggestion


def departments_covering(region_code: str) -> list[Department]:
    """Active departments whose jurisdiction covers the grid (the dispatcher's choice list)."""
    prefixes = [region_code[:n] for n in (6, 9, 12, 15)]
    return list(Department.objects.filter(is_active=True, jurisdiction__code__in=prefixes).distinct()
                .order_by("code"))


def place_routing(*, user, category: str, lon: float, lat: float, crs: str = "wgs84") -> routing.Suggestion:
    """Where a point lies and who would handle a case of `category` there (for the report form)."""
    require(user, "cases.view")
    from .services.report import resolve_category

    cat = resolve_category(category)
    x, y = routing.to_wgs84(lon, lat, crs)
    grid = routing.locate(x, y)
    if grid is None:
        raise NotFound("该位置不在本市任何网格内")
    return routing.suggest(category=cat, grid=grid)


def attachment_file(*, user, case_id, attachment_id):
    """(attachment, open file) for a user who may see the case; 404 otherwise."""
    case = access_case(user, case_id)
    attachment = CaseAttachment.objects.filter(case=case, pk=attachment_id).first()
    if attachment is None:
        raise NotFound()
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise NotFound("附件文件不存在") from None
    return attachment, handle


def category_list(*, user, kind: str | None = None, include_inactive: bool = False):
    require(user, "cases.view")
    qs = CaseCategory.objects.select_related("parent").order_by("kind", "level", "sort_order", "code")
    if kind:
        qs = qs.filter(kind=kind)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs


def suspension_register(*, user, open_only: bool = True):
    """挂账 register: suspensions of visible cases, open ones by default."""
    from .models import Suspension

    require(user, "cases.view")
    from .access import case_scope_q

    qs = Suspension.objects.filter(case_scope_q(user, "case__")).select_related("case", "suspended_by")
    if open_only:
        qs = qs.filter(resumed_at__isnull=True)
    return qs.order_by("-suspended_at", "-id")
