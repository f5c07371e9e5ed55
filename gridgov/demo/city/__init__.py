"""`gridgov seed_demo --scale city`: the whole of 钟祥 at full size, for benchmarks.

1,050,000 residents in about 330,000 households (the small demo's population code, town by
town), five years of visits (about 5,000,000, numpy columns, visits.py), cases (about 500,000,
the small demo's planner, cases.py), 政务网上办 applications (about 40,000, egov.py), the points
ledger (about 2,000,000 entries, points.py) and camera views (about 300,000, video.py), with the
seasons of the county (season.py), and the article's stories. The dashboard's rollups are built
by that app's command (`gridgov rebuild_rollups` afterwards, timed on its own). Rows are written
with COPY on PostgreSQL and executemany on SQLite, while a forked second process makes the next
batch (pipeline.py); indexes, PostgreSQL's foreign keys and the case-count triggers are set aside
during the loads (indexes.py, cases/counts.py). About 11 minutes at full scale on either database
on 2 cores (docs/performance.md).

Steps, each in its own transaction and recorded in the audit log when done (`demo.seed_city.step`):
a rerun after a failure or an interruption skips the steps already done and goes on with the rest
(the same --seed and --city-fraction, which the first step records). A database that holds other
data (regions, departments or demo accounts without those records), or a finished city, is
refused before anything is written.

`fraction` scales every volume (residents, visits, cases, applications, ledger, views) for tests
and quick trials; the structure (18 towns, 561 villages, 2,867 grids, 5,329 accounts) is always whole.
"""

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from gridgov.core.audit import audit_record
from gridgov.regions.models import Region

from .. import people as population
from .. import seed as small
from ..people.base import IdNumbers, Phones
from ..reference import ensure_reference_data
from .indexes import indexes_set_aside
from .pipeline import batches
from .progress import Bar

RESIDENTS = 1_050_000
GRIDS = small.RURAL_GRIDS + small.URBAN_GRIDS
VISITS = 5_000_000
CASES = 500_000
# The towns of the article's stories go first and together: the population code only builds the
# article's households when all their villages are in one call.
ARTICLE_TOWNS = ("420881103", "420881107", "420881108")


@dataclass
class CityResult:
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    accounts: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def per_grid_for(residents: int) -> int:
    """The population code's `per_grid` that gives about `residents` in the county: urban grids
    hold 1.3 times the average and every grid's last household overshoots by about one person."""
    rural, urban = small.RURAL_GRIDS, small.URBAN_GRIDS
    return max(3, round((residents / GRIDS - 1.0) * GRIDS / (rural + 1.3 * urban)))


def town_chunks() -> list[list[str]]:
    """Grid codes in the order they are populated: the article's towns, then one town at a time."""
    grids = list(Region.objects.filter(level=4).order_by("code").values_list("code", flat=True))
    first = [g for g in grids if g[:9] in ARTICLE_TOWNS]
    rest: dict[str, list[str]] = {}
    for g in grids:
        if g[:9] not in ARTICLE_TOWNS:
            rest.setdefault(g[:9], []).append(g)
    return [first, *rest.values()]


STEP = "demo.seed_city.step"
FINISHED = "finished"
ORDER = ["structure", "people", "visits", "cases", "egov", "points", "video", FINISHED]


def done_steps() -> dict[str, dict]:
    """The steps a previous run finished: name → what it recorded (counts, and the run's parameters)."""
    from gridgov.core.models import AuditEntry

    return {e.object_id: e.changes for e in AuditEntry.objects.filter(action=STEP).order_by("id")}


def _check_resumable(seed: int, fraction: float) -> dict[str, dict]:
    """The steps to skip, or SeedRefused: other data, a finished city, or other parameters."""
    reason = small.existing_data()
    if not reason:
        return {}
    done = done_steps()
    if "structure" not in done:
        raise small.SeedRefused(reason)
    if FINISHED in done:
        raise small.SeedRefused("数据库中已有完整的城市规模演示数据")
    first = done["structure"]
    if first.get("seed") != seed or first.get("fraction") != fraction:
        raise small.SeedRefused(f"数据库中有未完成的城市规模演示数据（--seed {first.get('seed')} "
                                f"--city-fraction {first.get('fraction')}），续跑须用相同参数")
    return done


