"""The whole plan: every grid's households, people and tags, from a seed and a day (pure)."""

import random
from datetime import date

from .. import names
from .article import article_households
from .base import (
    ARTICLE_GRID_FACTOR,
    ARTICLE_VILLAGES,
    DEFAULT_PER_GRID,
    GridInfo,
    HouseholdPlan,
    IdNumbers,
    Phones,
    PopulationPlan,
    pick,
    sample_points,
)
from .households import FLOATING_KINDS, RURAL_KINDS, URBAN_KINDS, compose, decide_residency, fill_people, place
from .tags import derived_tags, household_tags, random_tags

TAG_SHARES = {"dibao": 0.03, "dibao_marginal": 0.015}


def plan_population(grids: list[GridInfo], *, seed: int, today: date, per_grid: int = DEFAULT_PER_GRID,
                    registered: set[str] | frozenset[str] = frozenset(), ids: IdNumbers | None = None,
                    phones: Phones | None = None) -> PopulationPlan:
    """Households, residents and tags for every grid (pure: same arguments, same plan).

    `registered`: blind indexes of ID numbers already in the database, which are not handed out.
    `ids`, `phones`: the numbers handed out so far, shared by the plans of one run made town by
    town (then `registered` is theirs to check).
    """
    ids, phones = ids or IdNumbers(registered), phones or Phones()
    by_code = {g.code: g for g in grids}
    article = article_households(by_code) if all(f"{v}001" in by_code for v in ARTICLE_VILLAGES) else {}
    towns = sorted({g.town + g.village for g in grids if not g.urban})
    plan: list[HouseholdPlan] = []
    for grid in grids:
        rng = random.Random(f"{seed}:people:{grid.code}")
        factor = rng.uniform(1.0, 1.6) if grid.urban else rng.uniform(0.7, 1.3)
        if grid.code[:12] in ARTICLE_VILLAGES and grid.seq == 1:
            factor = ARTICLE_GRID_FACTOR
        target = max(3, round(per_grid * factor))
        households = list(article.get(grid.code, []))
        count = sum(len(h.members) for h in households)
        while count < target - 1:  # the last household overshoots by about two on average
            floating = rng.random() < (0.14 if grid.urban else 0.02)
            kind = pick(rng, FLOATING_KINDS if floating else URBAN_KINDS if grid.urban else RURAL_KINDS)
            members, elsewhere = compose(rng, kind)
            hh = HouseholdPlan(grid.code, "", members, floating=floating, children_elsewhere=elsewhere,
                               children_elsewhere_away=elsewhere > 0 and rng.random() < (0.12 if grid.urban else 0.3))
            if floating:
                hh.id_region = rng.choice(names.ORIGINS)[0]
            decide_residency(rng, hh, grid.urban)
            households.append(hh)
            count += len(members)
        rural = not grid.urban
        points = sample_points(grid.geom, len(households), rng, clusters=rng.randint(1, 3) if rural else 0)
        streets: dict = {"elsewhere": rng.choice(towns) + f"{names.numeral(rng.randint(1, 12))}组{rng.randint(1, 80)}号"
                         if towns else ""}
        for i, hh in enumerate(households):
            hh.number = f"{grid.code}{i + 1:03d}"
            given = hh.registered_address  # the article's households come with theirs
            fill_people(rng, hh, grid, today, ids, phones)
            place(hh, grid, i, points[i], rng, streets)
            if given:
                hh.registered_address = given
            derived_tags(rng, hh, grid, today)
            if not hh.article:
                random_tags(rng, hh, today)
        plan += households
    household_tags(random.Random(f"{seed}:assistance"), plan, today, TAG_SHARES)
    return PopulationPlan(plan, today, seed)
