"""The visiting rule, written once (docs/visits.md).

For a resident and a day D:
- the resident's open tags on D are those with start ≤ D < ended_on (start = `since`, or the day
  the tag was entered when `since` is blank), counting only tags the viewer may see;
- the required frequency is the smallest `visit_every_days` over those tags;
- the resident is *due* on D if never visited before D, or if last visit (before D) + frequency ≤ D;
- *done* on D if visited on D; *overdue* by (D − due date) days when that is positive, where the due
  date is last visit + frequency, or the start of the earliest open tag for someone never visited.

The must-visit list applies the rule in Python over the rows of one grid; coverage and the overdue
list apply the same rule in SQL (queries.py) to aggregate whole towns. Tests check both agree.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q
from django.utils import timezone


def tag_open_q(day: date, prefix: str = "") -> Q:
    """Care tags open on `day` (field names relative to CareTag, or to `prefix`__ when given)."""
    p = f"{prefix}__" if prefix else ""
    started = Q(**{f"{p}since__lte": day}) | Q(**{f"{p}since__isnull": True, f"{p}created_at__date__lte": day})
    not_ended = Q(**{f"{p}ended_on__isnull": True}) | Q(**{f"{p}ended_on__gt": day})
    return started & not_ended


def tag_start(since: date | None, created_at) -> date:
    return since or timezone.localdate(created_at)


@dataclass(frozen=True)
class Due:
    due: bool
    due_date: date
    days_overdue: int
    never_visited: bool


def evaluate(*, day: date, frequency: int, last_before: date | None, first_start: date) -> Due:
    if last_before is None:
        due_date = first_start
    else:
        due_date = last_before + timedelta(days=frequency)
    return Due(due=due_date <= day, due_date=due_date, days_overdue=max((day - due_date).days, 0),
               never_visited=last_before is None)
