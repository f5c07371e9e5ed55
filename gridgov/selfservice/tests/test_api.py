"""What a signed-in resident sees and submits: only their own household's points, applications and
reports; another household's are 404; reports become cases and claims in the ordinary workflows."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from gridgov.cases.choices import CaseState
from gridgov.cases.models import Case
from gridgov.cases.services import case_report
from gridgov.cases.tests.factories import PNG
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role
from gridgov.egov.models import Application
from gridgov.points.choices import ClaimChannel, ClaimSource, ClaimStatus
from gridgov.points.models import Claim
from gridgov.selfservice.services import CASE_SOURCE

from .conftest import API, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def report(client, **data):
    body = {"category": "C0107", "description": "村口路灯坏了三天", "address": "村口", **data}
    return client.post(API + "reports", body)


def test_points_are_the_households(resident, neighbour):
    client = sign_in(resident)
    body = client.get(API + "points").json()
    assert body["household"] is not None and body["earned"] > 0
    assert 1 <= body["rank"] <= body["ranked"]
    subjects = {a["subject"] for a in body["accounts"]}
    other = sign_in(neighbour, Client()).get(API + "points").json()
    assert subjects.isdisjoint({a["subject"] for a in other["accounts"]})


def test_a_problem_report_becomes_a_case_and_is_listed(resident):
    client = sign_in(resident)
    photo = SimpleUploadedFile("lamp.png", PNG, content_type="image/png")
    response = report(client, photo=photo, form_id="0b0c3c1e-5b1a-4a44-9d54-000000000001")
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get(number=body["number"])
    assert case.source == CASE_SOURCE and case.region_id == resident.region_id  # no position: own grid
    assert case.reporter_name == resident.name and case.reporter_phone == resident.phone
    assert case.attachments.count() == 1 and case.external_ref == f"selfservice:{resident.pk}"
    assert body["state_label"] == "已提交，等待受理"
    assert AuditEntry.objects.filter(action="selfservice.case.report", object_id=str(case.pk)).exists()
    listed = client.get(API + "reports").json()
    assert listed["count"] >= 1 and listed["items"][0]["number"] == case.number
    detail = client.get(API + f"reports/{case.number}").json()
    assert detail["timeline"][0]["action"] == "report"
    # The form sent again (a double tap, a retry) gives the same case.
    again = report(client, form_id="0b0c3c1e-5b1a-4a44-9d54-000000000001")
    assert again.status_code == 200 and again.json()["number"] == case.number


def test_report_with_a_position_goes_to_that_grid(resident):
    from gridgov.regions.models import Region

    grid = Region.objects.filter(level=4, code__startswith="420881107201").order_by("code").first()
    client = sign_in(resident)
    response = report(client, lon=str(grid.centroid_lon), lat=str(grid.centroid_lat))
    assert response.status_code == 201, response.content
    assert Case.objects.get(number=response.json()["number"]).region_id == grid.code


@pytest.mark.parametrize(("data", "code"), [
    ({"category": "NOPE"}, "invalid_category"),
    ({"description": ""}, None),
    ({"lon": "abc", "lat": "31"}, "invalid_position"),
    ({"lon": "100.0", "lat": "10.0"}, "outside_county"),
    ({"photo": SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")}, None),
])
def test_bad_reports_change_nothing(resident, data, code):
    client = sign_in(resident)
    before = Case.objects.count()
    response = report(client, **data)
    assert 400 <= response.status_code < 500, response.content
    if code:
        assert response.json()["code"] == code
    assert Case.objects.count() == before


def test_another_households_things_are_404(resident, neighbour):
    worker = user_with_role("grid_worker", neighbour.region_id)
    theirs = case_report(acting_user=worker, category="C0107", description="邻居反映的问题",
                         reporter_phone=neighbour.phone, reporter_name=neighbour.name)
    client = sign_in(resident)
    assert client.get(API + f"reports/{theirs.number}").status_code == 404
    assert theirs.number not in {r["number"] for r in client.get(API + "reports").json()["items"]}
    assert sign_in(neighbour, Client()).get(API + f"reports/{theirs.number}").status_code == 200
    other_app = Application.objects.exclude(applicant__household_id=resident.household_id).first()
    assert client.get(API + f"applications/{other_app.pk}").status_code == 404
    assert client.get(API + "applications/not-a-number").status_code in (404, 422)


def test_applications_are_the_households():
    app = Application.objects.filter(applicant__household__isnull=False).exclude(applicant__phone_index="").first()
    if app is None:
        app = Application.objects.filter(applicant__household__isnull=False).first()
        member = app.applicant.household.members.exclude(phone_index="").first()
    else:
        member = app.applicant
    assert member is not None
    client = sign_in(member)
    body = client.get(API + "applications").json()
    household_apps = Application.objects.filter(applicant__household_id=member.household_id).count()
    assert body["count"] == household_apps >= 1
    assert app.pk in {a["id"] for a in body["items"]}
    assert client.get(API + f"applications/{app.pk}").json()["item"] == app.item.name
    assert client.get(API + "applications", {"page_size": 500}).status_code == 400


def test_a_good_deed_becomes_a_claim_for_the_village_cadres(resident):
    client = sign_in(resident)
    response = client.post(API + "deeds", {"item": "V01", "occurred_on": timezone.localdate().isoformat(),
                                           "description": "门前屋后打扫干净", "form_id": "deed-000000001"})
    assert response.status_code == 201, response.content
    claim = Claim.objects.get(pk=response.json()["id"])
    assert claim.subject.household_id == resident.household_id
    assert claim.source == ClaimSource.SELF and claim.channel == ClaimChannel.APP
    assert claim.status == ClaimStatus.PENDING and claim.reporter_name == resident.name
    assert claim.entered_by.username == f"selfservice-{resident.region_id[:12]}"
    assert not claim.entered_by.has_usable_password()
    pending = client.get(API + "points").json()["pending"]
    assert claim.pk in {p["id"] for p in pending}
    again = client.post(API + "deeds", {"item": "V01", "occurred_on": timezone.localdate().isoformat(),
                                        "description": "门前屋后打扫干净", "form_id": "deed-000000001"})
    assert again.status_code == 200 and again.json()["id"] == claim.pk


@pytest.mark.parametrize("data", [
    {"item": "V04"},  # not a fixed value: the cadres decide, not for self-reporting
    {"item": "NOPE"},
    {"occurred_on": "2099-01-01"},
    {"description": ""},
])
def test_bad_deeds_change_nothing(resident, data):
    client = sign_in(resident)
    before = Claim.objects.count()
    body = {"item": "V01", "occurred_on": timezone.localdate().isoformat(), "description": "打扫", **data}
    response = client.post(API + "deeds", body)
    assert 400 <= response.status_code < 500, response.content
    assert Claim.objects.count() == before


def test_writes_need_the_csrf_token(resident):
    client = sign_in(resident, Client(enforce_csrf_checks=True))
    before = Case.objects.count()
    assert report(client).status_code == 403
    assert Case.objects.count() == before


def test_writes_without_a_resident_session_are_401_even_with_csrf_enforced():
    """Found by the schema fuzzer: the CSRF check ran before the cookie was looked at, so a write
    without any resident session answered 403 "CSRF check failed" instead of 401."""
    before = Case.objects.count()
    client = Client(enforce_csrf_checks=True)
    client.cookies["gg_my"] = "forged"
    for response in (report(client), Client(enforce_csrf_checks=True).delete(API + "session")):
        assert response.status_code == 401, response.content
        assert response.json()["code"] == "not_authenticated"
    assert Case.objects.count() == before


def test_closed_report_shows_as_done(resident):
    client = sign_in(resident)
    number = report(client).json()["number"]
    case = Case.objects.get(number=number)
    from gridgov.cases.services import case_reject

    case_reject(acting_user=user_with_role("city_operator"), case=case.pk, reason="重复反映")
    detail = client.get(API + f"reports/{number}").json()
    assert detail["state"] == CaseState.REJECTED and detail["state_label"] == "不予受理"


def test_list_queries_do_not_grow(resident, django_assert_max_num_queries):
    client = sign_in(resident)
    for _ in range(3):
        report(client)
    with django_assert_max_num_queries(8):
        assert client.get(API + "reports").json()["count"] >= 3
    with django_assert_max_num_queries(12):
        client.get(API + "points")
