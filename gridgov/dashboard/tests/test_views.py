"""Dashboard pages: scope (404 outside, 403 without the permission, login for anonymous), content,
no inline script, malformed periods fall back with a message."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.testing import user_with_role
from gridgov.dashboard import rollups

pytestmark = pytest.mark.django_db

HUJI = "420881103"
LENGSHUI = "420881107"


@pytest.fixture(autouse=True)
def _rollups():
    today = timezone.localdate()
    rollups.rebuild(today, today)
    rollups.rebuild_snapshots()


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def test_index_opens_the_users_node():
    c = client_for(user_with_role(Role.TOWN_OPERATOR, HUJI))
    response = c.get("/dashboard/")
    assert response.status_code == 302 and response["Location"] == f"/dashboard/{HUJI}/"


@pytest.mark.parametrize("suffix", ["", "wall/", "workers/", "report/"])
def test_pages_are_scoped(suffix):
    c = client_for(user_with_role(Role.TOWN_OPERATOR, HUJI))
    response = c.get(f"/dashboard/{HUJI}/{suffix}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "胡集镇" in html
    # JS only from static files: no inline script and no on* handlers (CSP without unsafe-inline).
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=\"", html)
    assert c.get(f"/dashboard/{LENGSHUI}/{suffix}").status_code == 404
    assert c.get(f"/dashboard/420881/{suffix}").status_code == 404
    anonymous = Client().get(f"/dashboard/{HUJI}/{suffix}")
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert client_for(user_with_role(Role.AUDITOR)).get(f"/dashboard/{HUJI}/{suffix}").status_code == 403


def test_node_page_has_the_map_charts_and_tables():
    c = client_for(user_with_role(Role.CITY_OPERATOR))
    html = c.get("/dashboard/420881/").content.decode()
    for needle in ('id="dash-map"', 'id="trend-chart"', 'id="source-chart"', "vendor/echarts/dist/echarts.min.js",
                   "部门综合评价", "下级区域", "郢中街道", "export/children.xlsx", "monthly.pdf"):
        assert needle in html, needle


def test_grid_worker_page_has_no_export_links():
    grid = "420881103201001"
    c = client_for(user_with_role(Role.GRID_WORKER, grid))
    html = c.get(f"/dashboard/{grid}/").content.decode()
    assert "export/" not in html and "monthly.pdf" not in html
    assert c.get("/dashboard/420881103201002/").status_code == 404


def test_a_malformed_period_falls_back_to_this_month_with_a_message():
    c = client_for(user_with_role(Role.CITY_OPERATOR))
    response = c.get("/dashboard/420881/", {"start": "2026-02-30"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "日期格式应为" in html
    assert timezone.localdate().replace(day=1).isoformat() in html


def test_workers_page_search_and_pages():
    c = client_for(user_with_role(Role.TOWN_OPERATOR, HUJI))
    html = c.get(f"/dashboard/{HUJI}/workers/", {"q": "湖山村"}).content.decode()
    assert "湖山村第1网格" in html and "袁台村" not in html.split("<tbody>")[1]
    html = c.get(f"/dashboard/{HUJI}/workers/", {"q": "没有这个网格"}).content.decode()
    assert "没有符合条件的网格" in html
    html = c.get(f"/dashboard/{HUJI}/workers/", {"page": 2}).content.decode()
    assert "第 2/" in html


def test_report_page_shows_definitions():
    c = client_for(user_with_role(Role.CITY_OPERATOR))
    html = c.get("/dashboard/420881/report/").content.decode()
    assert "通过平台办理服务事项" in html and "口径" in html and "无法从数据计算" in html
