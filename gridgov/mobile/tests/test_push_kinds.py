"""The other item kinds: points on someone's behalf, service applications and their returns, case
verification, and the pages of the app (shell, login, service worker, manifest)."""

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridgov.cases.choices import CaseState
from gridgov.cases.services import case_report
from gridgov.core.testing import ApiClient
from gridgov.egov import services as egov
from gridgov.egov.choices import State
from gridgov.egov.models import Application
from gridgov.egov.tests import factories as ef
from gridgov.points.models import Claim
from gridgov.points.services import subject_open
from gridgov.visits.tests import factories as f

from .test_sync import jpeg_data_url, push

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.EGOV_MATERIALS_ROOT = tmp_path / "materials"


@pytest.fixture
def place(db):
    village, grids = f.make_village()
    worker = f.make_worker(grids[0], "张网格")
    return grids[0], grids[1], worker


def item(kind, **data):
    return {"client_id": str(uuid.uuid4()), "kind": kind, "data": data}


def test_points_claim_on_behalf_once(place):
    grid, grid2, worker = place
    person = f.make_resident(grid, name="吴正宪")
    subject = subject_open(acting_user=worker, kind="resident", resident=person.pk)
    claim = item("points_claim", subject=subject.pk, item="S06", occurred_on=str(person.created_at.date()),
                 description="参加夜间治安巡逻两小时")
    _, first = push(worker, [claim])
    _, again = push(worker, [claim])
    assert first["results"][0]["status"] == "ok", first["results"]
    assert again["results"][0]["status"] == "duplicate"
    made = Claim.objects.get(subject=subject)
    assert made.source == "grid_worker" and made.entered_by == worker and made.points == 2


def test_points_claim_for_a_subject_of_another_grid_is_refused(place):
    grid, grid2, worker = place
    other_worker = f.make_worker(grid2, "李网格")
    stranger = subject_open(acting_user=other_worker, kind="resident", resident=f.make_resident(grid2).pk)
    _, data = push(worker, [item("points_claim", subject=stranger.pk, item="S06", occurred_on="2026-01-05",
                                 description="巡逻")])
    assert (data["results"][0]["status"], data["results"][0]["code"]) == ("refused", "not_found")
    assert not Claim.objects.filter(subject=stranger).exists()


def test_start_a_service_application_once(db):
    flow = ef.Flow()
    body = item("egov_apply", item_code=ef.TEMP_AID, applicant=flow.person.pk, answers=ef.answers_for(ef.TEMP_AID))
    _, first = push(flow.worker, [body])
    _, again = push(flow.worker, [body])
    assert first["results"][0]["status"] == "ok", first["results"]
    assert again["results"][0]["status"] == "duplicate"
    app = Application.objects.get(applicant=flow.person)
    assert app.state == State.PENDING and app.agent == flow.worker
    assert first["results"][0]["ref"]["label"] == app.number
    # A second, new application for the same item while one is open: refused with the reason.
    _, dup = push(flow.worker, [item("egov_apply", item_code=ef.TEMP_AID, applicant=flow.person.pk,
                                     answers=ef.answers_for(ef.TEMP_AID))])
    assert dup["results"][0]["code"] == "duplicate_application" and app.number in dup["results"][0]["message"]


def test_respond_to_a_return_with_photographed_materials(db):
    flow = ef.Flow()
    flow.run_to("dept_verify")
    egov.application_return(acting_user=flow.staff, application_id=flow.app.pk, missing_materials=["medical"],
                            reason="缺少诊断证明")
    status, pulled = ApiClient(flow.worker).get("mobile/sync")
    returned = next(a for a in pulled["applications"] if a["id"] == flow.app.pk)
    assert returned["state"] == "returned" and returned["missing"][0]["code"] == "medical"
    body = item("egov_resubmit", application=flow.app.pk, base_state="returned", note="已补拍诊断证明",
                materials=[{"code": "medical", "photo": jpeg_data_url()}])
    _, data = push(flow.worker, [body])
    assert data["results"][0]["status"] == "ok", data["results"]
    flow.app.refresh_from_db()
    assert flow.app.state == State.DEPT_VERIFY and flow.app.missing_materials == []
    # Sent again (the answer was lost): the receipt answers, nothing is added twice.
    _, again = push(flow.worker, [body])
    assert again["results"][0]["status"] == "duplicate"
    assert flow.app.materials.filter(material_code="medical").count() == 1


def test_resubmit_after_the_application_moved_on_is_a_conflict(db):
    flow = ef.Flow()
    flow.run_to("dept_verify")
    _, data = push(flow.worker, [item("egov_resubmit", application=flow.app.pk, base_state="returned",
                                      materials=[{"code": "medical", "photo": jpeg_data_url()}])])
    assert data["results"][0]["code"] == "application_moved_on"
    assert data["results"][0]["extra"]["current_state"] == "dept_verify"


