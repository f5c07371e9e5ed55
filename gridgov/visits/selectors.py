"""Reads of visits and patrols. Every function takes the user and starts from their scope.

The must-visit list, coverage, the overdue list and the worker's month all apply the one rule of
rules.py; each runs a fixed number of queries, however many residents a grid or a town holds.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Substr, TruncDate
from django.utils import timezone

from gridgov.accounts.policy import get_scope, require
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.people.choices import ResidentState
from gridgov.people.models import CareTag, CareTagType, Resident
from gridgov.regions.choices import RegionLevel
from gridgov.regions.models import Region

from . import geo, rules
from .access import access_grid, access_region, access_visit, max_tag_sensitivity, worker_grid_codes
from .choices import PHOTO_TYPES
from .models import Patrol, Visit, scope_q

# Child code length per level: county (6) → towns (9) → villages (12) → grids (15).
CHILD_CODE_LENGTH = {RegionLevel.COUNTY: 9, RegionLevel.TOWN: 12, RegionLevel.VILLAGE: 15, RegionLevel.GRID: 15}


# --- visits and patrols ----------------------------------------------------------------------------

def visit_list(*, user, resident: int | None = None, worker: int | None = None, since: date | None = None,
               until: date | None = None, region: str | None = None, location_check: str | None = None):
    """Visits in the user's scope, newest first, filtered; workers, residents and needs loaded."""
    require(user, "visits.view")
    qs = Visit.objects.visible_to(user).select_related("resident", "worker", "region").prefetch_related("needs")
    if resident:
        qs = qs.filter(resident_id=resident)
    if worker:
        qs = qs.filter(worker_id=worker)
    if since:
        qs = qs.filter(visit_date__gte=since)
    if until:
        qs = qs.filter(visit_date__lte=until)
    if region:
        qs = qs.filter(region__code__startswith=region)
    if location_check:
        qs = qs.filter(location_check=location_check)
    return qs.order_by("-visited_at", "-id")


def visit_list_for_resident(*, user, resident):
    """The visit history of one resident as the user may see it (for the resident's page).

    Empty for a user without visits.view or a resident outside the user's scope.
    """
    from gridgov.accounts.policy import can

    resident_id = getattr(resident, "pk", resident)
    if not can(user, "visits.view"):
        return Visit.objects.none()
    return (Visit.objects.visible_to(user).filter(resident_id=resident_id)
            .select_related("worker", "region").prefetch_related("needs").order_by("-visited_at", "-id"))


def visible_checklist(visit: Visit, user) -> list[dict]:
    """The checklist answers of a visit without the items of tags the user may not see."""
    limit = max_tag_sensitivity(user)
    return [
        {"item": i.get("item", ""), "checked": bool(i.get("checked")), "tag": i.get("tag", "")}
        for i in (visit.checklist or []) if int(i.get("sensitivity") or 1) <= limit
    ]


def visit_photo(*, user, visit_id: int):
    """(open file, content type) of a visit's photo, for a user who may see the visit."""
    visit = access_visit(user, visit_id)
    if not visit.photo:
        raise NotFound("该走访没有照片")
    ext = visit.photo.name.rsplit(".", 1)[-1].lower()
    try:
        handle = visit.photo.open("rb")
    except FileNotFoundError:
        raise NotFound("照片文件不存在") from None
    return handle, PHOTO_TYPES.get(ext, "application/octet-stream")


def patrol_list(*, user, worker: int | None = None, region: str | None = None, since: date | None = None,
                until: date | None = None, open: bool | None = None):
    require(user, "visits.view")
    qs = Patrol.objects.visible_to(user).select_related("worker", "region")
    if worker:
        qs = qs.filter(worker_id=worker)
    if region:
        qs = qs.filter(region__code__startswith=region)
    if since:
        qs = qs.filter(started_at__gte=_day_start(since))
    if until:
        qs = qs.filter(started_at__lt=_day_start(until + timedelta(days=1)))
    if open is not None:
        qs = qs.filter(ended_at__isnull=open)
    return qs.order_by("-started_at", "-id")


