"""Computing the rollups (docs/dashboard.md#rollups).

Every source below is one set-based query per KPI family, grouped by local day and grid
(`region_code`), over a day range and optionally a set of grids. The result ("grid rows") is
written at level 4; village, town and county rows are sums of it, built with one GROUP BY on a
prefix of the code. A row attached above grid level (a village's points ledger, say) is kept
under the node's *direct bucket*, its code padded with zeros to 15 digits (grid sequence 000
never exists), so every number lives at exactly one grid-level code and sums stay exact.

Two ways to keep the tables current, both built on the same source functions:
- `rebuild(start, end)`: delete and recompute a day range for the whole county, month by month;
- `refresh(grids, days)`: recompute the grid rows of a few grids and days and apply the
  difference to them and their three ancestors (hooks.py calls it after a commit).
"""

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone

from .models import Rollup, Snapshot

CODE_LENGTH = {1: 6, 2: 9, 3: 12, 4: 15}
LEVEL_OF_LENGTH = {6: 1, 9: 2, 12: 3, 15: 4}
# Coverage (visits required vs done) runs the visiting rule over every resident for each day: about
# 0.6 s a day for the demo county, so a rebuild computes it only for recent days (docs/dashboard.md).
DEFAULT_COVERAGE_DAYS = 7

Key = tuple  # (day, grid code, kpi, dim)


def bucket(code: str) -> str:
    """The grid-level code a row is kept under: the grid itself, or a node's direct bucket."""
    return code.ljust(15, "0")


def ancestors(code: str) -> list[str]:
    return [code[:n] for n in (6, 9, 12)]


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _range(qs, field: str, start: date, end: date, *, is_date: bool = False):
    if is_date:
        return qs.filter(**{f"{field}__gte": start, f"{field}__lte": end})
    return qs.filter(**{f"{field}__gte": day_start(start), f"{field}__lt": day_start(end + timedelta(days=1))})


def node_of(bucket_code: str) -> str:
    """The node a grid-level code stands for: the grid, or the node whose direct bucket it is."""
    if not bucket_code.endswith("000"):
        return bucket_code
    for n in (12, 9, 6):
        if not bucket_code[n - 3:n] == "000":
            return bucket_code[:n]
    return bucket_code[:6]


def _grids(qs, grids, field: str = "region_id"):
    if grids is None:
        return qs
    return qs.filter(**{f"{field}__in": sorted({node_of(g) for g in grids})})


def _add(acc, rows: Iterable[dict], kpi: str, *, day="d", code="region_id", dim=None, value="n"):
    for r in rows:
        if r[value] is None:
            continue
        acc[(r[day], bucket(r[code]), kpi, str(r[dim]) if dim else "")] += int(r[value])


# --- sources -----------------------------------------------------------------------------------------

