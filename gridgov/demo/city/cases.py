"""Five years of cases at city scale: the small demo's case planner (demo/cases.py), fed with
report moments drawn from the cases' seasonality and written chunk by chunk.

Every case of the most recent year goes through the same planner as the small demo, so states,
timelines, dispatches, clocks, escalations and evaluations pass the same invariants. The planner
costs about 2 ms a case (working-time arithmetic on every step), too slow for 500,000, so the four
earlier years are made of the recent year's *finished* cases moved back by whole weeks (52, 104,
156, 208): a finished case has no running clock, the weekday of every step is kept, and the
seasons come back at the same time of year. Each moved copy is kept with the ratio of the
seasonal weights of its new and old day (the platform was used less in earlier years), so the
volume follows season.py. Merged duplicates and open cases are never copied. Copies get new case
numbers from the daily counters like any other case.
"""

import copy
import random
from datetime import datetime, timedelta
from itertools import accumulate

import numpy as np
from django.utils import timezone

from gridgov.cases.choices import OPEN_STATES
from gridgov.cases.models import CaseCategory
from gridgov.regions import codes as region_codes

from .. import cases as demo_cases
from . import season
from .pipeline import batches

CHUNK = 10_000  # plans made and written at once
WEEKS = 52


def _report_moments(rng: np.random.Generator, w: np.ndarray, first, total: int, now: datetime) -> list[datetime]:
    day = np.sort(season.sample_days(rng, w, total))
    # mostly daytime: a triangle from 06:30 to 21:00 peaking at 10:00, as the small demo
    minute = rng.triangular(6 * 60 + 30, 10 * 60, 21 * 60, total).astype(int)
    second = rng.integers(0, 60, total)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))  # fixed offset: no DST
    out = [start + timedelta(days=d, minutes=m, seconds=s)
           for d, m, s in zip(day.tolist(), minute.tolist(), second.tolist(), strict=True)]
    return sorted(at for at in out if at < now - timedelta(minutes=5))


def _shift(value, by: timedelta):
    """A deep copy of a plan's value with every datetime moved by `by`."""
    if isinstance(value, datetime):
        return value + by
    if isinstance(value, list):
        return [_shift(v, by) for v in value]
    if isinstance(value, tuple):
        return tuple(_shift(v, by) for v in value)
    if isinstance(value, dict):
        return {k: _shift(v, by) for k, v in value.items()}
    return value


def _timed(value) -> bool:
    """Whether a plan's value holds a datetime anywhere (then a moved copy needs its own)."""
    if isinstance(value, datetime):
        return True
    if isinstance(value, list | tuple):
        return any(_timed(v) for v in value)
    if isinstance(value, dict):
        return any(_timed(v) for v in value.values())
    return False


def _moved(plan, by: timedelta, timed: dict[int, list[bool]]):
    """A copy of a finished plan `by` earlier. `timed` remembers, per template, which steps' data hold
    datetimes: the others share their template's data (read only from here on), which is most of them."""
    flags = timed.get(id(plan))
    if flags is None:
        flags = timed[id(plan)] = [_timed(s.data) for s in plan.steps]
    twin = copy.copy(plan)
    twin.created_at = plan.created_at + by
    twin.steps = [copy.copy(s) for s in plan.steps]
    for s, flag in zip(twin.steps, flags, strict=True):
        s.at = s.at + by
        if flag:
            s.data = _shift(s.data, by)
    for name in ("dispatches", "extensions", "suspensions", "evaluations"):
        setattr(twin, name, _shift(getattr(plan, name), by))
    twin.handle_clock = _shift(plan.handle_clock, by)
    if plan.external_ref:
        ref = plan.external_ref  # 12345-YYYYMMDDnnnn: the hotline's number carries the day
        twin.external_ref = f"{ref[:6]}{timezone.localtime(twin.created_at):%Y%m%d}{ref[14:]}"
    return twin


def _finished(plan) -> bool:
    final = [s.to_state for s in plan.steps if s.to_state]
    return plan.duplicate_of is None and not plan.absorbed and bool(final) and final[-1] not in OPEN_STATES


def seed_city_cases(*, seed: int, total: int, now: datetime, bar=None) -> dict[str, int]:
    """Writes about `total` cases reported over the five years up to `now`; returns the counts."""
    rng = random.Random(seed * 7 + 5)
    nrng = np.random.default_rng([seed, 9])
    world = demo_cases.World()
    categories = {c.code: c for c in CaseCategory.objects.filter(is_active=True).select_related("parent")}
    planner = demo_cases.Planner(world, rng, now, categories)
    grid_codes = sorted(world.grids)
    cum = list(accumulate(demo_cases.URBAN_WEIGHT if region_codes.is_urban(c) else 1.0 for c in grid_codes))
    first, days = season.period(timezone.localdate(now))
    w = season.weights(first, days, "cases")
    recent_from = now - timedelta(weeks=WEEKS)
    moments = [at for at in _report_moments(nrng, w, first, total, now) if at >= recent_from]

    chunks = []
    for lo in range(0, len(moments), CHUNK):
        plans = []
        for at in moments[lo:lo + CHUNK]:
            grid = rng.choices(grid_codes, cum_weights=cum)[0]
            plan = planner.plan(grid, region_codes.is_urban(grid), at)
            if plan is not None:
                plans.append(plan)
        demo_cases._add_merged(plans, planner, rng)
        demo_cases._late_desk_stages(plans, planner)
        chunks.append(plans)

    templates = [p for plans in chunks for p in plans if _finished(p)]
    template_day = np.array([(timezone.localdate(p.created_at) - first).days for p in templates])
    photos = demo_cases.demo_photos()
    keys = demo_cases.Keys.read()  # every day's counter: the copies land on any day of the five years

    def produce():
        """Each chunk's rows, ready for the database, oldest first (case numbers and ids run with
        time); last, the day counters. Pure: it may run in a second process (pipeline.py)."""
        timed: dict[int, list[bool]] = {}
        for years_back in range(4, 0, -1):
            by = timedelta(weeks=-WEEKS * years_back)
            target = template_day - 364 * years_back
            ok = target >= 0
            ratio = np.where(ok, w[np.clip(target, 0, days - 1)] / w[template_day], 0.0)
            keep = np.flatnonzero(nrng.random(len(templates)) < ratio)
            for lo in range(0, len(keep), CHUNK):
                moved = [_moved(templates[i], by, timed) for i in keep[lo:lo + CHUNK]]
                rows = demo_cases.case_rows(moved, world, now, photos, keys)
                yield {"tables": demo_cases.prepare_case_rows(rows), "moved": len(moved)}
        for plans in chunks:
            rows = demo_cases.case_rows(plans, world, now, photos, keys)
            yield {"tables": demo_cases.prepare_case_rows(rows), "moved": 0}
        yield {"keys": keys}

    counts = {"cases": 0, "case_events": 0, "case_attachments": 0, "case_dispatches": 0, "cases_moved_back": 0}
    for batch in batches(produce):
        if "keys" in batch:
            batch["keys"].save()
            continue
        for key, value in demo_cases.write_case_rows(batch["tables"], prepared=True).items():
            counts[key] += value
        counts["cases_moved_back"] += batch["moved"]
        if bar:
            bar.add(len(batch["tables"][0]))
    return counts
