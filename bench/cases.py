"""The case desk at scale: 500,000 cases on SQLite and on PostgreSQL.

    .venv/bin/python bench/cases.py [--cases 500000] [--backend both|sqlite|postgres] [--runs 200]
                                    [--pg postgres://postgres@127.0.0.1:5432]

For each backend, in a fresh database (SQLite: a file in a temp dir; PostgreSQL: a database
gg_bench_cases_<pid> created here and dropped at the end): migrate, seed the demo structure (regions,
departments, accounts; no population), bulk-insert N cases spread over every grid, a year of days,
the categories, states and sources in realistic shares (with their dispatch rows), ANALYZE, then time

  * the case desk's list query as a town operator, a city operator and a department: the page of 20
    newest cases with its count and the per-state counts (selectors.case_list / case_counts), for
    typical filters;
  * the same list through the HTTP API in-process (auth, scope, serialisation included);
  * create + dispatch through the services: report (grid worker) → accept → register → dispatch
    (town operator), each with freshly loaded users, as separate requests would have them;
  * one overdue sweep over the whole table.

Prints median and p95 in milliseconds. Targets: list p95 < 100 ms, create+dispatch p95 < 50 ms.
Each backend runs in a subprocess of its own (settings read DATABASE_URL once). Not part of the suite.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(label, samples_ms):
    print(f"  {label:<58} median {statistics.median(samples_ms):7.2f} ms   p95 {pct(samples_ms, 95):7.2f} ms"
          f"   (n={len(samples_ms)})", flush=True)
    return statistics.median(samples_ms), pct(samples_ms, 95)


# --- the parent: one subprocess per backend -----------------------------------------------------------

def parent(args) -> None:
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        env = dict(os.environ)
        tmp = args.keep or tempfile.mkdtemp(prefix="gg-bench-cases-")
        os.makedirs(tmp, exist_ok=True)
        env["GRIDGOV_VAR_DIR"] = tmp
        env["DJANGO_SETTINGS_MODULE"] = "gridgov.settings"
        env["ALLOWED_HOSTS"] = "localhost,testserver"
        dbname = None
        if backend == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        else:
            import psycopg

            dbname = "gg_bench_cases_keep" if args.keep else f"gg_bench_cases_{os.getpid()}"
            with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
                if not (args.keep and exists):
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
                    conn.execute(f'CREATE DATABASE "{dbname}"')
            env["DATABASE_URL"] = f"{args.pg}/{dbname}"
            env.setdefault("CONN_MAX_AGE", "600")
        print(f"\n=== {backend}: {args.cases:,} cases ===", flush=True)
        try:
            subprocess.run([sys.executable, __file__, "--child", "--cases", str(args.cases), "--runs",
                            str(args.runs), "--creates", str(args.creates)], env=env, check=True)
        finally:
            if dbname and not args.keep:
                import psycopg

                with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


# --- the child: one backend ---------------------------------------------------------------------------

STATE_SHARES = [  # (state, share) of a year's cases at a county desk
    ("evaluated", 0.40), ("closed", 0.30), ("voided", 0.02), ("rejected", 0.02), ("merged", 0.01),
    ("reported", 0.03), ("accepted", 0.02), ("registered", 0.02), ("dispatched", 0.05), ("handling", 0.06),
    ("returned", 0.005), ("reopened", 0.005), ("awaiting_verification", 0.03), ("verified", 0.01),
    ("suspended", 0.01), ("self_resolved", 0.01),
]
SOURCE_SHARES = [("grid_worker", 0.45), ("patrol", 0.15), ("visit", 0.1), ("hotline", 0.12), ("sms", 0.04),
                 ("wechat", 0.08), ("open311", 0.01), ("video", 0.03), ("self_resolved", 0.02)]
WITH_DISPATCH = {"dispatched", "handling", "awaiting_verification", "verified", "closed", "evaluated", "reopened"}


def setup_database():
    from django.core.management import call_command

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    try:
        call_command("seed_demo", scale="small", quiet=True, no_people=True)
    except TypeError:
        call_command("seed_demo", scale="small", quiet=True)
    print(f"  migrate + demo structure: {time.perf_counter() - t:.1f} s", flush=True)


def insert_cases(n: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from gridgov.accounts.models import Department, User
    from gridgov.cases import deadlines
    from gridgov.cases.choices import OPEN_STATES, STAGE_OF_STATE
    from gridgov.cases.models import Case, CaseCategory, CaseCounter, CaseDispatch
    from gridgov.cases.routing import covers
    from gridgov.regions.models import Region

    rng = random.Random(2026)
    grids = list(Region.objects.filter(level=4).values_list("code", "centroid_lon", "centroid_lat"))
    categories = list(CaseCategory.objects.filter(level=2).select_related("parent"))
    departments = list(Department.objects.prefetch_related("jurisdiction"))
    jur = {d.pk: [r.code for r in d.jurisdiction.all()] for d in departments}
    by_code = {d.code: d for d in departments}
    dispatcher = User.objects.filter(assignments__role="city_operator").first()
    states = [s for s, _ in STATE_SHARES]
    state_w = [w for _, w in STATE_SHARES]
    sources = [s for s, _ in SOURCE_SHARES]
    source_w = [w for _, w in SOURCE_SHARES]
    now = timezone.now()
    # Deadlines by (category, stage): computing working time per row would dominate the insert, so
    # the clock of a stage is computed per category and shifted; exact enough for a benchmark.
    limit = {}

    def lead_for(cat, grid_code):
        code = cat.default_department_code or (cat.parent.default_department_code if cat.parent else "")
        base = by_code.get(code)
        if base and cat.route_to_station:
            station = by_code.get(f"{code}-{grid_code[:9]}")
            if station:
                return station
        if base and covers(base, grid_code, jur[base.pk]):
            return base
        return by_code["WGZX"] if "WGZX" in by_code else None

    # Numbers continue after what the demo seed (cases, hotline and SMS intake …) already used per day.
    counters: dict = {c.day: c.last for c in CaseCounter.objects.all()}
    for number in Case.objects.values_list("number", flat=True):
        day = datetime.strptime(number[:8], "%Y%m%d").date()
        counters[day] = max(counters.get(day, 0), int(number[8:]))
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # a bigger page cache for the bulk load only
            cursor.execute("PRAGMA cache_size = -262144")
    t = time.perf_counter()
    batch, dispatches = [], []
    total = 0
    start_id = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1

    def flush():
        nonlocal batch, dispatches
        with transaction.atomic():
            Case.objects.bulk_create(batch, batch_size=5000)
            CaseDispatch.objects.bulk_create(dispatches, batch_size=5000)
        batch, dispatches = [], []

    for i in range(n):
        code, lon, lat = grids[rng.randrange(len(grids))]
        cat = categories[rng.randrange(len(categories))]
        state = rng.choices(states, state_w)[0]
        created = now - timedelta(seconds=rng.randrange(365 * 86400))
        day = timezone.localdate(created)
        counters[day] = counters.get(day, 0) + 1
        urgency = cat.urgency_levels[0]
        stage = STAGE_OF_STATE.get(state, "")
        fields = {}
        if stage and state in OPEN_STATES:
            key = (cat.pk, stage, urgency)
            if key not in limit:
                limit[key] = round(deadlines.limit_hours(cat, stage, urgency) * 60)
            minutes = limit[key]
            # open cases are mostly recent; a stage's clock in calendar time ≈ working time × 3.4
            started = now - timedelta(minutes=rng.randrange(max(1, int(minutes * 4))))
            deadline = started + timedelta(minutes=minutes * 3.4)
            fields = {"stage": stage, "stage_started_at": started, "stage_limit_minutes": minutes,
                      "stage_due_soon_at": deadline - timedelta(minutes=minutes * 0.2 * 3.4),
                      "stage_deadline": deadline}
            created = min(created, started)
        lead = lead_for(cat, code) if state in WITH_DISPATCH else None
        case_id = start_id + i
        batch.append(Case(
            id=case_id, number=f"{day:%Y%m%d}{counters[day]:05d}", region_id=code,
            source=rng.choices(sources, source_w)[0], category_id=cat.pk, urgency=urgency,
            description=f"{cat.name}：第 {i} 号测试案件", address="", lon=lon + rng.uniform(-0.002, 0.002),
            lat=lat + rng.uniform(-0.002, 0.002), state=state, created_at=created, lead_department=lead,
            dispatched_at=created if lead else None, closed_at=created if state in ("closed", "evaluated") else None,
            self_resolved=state == "self_resolved", **fields,
        ))
        if lead is not None:
            dispatches.append(CaseDispatch(case_id=case_id, department=lead, role="lead", dispatched_by=dispatcher,
                                           dispatched_at=created))
        if len(batch) >= 20_000:
            total += len(batch)
            flush()
    total += len(batch)
    flush()
    CaseCounter.objects.all().delete()
    CaseCounter.objects.bulk_create([CaseCounter(day=d, last=c) for d, c in counters.items()], batch_size=5000)
    elapsed = time.perf_counter() - t
    print(f"  inserted {total:,} cases (+ {CaseDispatch.objects.count():,} dispatches) in {elapsed:.1f} s "
          f"= {total / elapsed:,.0f} cases/s", flush=True)
    t = time.perf_counter()
    analyze()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('cases_case'))")
            size = cursor.fetchone()[0]
        print(f"  VACUUM ANALYZE {time.perf_counter() - t:.1f} s; cases_case with indexes: {size}", flush=True)
    else:
        print(f"  ANALYZE {time.perf_counter() - t:.1f} s", flush=True)
    if connection.vendor == "postgresql":
        # bulk_create with explicit ids leaves the sequence behind
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('cases_case', 'id'), "
                           "(SELECT MAX(id) FROM cases_case))")


def analyze() -> None:
    """Planner statistics after the bulk load; on PostgreSQL also VACUUM, which sets the visibility map
    that index-only scans need (autovacuum does it in production, some time after a bulk load)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def fresh(user_id):
    from gridgov.accounts.models import User

    return User.objects.get(pk=user_id)


