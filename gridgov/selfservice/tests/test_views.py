"""The /my/ pages: sign-in in two steps, the resident's own things only, forms that create cases and
claims, and no inline scripts or handlers (a strict content security policy is coming)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from gridgov.cases.models import Case
from gridgov.cases.services import case_report
from gridgov.cases.tests.factories import JPEG
from gridgov.core.testing import user_with_role
from gridgov.points.models import Claim
from gridgov.selfservice.models import ResidentSession

from .conftest import last_code, sign_in

pytestmark = pytest.mark.django_db
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=", re.I)
EXTERNAL = re.compile(r"""\b(?:src|href)\s*=\s*["'](?:[a-z]+:)?//|\b(?:src|href)\s*=\s*["'][^"']*cdn""", re.I)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    if status == 200:
        html = response.content.decode()
        assert not INLINE.search(html), INLINE.search(html).group(0)
        assert "http://" not in html.replace("http://www.w3.org", "")
        # no CDN in any address (a random CSRF token may spell "cdn", so only src/href values count)
        assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    return response


def test_sign_in_through_the_pages(resident):
    client = Client()
    assert client.get("/my/").url.startswith("/my/login/")
    page(client, "/my/login/")
    response = client.post("/my/login/", {"phone": resident.phone, "next": "/my/points/"})
    assert response.status_code == 200 and "短信验证码" in response.content.decode()
    response = client.post("/my/login/", {"phone": resident.phone, "step": "code", "code": "000000",
                                          "next": "/my/points/"})
    if response.status_code == 302:  # the one-in-a-million right guess
        return
    assert response.status_code == 400 and "验证码错误" in response.content.decode()
    assert not ResidentSession.objects.exists()
    response = client.post("/my/login/", {"phone": resident.phone, "step": "code",
                                          "code": last_code(resident.phone), "next": "/my/points/"})
    assert response.status_code == 302 and response.url == "/my/points/"
    html = page(client, "/my/").content.decode()
    assert resident.name in html and 'id="household-rank"' in html


def test_next_cannot_leave_the_site(resident):
    client = Client()
    client.post("/my/login/", {"phone": resident.phone})
    response = client.post("/my/login/", {"phone": resident.phone, "step": "code",
                                          "code": last_code(resident.phone), "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/my/"


def test_pages_render_for_the_resident(resident):
    client = sign_in(resident)
    for url in ("/my/", "/my/points/", "/my/reports/", "/my/applications/", "/my/reports/new/", "/my/deeds/new/"):
        page(client, url)


def test_report_form_creates_a_case(resident):
    client = sign_in(resident)
    form = page(client, "/my/reports/new/").content.decode()
    form_id = re.search(r'name="form_id" value="([^"]+)"', form).group(1)
    photo = SimpleUploadedFile("scene.jpg", JPEG, content_type="image/jpeg")
    response = client.post("/my/reports/new/", {"category": "C0107", "description": "路灯不亮", "form_id": form_id,
                                                "photo": photo})
    assert response.status_code == 302
    case = Case.objects.get(client_id=form_id)
    assert response.url == f"/my/reports/{case.number}/"
    html = page(client, response.url).content.decode()
    assert "已提交，等待受理" in html and case.number in html
    assert case.number in page(client, "/my/reports/").content.decode()
    before = Case.objects.count()
    refused = client.post("/my/reports/new/", {"category": "", "description": "", "form_id": "x"})
    assert refused.status_code == 400 and "my-error" in refused.content.decode()
    assert Case.objects.count() == before


def test_deed_form_creates_a_claim(resident):
    client = sign_in(resident)
    before = Claim.objects.count()
    response = client.post("/my/deeds/new/", {"item": "V01", "occurred_on": timezone.localdate().isoformat(),
                                              "description": "主动清扫门前", "form_id": "my-page-0000001"})
    assert response.status_code == 302 and Claim.objects.count() == before + 1
    assert "待核实" in page(client, "/my/points/").content.decode()
    refused = client.post("/my/deeds/new/", {"item": "V01", "occurred_on": "not a date", "description": "x"})
    assert refused.status_code == 400 and Claim.objects.count() == before + 1


def test_other_households_pages_are_404(resident, neighbour):
    from gridgov.egov.models import Application

    worker = user_with_role("grid_worker", neighbour.region_id)
    theirs = case_report(acting_user=worker, category="C0107", description="邻居的反映",
                         reporter_phone=neighbour.phone, reporter_name=neighbour.name)
    client = sign_in(resident)
    page(client, f"/my/reports/{theirs.number}/", status=404)
    other = Application.objects.exclude(applicant__household_id=resident.household_id).first()
    page(client, f"/my/applications/{other.pk}/", status=404)


def test_logout(resident):
    client = sign_in(resident)
    assert client.post("/my/logout/").status_code == 302
    assert client.get("/my/points/").status_code == 302  # back to sign-in
    assert ResidentSession.objects.get().ended_at is not None


def test_staff_login_is_not_a_resident_session():
    client = Client()
    client.force_login(user_with_role("city_operator"))
    assert client.get("/my/").url.startswith("/my/login/")


def test_login_page_shows_the_limits(resident):
    client = Client()
    assert client.post("/my/login/", {"phone": resident.phone}).status_code == 200
    again = client.post("/my/login/", {"phone": resident.phone})
    assert again.status_code == 429 and "验证码发送过于频繁" in again.content.decode()
    bad = client.post("/my/login/", {"phone": "123"})
    assert bad.status_code == 400 and "11 位手机号码" in bad.content.decode()