def seed_city(*, seed: int = small.DEFAULT_SEED, fraction: float = 1.0,
              progress: Callable[[str], None] | None = None, stream=sys.stderr,
              stop_after: str | None = None) -> CityResult:
    """Writes the city-scale demo, step by step, and returns what it did; a rerun resumes.
    `stop_after` ("structure", "people", "visits", "cases", "egov", "points") ends the run there,
    as an interruption would (for trials of one step, and for the resumption test).

    Raises small.SeedRefused before writing anything when the database holds other data.
    """
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    step = small.Progress(progress)
    result = CityResult()
    done = _check_resumable(seed, fraction)
    if connection.vendor == "sqlite":
        # a big page cache: the indexes of the big tables are written in no particular order
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size=-1500000")
    # A resumed run keeps the first run's clock: its five years end where the written ones do.
    now = (datetime.fromisoformat(done["structure"]["now"]) if done else timezone.now())
    today = timezone.localdate(now)
    counts: dict[str, int] = {}
    started = time.perf_counter()

    class Stop(Exception):
        pass

    def run(name: str, work: Callable[[], dict], extra: dict | None = None) -> None:
        if stop_after and name.split(":")[0] not in ORDER[:ORDER.index(stop_after) + 1]:
            raise Stop
        if name in done:
            counts.update({k: v for k, v in done[name].items() if isinstance(v, int) and k != "seed"})
            step(f"已完成，跳过：{name}")
            return
        t0 = time.perf_counter()
        with transaction.atomic():
            got = work()
            audit_record(actor=None, action=STEP, object_type="regions.region", object_id=name,
                         region_code=small.COUNTY_CODE, changes={**(extra or {}), **got},
                         message=f"城市规模演示数据：{name} 已完成")
        counts.update(got)
        key = name.split(":")[0]  # the towns' population steps are timed together
        result.timings[key] = round(result.timings.get(key, 0) + time.perf_counter() - t0, 1)

    def structure() -> dict:
        ensure_reference_data()
        plan = small.plan_regions(seed)
        small._write_regions(plan)
        departments = small._write_departments(plan)
        users = small._write_accounts(plan, departments, random.Random(seed))
        got = small._counts(plan, departments, users)
        step(f"区划、部门与账号已写入：{len(plan):,} 个节点、{users:,} 个账号")
        return got

    def steps() -> None:
        run("structure", structure, {"seed": seed, "fraction": fraction, "now": now.isoformat()})

        per_grid = per_grid_for(round(RESIDENTS * fraction))
        chunks = town_chunks()
        bar = Bar("个网格的人口", GRIDS, stream)
        people = {"households": 0, "residents": 0, "care_tags": 0}

        from gridgov.people.models import Address, CareTag, House, Household, Resident

        pending = [grids for grids in chunks if f"people:{grids[0][:9]}" not in done]
        infos = {g.code: g for g in population.load_grids()} if pending else {}
        registered = set(Resident.objects.exclude(id_number_index="").values_list("id_number_index", flat=True))

        def plans():
            """The towns' plans, in order, made in a second process while the last one is written."""
            ids, phones = IdNumbers(registered), Phones()
            for grids in pending:
                yield population.plan_population([infos[code] for code in grids], seed=seed, today=today,
                                                 per_grid=per_grid, ids=ids, phones=phones)

        planned = batches(plans, depth=2)

        def town(grids: list[str]) -> dict:
            plan = next(planned)
            assert plan.households[0].grid[:9] == grids[0][:9]
            # the writer finds its rows again through the indexes: only the foreign keys are set aside
            with indexes_set_aside(Address, House, Household, Resident, CareTag, indexes=False):
                got = population.seed_people(seed=seed, per_grid=per_grid, visit_days=0, grids=grids, now=now,
                                             plan=plan)
            return {k: v for k, v in got.items() if k in people}

        for grids in chunks:
            name = f"people:{grids[0][:9]}"
            run(name, lambda grids=grids: town(grids))
            for key in people:
                people[key] += counts.pop(key, 0)
            bar.add(len(grids))
        planned.close()
        bar.close()
        counts.update(people)
        step(f"人口：{people['households']:,} 户、{people['residents']:,} 人、"
             f"{people['care_tags']:,} 个关爱对象标签（每网格约 {per_grid} 人）")

        from .visits import seed_visits

        def visits() -> dict:
            from gridgov.visits.models import Visit

            bar = Bar("条走访记录", round(VISITS * fraction), stream)
            with indexes_set_aside(Visit):
                got = seed_visits(seed=seed, total=round(VISITS * fraction), today=today, bar=bar)
            bar.close()
            return got

        run("visits", visits)
        step(f"走访记录：{counts['visits']:,} 条（五年）")

        from .cases import seed_city_cases

        def cases() -> dict:
            from gridgov.cases import counts as case_counts
            from gridgov.cases import models as m

            bar = Bar("件案件", round(CASES * fraction * 0.97), stream)  # about 3 % fall on no route or the future
            # counted once after the load, not once per case; indexes built once, sorted
            tables = (m.Case, m.CaseEvent, m.CaseAttachment, m.CaseDispatch, m.Evaluation, m.ExtensionRequest,
                      m.Suspension)
            with case_counts.suspended(), indexes_set_aside(*tables):
                got = seed_city_cases(seed=seed, total=round(CASES * fraction), now=now, bar=bar)
            bar.close()
            got["story_case"] = int(bool(small_story_case()))
            return got

        run("cases", cases)
        step(f"案件：{counts['cases']:,} 件，流转记录 {counts['case_events']:,} 条")

        from .. import egov as demo_egov
        from .egov import APPLICATIONS, seed_city_egov

        def egov() -> dict:
            got = demo_egov.seed_egov(seed=seed, progress=step, today=today)  # the article's two stories
            bar = Bar("件政务申请", round(APPLICATIONS * fraction), stream)
            got |= seed_city_egov(seed=seed, total=round(APPLICATIONS * fraction), now=now, bar=bar)
            bar.close()
            from gridgov.egov.models import Application

            got["egov_applications"] = Application.objects.count()
            return got

        run("egov", egov)
        step(f"政务网上办：{counts['egov_applications']:,} 件申请，资金发放 {counts.get('egov_payments', 0):,} 笔")

        from .. import points as demo_points
        from .points import ENTRIES, seed_city_points

        def points() -> dict:
            got = demo_points.seed_points(seed=seed, now=now, progress=step)  # a year, and 吴正宪's story
            from gridgov.points.models import Claim, ClaimEvent, ClaimVote, LedgerEntry, Order, StockMovement

            bar = Bar("条积分申报", round(ENTRIES * fraction * 0.75), stream)
            with indexes_set_aside(LedgerEntry, Claim, ClaimEvent, ClaimVote, Order, StockMovement):
                got |= seed_city_points(seed=seed, total=round(ENTRIES * fraction), now=now, bar=bar)
            bar.close()

            got["points_entries"] = LedgerEntry.objects.count()
            return got

        run("points", points)
        step(f"积分制：台账 {counts['points_entries']:,} 条")

        from .. import video as demo_video
        from .video import VIEWS, seed_city_views

        def video() -> dict:
            got = demo_video.seed_video(seed=seed, progress=step)  # cameras, this year's grants
            bar = Bar("条视频查看记录", round(VIEWS * fraction), stream)
            from gridgov.video.models import ViewSession

            with indexes_set_aside(ViewSession):
                got |= seed_city_views(seed=seed, total=round(VIEWS * fraction), now=now, bar=bar)
            bar.close()
            return got

        run("video", video)
        step(f"雪亮工程：摄像机 {counts.get('cameras', 0):,} 台，查看记录 {counts.get('camera_views_bulk', 0):,} 条，"
             f"案件录像查看 {counts.get('footage_reviews_bulk', 0):,} 次")

        # Planner statistics for the tables that grew from nothing in one go: autovacuum had not looked at
        # them yet, and without statistics PostgreSQL plans the desks' queries as for empty tables (the case
        # list at full scale ran at 8 % of /healthz before, see docs/performance.md).
        step("更新查询统计信息（ANALYZE）")
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and not connection.in_atomic_block:
                # the visibility map of the desks' table, for index-only scans (0.6 s at full scale)
                cursor.execute("VACUUM cases_case")
            cursor.execute("ANALYZE")
        run(FINISHED, lambda: {"run_seconds": round(time.perf_counter() - started)},
            {"seed": seed, "fraction": fraction, "timings": result.timings})
        audit_record(
            actor=None, action="demo.seed_city", object_type="regions.region", object_id=small.COUNTY_CODE,
            region_code=small.COUNTY_CODE,
            changes={"scale": "city", "seed": seed, "fraction": fraction, **counts, "timings": result.timings},
            message=f"生成城市规模演示数据：{counts['residents']:,} 名居民、{counts['visits']:,} 条走访记录、"
                    f"{counts['cases']:,} 件案件",
        )

    try:
        steps()
    except Stop:
        pass
    result.counts = counts
    result.accounts = small.demo_accounts()
    result.seconds = time.perf_counter() - started
    return result


def small_story_case():
    """The article's 袁台村 case (demo/cases.py), written after the background cases."""
    from .. import cases as demo_cases

    return demo_cases.seed_article_story()
