"""Who sees which case: grid workers their grid, towns their town, departments only what is
dispatched to them inside their jurisdiction, the auditor nothing."""

import pytest

from gridgov.cases import selectors, services
from gridgov.cases.choices import CaseState
from gridgov.cases.models import Case, CaseDispatch
from gridgov.core.errors import ApplicationError
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint

from . import factories as f

pytestmark = pytest.mark.django_db


def visible_ids(user):
    return set(Case.objects.visible_to(user).values_list("pk", flat=True))


def test_grid_worker_sees_only_their_grid(world):
    mine = f.report(world.grid)
    theirs = f.report(world.grid2)
    assert mine.pk in visible_ids(world.worker) and theirs.pk not in visible_ids(world.worker)
    assert theirs.pk in visible_ids(world.worker2) and mine.pk not in visible_ids(world.worker2)
    assert {mine.pk, theirs.pk} <= visible_ids(world.grid_admin)  # both grids lie in one village
    assert_scoped_endpoint(f"cases/{mine.pk}", in_scope_user=world.worker, out_of_scope_user=world.worker2)


def test_grid_worker_reports_only_in_their_grid(world):
    with pytest.raises(ApplicationError) as caught:
        f.report(world.grid2, by=world.worker)
    assert (caught.value.status, caught.value.code) == (403, "outside_scope")
    case = services.case_report(acting_user=world.worker, category="E0102", description="没有定位")
    assert case.region_id == world.grid.code  # no position: the worker's own grid


def test_towns_and_city(world):
    case = f.report(world.grid)
    far = f.report(world.far_grid)
    assert case.pk in visible_ids(world.town_op) and far.pk not in visible_ids(world.town_op)
    assert {case.pk, far.pk} <= visible_ids(world.city_op)
    assert {case.pk, far.pk} <= visible_ids(world.sysadmin)
    assert visible_ids(world.auditor) == set()
    assert_error(*ApiClient(world.auditor).get("cases"), 403)


def test_department_sees_only_what_is_dispatched_to_it(world):
    case = world.case_in(CaseState.REGISTERED)
    assert case.pk not in visible_ids(world.station_staff)
    assert_error(*ApiClient(world.station_staff).get(f"cases/{case.pk}"), 404)
    services.case_dispatch(acting_user=world.town_op, case=case, department=world.station, helpers=["MZJ"])
    assert case.pk in visible_ids(world.station_staff) and case.pk in visible_ids(world.station_head)
    assert case.pk in visible_ids(world.mzj_staff)  # helper
    assert case.pk not in visible_ids(world.far_station_staff) and case.pk not in visible_ids(world.cgj_staff)
    status, body = ApiClient(world.station_staff).get("cases", {"q": case.number})
    assert status == 200 and [c["id"] for c in body["items"]] == [case.pk]
    assert ApiClient(world.mzj_staff).get("cases", {"q": case.number})[1]["count"] == 1
    assert ApiClient(world.far_station_staff).get("cases", {"q": case.number})[1]["count"] == 0
    # returned: the department no longer sees it
    services.case_return(acting_user=world.station_staff, case=case, reason="属于民政职责")
    assert case.pk not in visible_ids(world.station_staff) and case.pk not in visible_ids(world.mzj_staff)


def test_department_sees_dispatches_only_inside_its_jurisdiction(world):
    case = world.case_in(CaseState.REGISTERED)
    # a dispatch row to a station whose jurisdiction does not cover the case (e.g. written before the
    # jurisdiction changed): the station still does not see the case
    CaseDispatch.objects.create(case=case, department=f.dept_user(world.far_station).assignments.get().department,
                                role="lead", dispatched_by=world.town_op, dispatched_at=case.created_at)
    assert case.pk not in visible_ids(world.far_station_staff)


def test_desk_filters(world):
    a = f.report(world.grid, category="E0102")
    b = world.case_in(CaseState.DISPATCHED)
    c = f.report(world.street_grid, category="E0104", by=world.street_worker)
    user = world.city_op
    ids = lambda **kw: {x.pk for x in selectors.case_list(user=user, **kw)}  # noqa: E731
    assert {a.pk, b.pk, c.pk} <= ids()
    assert a.pk in ids(state=["reported"]) and b.pk not in ids(state=["reported"])
    assert ids(category="E01") >= {a.pk, c.pk} and b.pk not in ids(category="E01")
    assert c.pk in ids(category="E0104") and a.pk not in ids(category="E0104")
    assert ids(region=f.YINGZHONG) & {a.pk, b.pk, c.pk} == {c.pk}
    assert b.pk in ids(department=world.station) and a.pk not in ids(department=world.station)
    assert b.pk in ids(q=b.number) and a.pk not in ids(q=b.number)
    assert c.pk in ids(q="暴露垃圾") or a.pk in ids(q="暴露垃圾")
    assert a.pk in ids(source="grid_worker")
    assert not ids(due="overdue") & {a.pk, b.pk, c.pk}
    counts = selectors.case_counts(user=world.town_op)
    assert counts["reported"] >= 1 and counts["dispatched"] >= 1 and set(counts) >= {"closed", "voided"}
