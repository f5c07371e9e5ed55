"""A grid worker reports a case in a real browser: the grid on the map, a click picks the place (and the
page says which grid and department that is), a photo, submit; the case page then draws the grid with
the point on it. No request leaves the app (no CDN), no script error.

Real chromium through Playwright against Django's live server (see tests/browser/conftest.py for the
setup notes). The test is transactional, so it seeds what it needs when an earlier transactional test
has flushed the database.
"""

import io
import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.cases.models import Case
from gridgov.core.testing import restore_demo
from gridgov.regions.models import Region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path(os.environ.get("GRIDGOV_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "Browser-Test-Pass-2026"
GRID = "420881103202001"  # 胡集镇袁台村第1网格

# A point the click really lands on inside the (only) grid shape: scan its bounding box from the centre.
FIND_CLICK_POINT = """
() => {
  const el = document.querySelector("#report-map .leaflet-overlay-pane path.leaflet-interactive");
  if (!el) return null;
  const r = el.getBoundingClientRect();
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2, steps = 20, points = [];
  for (let i = 1; i < steps; i++) for (let j = 1; j < steps; j++)
    points.push([r.left + (r.width * i) / steps, r.top + (r.height * j) / steps]);
  points.sort((a, b) => Math.hypot(a[0] - cx, a[1] - cy) - Math.hypot(b[0] - cx, b[1] - cy));
  for (const [x, y] of points) if (document.elementFromPoint(x, y) === el) return { x, y };
  return null;
}
"""


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


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
            "viewport": {"width": 1366, "height": 900}}


def seed_if_empty() -> float:
    if Region.objects.exists():
        return 0.0
    started = time.monotonic()
    restore_demo()
    return time.monotonic() - started


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 60, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_grid_worker_reports_with_a_map_click_and_sees_the_case(live_server, page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    seed_if_empty()
    worker = (Assignment.objects.filter(role=Role.GRID_WORKER, region_id=GRID, is_active=True)
              .select_related("user").get().user)
    worker.set_password(PASSWORD)
    worker.save(update_fields=["password"])
    origin = live_server.url
    seen = {"foreign": [], "errors": []}
    local = (origin, "data:", "blob:")
    page.on("request", lambda r: None if r.url.startswith(local) else seen["foreign"].append(r.url))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("response", lambda r: seen["errors"].append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", worker.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
    page.goto(f"{origin}/cases/report/")
    page.wait_for_selector("#report-map[data-state=ready]", state="attached", timeout=20_000)
    page.select_option("#id_category", "G0104")
    page.fill("#id_description", "村头小卖部门口夜间有人聚集喝酒吵闹（浏览器测试）")
    point = page.evaluate(FIND_CLICK_POINT)
    assert point, f"no clickable point on the grid; errors: {seen['errors']}"
    page.mouse.click(point["x"], point["y"])
    # expect() polls without eval (the content security policy forbids the eval wait_for_function uses)
    expect(page.locator("#place-hint")).to_contain_text("所在网格", timeout=15_000)
    hint = page.inner_text("#place-hint")
    assert "袁台村第1网格" in hint and "胡集派出所" in hint
    assert page.input_value("#id_lon") and page.input_value("#id_lat")
    page.set_input_files("#id_files", files=[{"name": "scene.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}])
    page.click("#report-submit")
    page.wait_for_url(f"{origin}/cases/*/", timeout=20_000)
    page.wait_for_selector("#case-map[data-state]", state="attached", timeout=20_000)
    assert page.get_attribute("#case-map", "data-state") == "ready", seen["errors"]
    assert "已上报" in page.inner_text(".messages")
    case = Case.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert case.region_id == GRID and case.lon is not None and case.attachments.count() == 1
    assert page.locator(".photo-grid img").count() == 1
    assert page.evaluate("document.querySelector('.photo-grid img').naturalWidth") == 64
    assert not seen["foreign"], seen["foreign"]
    assert not seen["errors"], seen["errors"]