def source_cases(acc, start: date, end: date, grids=None) -> None:
    from gridgov.cases.choices import CaseState
    from gridgov.cases.models import Case, CaseDispatch, CaseEvent, Evaluation

    base = _grids(Case.objects.order_by(), grids)
    reported = _range(base, "created_at", start, end).annotate(d=TruncDate("created_at"))
    _add(acc, reported.values("d", "region_id", "source").annotate(n=Count("id")), "case.reported", dim="source")
    _add(acc, reported.values("d", "region_id", "category__code").annotate(n=Count("id")), "case.class",
         dim="category__code")
    _add(acc, reported.filter(self_resolved=True).values("d", "region_id").annotate(n=Count("id")),
         "case.self_resolved")
    # The cohort of a report day: how many of the cases reported that day are closed now, and how many
    # were never cases (rejected, voided, merged); 结案率 divides the first by the rest (selectors.py).
    done = [CaseState.CLOSED, CaseState.EVALUATED]
    invalid = [CaseState.REJECTED, CaseState.VOIDED, CaseState.MERGED]
    rows = list(reported.values("d", "region_id").annotate(n=Count("id", filter=Q(state__in=done)),
                                                           x=Count("id", filter=Q(state__in=invalid))))
    _add(acc, rows, "case.cohort_closed")
    _add(acc, rows, "case.cohort_excluded", value="x")

    closed = _range(base.filter(state__in=[CaseState.CLOSED, CaseState.EVALUATED]), "closed_at", start, end)
    closed = closed.annotate(d=TruncDate("closed_at"))
    on_time = Q(escalated_to_level__isnull=True)
    rows = list(closed.values("d", "region_id").annotate(n=Count("id"), t=Count("id", filter=on_time)))
    _add(acc, rows, "case.closed")
    _add(acc, rows, "case.closed_on_time", value="t")
    # Handling time by lead department: closed_at − dispatched_at, summed in minutes (Python: datetime
    # arithmetic differs between SQLite and PostgreSQL, and there are few closed cases per day).
    for r in (closed.filter(lead_department__isnull=False, dispatched_at__isnull=False)
              .values("d", "region_id", "lead_department__code", "closed_at", "dispatched_at", "escalated_to_level")):
        key = (r["d"], bucket(r["region_id"]))
        dept = r["lead_department__code"]
        acc[key + ("dept.closed", dept)] += 1
        if r["escalated_to_level"] is None:
            acc[key + ("dept.on_time", dept)] += 1
        acc[key + ("dept.minutes", dept)] += max(int((r["closed_at"] - r["dispatched_at"]).total_seconds() // 60), 0)

    events = _grids(CaseEvent.objects.order_by(), grids, "case__region_id")
    _add(acc, _range(events.filter(to_state=CaseState.REGISTERED).exclude(from_state=CaseState.REGISTERED),
                     "created_at", start, end).annotate(d=TruncDate("created_at"))
         .values("d", "case__region_id").annotate(n=Count("case_id", distinct=True)),
         "case.registered", code="case__region_id")
    dispatches = _grids(CaseDispatch.objects.order_by(), grids, "case__region_id")
    _add(acc, _range(dispatches.filter(end_reason="returned"), "ended_at", start, end)
         .annotate(d=TruncDate("ended_at")).values("d", "case__region_id", "department__code")
         .annotate(n=Count("id")), "dept.returned", code="case__region_id", dim="department__code")
    _add(acc, _range(dispatches.filter(role="lead"), "dispatched_at", start, end)
         .annotate(d=TruncDate("dispatched_at")).values("d", "case__region_id", "department__code")
         .annotate(n=Count("id")), "dept.dispatched", code="case__region_id", dim="department__code")
    evaluations = _range(_grids(Evaluation.objects.order_by(), grids, "case__region_id"), "created_at", start, end)
    rows = list(evaluations.annotate(d=TruncDate("created_at")).values("d", "case__region_id")
                .annotate(n=Count("id"), s=Sum("score")))
    _add(acc, rows, "case.rating_n", code="case__region_id")
    _add(acc, rows, "case.rating_sum", code="case__region_id", value="s")


def source_visits(acc, start: date, end: date, grids=None) -> None:
    from gridgov.visits.models import Patrol, Visit

    _add(acc, _range(_grids(Visit.objects.order_by(), grids), "visit_date", start, end, is_date=True)
         .values("visit_date", "region_id").annotate(n=Count("id")), "visit.done", day="visit_date")
    _add(acc, _range(_grids(Patrol.objects.order_by(), grids), "started_at", start, end)
         .annotate(d=TruncDate("started_at")).values("d", "region_id").annotate(n=Count("id")), "visit.patrols")


class _FullSight:
    """The viewer the coverage rule runs as: the whole county, every care tag. Dashboards show the
    result only to roles that may see every tag (selectors.coverage_visible)."""

    is_authenticated = True
    is_active = True
    pk = None

    def __init__(self):
        from gridgov.accounts.choices import Role
        from gridgov.accounts.policy import Scope
        from gridgov.regions.models import Region

        counties = tuple(Region.objects.filter(level=1).values_list("code", flat=True))
        self._gridgov_scope = Scope(frozenset({Role.SYSADMIN}), counties, (), counties)


def source_coverage(acc, start: date, end: date, grids=None, *, since: date | None = None) -> None:
    """visit.required / visit.covered per grid and day, by the visits module's rule, for days ≥ since."""
    from gridgov.people.choices import Sensitivity
    from gridgov.visits.selectors import _coverage_counts

    viewer = _FullSight()
    prefixes = viewer._gridgov_scope.region_prefixes if grids is None else sorted({g for g in grids
                                                                                   if not g.endswith("000")})
    day = max(start, since) if since else start
    today = timezone.localdate()
    while day <= min(end, today):
        for prefix in prefixes:
            for code, (required, covered) in _coverage_counts(user=viewer, prefix=prefix, day=day, length=15,
                                                              limit=Sensitivity.RESTRICTED).items():
                acc[(day, code, "visit.required", "")] += required
                acc[(day, code, "visit.covered", "")] += covered
        day += timedelta(days=1)


def source_egov(acc, start: date, end: date, grids=None) -> None:
    from gridgov.egov.choices import PaymentStatus, State
    from gridgov.egov.models import Application, Payment

    apps = _grids(Application.objects.order_by(), grids)
    _add(acc, _range(apps, "created_at", start, end).annotate(d=TruncDate("created_at"))
         .values("d", "region_id").annotate(n=Count("id")), "egov.applied")
    rows = list(_range(apps.filter(state=State.COMPLETED), "completed_on", start, end, is_date=True)
                .values("completed_on", "region_id")
                .annotate(n=Count("id"), t=Count("id", filter=Q(due_on__isnull=False, completed_on__lte=F("due_on")))))
    _add(acc, rows, "egov.completed", day="completed_on")
    _add(acc, rows, "egov.on_time", day="completed_on", value="t")
    rows = list(_range(_grids(Payment.objects.order_by(), grids).filter(status=PaymentStatus.PAID), "paid_on", start,
                       end, is_date=True).values("paid_on", "region_id").annotate(n=Count("id"), s=Sum("amount_fen")))
    _add(acc, rows, "egov.paid_n", day="paid_on")
    _add(acc, rows, "egov.paid_fen", day="paid_on", value="s")


def source_points(acc, start: date, end: date, grids=None) -> None:
    from gridgov.points.choices import EntryKind
    from gridgov.points.models import LedgerEntry

    entries = _range(_grids(LedgerEntry.objects.order_by(), grids), "occurred_on", start, end, is_date=True)
    _add(acc, entries.filter(kind=EntryKind.AWARD).values("occurred_on", "region_id")
         .annotate(n=Sum("score_delta")), "points.awarded", day="occurred_on")
    _add(acc, entries.filter(kind=EntryKind.AWARD).values("occurred_on", "region_id")
         .annotate(n=Count("id")), "points.awards", day="occurred_on")
    # Redeemed: points spent in the shop net of cancelled orders (both entries carry the sign of the change).
    for r in (entries.filter(kind__in=[EntryKind.REDEMPTION, EntryKind.REDEMPTION_CANCEL])
              .values("occurred_on", "region_id").annotate(n=Sum("delta"))):
        acc[(r["occurred_on"], bucket(r["region_id"]), "points.redeemed", "")] -= int(r["n"] or 0)


def source_tips(acc, start: date, end: date, grids=None) -> None:
    from gridgov.cases.models.tip import Tip, TipState

    tips = _grids(Tip.objects.order_by(), grids)
    _add(acc, _range(tips, "sent_at", start, end).annotate(d=TruncDate("sent_at")).values("d", "region_id")
         .annotate(n=Count("id")), "tips.sent")
    _add(acc, _range(tips.filter(state__in=[TipState.USEFUL, TipState.REWARDED, TipState.PAID]), "decided_at",
                     start, end).annotate(d=TruncDate("decided_at")).values("d", "region_id").annotate(n=Count("id")),
         "tips.useful")
    rows = list(_range(tips.filter(state=TipState.PAID), "paid_at", start, end).annotate(d=TruncDate("paid_at"))
                .values("d", "region_id").annotate(n=Count("id"), s=Sum("reward_fen")))
    _add(acc, rows, "tips.paid_n")
    _add(acc, rows, "tips.paid_fen", value="s")


def source_video(acc, start: date, end: date, grids=None) -> None:
    from gridgov.video.choices import ReviewOutcome
    from gridgov.video.models import FootageReview, ViewSession

    _add(acc, _range(_grids(ViewSession.objects.order_by(), grids, "camera__grid_id"), "issued_at", start, end)
         .annotate(d=TruncDate("issued_at")).values("d", "camera__grid_id").annotate(n=Count("id")),
         "video.views", code="camera__grid_id")
    rows = list(_range(_grids(FootageReview.objects.order_by(), grids, "camera__grid_id"), "created_at", start, end)
                .annotate(d=TruncDate("created_at")).values("d", "camera__grid_id")
                .annotate(n=Count("id"), h=Count("case_id", distinct=True,
                                                 filter=Q(outcome=ReviewOutcome.HELPFUL))))
    _add(acc, rows, "video.reviews", code="camera__grid_id")
    _add(acc, rows, "video.cases_helped", code="camera__grid_id", value="h")


def source_notices(acc, start: date, end: date, grids=None) -> None:
    """Receipts by the day their notice was sent, and how many of them are acknowledged now (a cohort,
    like 结案率): the acknowledgement rate of the notices sent in a period."""
    from gridgov.notices.models import Receipt

    receipts = _range(_grids(Receipt.objects.order_by().exclude(region_code=""), grids, "region_code"),
                      "notice__sent_at", start, end)
    rows = list(receipts.annotate(d=TruncDate("notice__sent_at")).values("d", "region_code")
                .annotate(n=Count("id"), a=Count("id", filter=Q(acked_at__isnull=False)),
                          r=Count("id", filter=Q(read_at__isnull=False))))
    _add(acc, rows, "notices.receipts", code="region_code")
    _add(acc, rows, "notices.acked", code="region_code", value="a")
    _add(acc, rows, "notices.read", code="region_code", value="r")


SOURCES: list[Callable] = [source_cases, source_visits, source_egov, source_points, source_tips, source_video,
                           source_notices]


def compute(start: date, end: date, grids=None, *, coverage_since: date | None = None) -> dict[Key, int]:
    """Grid rows for [start, end] (and `grids` when given), zero values dropped."""
    acc: dict[Key, int] = defaultdict(int)
    for source in SOURCES:
        source(acc, start, end, grids)
    if coverage_since is not None:
        source_coverage(acc, start, end, grids, since=coverage_since)
    return {k: v for k, v in acc.items() if v}


# --- snapshots: state with no day --------------------------------------------------------------------

def snapshot_rows(grids=None) -> dict[tuple, int]:
    """{(grid bucket, kpi, dim): value} for residents, special groups, grid workers, open cases, cameras."""
    from gridgov.accounts.choices import Role
    from gridgov.accounts.models import Assignment
    from gridgov.cases.choices import OPEN_STATES
    from gridgov.cases.models import Case
    from gridgov.people.choices import ResidentState
    from gridgov.people.models import CareTag, Resident

    acc: dict[tuple, int] = defaultdict(int)
    today = timezone.localdate()
    for r in (_grids(Resident.objects.order_by(), grids).filter(state=ResidentState.ACTIVE)
              .values("region_id").annotate(n=Count("id"))):
        acc[(bucket(r["region_id"]), "people.residents", "")] += r["n"]
    for r in (_grids(CareTag.objects.order_by(), grids)
              .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=today), resident__state=ResidentState.ACTIVE)
              .values("region_id", "tag_type__code").annotate(n=Count("id"))):
        acc[(bucket(r["region_id"]), "people.tag", r["tag_type__code"])] += r["n"]
    for r in (_grids(Assignment.objects.order_by(), grids).filter(role=Role.GRID_WORKER, is_active=True,
                                                                   user__is_active=True)
              .values("region_id").annotate(n=Count("user_id", distinct=True))):
        acc[(bucket(r["region_id"]), "people.workers", "")] += r["n"]
    from gridgov.video.choices import CameraStatus
    from gridgov.video.models import Camera

    for r in (_grids(Camera.objects.order_by(), grids, "grid_id").values("grid_id")
              .annotate(n=Count("id"), o=Count("id", filter=Q(status=CameraStatus.ONLINE)))):
        acc[(bucket(r["grid_id"]), "video.cameras", "")] += r["n"]
        acc[(bucket(r["grid_id"]), "video.online", "")] += r["o"]
    open_cases = _grids(Case.objects.order_by(), grids).filter(state__in=OPEN_STATES)
    for r in open_cases.values("region_id").annotate(n=Count("id"), o=Count("id", filter=Q(overdue=True))):
        acc[(bucket(r["region_id"]), "case.open", "")] += r["n"]
        acc[(bucket(r["region_id"]), "case.overdue", "")] += r["o"]
    return {k: v for k, v in acc.items() if v}


