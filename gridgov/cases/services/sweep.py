"""The overdue sweep (超期扫描): flags due-soon and overdue cases and escalates overdue ones.

Each stage has an owner: the department for the handle stage, the town desk for the others. An
overdue case escalates one level above its owner — a late department to the town desk (镇综治中心),
a late town desk to the city desk (市网格化管理中心) — and, once it is late by another full stage
limit, to the city desk. Escalation only ever moves up, so running the sweep again at the same
moment changes nothing (idempotent); every escalation writes one timeline event.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from gridgov.core.audit import audit_record

from .. import deadlines
from ..choices import OPEN_STATES, EscalationLevel, Stage
from ..models import Case
from . import common

BATCH = 500


@dataclass
class SweepResult:
    due_soon: int = 0
    overdue: int = 0
    escalated: int = 0


def target_level(case: Case, now: datetime) -> int | None:
    late = deadlines.overdue_by(case, now)
    if case.stage_deadline is None or now < case.stage_deadline:
        return None
    if case.stage != Stage.HANDLE:
        return EscalationLevel.CITY
    limit = timedelta(minutes=case.stage_limit_minutes or 0)
    return EscalationLevel.CITY if limit and late >= limit else EscalationLevel.TOWN


def sweep_overdue(*, now: datetime | None = None) -> SweepResult:
    """Marks due-soon and overdue open cases and escalates overdue ones (see the module docstring).
    Safe to run as often as wanted and from several workers: each case is updated under its row lock."""
    now = now or common.now()
    result = SweepResult()
    open_states = list(OPEN_STATES)
    with transaction.atomic():
        result.due_soon = Case.objects.filter(state__in=open_states, stage_due_soon_at__lte=now,
                                              stage_deadline__gt=now, due_soon=False).update(due_soon=True)
    pending = Q(overdue=False) | Q(escalated_to_level__isnull=True) | Q(escalated_to_level__gt=EscalationLevel.CITY)
    ids = list(Case.objects.filter(pending, state__in=open_states, stage_deadline__lte=now)
               .order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            for case in (Case.objects.select_for_update().filter(pk__in=ids[start:start + BATCH],
                                                                 state__in=open_states, stage_deadline__lte=now)
                         .order_by("pk")):
                _sweep_one(case, now, result)
    if result.overdue or result.escalated:
        audit_record(actor=None, action="cases.sweep_overdue", object_type="cases.case", region_code="",
                     changes={"due_soon": result.due_soon, "overdue": result.overdue, "escalated": result.escalated},
                     username="system")
    return result


def _sweep_one(case: Case, now: datetime, result: SweepResult) -> None:
    fields = []
    if not case.overdue:
        case.overdue, case.due_soon = True, False
        fields += ["overdue", "due_soon"]
        result.overdue += 1
    level = target_level(case, now)
    if level is not None and (case.escalated_to_level is None or case.escalated_to_level > level):
        before = case.escalated_to_level
        case.escalated_to_level, case.escalated_at = level, now
        fields += ["escalated_to_level", "escalated_at"]
        late = deadlines.overdue_by(case, now)
        common.event(case, actor=None, action="escalate", from_state=case.state, to_state=case.state, at=now,
                     note=f"{case.get_stage_display()}阶段超期，升级至{EscalationLevel(level).label}",
                     data={"stage": case.stage, "deadline": case.stage_deadline.isoformat(), "from_level": before,
                           "level": level, "overdue_minutes": int(late.total_seconds() // 60)})
        result.escalated += 1
    if fields:
        case.save(update_fields=fields + ["updated_at"])
