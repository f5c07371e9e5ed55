"""Stage limits in working time across the 2026 National Day holiday (1-7 October) and the make-up
working Saturday 2026-10-10, with explicit datetimes; and the overdue sweep (flags, escalation,
idempotence). The calendar itself is tested in gridgov/core."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from gridgov.cases import deadlines, services
from gridgov.cases.choices import CaseState, EscalationLevel, Stage
from gridgov.cases.models import Case, CaseCategory, CaseEvent
from gridgov.cases.services import common

from . import factories as f

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


def t(month, day, hour, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def clock(monkeypatch):
    """Sets the services' clock: clock.set(datetime)."""

    class Clock:
        now = t(9, 30, 16)

        def set(self, value):
            self.now = value

    c = Clock()
    monkeypatch.setattr(common, "now", lambda: c.now)
    return c


def garbage():
    return CaseCategory.objects.select_related("parent").get(code="E0102")  # 暴露垃圾: handle 4 h


def test_limits_resolve_from_category_parent_and_defaults():
    cat = garbage()
    assert deadlines.limit_hours(cat, Stage.HANDLE, "normal") == 4
    assert deadlines.limit_hours(cat, Stage.HANDLE, "urgent") == 2
    assert deadlines.limit_hours(cat, Stage.HANDLE, "emergency") == 1
    assert deadlines.limit_hours(cat, Stage.ACCEPT, "normal") == 2  # system default
    road = CaseCategory.objects.select_related("parent").get(code="E0104")  # 道路不洁 2 h
    assert deadlines.limit_hours(road, Stage.HANDLE, "normal") == 2
    collapse = CaseCategory.objects.select_related("parent").get(code="E0401")  # 路面塌陷, 突发事件
    assert deadlines.limit_hours(collapse, Stage.HANDLE, "emergency") == 2
    assert deadlines.limit_hours(collapse, Stage.ACCEPT, "urgent") == 0.5  # from its parent E04


def test_a_stage_started_before_the_holiday_ends_after_it():
    c = deadlines.clock(garbage(), Stage.HANDLE, "normal", t(9, 30, 16))
    # 16:00-17:30 on 30 September (1.5 h), then 1-7 October off; 8 October is a working day
    assert c.deadline == t(10, 8, 11)
    assert c.due_soon_at == t(10, 8, 10, 12)  # 20 % of 4 h = 48 min before the deadline
    assert c.limit_minutes == 240


def test_a_stage_started_on_a_holiday_starts_counting_on_the_next_working_day():
    c = deadlines.clock(garbage(), Stage.HANDLE, "normal", t(10, 3, 10))
    assert c.deadline == t(10, 8, 14, 30)  # 08:30-12:00 (3.5 h) then 14:00-14:30


def test_the_make_up_saturday_counts():
    c = deadlines.clock(garbage(), Stage.HANDLE, "normal", t(10, 9, 16))
    assert c.deadline == t(10, 10, 11)  # Saturday 10 October is a working day
    c = deadlines.clock(garbage(), Stage.HANDLE, "normal", t(10, 10, 16))
    assert c.deadline == t(10, 12, 11)  # Sunday 11 October is not


def _dispatched_on_friday(world, clock) -> Case:
    clock.set(t(10, 9, 15))
    case = f.report(world.street_grid, category="E0102")
    desk = world.street_op
    services.case_accept(acting_user=desk, case=case)
    services.case_register(acting_user=desk, case=case)
    clock.set(t(10, 9, 16))
    return services.case_dispatch(acting_user=desk, case=case, department="CGJ")


def test_services_set_stage_deadlines_in_working_time(world, clock):
    case = _dispatched_on_friday(world, clock)
    case.refresh_from_db()
    assert case.number.startswith("20261009")
    assert (case.state, case.stage) == (CaseState.DISPATCHED, Stage.HANDLE)
    assert case.stage_deadline == t(10, 10, 11)
    assert case.stage_due_soon_at == t(10, 10, 10, 12)
    clock.set(t(10, 10, 9))
    services.case_handle(acting_user=world.cgj_staff, case=case)
    case.refresh_from_db()
    assert case.stage_deadline == t(10, 10, 11)  # handling keeps the stage's clock


