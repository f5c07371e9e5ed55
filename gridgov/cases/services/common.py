"""What every case service shares: the clock, locking, the table check, the timeline, numbering."""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound

from .. import deadlines, workflow
from ..access import REPORTER, access_case, actor_roles
from ..choices import STAGE_OF_STATE
from ..models import Case, CaseCounter, CaseEvent

MAX_NOTE = 2000
# The role written on the timeline when an actor holds several on the case: the most specific.
ROLE_ORDER = (Role.DEPT_HEAD, Role.DEPT_STAFF, Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR,
              Role.CITY_OPERATOR, REPORTER, Role.SYSADMIN)


class Conflict(ApplicationError):
    status = 409


def now() -> datetime:
    """The services' clock (one place for tests to set the time)."""
    return timezone.now()


def text(value, *, field: str, required: bool = False, limit: int = MAX_NOTE, what: str = "说明") -> str:
    from gridgov.core.errors import ValidationFailed

    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"请填写{what}", code="required", extra={"field": field})
    if len(value) > limit:
        raise ValidationFailed(f"{what}不能超过 {limit} 字", code="too_long", extra={"field": field})
    return value


def lock(acting_user, case) -> Case:
    """The case row, locked for the transaction, if the actor may see it (else 404)."""
    case_id = case.pk if isinstance(case, Case) else case
    if case_id is None:
        raise NotFound()
    return access_case(acting_user, case_id, for_update=True)


def begin(acting_user, case, action: str) -> tuple[Case, workflow.Row, set[str]]:
    """Lock, then check the table: (case, row, the actor's roles on the case)."""
    case = lock(acting_user, case)
    roles = actor_roles(acting_user, case)
    row = workflow.check(action, case.state, roles)
    return case, row, roles


def main_role(roles: set[str], allowed=frozenset()) -> str:
    usable = [r for r in ROLE_ORDER if r in roles and (not allowed or r in allowed)]
    return usable[0] if usable else ""


def actor_name(user) -> str:
    if user is None:
        return "系统"
    return (getattr(user, "full_name", "") or user.get_username())[:100]


def event(case: Case, *, actor, action: str, from_state: str, to_state: str, at: datetime, role: str = "",
          note: str = "", data: dict | None = None) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case, actor=actor, actor_name=actor_name(actor), actor_role=role, action=action,
        from_state=from_state, to_state=to_state, note=note, data=data or {}, created_at=at,
    )


def enter_stage(case: Case, state: str, at: datetime) -> list[str]:
    """Moves `case` to `state`; starts the stage's clock when the stage changes. Returns the fields set."""
    stage = STAGE_OF_STATE.get(state, "")
    case.state = state
    fields = ["state"]
    if stage != case.stage or not stage:
        if stage:
            c = deadlines.clock(case.category, stage, case.urgency, at)
            case.stage, case.stage_started_at, case.stage_limit_minutes = stage, at, c.limit_minutes
            case.stage_due_soon_at, case.stage_deadline = c.due_soon_at, c.deadline
        else:
            case.stage, case.stage_started_at, case.stage_limit_minutes = "", None, None
            case.stage_due_soon_at = case.stage_deadline = None
        case.due_soon = case.overdue = False
        fields += ["stage", "stage_started_at", "stage_limit_minutes", "stage_due_soon_at", "stage_deadline",
                   "due_soon", "overdue"]
    return fields


def save(case: Case, fields: list[str]) -> None:
    case.full_clean(exclude=["region", "category", "reporter", "lead_department", "duplicate_of"],
                    validate_unique=False, validate_constraints=False)
    case.save(update_fields=sorted(set(fields) | {"updated_at"}))


def audit(acting_user, case: Case, action: str, changes: dict | None = None, message: str = "") -> None:
    audit_record(actor=acting_user, action=f"cases.{action}", obj=case, changes=changes or {}, message=message)


def transition(acting_user, case: Case, row: workflow.Row, roles: set[str], *, at: datetime, target: str | None = None,
               note: str = "", data: dict | None = None, extra_fields: list[str] | None = None) -> Case:
    """The common tail of a state-changing service: state (and clock), save, timeline event, audit."""
    before = case.state
    target = target or row.target
    fields = enter_stage(case, target, at) + list(extra_fields or [])
    save(case, fields)
    case.last_event = event(case, actor=acting_user, action=row.action, from_state=before, to_state=target, at=at,
                            role=main_role(roles, row.roles), note=note, data=data)
    audit(acting_user, case, row.action, {"state": [before, target], **({"data": data} if data else {})})
    return case


def next_number(day) -> str:
    """YYYYMMDD + a 5-digit daily serial, in one UPSERT … RETURNING (SQLite ≥ 3.35 and PostgreSQL).
    The upsert locks the day's counter row until commit, so concurrent reports queue here instead of
    taking the same number."""
    table = connection.ops.quote_name(CaseCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (day, last) VALUES (%s, 1) ON CONFLICT (day) "
                       f"DO UPDATE SET last = {table}.last + 1 RETURNING last", [day])
        last = cursor.fetchone()[0]
    return f"{day:%Y%m%d}{last:05d}"