def test_verify_a_case_in_the_own_grid(place):
    grid, grid2, worker = place
    case = case_report(acting_user=worker, category="E0102", description="垃圾", lon=grid.centroid_lon,
                       lat=grid.centroid_lat)
    case.state = CaseState.AWAITING_VERIFICATION  # as after a department's feedback
    case.save(update_fields=["state"])
    _, pulled = ApiClient(worker).get("mobile/sync")
    assert next(c for c in pulled["cases"] if c["id"] == case.pk)["actions"] == ["verify"]
    bad = item("case_verify", case=case.pk, base_state="awaiting_verification")
    fail_without_reason = item("case_verify", case=case.pk, base_state="awaiting_verification", passed=False)
    good = item("case_verify", case=case.pk, base_state="awaiting_verification", passed=True, note="已清理干净")
    _, data = push(worker, [bad, fail_without_reason, good])
    assert [(r["status"], r["code"]) for r in data["results"]] == [
        ("refused", "malformed"), ("refused", "required"), ("ok", "ok")]
    case.refresh_from_db()
    assert case.state == CaseState.VERIFIED


def test_pull_runs_a_fixed_number_of_queries(place):
    grid, grid2, worker = place
    for i in range(3):
        f.make_tag(f.make_resident(grid, name=f"居民{i}"), "left_behind_child")
    client = ApiClient(worker)
    with CaptureQueriesContext(connection) as few:
        assert client.get("mobile/sync")[0] == 200
    for i in range(12):
        person = f.make_resident(grid, name=f"新居民{i}")
        f.make_tag(person, "left_behind_child")
        case_report(acting_user=worker, category="E0102", description=f"问题{i}", grid=grid.code)
    with CaptureQueriesContext(connection) as many:
        status, data = client.get("mobile/sync")
    assert status == 200 and len(data["people"]) == 15 and len(data["cases"]) == 12
    assert len(many) <= len(few) + 2, [q["sql"][:120] for q in many.captured_queries]


# --- pages ---------------------------------------------------------------------------------------------

def test_the_shell_needs_a_login_and_holds_no_personal_data(place):
    grid, grid2, worker = place
    f.make_resident(grid, name="王小明")
    anonymous = Client().get("/m/")
    assert anonymous.status_code == 302 and anonymous["Location"] == "/m/login/"
    client = Client()
    client.force_login(worker)
    page = client.get("/m/")
    html = page.content.decode()
    assert page.status_code == 200 and "王小明" not in html and "<script>" not in html and " on" + "click" not in html
    assert 'src="/static/mobile/app.js?v=' in html and "no-cache" in page["Cache-Control"]


def test_login_page_service_worker_and_manifest():
    client = Client()
    login = client.get("/m/login/")
    assert login.status_code == 200 and "网格通" in login.content.decode()
    sw = client.get("/m/sw.js")
    assert sw.status_code == 200 and sw["Content-Type"].startswith("application/javascript")
    assert "/static/mobile/app.js?v=" in sw.content.decode() and sw["Cache-Control"] == "no-cache"
    manifest = client.get("/m/manifest.webmanifest")
    import json

    data = json.loads(manifest.content)
    assert data["start_url"] == "/m/" and data["display"] == "standalone" and len(data["icons"]) == 2
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200


# --- notices -------------------------------------------------------------------------------------------

def test_acknowledge_a_notice_from_the_phone(place):
    from datetime import timedelta

    from django.utils import timezone

    from gridgov.accounts.choices import Role
    from gridgov.notices.models import Receipt
    from gridgov.notices.services import acknowledge, notice_send

    grid, grid2, worker = place
    operator = f.make_user(Role.TOWN_OPERATOR, grid.parent.parent, "镇综治")
    other = f.make_worker(grid2, "李网格")
    notice = notice_send(acting_user=operator, title="防汛值守通知", body_html="<p>今晚起二十四小时值守</p>",
                         region=grid.parent.code, roles=[Role.GRID_WORKER], requires_ack=True,
                         ack_deadline=timezone.now() + timedelta(days=1))
    _, pulled = ApiClient(worker).get("mobile/sync")
    entry = next(n for n in pulled["notices"] if n["id"] == notice.pk)
    assert entry["requires_ack"] and not entry["acknowledged"] and "值守" in entry["body"]
    ack = item("notice_ack", notice=notice.pk, comment="收到")
    _, first = push(worker, [ack, item("notice_ack", notice=999_999_999)])
    assert [(r["status"], r["code"]) for r in first["results"]] == [("ok", "ok"), ("refused", "not_found")]
    receipt = Receipt.objects.get(notice=notice, user=worker)
    assert receipt.acked_at is not None and receipt.ack_comment == "收到"
    # Acknowledged on the PC too while the phone was offline: the phone's item counts as done.
    acknowledge(other, notice.pk)
    _, again = push(other, [item("notice_ack", notice=notice.pk)])
    assert again["results"][0]["status"] == "duplicate"
