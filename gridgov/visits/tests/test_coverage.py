"""Coverage, the overdue list and the worker's month on a constructed case, and their agreement with
the must-visit list (the rule is written once in Python and once in SQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridgov.accounts.policy import forget_scope
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.visits import selectors

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(village, grid, grid2, worker, worker2):
    """Grid 1: 4 due today (2 visited today), 1 not due. Grid 2: 2 due, 1 visited; 1 ended tag."""
    today = timezone.localdate()
    g1 = []
    for _ in range(4):
        p = f.make_resident(grid)
        f.make_tag(p, "left_behind_elderly")
        f.make_visit(p, worker, f.days_ago(1))
        g1.append(p)
    f.make_visit(g1[0], worker, today)
    f.make_visit(g1[1], worker, today)
    f.make_visit(g1[1], worker, today, hour=15)  # two visits to one person count once
    not_due = f.make_resident(grid)
    f.make_tag(not_due, "dibao")
    f.make_visit(not_due, worker, f.days_ago(5))
    f.make_visit(not_due, worker, today)  # visited though not due: not in required nor in visited
    g2 = []
    for n in (3, 9):
        p = f.make_resident(grid2)
        f.make_tag(p, "advanced_age")
        f.make_visit(p, worker2, f.days_ago(n))
        g2.append(p)
    f.make_visit(g2[1], worker2, today)
    ended = f.make_resident(grid2)
    f.make_tag(ended, "left_behind_child", ended_on=f.days_ago(1))
    never = f.make_resident(grid2)
    f.make_tag(never, "extreme_poverty", since=today)
    return {"g1": g1, "g2": g2, "never": never}


def test_coverage_per_grid_and_village(village, grid, grid2, town_operator, case):
    result = selectors.coverage(user=town_operator, region=village[0].code)
    rows = {r.code: (r.required, r.visited) for r in result.children}
    # grid 1: 4 due, 2 visited. grid 2: the 3-days-ago weekly is not due, the 9-days-ago one is (visited
    # today), the never-visited person whose tag starts today is due; the ended tag does not count.
    assert rows == {grid.code: (4, 2), grid2.code: (2, 1)}
    assert (result.total.required, result.total.visited) == (6, 3)
    assert result.total.rate == 0.5
    one = selectors.coverage(user=town_operator, region=grid.code)
    assert (one.total.required, one.total.visited, one.children) == (4, 2, [])


def test_coverage_agrees_with_the_must_visit_lists(grid, grid2, worker, worker2, case):
    for user, g in ((worker, grid), (worker2, grid2)):
        listed = selectors.must_visit_list(user=user)
        cov = selectors.coverage(user=user, region=g.code)
        assert (cov.total.required, cov.total.visited) == (listed.count, listed.done_count)
        for back in (1, 2, 4, 8):
            day = f.days_ago(back)
            listed = selectors.must_visit_list(user=user, day=day)
            cov = selectors.coverage(user=user, region=g.code, day=day)
            assert (cov.total.required, cov.total.visited) == (listed.count, listed.done_count), day


def test_town_coverage_adds_our_village_to_its_row(village, town_operator, case):
    # The town's other villages may hold demo people; our village's row is ours alone.
    result = selectors.coverage(user=town_operator, region=f.HUJI)
    row = next(r for r in result.children if r.code == village[0].code)
    assert (row.required, row.visited) == (6, 3)
    assert result.total.required == sum(r.required for r in result.children)


def test_coverage_is_one_grouped_query(village, town_operator, case):
    forget_scope(town_operator)
    selectors.coverage(user=town_operator, region=village[0].code)
    with CaptureQueriesContext(connection) as ctx:
        selectors.coverage(user=town_operator, region=f.HUJI)
    grouped = [q["sql"] for q in ctx.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1 and ("SUBSTR" in grouped[0].upper())
    assert len(ctx.captured_queries) <= 4


def test_coverage_scope_and_sight(village, grid, worker, cadre, case):
    with pytest.raises(NotFound):
        selectors.coverage(user=worker, region=village[0].code)  # a grid worker sees their grid only
    with pytest.raises(NotFound):
        selectors.coverage(user=cadre, region=f.HUJI)
    patient = f.make_resident(grid)
    f.make_tag(patient, "severe_mental_disorder", risk_level=5)
    as_worker = selectors.coverage(user=worker, region=grid.code).total.required
    as_cadre = selectors.coverage(user=cadre, region=grid.code).total.required
    assert as_worker == as_cadre + 1
    with pytest.raises(ValidationFailed):
        selectors.coverage(user=worker, region=grid.code, day=f.days_ago(-3))


def test_overdue_list(village, grid, grid2, town_operator, worker, case):
    late = f.make_resident(grid, name="逾期人")
    f.make_tag(late, "left_behind_child")
    f.make_visit(late, worker, f.days_ago(4))
    result = selectors.overdue_list(user=town_operator, region=village[0].code)
    # grid 2's 9-days-ago weekly person was 2 days overdue but is visited today: not listed.
    assert [(i.resident_id, i.days_overdue) for i in result] == [(late.pk, 3)]
    assert result[0].grid_code == grid.code and result[0].frequency_days == 1
    assert result[0].due_date == f.days_ago(3)
    # Seen from yesterday, the weekly person was overdue by 1 and the late child by 2.
    earlier = selectors.overdue_list(user=town_operator, region=village[0].code, day=f.days_ago(1))
    assert [(i.resident_id, i.days_overdue) for i in earlier] == [(late.pk, 2), (case["g2"][1].pk, 1)]
    listed = selectors.must_visit_list(user=worker)
    assert [i.resident_id for i in listed.items if i.overdue] == [late.pk]


def test_worker_month(grid, worker, worker2, town_operator, cadre, case):
    today = timezone.localdate()
    month = selectors.worker_month(user=worker, worker_id=worker.pk)
    assert month.month == today.replace(day=1) and [g.code for g in month.grids] == [grid.code]
    by_day = {d.day: d for d in month.days}
    assert (by_day[today].required, by_day[today].done, by_day[today].visits) == (4, 2, 4)
    future = [d for d in month.days if d.day > today]
    assert all(d.required is None for d in future)
    assert selectors.worker_month(user=town_operator, worker_id=worker.pk).days[today.day - 1].required == 4
    with pytest.raises(NotFound):
        selectors.worker_month(user=worker2, worker_id=worker.pk)
    with pytest.raises(NotFound):
        selectors.worker_month(user=town_operator, worker_id=999_999)
    assert selectors.worker_month(user=cadre, worker_id=worker.pk).days[today.day - 1].done == 2
