from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gridgov.core import workcal

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=9, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def test_national_day_2026_and_its_make_up_saturday():
    assert not workcal.is_workday(date(2026, 10, 1))
    assert not workcal.is_workday(date(2026, 10, 7))
    assert workcal.is_workday(date(2026, 10, 10))  # Saturday, a make-up working day
    assert not workcal.is_workday(date(2026, 10, 11))  # Sunday
    assert workcal.is_workday(date(2026, 9, 30))


def test_working_days_jump_the_holiday_and_count_the_make_up_day():
    # Three working days from Wednesday 30 September: 8, 9 and Saturday 10 October.
    assert workcal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert workcal.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert workcal.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4


def test_four_working_hours_before_the_holiday_end_after_it():
    # Reported 16:30 on 30 September: one hour that day, three more on 8 October from 08:30.
    deadline = workcal.add_working_time(at(2026, 9, 30, 16, 30), timedelta(hours=4))
    assert deadline == at(2026, 10, 8, 11, 30)


def test_lunch_break_and_evenings_do_not_count():
    assert workcal.add_working_time(at(2026, 10, 12, 11, 0), timedelta(hours=2)) == at(2026, 10, 12, 15, 0)
    assert workcal.add_working_time(at(2026, 10, 12, 20, 0), timedelta(hours=1)) == at(2026, 10, 13, 9, 30)
    assert workcal.add_working_time(at(2026, 10, 12, 12, 30), timedelta(minutes=30)) == at(2026, 10, 12, 14, 30)


def test_make_up_saturday_counts_as_working_time():
    deadline = workcal.add_working_time(at(2026, 10, 9, 17, 0), timedelta(hours=1))
    assert deadline == at(2026, 10, 10, 9, 0)


def test_elapsed_working_time_is_the_inverse():
    start = at(2026, 9, 30, 16, 30)
    end = workcal.add_working_time(start, timedelta(hours=10))
    assert workcal.working_time_between(start, end) == timedelta(hours=10)
    assert workcal.working_time_between(end, start) == timedelta(0)
    assert workcal.working_time_between(at(2026, 10, 3), at(2026, 10, 5)) == timedelta(0)


def test_years_beyond_the_calendar_fall_back_to_weekdays():
    assert workcal.is_workday(date(2099, 6, 1))  # a Monday
    assert not workcal.is_workday(date(2099, 6, 6))  # a Saturday


def test_default_day_is_seven_hours():
    assert workcal.working_hours_per_day() == 7.0