def _write_snapshot_parents(codes_by_level: dict[int, set[str]] | None, now) -> None:
    for level in (3, 2, 1):
        n = CODE_LENGTH[level]
        qs = Snapshot.objects.filter(level=4).annotate(p=Substr("code", 1, n))
        if codes_by_level is not None:
            qs = qs.filter(p__in=sorted(codes_by_level[level]))
            Snapshot.objects.filter(level=level, code__in=codes_by_level[level]).delete()
        else:
            Snapshot.objects.filter(level=level).delete()
        Snapshot.objects.bulk_create(
            [Snapshot(code=r["p"], level=level, kpi=r["kpi"], dim=r["dim"], value=r["v"], as_of=now)
             for r in qs.values("p", "kpi", "dim").annotate(v=Sum("value")).order_by()], batch_size=2000)


@transaction.atomic
def rebuild_snapshots() -> int:
    now = timezone.now()
    table = Snapshot._meta.db_table
    Snapshot.objects.all().delete()
    rows = snapshot_rows()
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} (code, level, kpi, dim, value, as_of) VALUES (%s, 4, %s, %s, %s, %s)",
                           [(c, k, d, v, now) for (c, k, d), v in rows.items()])
        for level in (3, 2, 1):
            n = CODE_LENGTH[level]
            cursor.execute(f"INSERT INTO {table} (code, level, kpi, dim, value, as_of) "
                           f"SELECT SUBSTR(code, 1, {n}), {level}, kpi, dim, SUM(value), %s FROM {table} "
                           f"WHERE level = %s GROUP BY SUBSTR(code, 1, {n}), kpi, dim", [now, level + 1])
    return len(rows)