def patrol_track(patrol: Patrol) -> list[list]:
    """The patrol's points [[unix seconds, lon, lat, accuracy], …] in time order, duplicates dropped."""
    seen: dict[float, list] = {}
    for batch in patrol.batches.all().only("points"):
        for p in batch.points:
            seen.setdefault(float(p[0]), p)
    return [seen[t] for t in sorted(seen)]


def _day_start(day: date):
    return timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))


# --- the must-visit list -----------------------------------------------------------------------------

@dataclass
class MustVisitItem:
    resident_id: int
    name: str
    gender: str
    birth_date: date | None
    address: str
    lon: float | None
    lat: float | None
    tags: list[dict]
    frequency_days: int
    last_visit_date: date | None
    due_date: date
    days_overdue: int
    never_visited: bool
    done: bool
    visit_id: int | None
    checklist: list[dict]
    walk_rank: int = 0

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0 and not self.done


@dataclass
class MustVisitList:
    grid: Region
    day: date
    items: list[MustVisitItem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def done_count(self) -> int:
        return sum(1 for i in self.items if i.done)

    @property
    def overdue_count(self) -> int:
        return sum(1 for i in self.items if i.overdue)


def must_visit_list(*, user, grid: str | None = None, day: date | None = None) -> MustVisitList:
    """Who the grid's worker must visit on `day` (default today), in the order to visit them.

    Every active resident of the grid with an open care tag the user may see and a visit due on
    `day` (rules.py). Pending items first: overdue ones by days overdue, most first; then the rest
    along a nearest-neighbour walk from the grid's centre over the residents' address coordinates
    (a resident without coordinates stands at the centre). Items already visited that day come
    last, marked done. Each item says what to check: the union of its tags' checklists.
    Four queries after the grid lookup, whatever the grid's size.
    """
    region = access_grid(user, grid)
    day = day or timezone.localdate()
    limit = max_tag_sensitivity(user)
    tag_rows = list(
        CareTag.objects.filter(rules.tag_open_q(day), resident__region_id=region.code,
                               resident__state=ResidentState.ACTIVE, sensitivity__lte=limit)
        .values("resident_id", "tag_type_id", "visit_every_days", "since", "created_at", "sensitivity",
                "resident__name", "resident__gender", "resident__birth_date", "resident__address__road",
                "resident__address__house_number", "resident__address__building", "resident__address__unit",
                "resident__address__room", "resident__address__lon", "resident__address__lat")
        .order_by("resident_id", "tag_type_id")
    )
    if not tag_rows:
        return MustVisitList(grid=region, day=day)
    types = {t.pk: t for t in CareTagType.objects.only("code", "name", "checklist", "sort_order")}
    visits = {
        row["resident_id"]: row
        for row in Visit.objects.filter(resident__region_id=region.code, visit_date__lte=day)
        .values("resident_id")
        .annotate(last_before=Max("visit_date", filter=Q(visit_date__lt=day)),
                  today_id=Max("id", filter=Q(visit_date=day)))
        .order_by()
    }

    by_resident: dict[int, list[dict]] = {}
    for row in tag_rows:
        by_resident.setdefault(row["resident_id"], []).append(row)

    items: list[MustVisitItem] = []
    for resident_id, rows in by_resident.items():
        first = rows[0]
        frequency = min(r["visit_every_days"] for r in rows)
        first_start = min(rules.tag_start(r["since"], r["created_at"]) for r in rows)
        seen = visits.get(resident_id) or {}
        due = rules.evaluate(day=day, frequency=frequency, last_before=seen.get("last_before"),
                             first_start=first_start)
        if not due.due:
            continue
        tag_types = sorted((types[r["tag_type_id"]] for r in rows), key=lambda t: (t.sort_order, t.code))
        checklist: list[dict] = []
        seen_items: set[str] = set()
        for t in tag_types:
            for entry in t.checklist or []:
                if entry not in seen_items:
                    seen_items.add(entry)
                    checklist.append({"item": entry, "tag": t.code})
        address = "".join(p for p in (
            first["resident__address__road"], first["resident__address__house_number"]
            and f"{first['resident__address__house_number']}号", first["resident__address__building"]
            and f"{first['resident__address__building']}栋", first["resident__address__unit"]
            and f"{first['resident__address__unit']}单元", first["resident__address__room"]
            and f"{first['resident__address__room']}室") if p)
        items.append(MustVisitItem(
            resident_id=resident_id, name=first["resident__name"], gender=first["resident__gender"],
            birth_date=first["resident__birth_date"], address=address,
            lon=first["resident__address__lon"], lat=first["resident__address__lat"],
            tags=[{"code": t.code, "name": t.name} for t in tag_types], frequency_days=frequency,
            last_visit_date=seen.get("last_before"), due_date=due.due_date, days_overdue=due.days_overdue,
            never_visited=due.never_visited, done=seen.get("today_id") is not None,
            visit_id=seen.get("today_id"), checklist=checklist,
        ))

    centre = (region.centroid_lon, region.centroid_lat)
    if centre[0] is not None:
        lons = [i.lon if i.lon is not None and i.lat is not None else centre[0] for i in items]
        lats = [i.lat if i.lon is not None and i.lat is not None else centre[1] for i in items]
        for rank, index in enumerate(geo.nearest_neighbour_order(lons, lats, centre)):
            items[index].walk_rank = rank
    else:
        for rank, item in enumerate(items):
            item.walk_rank = rank
    items.sort(key=lambda i: (i.done, -i.days_overdue if not i.done else 0, i.walk_rank))
    return MustVisitList(grid=region, day=day, items=items)


# --- the rule in SQL: coverage, overdue list, the worker's month --------------------------------------

def _open_tags(day: date, limit: int):
    return CareTag.objects.filter(rules.tag_open_q(day), resident=OuterRef("pk"), sensitivity__lte=limit)


def _annotated_residents(*, user, prefix: str, day: date, limit: int):
    """Active residents under `prefix` in the user's scope with at least one open visible tag, annotated
    with `frequency`, `last_before`, `first_start` and `visited` (a visit on `day`)."""
    tags = _open_tags(day, limit).order_by().values("resident")
    return (
        Resident.objects.filter(scope_q(user), region__code__startswith=prefix, state=ResidentState.ACTIVE)
        .annotate(
            frequency=Subquery(tags.annotate(m=Min("visit_every_days")).values("m")[:1]),
            first_start=Subquery(tags.annotate(
                m=Min(Coalesce("since", TruncDate("created_at")))).values("m")[:1]),
            last_before=Subquery(Visit.objects.filter(resident=OuterRef("pk"), visit_date__lt=day)
                                 .order_by("-visit_date").values("visit_date")[:1]),
            visited=Exists(Visit.objects.filter(resident=OuterRef("pk"), visit_date=day)),
        )
        .filter(frequency__isnull=False)
    )


def _frequencies(prefix: str, day: date, limit: int) -> list[int]:
    return sorted(set(
        CareTag.objects.filter(rules.tag_open_q(day), resident__region__code__startswith=prefix, sensitivity__lte=limit)
        .values_list("visit_every_days", flat=True).distinct()
    ))


def _due_q(day: date, frequencies: list[int], *, overdue: bool = False) -> Q:
    """Due on `day` (or overdue: due before `day`), as a Q over the annotations — no date arithmetic in
    SQL: one constant cut-off per frequency in use, so SQLite and PostgreSQL run the same statement."""
    slack = 1 if overdue else 0
    q = Q(last_before__isnull=True, first_start__lte=day - timedelta(days=slack))
    for f in frequencies:
        q |= Q(frequency=f, last_before__lte=day - timedelta(days=f + slack))
    return q


@dataclass
class CoverageRow:
    code: str
    name: str
    level: int
    required: int = 0
    visited: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.visited / self.required, 4) if self.required else None

    @property
    def missing(self) -> int:
        return self.required - self.visited


