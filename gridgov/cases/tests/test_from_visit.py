"""A case taken over from a visit's need in one step (enter once, use everywhere)."""

import pytest
from django.utils import timezone

from gridgov.cases import services
from gridgov.core.errors import ApplicationError
from gridgov.core.testing import ApiClient, assert_error
from gridgov.visits import services as visit_services
from gridgov.visits.models import Need
from gridgov.visits.tests import factories as vf

pytestmark = pytest.mark.django_db


@pytest.fixture
def need(world):
    lon, lat = world.grid.centroid_lon + 0.0011, world.grid.centroid_lat + 0.0004
    resident = vf.make_resident(world.grid, name="独居老人", lon=lon, lat=lat)
    visit = visit_services.visit_record(acting_user=world.worker, resident=resident, visited_at=timezone.now(),
                                        lon=lon, lat=lat, findings="门前电线老化", needs=[
                                            {"kind": "case", "text": "门前电线老化裸露，有触电隐患"},
                                            {"kind": "service", "text": "申请临时救助"}])
    return visit.needs.get(kind="case")


def test_report_from_a_need(world, need):
    case = services.case_report(acting_user=world.worker, category="G0403", need=need.pk, description="")
    assert case.source == "visit" and case.description == "门前电线老化裸露，有触电隐患"
    assert case.region_id == world.grid.code and case.lon == need.visit.lon
    assert case.external_ref == f"visit:{need.visit_id}"
    need.refresh_from_db()
    assert need.status == "forwarded" and need.forwarded_ref == case.number


def test_need_refusals_change_nothing(world, need):
    service_need = Need.objects.get(visit=need.visit, kind="service")
    for user, target, code in ((world.worker, service_need, "invalid_need"),
                               (world.worker2, need, "invalid_need")):
        with pytest.raises(ApplicationError) as caught:
            services.case_report(acting_user=user, category="G0403", need=target.pk, description="")
        assert caught.value.code == code
    services.case_report(acting_user=world.worker, category="G0403", need=need.pk, description="")
    status, body = ApiClient(world.worker).post("cases", {"category": "G0403", "need": need.pk})
    assert_error(status, body, 409, "need_already_forwarded")
    need.refresh_from_db()
    assert need.status == "forwarded"
