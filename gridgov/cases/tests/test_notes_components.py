"""Work notes on the timeline (case_note), cases about registered components routed to the owner,
and the actions the API offers (the same list as the case page)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Department
from gridgov.cases import selectors, services
from gridgov.cases.choices import CaseState
from gridgov.cases.models import Case, CaseCategory, CaseEvent, Component
from gridgov.cases.models.component import component_code
from gridgov.cases.workflow import InvalidTransition
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error

from . import factories as f
from .test_components_support import point_in


def _component(grid, *, category="C0107", owner="ZJJ", serial=990001) -> Component:
    lon, lat = point_in(grid, shift=3)
    return Component.objects.create(
        code=component_code(grid.code[:6], category[1:], serial), category=CaseCategory.objects.get(code=category),
        region=grid, name="测试路灯", lon=lon, lat=lat, owner_department=Department.objects.get(code=owner),
    )


# --- cases about a component go to its owner ---------------------------------------------------------

def test_a_case_about_a_component_takes_its_place_and_class_and_routes_to_the_owner(world):
    lamp = _component(world.street_grid, owner="ZJJ")  # the class default for 路灯 is 城管局 (CGJ)
    case = services.case_report(acting_user=world.street_worker, category=None, component=lamp.code,
                                description="路灯不亮")
    assert case.component_id == lamp.pk and case.category.code == "C0107"
    assert (case.lon, case.lat) == (lamp.lon, lamp.lat) and case.region_id == world.street_grid.code
    event = CaseEvent.objects.get(case=case, action="report")
    assert event.data["component"] == lamp.code
    services.case_accept(acting_user=world.street_op, case=case)
    services.case_register(acting_user=world.street_op, case=case)
    suggestion = selectors.case_routing(user=world.street_op, case_id=case.pk)
    assert suggestion.department.code == "ZJJ" and lamp.code in suggestion.reason
    services.case_dispatch(acting_user=world.street_op, case=case, department="ZJJ")
    dispatch = CaseEvent.objects.get(case=case, action="dispatch")
    assert dispatch.data["suggested"] == "ZJJ" and dispatch.data["overridden"] is False


def test_without_an_owner_the_class_default_applies(world):
    lamp = _component(world.street_grid, serial=990002)
    lamp.owner_department = None
    lamp.save()
    case = services.case_report(acting_user=world.street_worker, category="C0107", component=lamp.pk,
                                description="灯杆倾斜")
    services.case_accept(acting_user=world.street_op, case=case)
    services.case_register(acting_user=world.street_op, case=case)
    assert selectors.case_routing(user=world.street_op, case_id=case.pk).department.code == "CGJ"


def test_component_refusals_write_nothing(world):
    lamp = _component(world.street_grid, serial=990003)
    before = Case.objects.count()
    with pytest.raises(ValidationFailed) as out_of_area:
        services.case_report(acting_user=world.far_worker, category=None, component=lamp.code, description="x")
    assert out_of_area.value.code == "invalid_component"
    with pytest.raises(ValidationFailed) as mismatch:
        services.case_report(acting_user=world.street_worker, category="E0102", component=lamp.code,
                             description="x")
    assert mismatch.value.code == "component_category_mismatch"
    with pytest.raises(ValidationFailed) as unknown:
        services.case_report(acting_user=world.street_worker, category=None, component="NOPE", description="x")
    assert unknown.value.code == "invalid_component"
    with pytest.raises(ValidationFailed) as none:
        services.case_report(acting_user=world.street_worker, category=None, description="x",
                             grid=world.street_grid.code)
    assert none.value.code == "category_required"
    assert Case.objects.count() == before


def test_component_over_http(world):
    lamp = _component(world.street_grid, serial=990004)
    status, body = ApiClient(world.street_worker).post("cases", {"component": lamp.code, "description": "路灯不亮"})
    assert status == 201, body
    assert body["component"] == {"id": lamp.pk, "code": lamp.code, "name": "测试路灯",
                                 "owner_department": {"code": "ZJJ", "name": "住建局"}}
    assert body["category"]["code"] == "C0107"
    assert_error(*ApiClient(world.far_worker).post("cases", {"component": lamp.code, "description": "x"}),
                 400, "invalid_component")


# --- work notes ----------------------------------------------------------------------------------

def test_the_village_administrator_records_a_camera_review_without_changing_the_state(world):
    case = world.case_in(CaseState.HANDLING)
    audits = AuditEntry.objects.filter(action="cases.video_review")
    before = audits.count()
    event = services.case_note(acting_user=world.grid_admin, case=case, kind="video_review",
                               note="调阅村口监控：凌晨2时一辆白色面包车进出", data={"cameras": ["村口"]},
                               files=[f.upload()])
    case.refresh_from_db()
    assert case.state == CaseState.HANDLING
    assert (event.action, event.from_state, event.to_state, event.actor_id) == (
        "video_review", CaseState.HANDLING, CaseState.HANDLING, world.grid_admin.pk)
    assert event.data == {"cameras": ["村口"]} and event.attachments.count() == 1
    assert audits.count() == before + 1
    # the department and the desk may note too
    services.case_note(acting_user=world.station_staff, case=case, note="已电话联系户主")
    services.case_note(acting_user=world.town_op, case=case, note="已电话督促")
    assert list(CaseEvent.objects.filter(case=case, action="note").values_list("actor_role", flat=True)) == [
        "dept_staff", "town_operator"]


@pytest.mark.parametrize("who, error", [("far_town_op", NotFound), ("far_station_staff", NotFound),
                                        ("mzj_staff", NotFound)])
def test_people_outside_the_case_cannot_note(world, who, error):
    case = world.case_in(CaseState.DISPATCHED)
    before = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(error):
        services.case_note(acting_user=getattr(world, who), case=case, note="x")
    assert CaseEvent.objects.filter(case=case).count() == before


def test_a_role_without_a_working_part_is_refused(world):
    case = world.case_in(CaseState.DISPATCHED)
    with pytest.raises((PermissionDenied, NotFound)):
        services.case_note(acting_user=world.auditor, case=case, note="x")


def test_notes_refused_on_ended_cases_and_bad_input(world):
    voided = world.case_in(CaseState.VOIDED)
    with pytest.raises(InvalidTransition):
        services.case_note(acting_user=world.town_op, case=voided, note="补记")
    case = world.case_in(CaseState.CLOSED)  # a closed case still takes notes (a later finding)
    services.case_note(acting_user=world.town_op, case=case, note="回访：户主满意")
    before = CaseEvent.objects.filter(case=case).count()
    for kwargs in [{"note": "  "}, {"note": "x" * 2001}, {"note": "x", "kind": "close"},
                   {"note": "x", "files": [f.upload(f.zip_bytes(), "a.jpg")]}]:
        with pytest.raises(ValidationFailed):
            services.case_note(acting_user=world.town_op, case=case, **kwargs)
    assert CaseEvent.objects.filter(case=case).count() == before


def test_note_over_http(world):
    case = world.case_in(CaseState.DISPATCHED).pk
    body = {"note": "已调阅监控", "kind": "video_review"}
    status, body = ApiClient(world.grid_admin).post(f"cases/{case}/notes", body)
    assert status == 200 and body["state"] == "dispatched"
    assert body["events"][-1]["action"] == "video_review" and body["events"][-1]["action_label"] == "视频研判"
    assert "note" in body["actions"]
    assert_error(*ApiClient(world.far_town_op).post(f"cases/{case}/notes", {"note": "x"}), 404)
    assert_error(*ApiClient(world.grid_admin).post(f"cases/{case}/notes", {"note": ""}), 422)
    assert_error(*ApiClient(world.grid_admin).post(f"cases/{case}/notes", {"note": "x", "kind": "dispatch"}), 422)


# --- the actions the API offers ------------------------------------------------------------------------

def test_the_api_stops_offering_an_evaluation_the_user_has_given(world):
    case = world.case_in(CaseState.CLOSED).pk
    assert "evaluate" in ApiClient(world.worker).get(f"cases/{case}")[1]["actions"]
    status, body = ApiClient(world.worker).post(f"cases/{case}/evaluate", {"score": 5})
    assert status == 200 and "evaluate" not in body["actions"]
    # the centre has not evaluated yet: it is still offered to the desk
    assert "evaluate" in ApiClient(world.town_op).get(f"cases/{case}")[1]["actions"]
    ApiClient(world.town_op).post(f"cases/{case}/evaluate", {"score": 4})
    assert "evaluate" not in ApiClient(world.town_op).get(f"cases/{case}")[1]["actions"]


def test_suspension_resume_date_is_checked_against_the_local_date(world):
    case = world.case_in(CaseState.REGISTERED)
    yesterday = timezone.localdate() - timedelta(days=1)
    with pytest.raises(ValidationFailed) as past:
        services.case_suspend(acting_user=world.town_op, case=case, reason="待资金", expected_resume_on=yesterday)
    assert past.value.code == "invalid_date"
    services.case_suspend(acting_user=world.town_op, case=case, reason="待资金",
                          expected_resume_on=timezone.localdate())
    case.refresh_from_db()
    assert case.state == CaseState.SUSPENDED