@dataclass
class Coverage:
    region: Region
    day: date
    total: CoverageRow
    children: list[CoverageRow]


def _coverage_counts(*, user, prefix: str, day: date, length: int, limit: int) -> dict[str, tuple[int, int]]:
    """{code prefix of `length`: (required, visited)} for `day`: one GROUP BY substr(region_code)."""
    frequencies = _frequencies(prefix, day, limit)
    if not frequencies:
        return {}
    due = _due_q(day, frequencies)
    rows = (
        _annotated_residents(user=user, prefix=prefix, day=day, limit=limit)
        .annotate(unit=Substr("region_id", 1, length))
        .values("unit")
        .annotate(required=Count("pk", filter=due), visited_n=Count("pk", filter=due & Q(visited=True)))
        .order_by("unit")
    )
    return {r["unit"]: (r["required"], r["visited_n"]) for r in rows}


def coverage(*, user, region: str, day: date | None = None) -> Coverage:
    """Visited vs required on `day` for a region and each of its children (towns, villages or grids).

    required = residents due that day (rules.py); visited = of those, the ones visited that day.
    Counts only tags the user may see, so a role without sight of sensitive groups gets numbers
    that do not betray them either.
    """
    node = access_region(user, region)
    day = day or timezone.localdate()
    _check_day(day)
    limit = max_tag_sensitivity(user)
    length = CHILD_CODE_LENGTH[node.level]
    counts = _coverage_counts(user=user, prefix=node.code, day=day, length=length, limit=limit)
    if node.level == RegionLevel.GRID:
        children: list[CoverageRow] = []
    else:
        children = [CoverageRow(code=c, name=n, level=lv, required=counts.get(c, (0, 0))[0],
                                visited=counts.get(c, (0, 0))[1])
                    for c, n, lv in Region.objects.filter(parent_id=node.code).order_by("code")
                    .values_list("code", "name", "level")]
    total = CoverageRow(code=node.code, name=node.name, level=node.level,
                        required=sum(r for r, _ in counts.values()), visited=sum(v for _, v in counts.values()))
    return Coverage(region=node, day=day, total=total, children=children)


