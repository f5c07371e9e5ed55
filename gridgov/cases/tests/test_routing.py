"""Routing: point → grid → town, category → department, stations by jurisdiction; the dispatcher
sees the suggestion and may override it, within jurisdictions."""

import pytest

from gridgov.cases import routing, services
from gridgov.cases.choices import CaseState
from gridgov.cases.models import CaseCategory, CaseDispatch
from gridgov.core.errors import ApplicationError
from gridgov.core.testing import ApiClient, assert_error
from gridgov.regions.gcj02 import wgs84_to_gcj02

from . import factories as f

pytestmark = pytest.mark.django_db


def suggest(code, grid):
    return routing.suggest(category=CaseCategory.objects.select_related("parent").get(code=code), grid=grid)


def test_police_categories_go_to_the_station_of_the_town(world):
    s = suggest("G0104", world.grid)
    assert s.department.code == f"GAJ-{f.HUJI}" and s.town_code == f.HUJI
    assert suggest("G0104", world.far_grid).department.code == f"GAJ-{f.SHIPAI}"
    assert suggest("G1001", world.street_grid).department.code == f"GAJ-{f.YINGZHONG}"


def test_traffic_signs_go_to_the_bureau_not_the_station(world):
    assert suggest("C0201", world.grid).department.code == "GAJ"


def test_category_departments(world):
    assert suggest("E0102", world.street_grid).department.code == "CGJ"
    assert suggest("G0202", world.grid).department.code == "MZJ"  # 婚姻家庭纠纷
    assert suggest("G0301", world.grid).department.code == "YJGLJ"
    assert suggest("G0203", world.grid).department.code == "RSJ"


def test_no_suggestion_where_the_department_does_not_reach(world):
    s = suggest("E0102", world.grid)  # 城管局 covers the two streets only
    assert s.department is None and "管辖范围" in s.reason
    s = suggest("G1101", world.grid)  # no default department
    assert s.department is None


def test_report_locates_the_grid_from_gcj02(world):
    lon, lat = wgs84_to_gcj02(world.grid.centroid_lon, world.grid.centroid_lat)
    case = services.case_report(acting_user=world.worker, category="G0104", description="有人聚众赌博", lon=lon,
                                lat=lat, crs="gcj02")
    assert case.region_id == world.grid.code
    assert abs(case.lon - world.grid.centroid_lon) < 1e-6 and abs(case.lat - world.grid.centroid_lat) < 1e-6


def test_route_endpoint(world):
    lon, lat = wgs84_to_gcj02(world.grid.centroid_lon, world.grid.centroid_lat)
    status, body = ApiClient(world.worker).get("cases/route", {"category": "G0104", "lon": lon, "lat": lat,
                                                               "crs": "gcj02"})
    assert status == 200, body
    assert body["grid"]["code"] == world.grid.code and body["department"]["code"] == world.station
    assert_error(*ApiClient(world.worker).get("cases/route", {"category": "G0104", "lon": 0.0, "lat": 0.0}), 404)


def test_case_routing_endpoint_for_the_dispatcher(world):
    case = world.case_in(CaseState.REGISTERED)
    status, body = ApiClient(world.town_op).get(f"cases/{case.pk}/routing")
    assert status == 200 and body["department"]["code"] == world.station
    codes = {c["code"] for c in body["candidates"]}
    assert {world.station, "GAJ", "MZJ"} <= codes and world.far_station not in codes and "CGJ" not in codes
    assert_error(*ApiClient(world.worker).get(f"cases/{case.pk}/routing"), 403)
    assert_error(*ApiClient(world.far_town_op).get(f"cases/{case.pk}/routing"), 404)


def test_dispatcher_overrides_with_lead_and_helpers(world):
    case = world.case_in(CaseState.REGISTERED)
    services.case_dispatch(acting_user=world.town_op, case=case, department="MZJ", helpers=[world.station, "MZJ"],
                           note="以调解为主")
    rows = {(d.department.code, d.role) for d in CaseDispatch.objects.filter(case=case, is_active=True)}
    assert rows == {("MZJ", "lead"), (world.station, "helper")}
    event = case.events.get(action="dispatch")
    assert event.data["suggested"] == world.station and event.data["overridden"] is True
    # the helper sees the case but does not hold it
    assert ApiClient(world.station_staff).get(f"cases/{case.pk}")[0] == 200
    with pytest.raises(ApplicationError) as caught:
        services.case_handle(acting_user=world.station_staff, case=case)
    assert caught.value.status == 403
    services.case_handle(acting_user=world.mzj_staff, case=case)


def test_dispatch_outside_jurisdiction_is_refused_and_changes_nothing(world):
    case = world.case_in(CaseState.REGISTERED)
    for department, helpers in ((world.far_station, []), ("CGJ", []), (world.station, ["CGJ"]), ("NOPE", [])):
        with pytest.raises(ApplicationError) as caught:
            services.case_dispatch(acting_user=world.town_op, case=case, department=department, helpers=helpers)
        assert caught.value.code in ("out_of_jurisdiction", "invalid_department"), caught.value.code
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED and not CaseDispatch.objects.filter(case=case).exists()


def test_redispatch_after_failed_verification_ends_the_old_dispatch(world):
    case = world.case_in(CaseState.REOPENED)
    assert CaseDispatch.objects.filter(case=case, is_active=True).count() == 1
    services.case_dispatch(acting_user=world.town_op, case=case, department="GAJ")
    active = CaseDispatch.objects.filter(case=case, is_active=True).get()
    assert active.department.code == "GAJ"
    assert CaseDispatch.objects.get(case=case, department__code=world.station).end_reason == "redispatched"
    assert case.events.filter(action="dispatch").last().data["redispatch"] is True
