"""The dashboard in a real chromium: the choropleth map, the charts, drill-down by clicking a village,
and the wall screen's refresh. Transactional (live server in another thread): seeds what it needs."""

import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.core.testing import restore_demo
from gridgov.dashboard import rollups
from gridgov.regions.models import Region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path(os.environ.get("GRIDGOV_CHROMIUM", "/usr/bin/chromium"))
HUJI = "420881103"


@pytest.fixture(scope="module", autouse=True)
def _require_chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found (required in CI)", pytrace=False)
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium fonts-noto-cjk")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": [*browser_type_launch_args.get("args", []), "--disable-gpu", "--no-first-run"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
            "viewport": {"width": 1366, "height": 900}}


def _logged_in_page(page, live_server, role, code):
    if not Region.objects.exists():
        restore_demo()
    today = timezone.localdate()
    rollups.rebuild(today - timedelta(days=2), today)
    rollups.rebuild_snapshots()
    user = Assignment.objects.filter(role=role, region_id=code, is_active=True).order_by("id").first().user
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_map_charts_and_drill_down(page, live_server):
    errors = _logged_in_page(page, live_server, Role.TOWN_OPERATOR, HUJI)
    page.goto(f"{live_server.url}/dashboard/{HUJI}/")
    page.wait_for_selector("#dash-map[data-state='ready']", timeout=20_000)
    page.wait_for_selector("#trend-chart[data-state='ready']", timeout=20_000)
    page.wait_for_selector("#source-chart[data-state='ready']", timeout=20_000)
    villages = Region.objects.filter(parent_id=HUJI).count()
    assert int(page.get_attribute("#dash-map", "data-features")) == villages
    assert page.locator("#trend-chart canvas").count() >= 1
    assert page.locator(".leaflet-overlay-pane path").count() >= villages
    page.select_option("#map-kpi", "residents")
    assert page.get_attribute("#dash-map", "data-kpi") == "residents"
    assert "实有人口" in page.text_content("#map-legend")
    page.select_option("#trend-granularity", "week")
    page.wait_for_function("document.querySelector('#trend-chart').dataset.points !== undefined")
    # Click the middle of the map: a village of the town; the page drills down to it.
    box = page.locator("#dash-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(rf"/dashboard/{HUJI}\d{{3}}/"), timeout=45_000)
    page.wait_for_selector("#dash-map[data-state='ready']", timeout=20_000)
    assert not errors, errors


def test_wall_screen_refreshes(page, live_server):
    errors = _logged_in_page(page, live_server, Role.CITY_OPERATOR, "420881")
    started = time.monotonic()
    page.goto(f"{live_server.url}/dashboard/420881/wall/")
    page.wait_for_selector("#wall[data-refreshed='1']", timeout=30_000)
    assert page.text_content("#wall-updated") != "—"
    assert page.locator("body.wall").count() == 1
    page.wait_for_selector("#dash-map[data-state='ready']", timeout=20_000)
    assert int(page.get_attribute("#dash-map", "data-features")) == Region.objects.filter(parent_id="420881").count()
    assert time.monotonic() - started < 60 and not errors, errors
