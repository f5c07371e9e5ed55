"""The demo population: households, residents, care tags and some weeks of visits in every grid.

`plan_population(grids, seed=, today=)` is pure (no database): households of 1-6 people whose
relations, ages, residency and tags hang together — a couple working away (外出务工) leaves its
children and parents behind, and those are the left-behind children and elderly; a widow alone in
a village is a living-alone elderly. The rates of the other groups (disabled, severe mental
disorder, 低保 …) are drawn to match the figures in docs/demo.md. `plan_visits` then walks each
grid worker through the last weeks. `seed_people()` writes both with bulk inserts and one audit row.

Same seed and same day → same people and visits (ages are counted back from the day of seeding).
"""

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.core.audit import audit_record
from gridgov.people.models import Resident
from gridgov.visits.choices import NeedKind

from .base import (
    COUNTY_CODE,
    DEFAULT_PER_GRID,
    DEFAULT_VISIT_DAYS,
    HISTORY_TOWNS,
    GridInfo,
    HouseholdPlan,
    PersonPlan,
    PopulationPlan,
    TagPlan,
    age_on,
    load_grids,
)
from .plan import plan_population
from .visits import VISIT_FIELDS, plan_visits, write_visits
from .writing import insert_rows, write_population

# What 李春艳's grid worker wrote down on his latest visit (the egov demo turns it into the application).
LI_CHUNYAN_NEED = "家属不了解严重精神障碍患者以奖代补政策，代为申请每月200元奖励"

__all__ = [
    "DEFAULT_PER_GRID", "DEFAULT_VISIT_DAYS", "HISTORY_TOWNS", "VISIT_FIELDS", "GridInfo", "HouseholdPlan",
    "PersonPlan", "PopulationPlan", "TagPlan", "age_on", "grid_workers", "insert_rows", "load_grids",
    "plan_population", "plan_visits", "seed_people", "write_population", "write_visits",
]


def grid_workers() -> dict[str, int]:
    return dict(Assignment.objects.filter(role=Role.GRID_WORKER, is_active=True, region__level=4)
                .order_by("region_id", "id").values_list("region_id", "user_id"))


def seed_people(*, seed: int, per_grid: int = DEFAULT_PER_GRID, visit_days: int = DEFAULT_VISIT_DAYS,
                grids: list[str] | None = None, now: datetime | None = None,
                progress: Callable[[str], None] = lambda s: None, plan: PopulationPlan | None = None) -> dict[str, int]:
    """Writes the population of every grid (or of `grids`), its tags and `visit_days` days of
    visits by each grid's worker, with one audit row. Call inside a transaction. `plan`: those
    grids' plan, made beforehand (the city seed makes the next town's while one is written)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    grid_infos = load_grids(grids)
    if plan is None:
        registered = set(Resident.objects.exclude(id_number_index="").values_list("id_number_index", flat=True))
        plan = plan_population(grid_infos, seed=seed, today=today, per_grid=per_grid, registered=registered)
    progress(f"人口已生成：{len(plan.households):,} 户")
    counts = write_population(plan, now=now, progress=progress)
    li = next((p.pk for _h, p in plan.people() if p.name == "李春艳"), None)
    extra = {li: (NeedKind.SERVICE.value, LI_CHUNYAN_NEED)} if li else {}
    visits = plan_visits(plan, grid_workers(), {g.code: g for g in grid_infos}, days=visit_days, now=now) \
        if visit_days > 0 else iter(())
    counts |= write_visits(visits, extra)
    progress(f"走访记录已写入：{counts['visits']:,} 条，诉求 {counts['needs']} 条（近 {visit_days} 天）")
    tag_counts = Counter(t.code for _h, p in plan.people() for t in p.tags)
    audit_record(
        actor=None, action="demo.seed_people", object_type="people.resident", object_id=COUNTY_CODE,
        region_code=COUNTY_CODE,
        changes={"seed": seed, "per_grid": per_grid, "visit_days": visit_days, **counts, "tags": dict(tag_counts)},
        message=f"生成演示人口：{counts['households']:,} 户、{counts['residents']:,} 人、"
                f"{counts['care_tags']:,} 个关爱对象标签、{counts['visits']:,} 条走访记录",
    )
    return counts
