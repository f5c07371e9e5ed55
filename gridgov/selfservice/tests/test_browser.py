"""A resident on a phone, in a real browser: signs in with the SMS code, sees the household's score
and rank, reports a problem with the phone's GPS position and a photo, and follows its status. Touch
targets are at least 44 px high, no request leaves the site, no script error, no inline script.

Real chromium through Playwright against Django's live server (tests/browser/conftest.py has the
setup notes). Transactional: it seeds the demo itself when an earlier transactional test flushed it.
"""

import os
import re
from pathlib import Path

import pytest

from gridgov.cases.models import Case
from gridgov.cases.tests.factories import JPEG
from gridgov.core.testing import restore_demo
from gridgov.regions.models import Region

from .conftest import last_code, resident_with_points

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path(os.environ.get("GRIDGOV_CHROMIUM", "/usr/bin/chromium"))
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module", autouse=True)
def _require_chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found (required in CI)", pytrace=False)
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium and fonts-noto-cjk")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": [*browser_type_launch_args.get("args", []), "--disable-gpu", "--no-first-run"]}


def test_resident_signs_in_and_reports_with_gps_and_photo(live_server, browser, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    if not Region.objects.exists():
        restore_demo()
    resident = resident_with_points()
    grid = Region.objects.filter(level=4, code__startswith="420881107201").order_by("code").first()
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", permissions=["geolocation"],
                                  geolocation={"longitude": grid.centroid_lon, "latitude": grid.centroid_lat})
    page = context.new_page()
    errors, foreign = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server.url) else None)

    page.goto(f"{live_server.url}/my/")
    assert "/my/login/" in page.url
    page.fill("#phone", resident.phone)
    page.click("button[type=submit]")
    page.fill("#code", last_code(resident.phone))
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/my/$"))
    assert resident.name in page.inner_text("h1")
    assert int(page.inner_text("#household-rank")) >= 1

    # Every link and button of the home page is a comfortable touch target.
    small = page.evaluate("""() => [...document.querySelectorAll('a, button')]
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
        .map(e => e.textContent.trim())""")
    assert small == [], small

    page.click("text=随手拍·反映问题")
    page.select_option("#category", "C0107")
    page.fill("#description", "村口路灯不亮")
    page.click("#locate")
    page.wait_for_function("document.getElementById('lon').value !== ''")
    assert "已获取当前位置" in page.inner_text("#locate-status")
    photo = tmp_path / "scene.jpg"
    photo.write_bytes(JPEG)
    page.set_input_files("#photo", str(photo))
    page.click("#report-form button[type=submit]")
    page.wait_for_url(re.compile(r"/my/reports/\d+/$"))
    assert page.inner_text("#report-state") == "已提交，等待受理"
    case = Case.objects.get(number=page.url.rstrip("/").rsplit("/", 1)[1])
    assert case.region_id == grid.code and case.attachments.count() == 1

    html = page.content()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=", html)
    assert errors == [] and foreign == []
    context.close()