def refresh_snapshots(grids: set[str]) -> None:
    now = timezone.now()
    with transaction.atomic():
        Snapshot.objects.filter(level=4, code__in=sorted({bucket(g) for g in grids})).delete()
        Snapshot.objects.bulk_create([Snapshot(code=c, level=4, kpi=k, dim=d, value=v, as_of=now)
                                      for (c, k, d), v in snapshot_rows(grids).items()])
        by_level = {lv: {bucket(g)[:CODE_LENGTH[lv]] for g in grids} for lv in (1, 2, 3)}
        _write_snapshot_parents(by_level, now)


# --- writing ----------------------------------------------------------------------------------------

def _months(start: date, end: date):
    first = start
    while first <= end:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        yield first, min(last, end)
        first = last + timedelta(days=1)


def _insert_grid_rows(rows: dict) -> None:
    """Plain executemany: the ORM's per-object bulk_create cost dominated a rebuild."""
    table = Rollup._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (day, code, level, kpi, dim, value) VALUES (%s, %s, 4, %s, %s, %s)",
            [(d, c, k, dim, v) for (d, c, k, dim), v in rows.items()],
        )


def _write_parents(start: date, end: date) -> int:
    """Village, town and county rows for [start, end]: each level one INSERT … SELECT … GROUP BY over
    the level below it (grids → villages → towns → county)."""
    table = Rollup._meta.db_table
    written = 0
    with connection.cursor() as cursor:
        for level in (3, 2, 1):
            n = CODE_LENGTH[level]  # a constant from the table above, inlined so both databases see one expression
            Rollup.objects.filter(level=level, day__range=(start, end)).delete()
            cursor.execute(
                f"INSERT INTO {table} (day, code, level, kpi, dim, value) "
                f"SELECT day, SUBSTR(code, 1, {n}), {level}, kpi, dim, SUM(value) FROM {table} "
                f"WHERE level = %s AND day >= %s AND day <= %s GROUP BY day, SUBSTR(code, 1, {n}), kpi, dim",
                [level + 1, start, end],
            )
            written += cursor.rowcount
    return written