def test_extension_moves_the_deadline_by_working_hours(world, clock):
    case = _dispatched_on_friday(world, clock)
    clock.set(t(10, 10, 9))
    services.case_extend_request(acting_user=world.cgj_staff, case=case, hours=8, reason="需调机械清运")
    services.case_extend_decide(acting_user=world.street_op, case=case, grant=True, note="同意")
    case.refresh_from_db()
    # 11:00 Saturday + 8 working hours: 1 h + 3.5 h on Saturday, Sunday off, 3.5 h on Monday morning
    assert case.stage_deadline == t(10, 12, 12)
    assert case.stage_limit_minutes == 240 + 480


def test_suspension_keeps_the_working_time_that_was_left(world, clock):
    case = _dispatched_on_friday(world, clock)
    clock.set(t(10, 10, 9, 30))  # 1.5 h on Friday + 1 h on Saturday used, 1.5 h left
    services.case_suspend(acting_user=world.street_op, case=case, reason="待清运车辆")
    case.refresh_from_db()
    assert case.stage_deadline is None and case.state == CaseState.SUSPENDED
    clock.set(t(10, 12, 14))
    services.case_resume(acting_user=world.street_op, case=case)
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED
    assert case.stage_deadline == t(10, 12, 15, 30)  # the 1.5 h left, from Monday 14:00


def test_sweep_flags_escalates_once_and_is_idempotent(world, clock):
    case = _dispatched_on_friday(world, clock)
    events = CaseEvent.objects.filter(case=case, action="escalate")

    result = services.sweep_overdue(now=t(10, 10, 10, 30))
    case.refresh_from_db()
    assert result.due_soon >= 1 and case.due_soon and not case.overdue and not events.exists()

    services.sweep_overdue(now=t(10, 10, 11, 30))
    case.refresh_from_db()
    assert case.overdue and not case.due_soon
    assert case.escalated_to_level == EscalationLevel.TOWN  # a late department goes to the town desk
    assert events.count() == 1
    assert events.get().data["level"] == EscalationLevel.TOWN and events.get().actor is None

    again = services.sweep_overdue(now=t(10, 10, 11, 30))
    assert again.escalated == 0 and again.overdue == 0 and events.count() == 1

    # late by another full limit (4 h: 1 h Saturday + 3.5 h Monday) → the city desk
    services.sweep_overdue(now=t(10, 12, 16))
    case.refresh_from_db()
    assert case.escalated_to_level == EscalationLevel.CITY and events.count() == 2
    services.sweep_overdue(now=t(10, 12, 16))
    services.sweep_overdue(now=t(10, 13, 16))
    assert events.count() == 2


def test_a_late_desk_escalates_to_the_city(world, clock):
    clock.set(t(9, 30, 16))
    case = f.report(world.grid, category="E0102")
    case.refresh_from_db()
    assert case.stage == Stage.ACCEPT and case.stage_deadline == t(10, 8, 9)  # 2 h: 1.5 h + 0.5 h
    services.sweep_overdue(now=t(10, 8, 10))
    case.refresh_from_db()
    assert case.overdue and case.escalated_to_level == EscalationLevel.CITY


def test_the_command_sweeps(world, clock, capsys):
    case = _dispatched_on_friday(world, clock)
    call_command("sweep_overdue", at="2026-10-10T11:30:00+08:00")
    assert "升级" in capsys.readouterr().out
    case.refresh_from_db()
    assert case.escalated_to_level == EscalationLevel.TOWN
    call_command("sweep_overdue", at="2026-10-10T11:30:00")  # naive: local time, the same moment
    assert "新超期 0 件，升级 0 件" in capsys.readouterr().out


def test_a_new_stage_clears_the_flags(world, clock):
    case = _dispatched_on_friday(world, clock)
    services.sweep_overdue(now=t(10, 10, 11, 30))
    clock.set(t(10, 10, 11, 45))
    services.case_feedback(acting_user=world.cgj_staff, case=case, note="已清理")
    case.refresh_from_db()
    assert (case.stage, case.overdue, case.due_soon) == (Stage.VERIFY, False, False)
    # verify 8 h from Saturday 11:45: 0.25 + 3.5 on Saturday, 3.5 + 0.75 on Monday
    assert case.stage_deadline == t(10, 12, 14, 45)
    assert case.escalated_to_level == EscalationLevel.TOWN  # escalation is a record, it stays
