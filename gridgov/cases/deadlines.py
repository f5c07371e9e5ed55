"""Stage time limits in working time (gridgov.core.workcal is the only clock that counts).

A category's limits come from its own `time_limits`, then its parent's, then DEFAULT_LIMITS. A
number is the limit for a normal case; urgent cases get half and emergencies a quarter (never less
than MIN_HOURS), unless the category names the urgency explicitly.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from gridgov.core import workcal

from .choices import Stage, Urgency

DEFAULT_LIMITS: dict[str, float] = {
    Stage.ACCEPT: 2, Stage.REGISTER: 2, Stage.DISPATCH: 2, Stage.HANDLE: 40, Stage.VERIFY: 8, Stage.CLOSE: 4,
}
URGENCY_FACTOR = {Urgency.NORMAL: 1.0, Urgency.URGENT: 0.5, Urgency.EMERGENCY: 0.25}
MIN_HOURS = 0.5
DUE_SOON_SHARE = 0.2  # due soon when less than 20 % of the stage's limit is left


def _resolve(value, urgency: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, dict):
        if urgency in value:
            return float(value[urgency])
        if Urgency.NORMAL in value:
            return max(MIN_HOURS, float(value[Urgency.NORMAL]) * URGENCY_FACTOR[urgency])
        # only stricter urgencies given: the least strict one given, scaled back
        for other in (Urgency.URGENT, Urgency.EMERGENCY):
            if other in value:
                return max(MIN_HOURS, float(value[other]) * URGENCY_FACTOR[urgency] / URGENCY_FACTOR[other])
        return None
    return max(MIN_HOURS, float(value) * URGENCY_FACTOR[urgency]) if urgency != Urgency.NORMAL else float(value)


def limit_hours(category, stage: str, urgency: str) -> float:
    """The working hours allowed for `stage` of a case of `category` and `urgency`."""
    node = category
    while node is not None:
        hours = _resolve((node.time_limits or {}).get(stage), urgency)
        if hours is not None:
            return hours
        node = node.parent if node.parent_id else None
    return _resolve(DEFAULT_LIMITS[stage], urgency)


@dataclass(frozen=True)
class StageClock:
    stage: str
    started_at: datetime
    limit_minutes: int
    due_soon_at: datetime
    deadline: datetime


def clock(category, stage: str, urgency: str, start: datetime, *, minutes: int | None = None) -> StageClock:
    """The clock of a stage starting at `start` (with `minutes` of working time, default the limit)."""
    if minutes is None:
        minutes = round(limit_hours(category, stage, urgency) * 60)
    full = minutes
    return _clock(stage, start, minutes, full)


def _clock(stage: str, start: datetime, minutes: int, full_minutes: int) -> StageClock:
    deadline = workcal.add_working_time(start, timedelta(minutes=minutes))
    soon_left = timedelta(minutes=full_minutes * DUE_SOON_SHARE)
    remaining = timedelta(minutes=minutes)
    due_soon_at = (start if remaining <= soon_left
                   else workcal.add_working_time(start, remaining - soon_left))
    return StageClock(stage, start, full_minutes, due_soon_at, deadline)


def resumed(stage: str, start: datetime, remaining_minutes: int, full_minutes: int) -> StageClock:
    """The clock after a suspension: the working time that was left, from `start`."""
    return _clock(stage, start, max(remaining_minutes, 0), full_minutes)


def extended(case, hours: int) -> tuple[datetime, datetime]:
    """(new due-soon moment, new deadline) when `hours` working hours are added to the stage."""
    deadline = workcal.add_working_time(case.stage_deadline, timedelta(hours=hours))
    full = (case.stage_limit_minutes or 0) + hours * 60
    due_soon_at = _back(deadline, timedelta(minutes=full * DUE_SOON_SHARE), case.stage_started_at)
    return due_soon_at, deadline


def _back(deadline: datetime, amount: timedelta, floor: datetime) -> datetime:
    """The moment `amount` of working time before `deadline` (not before `floor`)."""
    total = workcal.working_time_between(floor, deadline)
    if total <= amount:
        return floor
    return workcal.add_working_time(floor, total - amount)


def remaining_minutes(case, now: datetime) -> int | None:
    if case.stage_deadline is None:
        return None
    if now >= case.stage_deadline:
        return 0
    return int(workcal.working_time_between(now, case.stage_deadline).total_seconds() // 60)


def overdue_by(case, now: datetime) -> timedelta:
    if case.stage_deadline is None or now <= case.stage_deadline:
        return timedelta(0)
    return workcal.working_time_between(case.stage_deadline, now)
