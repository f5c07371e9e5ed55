"""The case pages: the desk (filters, counts, pagination, scope, query counts), the case page (scope,
the action forms the workflow table allows, refused POSTs that change nothing), the department
inbox, and the report and self-resolve forms (validation in Chinese). Cases are made through the
core services (factories.World.case_in)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.cases import selectors, services
from gridgov.cases.choices import CaseState
from gridgov.cases.models import Case, CaseAttachment, CaseEvent
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role

from . import factories as f

pytestmark = pytest.mark.django_db


def browser(user=None, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


def desk(user, **params):
    return browser(user).get(reverse("cases:desk"), params)


def detail_url(case) -> str:
    return reverse("cases:detail", args=[case.pk])


def act_url(case, action: str) -> str:
    return reverse("cases:act", args=[case.pk, action])


def snapshot(case):
    """What a refused action must leave untouched."""
    row = Case.objects.values("state", "stage_deadline", "lead_department_id", "updated_at").get(pk=case.pk)
    return row, CaseEvent.objects.filter(case=case).count(), AuditEntry.objects.filter(
        object_type="cases.case", object_id=str(case.pk)).count()


def offered(response) -> set[str]:
    return {f.action for f in response.context["forms"]}


# --- the desk -------------------------------------------------------------------------------------------

def test_desk_lists_the_town_and_counts_per_state(world):
    reported = f.report(world.grid, category="G0104", description="村口夜间聚众滋事")
    dispatched = world.case_in(CaseState.DISPATCHED)
    far = f.report(world.far_grid, category="G0104")
    response = desk(world.town_op, region=world.grid.code)
    assert response.status_code == 200
    ids = {c.pk for c in response.context["page"].object_list}
    assert {reported.pk, dispatched.pk} <= ids and far.pk not in ids
    counts = selectors.case_counts(user=world.town_op, region=world.grid.code)
    tabs = {t["state"]: t["n"] for t in response.context["tabs"]}
    assert tabs[""] == sum(counts.values()) and tabs["reported"] == counts["reported"] >= 1
    assert tabs["dispatched"] == counts["dispatched"] >= 1
    html = response.content.decode()
    assert reported.number in html and "案件受理台" in html and 'data-state="reported"' in html


@pytest.mark.parametrize("params, expect", [
    ({"state": "reported"}, {"reported", "other", "hotline", "urgent"}),
    ({"state": "dispatched"}, {"dispatched"}),
    ({"state": "open"}, {"reported", "dispatched", "other", "hotline", "urgent"}),
    ({"category": "G0104"}, {"reported", "dispatched"}),
    ({"category": "G01"}, {"reported", "dispatched", "urgent"}),
    ({"category": "E0102"}, {"other"}),
    ({"source": "hotline"}, {"hotline"}),
    ({"department": "GAJ-420881103"}, {"dispatched"}),
    ({"urgency": "urgent"}, {"urgent"}),
])
def test_desk_filters(world, params, expect):
    made = {
        "reported": f.report(world.grid, category="G0104", lon=world.grid.centroid_lon + 0.002),
        "dispatched": world.case_in(CaseState.DISPATCHED),
        "other": f.report(world.grid, category="E0102"),
        "hotline": services.case_report(acting_user=world.town_op, category="G0203", description="拖欠工资",
                                        grid=world.grid.code, source="hotline", reporter_phone="13812345678"),
        "urgent": f.report(world.grid, category="G0101", urgency="urgent", description="可疑包裹"),
    }
    response = desk(world.town_op, region=world.grid.code, **params)
    assert response.status_code == 200
    ids = {c.pk for c in response.context["page"].object_list}
    found = {key for key, case in made.items() if case.pk in ids}
    assert found == expect


def test_desk_text_number_dates_and_due(world):
    a = f.report(world.grid, category="G0104", description="水塘边有人电鱼")
    b = world.case_in(CaseState.DISPATCHED)
    Case.objects.filter(pk=b.pk).update(stage_deadline=timezone.now() - timedelta(hours=1),
                                        stage_due_soon_at=timezone.now() - timedelta(hours=3))
    ids = lambda **p: {c.pk for c in desk(world.town_op, region=world.grid.code, **p).context["page"].object_list}  # noqa: E731
    assert a.pk in ids(q="电鱼") and b.pk not in ids(q="电鱼")
    assert ids(q=a.number) == {a.pk}
    assert b.pk in ids(due="overdue") and a.pk not in ids(due="overdue")
    today = timezone.localdate()
    assert a.pk in ids(since=today.isoformat(), until=today.isoformat())
    assert not ids(until=(today - timedelta(days=400)).isoformat()) & {a.pk, b.pk}
    overdue_row = desk(world.town_op, region=world.grid.code, due="overdue").content.decode()
    assert "超期" in overdue_row


def test_desk_refuses_bad_filters_in_chinese(world):
    response = desk(world.town_op, region="42x", since="2026-05-02", until="2026-05-01", due="late")
    assert response.status_code == 400
    html = response.content.decode()
    assert "区划代码只能是 1-15 位数字" in html and "结束日期不能早于开始日期" in html
    assert "查询条件有误" in html and not list(response.context["page"].object_list)


def test_desk_empty_state_and_pagination(world):
    html = desk(world.town_op, q="不存在的内容XYZ").content.decode()
    assert "没有符合条件的案件" in html
    for i in range(3):
        f.report(world.grid2, category="G0104", description=f"分页测试 {i}", lon=world.grid2.centroid_lon + 0.001 * i)
    from gridgov.cases import views

    old, views.PAGE_SIZE = views.PAGE_SIZE, 2
    try:
        first = desk(world.town_op, q="分页测试")
        second = desk(world.town_op, q="分页测试", page=2)
        beyond = desk(world.town_op, q="分页测试", page=99)
        garbage = desk(world.town_op, q="分页测试", page="x")
    finally:
        views.PAGE_SIZE = old
    assert first.context["page"].paginator.count == 3 and len(first.context["page"].object_list) == 2
    assert len(second.context["page"].object_list) == 1
    assert beyond.context["page"].number == 2 and garbage.context["page"].number == 1
    assert 'rel="next"' in first.content.decode()


def test_desk_query_count_does_not_grow_with_the_rows(world):
    f.report(world.grid, category="G0104")
    client = browser(world.town_op)
    url = reverse("cases:desk")
    client.get(url)  # warm the session and caches

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, {"region": world.grid.code}).status_code == 200
        return len(ctx)

    before = count()
    for i in range(4):
        world.case_in(CaseState.DISPATCHED) if i % 2 else f.report(world.grid, category="E0102",
                                                                    lon=world.grid.centroid_lon + 0.001 * (i + 1))
    assert count() == before


def test_desk_is_scoped(world):
    mine = f.report(world.grid, category="G0104")
    other = f.report(world.grid2, category="G0104")
    ids = {c.pk for c in desk(world.worker).context["page"].object_list}
    assert mine.pk in ids and other.pk not in ids
    dispatched = world.case_in(CaseState.DISPATCHED)
    station = {c.pk for c in desk(world.station_staff).context["page"].object_list}
    assert dispatched.pk in station and mine.pk not in station
    assert desk(world.auditor).status_code == 403
    anonymous = browser().get(reverse("cases:desk"))
    assert anonymous.status_code == 302 and reverse("accounts:login") in anonymous["Location"]


# --- the case page ----------------------------------------------------------------------------------------

def test_case_page_shows_details_map_photos_and_timeline(world):
    case = f.report(world.grid, category="G0104", files=[f.upload()], address="村委会旁")
    response = browser(world.town_op).get(detail_url(case))
    assert response.status_code == 200
    html = response.content.decode()
    attachment = CaseAttachment.objects.get(case=case)
    photo_url = reverse("api:case_attachment", kwargs={"case_id": case.pk, "attachment_id": attachment.pk})
    assert photo_url in html and reverse("api:region_geojson", kwargs={"code": world.grid.code}) in html
    assert 'id="case-map"' in html and "vendor/leaflet/leaflet.js" in html and "村委会旁" in html
    assert [e.action for e in response.context["events"]] == ["report"]
    assert "上报" in html and "治安秩序混乱" in html
    # the photo itself: through the permission-checked download, for this session only
    assert browser(world.town_op).get(photo_url).status_code == 200
    assert browser(world.far_town_op).get(photo_url).status_code == 404


def test_case_page_is_scoped(world):
    case = world.case_in(CaseState.REGISTERED)
    assert browser(world.worker).get(detail_url(case)).status_code == 200
    assert browser(world.worker2).get(detail_url(case)).status_code == 404
    assert browser(world.far_town_op).get(detail_url(case)).status_code == 404
    # a department only once the case is dispatched to it
    assert browser(world.station_staff).get(detail_url(case)).status_code == 404
    services.case_dispatch(acting_user=world.town_op, case=case, department=world.station)
    assert browser(world.station_staff).get(detail_url(case)).status_code == 200
    assert browser(world.far_station_staff).get(detail_url(case)).status_code == 404
    assert browser(world.cgj_staff).get(detail_url(case)).status_code == 404
    assert browser(world.town_op).get(reverse("cases:detail", args=[999_999_999])).status_code == 404
    assert browser(world.auditor).get(detail_url(case)).status_code == 403


def test_reporter_contact_is_masked_for_those_who_do_not_work_the_case(world):
    case = services.case_report(acting_user=world.town_op, category="G0203", description="拖欠工资",
                                grid=world.grid.code, source="hotline", reporter_name="张三丰",
                                reporter_phone="13812345678")
    assert "13812345678" in browser(world.town_op).get(detail_url(case)).content.decode()
    html = browser(world.worker).get(detail_url(case)).content.decode()
    assert "13812345678" not in html and "138****5678" in html and "张三丰" not in html


@pytest.mark.parametrize("state, who, expected", [
    (CaseState.REPORTED, "town_op", {"accept", "reject", "void", "merge", "note"}),
    (CaseState.REPORTED, "worker", {"note"}),
    (CaseState.ACCEPTED, "town_op", {"register", "void", "supervise", "merge", "note"}),
    (CaseState.REGISTERED, "town_op", {"dispatch", "suspend", "void", "supervise", "merge", "note"}),
    (CaseState.DISPATCHED, "station_staff", {"handle", "feedback", "return", "extend_request", "note"}),
    (CaseState.DISPATCHED, "town_op", {"suspend", "supervise", "note"}),
    (CaseState.AWAITING_VERIFICATION, "worker", {"verify_pass", "verify_fail", "note"}),
    (CaseState.AWAITING_VERIFICATION, "station_staff", {"note"}),  # the lead may still note
    (CaseState.VERIFIED, "town_op", {"close", "supervise", "note"}),
    (CaseState.CLOSED, "town_op", {"evaluate", "note"}),
    (CaseState.EVALUATED, "town_op", {"note"}),  # the centre has evaluated already
    (CaseState.SUSPENDED, "town_op", {"resume", "void", "supervise", "note"}),
])
def test_action_forms_are_those_the_workflow_table_allows(world, state, who, expected):
    case = world.case_in(state)
    response = browser(getattr(world, who)).get(detail_url(case))
    assert response.status_code == 200
    assert offered(response) == expected
    html = response.content.decode()
    for action in expected:
        assert f'action="{act_url(case, action)}"' in html
    if not expected:
        assert 'id="no-actions"' in html


def test_self_resolve_form_only_for_the_grid_worker_and_a_small_problem(world):
    small = f.report(world.grid, category="E0102")
    big = f.report(world.grid, category="G0104")
    assert offered(browser(world.worker).get(detail_url(small))) == {"self_resolve", "note"}
    assert offered(browser(world.worker).get(detail_url(big))) == {"note"}
    assert "self_resolve" not in offered(browser(world.town_op).get(detail_url(small)))


def test_pending_extension_offers_the_decision_not_a_second_request(world):
    case = world.case_in(CaseState.HANDLING)
    services.case_extend_request(acting_user=world.station_staff, case=case, hours=8, reason="需协调")
    assert "extend_request" not in offered(browser(world.station_staff).get(detail_url(case)))
    assert "extend_decide" in offered(browser(world.town_op).get(detail_url(case)))
    response = browser(world.town_op).post(act_url(case, "extend_decide"),
                                           {"extend_decide-grant": "1", "extend_decide-note": "同意"})
    assert response.status_code == 302
    assert case.extension_requests.get().status == "granted"


def test_the_workflow_through_the_pages(world):
    case = f.report(world.grid, category="G0104")
    desk_client, dept, worker = browser(world.town_op), browser(world.station_staff), browser(world.worker)

    def post(client, action, data=None, files=None):
        payload = {f"{action}-{k}": v for k, v in (data or {}).items()}
        if files:
            payload.update({f"{action}-files": files})
        response = client.post(act_url(case, action), payload)
        assert response.status_code == 302, (action, response.status_code,
                                             response.context and response.context.get("refused"))
        return response

    post(desk_client, "accept", {"note": "已受理"})
    post(desk_client, "register", {"urgency": "urgent"})
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED and case.urgency == "urgent"
    suggestion = browser(world.town_op).get(detail_url(case)).context["forms"]
    dispatch_form = next(x.form for x in suggestion if x.action == "dispatch")
    assert dispatch_form.fields["department"].initial == world.station  # the routing suggestion
    post(desk_client, "dispatch", {"department": world.station, "helpers": "MZJ", "note": "请出警"})
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.lead_department.code == world.station
    assert set(case.dispatches.filter(is_active=True).values_list("department__code", "role")) == {
        (world.station, "lead"), ("MZJ", "helper")}
    post(dept, "handle")
    post(dept, "feedback", {"note": "已调解"}, files=[f.upload()])
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_VERIFICATION
    assert CaseAttachment.objects.filter(case=case, event__action="feedback").count() == 1
    post(worker, "verify_pass", {"note": "现场已恢复"})
    post(desk_client, "close")
    post(desk_client, "evaluate", {"score": "4", "comment": "及时"})
    case.refresh_from_db()
    assert case.state == CaseState.EVALUATED
    assert [e.action for e in case.events.order_by("created_at", "id")] == [
        "report", "accept", "register", "dispatch", "handle", "feedback", "verify_pass", "close", "evaluate"]
    follow = browser(world.town_op).get(detail_url(case))
    assert "已评价" in follow.content.decode()


def test_a_return_sends_the_department_back_to_its_inbox(world):
    case = world.case_in(CaseState.DISPATCHED)
    response = browser(world.station_staff).post(act_url(case, "return"), {"return-reason": "属于民政职责"})
    assert response.status_code == 302 and response["Location"] == reverse("cases:inbox")
    case.refresh_from_db()
    assert case.state == CaseState.RETURNED


def test_forbidden_posts_change_nothing(world):
    case = world.case_in(CaseState.REPORTED)
    before = snapshot(case)
    # a role that may not accept at all: 403 with the message, nothing written
    response = browser(world.worker).post(act_url(case, "accept"), {"accept-note": "x"})
    assert response.status_code == 403 and "没有执行此操作的权限" in response.content.decode()
    # the right role, the wrong state
    response = browser(world.town_op).post(act_url(case, "dispatch"), {"dispatch-department": world.station})
    assert response.status_code == 409 and "不能执行" in response.content.decode()
    # a department the case is not dispatched to, and a desk of another town: the case does not exist for them
    assert browser(world.station_staff).post(act_url(case, "handle")).status_code == 404
    assert browser(world.far_town_op).post(act_url(case, "accept")).status_code == 404
    # no CSRF token
    assert browser(world.town_op, csrf=True).post(act_url(case, "accept")).status_code == 403
    # anonymous, GET, and an action that does not exist
    assert browser().post(act_url(case, "accept")).status_code == 302
    assert browser(world.town_op).get(act_url(case, "accept")).status_code == 405
    assert browser(world.town_op).post(act_url(case, "explode")).status_code == 404
    assert snapshot(case) == before


def test_invalid_action_input_is_shown_in_chinese_and_changes_nothing(world):
    case = world.case_in(CaseState.REPORTED)
    before = snapshot(case)
    response = browser(world.town_op).post(act_url(case, "reject"), {"reject-reason": ""})
    assert response.status_code == 400
    assert "请填写理由" in response.content.decode()
    bound = next(x for x in response.context["forms"] if x.action == "reject")
    assert bound.open and bound.form.errors["reason"] == ["请填写理由"]
    response = browser(world.town_op).post(act_url(case, "merge"), {"merge-into": "2099010100001"})
    assert response.status_code == 400 and "未找到该编号的案件" in response.content.decode()
    assert snapshot(case) == before


def test_a_service_refusal_is_shown_with_the_form(world):
    case = world.case_in(CaseState.REGISTERED)
    before = snapshot(case)
    yesterday = (timezone.localdate() - timedelta(days=2)).isoformat()  # (the service compares UTC dates)
    response = browser(world.town_op).post(act_url(case, "suspend"), {"suspend-reason": "待资金",
                                                                      "suspend-expected_resume_on": yesterday})
    assert response.status_code == 400
    bound = next(x for x in response.context["forms"] if x.action == "suspend")
    assert bound.form.errors["expected_resume_on"] == ["预计恢复日期不能早于今天"]
    # 城管局 covers the two streets only: it is not even offered for a case in 胡集镇
    response = browser(world.town_op).post(act_url(case, "dispatch"), {"dispatch-department": "CGJ"})
    assert response.status_code == 400
    bound = next(x for x in response.context["forms"] if x.action == "dispatch")
    assert "CGJ" not in dict(bound.form.fields["department"].choices) and bound.form.errors["department"]
    assert snapshot(case) == before


def test_merge_by_number(world):
    first = f.report(world.grid, category="G0104")
    second = f.report(world.grid, category="G0104", lon=world.grid.centroid_lon + 0.0001)
    response = browser(world.town_op).post(act_url(second, "merge"), {"merge-into": first.number})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.state == CaseState.MERGED and second.duplicate_of_id == first.pk


# --- the department inbox ---------------------------------------------------------------------------------

def test_inbox_lists_what_is_dispatched_to_the_department_by_deadline(world):
    late = world.case_in(CaseState.DISPATCHED)
    soon = world.case_in(CaseState.HANDLING)
    Case.objects.filter(pk=late.pk).update(stage_deadline=timezone.now() - timedelta(hours=2))
    Case.objects.filter(pk=soon.pk).update(stage_deadline=timezone.now() + timedelta(minutes=1))
    waiting = world.case_in(CaseState.REGISTERED)
    response = browser(world.station_staff).get(reverse("cases:inbox"))
    assert response.status_code == 200
    rows = [c.pk for c in response.context["page"].object_list]
    assert late.pk in rows and soon.pk in rows and waiting.pk not in rows
    assert rows.index(late.pk) < rows.index(soon.pk)
    row = next(c for c in response.context["page"].object_list if c.pk == late.pk)
    assert row.is_lead and row.live_overdue
    done = browser(world.station_staff).get(reverse("cases:inbox"), {"tab": "feedback"})
    assert late.pk not in {c.pk for c in done.context["page"].object_list}
    far = browser(world.far_station_staff).get(reverse("cases:inbox")).context["page"].object_list
    assert late.pk not in {c.pk for c in far}
    assert browser(world.town_op).get(reverse("cases:inbox")).status_code == 403
    assert browser(world.worker).get(reverse("cases:inbox")).status_code == 403


def test_helper_department_sees_its_role(world):
    case = world.case_in(CaseState.REGISTERED)
    services.case_dispatch(acting_user=world.town_op, case=case, department=world.station, helpers=["MZJ"])
    response = browser(world.mzj_staff).get(reverse("cases:inbox"))
    row = next(c for c in response.context["page"].object_list if c.pk == case.pk)
    assert not row.is_lead and row.my_role == "协办"
    assert offered(browser(world.mzj_staff).get(detail_url(case))) == set()  # only the lead handles


# --- reporting ----------------------------------------------------------------------------------------------

def report_post(client, url=None, **data):
    return client.post(url or reverse("cases:report"), data)


def test_report_form_page(world):
    response = browser(world.worker).get(reverse("cases:report"))
    assert response.status_code == 200
    html = response.content.decode()
    form = response.context["form"]
    assert form.fields["grid"].initial == world.grid.code
    assert "<optgroup label=\"社会治理 · 治安隐患\">" in html and "<optgroup label=\"部件 · 公用设施\">" in html
    assert 'id="report-map"' in html and "case_report.js" in html and "reporter_phone" not in form.fields
    assert reverse("api:region_geojson", kwargs={"code": world.grid.code}) in html
    desk_form = browser(world.town_op).get(reverse("cases:report")).context["form"]
    assert "reporter_phone" in desk_form.fields and ("hotline", "热线电话") in desk_form.fields["source"].choices


def test_report_form_validation_in_chinese(world):
    before = Case.objects.count()
    client = browser(world.worker)
    response = report_post(client, description="")
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["category"] == ["请选择问题分类"] and errors["description"] == ["请填写问题描述"]
    assert "请用手机定位、在地图上点选位置，或选择所在网格" in errors["__all__"]
    response = report_post(client, category="G0104", description="x", lon="112.5")
    assert "定位不完整，请重新定位或在地图上点选位置" in response.context["form"].errors["__all__"]
    exe = f.upload(f.EXE, "virus.jpg")
    response = client.post(reverse("cases:report"), {"category": "G0104", "description": "x", "grid": world.grid.code,
                                                     "files": [exe]})
    assert response.status_code == 400
    assert "附件类型不支持" in response.context["form"].errors["files"][0]
    # a point in someone else's grid: the service refuses, shown on the form
    response = report_post(client, category="G0104", description="x", lon=world.grid2.centroid_lon,
                           lat=world.grid2.centroid_lat)
    assert response.status_code == 400 and "该位置不在您负责的区域内" in response.content.decode()
    response = report_post(client, category="E0406", urgency="normal", description="x", grid=world.grid.code)
    assert "该分类不适用此紧急程度" in response.content.decode()
    assert Case.objects.count() == before


def test_report_by_grid_and_by_point(world):
    client = browser(world.worker)
    response = client.post(reverse("cases:report"), {
        "category": "G0104", "description": "村口有人聚众赌博", "grid": world.grid.code, "source": "patrol",
        "files": [f.upload()]})
    assert response.status_code == 302
    case = Case.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert case.region_id == world.grid.code and case.source == "patrol" and case.reporter == world.worker
    assert case.attachments.count() == 1 and case.state == CaseState.REPORTED
    lon, lat = world.grid.centroid_lon, world.grid.centroid_lat
    response = report_post(client, category="G0105", description="监控坏了", lon=lon, lat=lat)
    assert response.status_code == 302
    case = Case.objects.order_by("-id").first()
    assert case.region_id == world.grid.code and abs(case.lon - lon) < 1e-6


def test_report_refused_to_roles_that_do_not_report(world):
    cadre = user_with_role(Role.VILLAGE_CADRE, region_code=world.grid.code[:12])
    assert browser(cadre).get(reverse("cases:report")).status_code == 403
    assert browser(world.station_staff).get(reverse("cases:report")).status_code == 403
    assert browser(world.auditor).post(reverse("cases:report"), {}).status_code == 403


def test_desk_hotline_report_keeps_the_caller(world):
    response = browser(world.town_op).post(reverse("cases:report"), {
        "category": "G0203", "description": "工地拖欠工资", "grid": world.grid.code, "source": "hotline",
        "reporter_name": "李四", "reporter_phone": "13900001111"})
    assert response.status_code == 302
    case = Case.objects.order_by("-id").first()
    assert case.source == "hotline" and case.reporter_phone == "13900001111" and case.reporter_name == "李四"
    bad = browser(world.town_op).post(reverse("cases:report"), {
        "category": "G0203", "description": "x", "grid": world.grid.code, "reporter_phone": "call me"})
    assert bad.context["form"].errors["reporter_phone"] == ["联系电话只能包含数字、空格、+ 和 -"]


def test_self_resolve_form(world):
    url = reverse("cases:self_resolve")
    client = browser(world.worker)
    page = client.get(url)
    assert page.status_code == 200
    codes = {code for _group, options in page.context["form"].fields["category"].choices[1:] for code, _ in options}
    assert "E0102" in codes and "G0104" not in codes  # only small problems
    before = Case.objects.count()
    response = client.post(url, {"category": "E0102", "description": "路边垃圾", "resolution_note": "已清理",
                                 "grid": world.grid.code})
    assert response.status_code == 400
    assert response.context["form"].errors["files"] == ["自行处置须附处置后的现场照片"]
    response = client.post(url, {"category": "E0102", "description": "路边垃圾", "grid": world.grid.code,
                                 "files": [f.upload()]})
    assert response.context["form"].errors["resolution_note"] == ["请填写处置情况"]
    assert Case.objects.count() == before
    response = client.post(url, {"category": "E0102", "description": "路边垃圾", "resolution_note": "已清理干净",
                                 "grid": world.grid.code, "files": [f.upload()]})
    assert response.status_code == 302
    case = Case.objects.order_by("-id").first()
    assert case.state == CaseState.SELF_RESOLVED and case.self_resolved and case.source == "self_resolved"
    # the desk verifies it, the worker may not
    assert offered(browser(world.worker).get(detail_url(case))) == {"note"}
    assert {"verify_pass", "verify_fail"} <= offered(browser(world.town_op).get(detail_url(case)))
    assert browser(world.town_op).get(url).status_code == 403  # the desk does not fix things on the spot


def test_self_resolve_on_a_reported_case(world):
    case = f.report(world.grid, category="E0102")
    response = browser(world.worker).post(act_url(case, "self_resolve"), {"self_resolve-note": "已清理"})
    assert response.status_code == 400 and "自行处置须附处置后的现场照片" in response.content.decode()
    response = browser(world.worker).post(act_url(case, "self_resolve"),
                                          {"self_resolve-note": "已清理", "self_resolve-files": [f.upload()]})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.SELF_RESOLVED


def test_more_photos_without_a_transition(world):
    case = world.case_in(CaseState.DISPATCHED)
    url = reverse("cases:attach", args=[case.pk])
    assert browser(world.station_staff).get(detail_url(case)).context["can_attach"]
    response = browser(world.station_staff).post(url, {"files": [f.upload(), f.upload(f.PDF, "report.pdf")]})
    assert response.status_code == 302
    assert CaseAttachment.objects.filter(case=case).count() == 2
    assert case.events.filter(action="attach").count() == 1
    refused = browser(world.worker).post(url, {"files": [f.upload(f.EXE, "x.jpg")]})
    assert refused.status_code == 400 and "附件类型不支持" in refused.content.decode()
    empty = browser(world.worker).post(url, {})
    assert empty.status_code == 400 and "请选择文件" in empty.content.decode()
    assert browser(world.far_town_op).post(url, {"files": [f.upload()]}).status_code == 404
    closed = world.case_in(CaseState.CLOSED)
    assert not browser(world.town_op).get(detail_url(closed)).context["can_attach"]
    response = browser(world.town_op).post(reverse("cases:attach", args=[closed.pk]), {"files": [f.upload()]})
    assert response.status_code == 400 and "已办结的案件不能再上传附件" in response.content.decode()
    assert CaseAttachment.objects.filter(case=case).count() == 2 and not closed.attachments.exists()