def time_list(label, user_id, runs, **filters):
    from gridgov.cases import selectors

    samples = []
    for i in range(runs + 5):
        user = fresh(user_id)  # scope computed again, as in a request
        t = time.perf_counter()
        count, page = selectors.case_page(user=user, offset=0, limit=20, **filters)
        counts = selectors.case_counts(user=user, **filters)
        elapsed = (time.perf_counter() - t) * 1000
        if i >= 5:
            samples.append(elapsed)
    result = report(f"{label} [{count:,} rows]", samples)
    assert len(page) <= 20 and sum(counts.values()) >= count
    return result


def time_api(label, user, runs, params):
    from django.test import Client

    from gridgov.accounts.services import api_token_issue

    _, token = api_token_issue(acting_user=user, name="bench")
    client = Client()
    samples = []
    for i in range(runs + 5):
        t = time.perf_counter()
        response = client.get("/api/v1/cases", params, HTTP_AUTHORIZATION=f"Bearer {token}")
        elapsed = (time.perf_counter() - t) * 1000
        assert response.status_code == 200, response.content[:300]
        if i >= 5:
            samples.append(elapsed)
    return report(label, samples)


def time_create_dispatch(runs):
    from gridgov.accounts.models import Assignment
    from gridgov.cases import routing, services
    from gridgov.cases.models import CaseCategory
    from gridgov.regions.models import Region

    rng = random.Random(7)
    town = "420881103"
    grids = list(Region.objects.filter(level=4, code__startswith=town).values_list("code", "centroid_lon",
                                                                                  "centroid_lat"))
    workers = dict(Assignment.objects.filter(role="grid_worker", region__code__startswith=town)
                   .values_list("region_id", "user_id"))
    operator = Assignment.objects.filter(role="town_operator", region_id=town).values_list("user_id", flat=True)[0]
    category = CaseCategory.objects.get(code="G0104")
    routing.locate(grids[0][1], grids[0][2])  # warm the locator's index
    report_ms, total_ms = [], []
    for i in range(runs + 5):
        code, lon, lat = grids[rng.randrange(len(grids))]
        t = time.perf_counter()
        case = services.case_report(acting_user=fresh(workers[code]), category=category.code,
                                    description="村口有人聚众赌博", lon=lon, lat=lat)
        t_report = time.perf_counter()
        desk = fresh(operator)
        services.case_accept(acting_user=desk, case=case.pk)
        services.case_register(acting_user=desk, case=case.pk)
        services.case_dispatch(acting_user=desk, case=case.pk, department=f"GAJ-{town}")
        end = time.perf_counter()
        if i >= 5:
            report_ms.append((t_report - t) * 1000)
            total_ms.append((end - t) * 1000)
    report("report (locate, duplicate check, number, event, audit)", report_ms)
    return report("create + dispatch (report, accept, register, dispatch)", total_ms)


