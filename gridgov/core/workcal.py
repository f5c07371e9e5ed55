"""Working time with the Chinese public holidays and make-up working days (调休).

Time limits of cases and applications are counted here and only here (CONVENTIONS rule 10).
The calendar comes from `chinese-calendar` (the State Council's yearly notices); outside the
years it covers, Monday-Friday are working days. Working hours are the government office hours
in WORK_PERIODS (local time), by default 08:30-12:00 and 14:00-17:30.
"""

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar
from django.conf import settings
from django.utils import timezone

DEFAULT_PERIODS = (("08:30", "12:00"), ("14:00", "17:30"))


def _periods() -> tuple[tuple[time, time], ...]:
    raw = getattr(settings, "WORK_PERIODS", DEFAULT_PERIODS)
    return tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in raw)


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package does not know yet
        return day.weekday() < 5


def next_workday(day: date) -> date:
    day += timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (a promise of "N 个工作日" starting the next day)."""
    day = start
    for _ in range(days):
        day = next_workday(day)
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]."""
    if end <= start:
        return 0
    return sum(1 for i in range(1, (end - start).days + 1) if is_workday(start + timedelta(days=i)))


def _local(dt: datetime) -> datetime:
    return timezone.localtime(dt) if timezone.is_aware(dt) else timezone.make_aware(dt)


def _day_windows(day: date, tz) -> list[tuple[datetime, datetime]]:
    if not is_workday(day):
        return []
    return [(datetime.combine(day, a, tz), datetime.combine(day, b, tz)) for a, b in _periods()]


def add_working_time(start: datetime, duration: timedelta) -> datetime:
    """The moment when `duration` of working time has passed since `start`."""
    current = _local(start)
    tz = current.tzinfo
    remaining = duration
    day = current.date()
    for _ in range(3660):  # ten years of days: a bound, never reached by real limits
        for w_start, w_end in _day_windows(day, tz):
            if current >= w_end:
                continue
            begin = max(current, w_start)
            available = w_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
            current = w_end
        day += timedelta(days=1)
        current = max(current, datetime.combine(day, time.min, tz))
    raise ValueError("working-time limit too long")


def working_time_between(start: datetime, end: datetime) -> timedelta:
    """Working time elapsed between two moments (zero when end <= start)."""
    a, b = _local(start), _local(end)
    if b <= a:
        return timedelta(0)
    total = timedelta(0)
    day = a.date()
    while day <= b.date():
        for w_start, w_end in _day_windows(day, a.tzinfo):
            lo, hi = max(a, w_start), min(b, w_end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def working_hours_per_day() -> float:
    return sum((datetime.combine(date.min, b) - datetime.combine(date.min, a)).seconds for a, b in _periods()) / 3600
