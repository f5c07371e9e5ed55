"""The pages: today's list and the visit form for a grid worker, detail, coverage, overdue, month."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from gridgov.visits.models import Need, Visit

from . import factories as f

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def child(grid):
    person = f.make_resident(grid, name="留守娃", lon=grid.centroid_lon, lat=grid.centroid_lat)
    f.make_tag(person, "left_behind_child")
    return person


def test_today_page_lists_what_to_check(worker, child):
    response = login(worker).get("/visits/today/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "今日走访" in html and "留守娃" in html and "监护是否到位" in html
    assert f"/visits/record/{child.pk}/" in html


def test_visit_form_records_a_visit(grid, worker, child, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = login(worker)
    form = client.get(f"/visits/record/{child.pk}/")
    assert form.status_code == 200 and "geolocate.js" in form.content.decode()
    response = client.post(f"/visits/record/{child.pk}/", {
        "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "checklist": ["监护是否到位"],
        "findings": "作业完成", "need_service": "申请助学金", "lon": grid.centroid_lon, "lat": grid.centroid_lat,
        "accuracy_m": 10, "photo": SimpleUploadedFile("p.png", f.PNG, content_type="image/png"),
    })
    assert response.status_code == 302 and response["Location"].startswith("/visits/today/")
    visit = Visit.objects.get(resident=child)
    assert visit.location_check == "ok" and visit.photo and visit.findings == "作业完成"
    assert list(Need.objects.filter(visit=visit).values_list("kind", "text")) == [("service", "申请助学金")]
    page = client.get(response["Location"]).content.decode()
    assert "今日已访" in page and "已保存" in page
    detail = client.get(f"/visits/{visit.pk}/").content.decode()
    assert "☑ 监护是否到位" in detail and "申请助学金" in detail and f"/visits/{visit.pk}/photo/" in detail
    assert client.get(f"/visits/{visit.pk}/photo/").status_code == 200


def test_visit_form_errors_come_back_and_change_nothing(worker, child):
    before = Visit.objects.count()  # the demo seed holds visits of its own
    client = login(worker)
    future = (timezone.localtime() + timezone.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/visits/record/{child.pk}/", {"visited_at": future})
    assert response.status_code == 400 and "不能晚于当前时间" in response.content.decode()
    bad = SimpleUploadedFile("p.jpg", b"MZ\x90\x00 not an image", content_type="image/jpeg")
    response = client.post(f"/visits/record/{child.pk}/", {
        "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "photo": bad})
    assert response.status_code == 400 and "只接受 JPEG、PNG 或 WebP" in response.content.decode()
    assert Visit.objects.count() == before


def test_pages_refuse_outside_scope_and_wrong_role(grid2, worker, worker2, cadre, child):
    visit = f.make_visit(child, worker, f.days_ago(1))
    before = Visit.objects.count()
    assert login(worker2).get(f"/visits/record/{child.pk}/").status_code == 404
    assert login(worker2).get(f"/visits/{visit.pk}/").status_code == 404
    assert login(cadre).get(f"/visits/record/{child.pk}/").status_code == 403
    assert login(cadre).post(f"/visits/record/{child.pk}/", {}).status_code == 403
    assert login(cadre).get(f"/visits/{visit.pk}/").status_code == 200
    anonymous = Client().get("/visits/today/")
    assert anonymous.status_code == 302 and "/accounts/login" in anonymous["Location"]
    assert Visit.objects.count() == before


def test_coverage_page_drills_down(village, grid, town_operator, child):
    client = login(town_operator)
    page = client.get("/visits/coverage/").content.decode()
    assert f"?region={village[0].code}" in page
    page = client.get("/visits/coverage/", {"region": village[0].code}).content.decode()
    assert grid.name in page and f"?region={grid.code}" in page and 'id="coverage-table"' in page
    grid_page = client.get("/visits/coverage/", {"region": grid.code}).content.decode()
    assert f"/visits/today/?grid={grid.code}" in grid_page
    assert client.get("/visits/coverage/", {"region": "420881108"}).status_code == 404
    assert client.get("/visits/coverage/", {"region": "x"}).status_code == 400


def test_overdue_page_and_month_calendar(village, grid, worker, town_operator, child):
    f.make_visit(child, worker, f.days_ago(3))
    page = login(town_operator).get("/visits/overdue/", {"region": village[0].code}).content.decode()
    assert "留守娃" in page and 'id="overdue-table"' in page
    month = login(worker).get(f"/visits/workers/{worker.pk}/month/")
    html = month.content.decode()
    assert month.status_code == 200 and 'id="month-calendar"' in html
    assert f'data-date="{timezone.localdate():%Y-%m-%d}"' in html
    assert login(town_operator).get(f"/visits/workers/{worker.pk}/month/", {"month": "2026-01"}).status_code == 200