def _migrated() -> bool:
    from django.db import connection

    return "cases_case" in connection.introspection.table_names()


def child(args) -> None:
    import django

    django.setup()
    from django.db import connection

    from gridgov.accounts.models import Assignment, Department
    from gridgov.cases import services

    print(f"  database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    from django.core.management import call_command

    from gridgov.cases.models import Case
    from gridgov.regions.models import Region

    have = Case.objects.count() if _migrated() else None
    if have is not None and have >= args.cases:
        call_command("migrate", verbosity=0)
        analyze()
        print(f"  reusing the kept database: {have:,} cases", flush=True)
    elif have is not None and Region.objects.exists():
        # a kept database whose load stopped (or holds only the demo's cases): top it up
        call_command("migrate", verbosity=0)
        insert_cases(args.cases - have)
    else:
        setup_database()
        insert_cases(args.cases - Case.objects.count())  # the demo seed brings a few cases of its own
    town = "420881103"
    town_op = Assignment.objects.filter(role="town_operator", region_id=town).values_list("user_id", flat=True)[0]
    city_op = Assignment.objects.filter(role="city_operator").values_list("user_id", flat=True)[0]
    station = Department.objects.get(code=f"GAJ-{town}")
    dept = Assignment.objects.filter(role="dept_staff", department=station).values_list("user_id", flat=True)[0]
    cgj = Assignment.objects.filter(role="dept_staff", department__code="CGJ").values_list("user_id", flat=True)[0]
    runs = args.runs
    print("  list query (page of 20 + count + counts per state), ORM:", flush=True)
    results = [
        time_list("town desk, state=reported", town_op, runs, state=["reported"]),
        time_list("town desk, open states (6)", town_op, runs,
                  state=["reported", "accepted", "registered", "returned", "reopened", "dispatched"]),
        time_list("town desk, no state filter", town_op, runs),
        time_list("town desk, overdue", town_op, runs, due="overdue"),
        time_list("town desk, category E01 + state=dispatched", town_op, runs, category="E01", state=["dispatched"]),
        time_list("city desk, state=dispatched", city_op, runs, state=["dispatched"]),
        time_list("city desk, no state filter", city_op, runs),
        time_list("city desk, town 420881103 + last 30 days", city_op, runs, region=town,
                  since=(datetime.now() - timedelta(days=30)).date()),
        time_list("police station inbox, state=dispatched", dept, runs, state=["dispatched"]),
        time_list("police station, no state filter", dept, runs),
        time_list("城管局 (two streets), state=handling", cgj, runs, state=["handling"]),
    ]
    print("  list through the HTTP API in-process (auth, scope, JSON):", flush=True)
    results.append(time_api("GET /api/v1/cases?state=reported (town desk)", fresh(town_op), runs,
                            {"state": "reported"}))
    results.append(time_api("GET /api/v1/cases (city desk)", fresh(city_op), runs, {}))
    results.append(time_api("GET /api/v1/cases?state=dispatched (station)", fresh(dept), runs,
                            {"state": "dispatched"}))
    print("  writes through the services:", flush=True)
    create = time_create_dispatch(args.creates)
    t = time.perf_counter()
    swept = services.sweep_overdue()
    first = time.perf_counter() - t
    t = time.perf_counter()
    services.sweep_overdue()
    again = time.perf_counter() - t
    print(f"  sweep_overdue over the table: first run {first:.1f} s (due soon {swept.due_soon:,}, overdue "
          f"{swept.overdue:,}, escalated {swept.escalated:,}); second run {again * 1000:.0f} ms", flush=True)
    worst_list = max(p95 for _, p95 in results)
    print(f"  => worst list p95 {worst_list:.1f} ms (target < 100); create+dispatch p95 {create[1]:.1f} ms "
          f"(target < 50)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--backend", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per list query")
    parser.add_argument("--creates", type=int, default=200, help="timed create+dispatch runs")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server URL without database name")
    parser.add_argument("--keep", metavar="DIR", help="keep the databases (SQLite file in DIR, PostgreSQL "
                        "gg_bench_cases_keep) and reuse them on the next run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