@dataclass
class OverdueItem:
    resident_id: int
    name: str
    grid_code: str
    grid_name: str
    frequency_days: int
    last_visit_date: date | None
    due_date: date
    days_overdue: int


def overdue_list(*, user, region: str, day: date | None = None) -> list[OverdueItem]:
    """Residents under `region` whose visit was due before `day` and who have not been visited since
    (nor on `day`), most days overdue first."""
    node = access_region(user, region)
    day = day or timezone.localdate()
    _check_day(day)
    limit = max_tag_sensitivity(user)
    frequencies = _frequencies(node.code, day, limit)
    if not frequencies:
        return []
    rows = (
        _annotated_residents(user=user, prefix=node.code, day=day, limit=limit)
        .filter(_due_q(day, frequencies, overdue=True), visited=False)
        .values("pk", "name", "region_id", "region__name", "frequency", "last_before", "first_start")
    )
    items = []
    for r in rows:
        due = rules.evaluate(day=day, frequency=r["frequency"], last_before=r["last_before"],
                             first_start=r["first_start"])
        items.append(OverdueItem(resident_id=r["pk"], name=r["name"], grid_code=r["region_id"],
                                 grid_name=r["region__name"], frequency_days=r["frequency"],
                                 last_visit_date=r["last_before"], due_date=due.due_date,
                                 days_overdue=due.days_overdue))
    items.sort(key=lambda i: (-i.days_overdue, i.grid_code, i.resident_id))
    return items


@dataclass
class MonthDay:
    day: date
    required: int | None
    done: int | None
    visits: int
    patrols: int
    patrol_m: float

    @property
    def rate(self) -> float | None:
        return round(self.done / self.required, 4) if self.required else None


@dataclass
class WorkerMonth:
    worker: object
    grids: list[Region]
    month: date
    days: list[MonthDay]

    @property
    def required(self) -> int:
        return sum(d.required or 0 for d in self.days)

    @property
    def done(self) -> int:
        return sum(d.done or 0 for d in self.days)

    @property
    def visits(self) -> int:
        return sum(d.visits for d in self.days)


