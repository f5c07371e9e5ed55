"""The must-visit list follows the tags' frequencies, the last visit and the viewer's sight."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridgov.accounts.policy import forget_scope
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.visits.selectors import must_visit_list

from . import factories as f

pytestmark = pytest.mark.django_db


def ids(result):
    return [i.resident_id for i in result.items]


def item(result, resident):
    return next(i for i in result.items if i.resident_id == resident.pk)


def test_daily_tag_is_due_every_day(grid, worker):
    child = f.make_resident(grid, birth=f.days_ago(3650))
    f.make_tag(child, "left_behind_child")
    f.make_visit(child, worker, f.days_ago(1))
    result = must_visit_list(user=worker)
    assert ids(result) == [child.pk]
    it = item(result, child)
    assert it.frequency_days == 1 and it.days_overdue == 0 and not it.done and not it.never_visited
    assert it.last_visit_date == f.days_ago(1)


def test_weekly_tag_is_due_seven_days_after_the_last_visit_not_before(grid, worker):
    old = f.make_resident(grid)
    f.make_tag(old, "advanced_age")
    f.make_visit(old, worker, f.days_ago(6))
    assert must_visit_list(user=worker).items == []
    assert ids(must_visit_list(user=worker, day=f.days_ago(-1))) == [old.pk]
    # Seen from the day of the visit + 7 exactly: due, not overdue.
    due = item(must_visit_list(user=worker, day=f.days_ago(-1)), old)
    assert due.due_date == f.days_ago(-1) and due.days_overdue == 0


def test_the_tightest_frequency_of_the_open_tags_wins(grid, worker):
    person = f.make_resident(grid)
    f.make_tag(person, "dibao")  # 30 days
    f.make_tag(person, "disabled", grade="一级")  # 7 days, 3 by rule for grade 一级
    f.make_visit(person, worker, f.days_ago(3))
    it = item(must_visit_list(user=worker), person)
    assert it.frequency_days == 3 and it.days_overdue == 0
    assert [t["code"] for t in it.tags] == ["disabled", "dibao"]
    # What to check: the union of both checklists, in the tags' order, without repeats.
    assert [c["item"] for c in it.checklist] == ["两项补贴领取", "康复与辅具", "生活照料", "家庭收入变化",
                                                 "保障金到账", "动态管理"]


def test_mental_disorder_risk_level_three_is_daily_level_one_monthly(grid, worker):
    high = f.make_resident(grid, name="李春艳")
    f.make_tag(high, "severe_mental_disorder", risk_level=3, in_hospital=True)
    low = f.make_resident(grid)
    f.make_tag(low, "severe_mental_disorder", risk_level=1)
    for person in (high, low):
        f.make_visit(person, worker, f.days_ago(1))
    result = must_visit_list(user=worker)
    assert ids(result) == [high.pk]
    assert item(result, high).frequency_days == 1
    assert low.pk in ids(must_visit_list(user=worker, day=f.days_ago(-29)))
    assert low.pk not in ids(must_visit_list(user=worker, day=f.days_ago(-28)))


def test_ended_tags_and_inactive_residents_are_not_counted(grid, worker):
    ended = f.make_resident(grid)
    f.make_tag(ended, "left_behind_child", ended_on=f.days_ago(2))
    moved = f.make_resident(grid, state="moved_out")
    f.make_tag(moved, "left_behind_elderly")
    future = f.make_resident(grid)
    f.make_tag(future, "left_behind_woman", since=f.days_ago(-3))
    untagged = f.make_resident(grid)
    result = must_visit_list(user=worker)
    assert result.items == []
    # Before it ended, the tag counted.
    assert ids(must_visit_list(user=worker, day=f.days_ago(3))) == [ended.pk]
    assert untagged.pk not in ids(must_visit_list(user=worker, day=f.days_ago(-5)))


def test_residents_of_other_grids_are_never_listed(grid, grid2, worker, worker2):
    mine = f.make_resident(grid)
    f.make_tag(mine, "left_behind_child")
    theirs = f.make_resident(grid2)
    f.make_tag(theirs, "left_behind_child")
    assert ids(must_visit_list(user=worker)) == [mine.pk]
    assert ids(must_visit_list(user=worker2)) == [theirs.pk]
    with pytest.raises(NotFound):
        must_visit_list(user=worker, grid=grid2.code)


def test_overdue_first_most_days_first_then_walking_order_then_done(grid, worker):
    west, north = grid.min_lon, grid.max_lat
    centre = (grid.centroid_lon, grid.centroid_lat)
    # Three people due today (visited yesterday, daily tags), placed along a line from the centre.
    near = f.make_resident(grid, lon=centre[0] + 0.001, lat=centre[1])
    far = f.make_resident(grid, lon=centre[0] + 0.004, lat=centre[1])
    middle = f.make_resident(grid, lon=centre[0] + 0.002, lat=centre[1])
    nowhere = f.make_resident(grid)  # no coordinates: stands at the centre, so comes first
    for person in (near, far, middle, nowhere):
        f.make_tag(person, "left_behind_elderly")
        f.make_visit(person, worker, f.days_ago(1))
    # Two overdue: one by 1 day, one by 4 days; one already done today.
    late1 = f.make_resident(grid, lon=west, lat=north)
    f.make_tag(late1, "left_behind_elderly")
    f.make_visit(late1, worker, f.days_ago(2))
    late4 = f.make_resident(grid, lon=west, lat=north)
    f.make_tag(late4, "left_behind_elderly")
    f.make_visit(late4, worker, f.days_ago(5))
    done = f.make_resident(grid, lon=centre[0], lat=centre[1])
    f.make_tag(done, "left_behind_elderly")
    f.make_visit(done, worker, f.days_ago(1))
    today_visit = f.make_visit(done, worker, timezone.localdate(), hour=0)

    result = must_visit_list(user=worker)
    assert ids(result) == [late4.pk, late1.pk, nowhere.pk, near.pk, middle.pk, far.pk, done.pk]
    assert [i.days_overdue for i in result.items[:2]] == [4, 1]
    assert item(result, done).done and item(result, done).visit_id == today_visit.pk
    assert result.count == 7 and result.done_count == 1 and result.overdue_count == 2


def test_never_visited_is_due_and_overdue_since_the_tag_started(grid, worker):
    person = f.make_resident(grid)
    f.make_tag(person, "dibao", since=f.days_ago(10))
    it = item(must_visit_list(user=worker), person)
    assert it.never_visited and it.days_overdue == 10 and it.due_date == f.days_ago(10)


def test_roles_without_sight_of_sensitive_tags_do_not_see_those_people(grid, worker, cadre, town_operator):
    patient = f.make_resident(grid)
    f.make_tag(patient, "severe_mental_disorder", risk_level=4)
    elderly = f.make_resident(grid)
    f.make_tag(elderly, "left_behind_elderly")
    assert set(ids(must_visit_list(user=worker))) == {patient.pk, elderly.pk}
    assert set(ids(must_visit_list(user=town_operator, grid=grid.code))) == {patient.pk, elderly.pk}
    assert ids(must_visit_list(user=cadre, grid=grid.code)) == [elderly.pk]


def test_others_must_name_a_grid_inside_their_scope(grid, cadre, town_operator):
    with pytest.raises(ValidationFailed) as exc:
        must_visit_list(user=town_operator)
    assert exc.value.code == "grid_required"
    with pytest.raises(ValidationFailed):
        must_visit_list(user=town_operator, grid=grid.parent_id)
    with pytest.raises(NotFound):
        must_visit_list(user=cadre, grid="420881108201001")


def test_query_count_does_not_grow_with_the_grid(grid, worker):
    def run():
        forget_scope(worker)
        with CaptureQueriesContext(connection) as ctx:
            must_visit_list(user=worker)
        return len(ctx.captured_queries)

    for _ in range(3):
        p = f.make_resident(grid, lon=grid.centroid_lon, lat=grid.centroid_lat)
        f.make_tag(p, "left_behind_child")
    small = run()
    for _ in range(30):
        p = f.make_resident(grid, lon=grid.centroid_lon + 0.001, lat=grid.centroid_lat)
        f.make_tag(p, "left_behind_child")
        f.make_tag(p, "disabled")
        f.make_visit(p, worker, f.days_ago(2))
    assert run() == small <= 7
