"""Working days by index: `workcal.add_working_days` answers one date at a time through the holiday
package; the bulk writers need hundreds of thousands of answers, so the working days of the period
are listed once and looked up by bisection (the same days, from the same `workcal.is_workday`)."""

from bisect import bisect_right
from datetime import date, timedelta

from gridgov.core import workcal


class WorkDays:
    def __init__(self, first: date, last: date):
        days = (last - first).days + 1
        self.days = [d for d in (first + timedelta(days=i) for i in range(days)) if workcal.is_workday(d)]

    def add(self, start: date, n: int) -> date:
        """`workcal.add_working_days(start, n)`: the n-th working day after `start`."""
        if n <= 0:
            return start
        i = bisect_right(self.days, start) + n - 1
        return self.days[i] if i < len(self.days) else workcal.add_working_days(start, n)

    def between(self, start: date, end: date) -> int:
        """`workcal.working_days_between`: working days in (start, end]."""
        return max(0, bisect_right(self.days, end) - bisect_right(self.days, start))

    def on_or_after(self, day: date) -> date:
        return day if workcal.is_workday(day) else self.add(day, 1)
