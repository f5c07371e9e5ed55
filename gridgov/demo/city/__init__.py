"""`gridgov seed_demo --scale city`: the whole of 钟祥 at full size, for benchmarks.

1,050,000 residents in about 330,000 households (the small demo's population code, town by
town), five years of visits (about 5,000,000, numpy columns, visits.py) and cases (about 500,000,
the small demo's planner, cases.py) with the seasons of the county (season.py), the article's
stories and the 政务网上办 and points demos at their small sizes. The dashboard's rollups are built
by that app's command (`gridgov rebuild_rollups` afterwards, timed on its own). Everything is
written with COPY on PostgreSQL and executemany on SQLite, in one transaction:
all or nothing, refused (before writing anything) on a database that already holds regions,
departments or demo accounts.

`fraction` scales every volume (residents, visits, cases) for tests and quick trials; the
structure (18 towns, 561 villages, 2,867 grids, 5,329 accounts) is always whole.
"""

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from gridgov.core.audit import audit_record
from gridgov.regions.models import Region

from .. import people as population
from .. import seed as small
from ..reference import ensure_reference_data
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


def seed_city(*, seed: int = small.DEFAULT_SEED, fraction: float = 1.0,
              progress: Callable[[str], None] | None = None, stream=sys.stderr) -> CityResult:
    """Writes the city-scale demo into an empty database (all or nothing) and returns what it did.

    Raises small.SeedRefused before writing anything when the database is not empty.
    """
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    step = small.Progress(progress)
    result = CityResult()
    now = timezone.now()
    today = timezone.localdate(now)
    marks = [time.perf_counter()]

    def lap(name: str) -> None:
        marks.append(time.perf_counter())
        result.timings[name] = round(marks[-1] - marks[-2], 1)

    with transaction.atomic():
        if connection.vendor == "sqlite":
            # a big page cache: the indexes of the big tables are written in no particular order
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size=-1500000")
        reason = small.existing_data()
        if reason:
            raise small.SeedRefused(reason)
        ensure_reference_data()
        plan = small.plan_regions(seed)
        small._write_regions(plan)
        departments = small._write_departments(plan)
        users = small._write_accounts(plan, departments, random.Random(seed))
        counts = small._counts(plan, departments, users)
        step(f"区划、部门与账号已写入：{len(plan):,} 个节点、{users:,} 个账号")
        lap("structure")

        per_grid = per_grid_for(round(RESIDENTS * fraction))
        chunks = town_chunks()
        bar = Bar("个网格的人口", GRIDS, stream)
        for key in ("households", "residents", "care_tags"):
            counts[key] = 0
        for grids in chunks:
            got = population.seed_people(seed=seed, per_grid=per_grid, visit_days=0, grids=grids, now=now)
            for key in ("households", "residents", "care_tags"):
                counts[key] += got[key]
            bar.add(len(grids))
        bar.close()
        step(f"人口已写入：{counts['households']:,} 户、{counts['residents']:,} 人、"
             f"{counts['care_tags']:,} 个关爱对象标签（每网格约 {per_grid} 人）")
        lap("people")

        from .visits import seed_visits

        bar = Bar("条走访记录", round(VISITS * fraction), stream)
        counts |= seed_visits(seed=seed, total=round(VISITS * fraction), today=today, bar=bar)
        bar.close()
        step(f"走访记录已写入：{counts['visits']:,} 条（五年）")
        lap("visits")

        from .cases import seed_city_cases

        bar = Bar("件案件", round(CASES * fraction * 0.97), stream)  # about 3 % fall on no route or the future
        counts |= seed_city_cases(seed=seed, total=round(CASES * fraction), now=now, bar=bar)
        bar.close()
        story = small_story_case()
        step(f"案件已写入：{counts['cases']:,} 件，流转记录 {counts['case_events']:,} 条"
             + ("；袁台村的故事已写入" if story else ""))
        lap("cases")

        from .. import egov as demo_egov
        from .. import points as demo_points

        counts |= demo_egov.seed_egov(seed=seed, progress=step)
        lap("egov")
        counts |= demo_points.seed_points(seed=seed, now=now, progress=step)
        lap("points")

        audit_record(
            actor=None, action="demo.seed_city", object_type="regions.region", object_id=small.COUNTY_CODE,
            region_code=small.COUNTY_CODE,
            changes={"scale": "city", "seed": seed, "fraction": fraction, **counts, "timings": result.timings},
            message=f"生成城市规模演示数据：{counts['residents']:,} 名居民、{counts['visits']:,} 条走访记录、"
                    f"{counts['cases']:,} 件案件",
        )
    result.counts = counts
    result.accounts = small.demo_accounts()
    result.seconds = time.perf_counter() - marks[0]
    return result


def small_story_case():
    """The article's 袁台村 case (demo/cases.py), written after the background cases."""
    from .. import cases as demo_cases

    return demo_cases.seed_article_story()