def rebuild(start: date, end: date, *, coverage_since: date | None = None,
            progress: Callable[[date, date, int], None] | None = None) -> int:
    """Recompute every rollup row of [start, end], a month per transaction. Returns rows written.
    Coverage rows are kept for days before `coverage_since` (they are expensive and do not change)."""
    total = 0
    for first, last in _months(start, end):
        with transaction.atomic():
            rows = compute(first, last, coverage_since=coverage_since)
            stale = Rollup.objects.filter(level=4, day__range=(first, last))
            cover = ["visit.required", "visit.covered"]
            if coverage_since is None:
                stale = stale.exclude(kpi__in=cover)
            else:
                stale = stale.exclude(kpi__in=cover, day__lt=coverage_since)
            stale.delete()
            _insert_grid_rows(rows)
            total += len(rows) + _write_parents(first, last)
        if progress:
            progress(first, last, total)
    return total


def refresh(grids: Iterable[str], days: Iterable[date]) -> int:
    """Bring the rows of `grids` (grid codes or direct buckets) on `days` up to date and apply the
    change to their ancestors with `value = value + delta` (no read-modify-write of the totals).
    Returns the number of keys that changed."""
    grids = sorted({bucket(g) for g in grids})
    days = sorted(set(days))
    if not grids or not days:
        return 0
    today = timezone.localdate()
    new: dict[Key, int] = defaultdict(int)
    for day in days:
        new.update(compute(day, day, grids, coverage_since=day if day >= today - timedelta(days=1) else None))
    cover = {"visit.required", "visit.covered"}
    changed = 0
    with transaction.atomic():
        old_qs = Rollup.objects.select_for_update().filter(level=4, code__in=grids, day__in=days)
        old = {(r.day, r.code, r.kpi, r.dim): r.value for r in old_qs}
        for key in set(old) | set(new):
            if key[2] in cover and key[0] < today - timedelta(days=1):
                continue  # coverage of past days is left to the rebuild command
            delta = new.get(key, 0) - old.get(key, 0)
            if not delta:
                continue
            changed += 1
            day, code, kpi, dim = key
            for target in [code, *ancestors(code)]:
                row = Rollup.objects.filter(code=target, day=day, kpi=kpi, dim=dim)
                if row.update(value=F("value") + delta):
                    continue
                try:
                    with transaction.atomic():  # a savepoint: another process may insert the same key first
                        Rollup.objects.create(code=target, day=day, kpi=kpi, dim=dim, value=delta,
                                              level=LEVEL_OF_LENGTH[len(target)])
                except IntegrityError:
                    row.update(value=F("value") + delta)
    return changed