def worker_month(*, user, worker_id: int, month: date | None = None) -> WorkerMonth:
    """A grid worker's month at a glance: per day, how many were due in their grid(s) and how many of
    those were visited, their own visits and patrols. Days after today have no required figure.
    Visible to the worker and to users whose scope covers the worker's grid(s)."""
    from gridgov.accounts.models import User

    require(user, "visits.view")
    worker = User.objects.filter(pk=worker_id).first()
    if worker is None:
        raise NotFound()
    codes = worker_grid_codes(worker)
    scope = get_scope(user)
    if worker.pk != user.pk and (not codes or not all(scope.covers(c) for c in codes)):
        raise NotFound()
    today = timezone.localdate()
    month = (month or today).replace(day=1)
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    limit = max_tag_sensitivity(user)
    grids = list(Region.objects.filter(code__in=codes).order_by("code"))

    visits_per_day = dict(
        Visit.objects.filter(worker_id=worker.pk, visit_date__range=(month, last))
        .values("visit_date").annotate(n=Count("id")).order_by().values_list("visit_date", "n")
    )
    patrols_per_day = {
        r["d"]: (r["n"], r["m"] or 0.0)
        for r in Patrol.objects.filter(worker_id=worker.pk, started_at__gte=_day_start(month),
                                       started_at__lt=_day_start(last + timedelta(days=1)))
        .annotate(d=TruncDate("started_at")).values("d").annotate(n=Count("id"), m=Sum("distance_m")).order_by()
    }
    days = []
    day = month
    while day <= last:
        required = done = None
        if day <= today and codes:
            required = done = 0
            for code in codes:
                counts = _coverage_counts(user=user, prefix=code, day=day, length=15, limit=limit)
                r, v = counts.get(code, (0, 0))
                required += r
                done += v
        n, metres = patrols_per_day.get(day, (0, 0.0))
        days.append(MonthDay(day=day, required=required, done=done, visits=visits_per_day.get(day, 0),
                             patrols=n, patrol_m=metres))
        day += timedelta(days=1)
    return WorkerMonth(worker=worker, grids=grids, month=month, days=days)


def _check_day(day: date) -> None:
    if day > timezone.localdate() + timedelta(days=1):
        raise ValidationFailed("不能查询未来日期的覆盖情况", code="future_date")


@dataclass
class VisitBrief:
    """What the visit form needs to know about a resident: who, which tags, what to check, last visits."""

    resident: Resident
    tags: list[dict]
    checklist: list[dict]
    recent: list[Visit]


def visit_brief(*, user, resident_id: int, day: date | None = None) -> VisitBrief:
    """For a user who may record a visit to the resident (else 404/403)."""
    from .access import access_resident_for_visit

    resident = access_resident_for_visit(user, resident_id)
    day = day or timezone.localdate()
    tags = list(CareTag.objects.filter(rules.tag_open_q(day), resident=resident,
                                       sensitivity__lte=max_tag_sensitivity(user))
                .select_related("tag_type").order_by("tag_type__sort_order", "tag_type__code"))
    checklist, seen = [], set()
    for tag in tags:
        for entry in tag.tag_type.checklist or []:
            if entry not in seen:
                seen.add(entry)
                checklist.append({"item": entry, "tag": tag.tag_type.code})
    recent = list(visit_list_for_resident(user=user, resident=resident)[:5])
    return VisitBrief(resident=resident, checklist=checklist, recent=recent,
                      tags=[{"code": t.tag_type.code, "name": t.tag_type.name, "every": t.visit_every_days}
                            for t in tags])


def need_list(*, user, status: str | None = None, kind: str | None = None, region: str | None = None):
    """Needs raised on visits in the user's scope, oldest first: the cases and egov modules pick
    recorded ones up from here."""
    from .models import Need

    require(user, "visits.view")
    qs = Need.objects.visible_to(user).select_related("visit", "visit__resident", "visit__worker")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        qs = qs.filter(region__code__startswith=region)
    return qs.order_by("created_at", "id")
