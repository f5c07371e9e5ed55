"""A town operator logs in, sees the town's villages on the map, and drills down to a village.

Real chromium through Playwright against Django's live server. The test is transactional (the live
server runs in another thread), so it seeds what it needs itself when an earlier transactional
test has flushed the database.
"""

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.core.testing import restore_demo
from gridgov.regions.models import Region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Test-Pass-2026"
HUJI = "420881103"

# A point inside the polygon `code` that a click really lands on (not a neighbour, not a label):
# scan the shape's bounding box from its centre outwards and ask the page what is hit there.
FIND_CLICK_POINT = """
(code) => {
  const el = document.querySelector(`.leaflet-overlay-pane path[data-code="${code}"]`);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2, steps = 24, points = [];
  for (let i = 1; i < steps; i++) for (let j = 1; j < steps; j++)
    points.push([r.left + (r.width * i) / steps, r.top + (r.height * j) / steps]);
  points.sort((a, b) => Math.hypot(a[0] - cx, a[1] - cy) - Math.hypot(b[0] - cx, b[1] - cy));
  for (const [x, y] of points) if (document.elementFromPoint(x, y) === el) return { x, y };
  return null;
}
"""


def seed_if_empty() -> float:
    """Seconds spent seeding (0 when the session's seed is still there)."""
    if Region.objects.exists():
        return 0.0
    started = time.monotonic()
    restore_demo()
    return time.monotonic() - started


def town_operator(code: str, password: str):
    assignment = (
        Assignment.objects.filter(role=Role.TOWN_OPERATOR, region_id=code, is_active=True)
        .select_related("user").order_by("id").first()
    )
    assert assignment is not None, f"the demo seed has no town operator at {code}"
    user = assignment.user
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def wait_for_map(page, seen) -> int:
    """Wait until the map script has finished (ready or error); return the number of shapes drawn."""
    try:
        page.wait_for_selector("#region-map[data-state]", state="attached", timeout=15_000)
    except PlaywrightTimeoutError:
        pytest.fail(f"the map script never finished; page errors: {seen['errors']}")
    region_map = page.locator("#region-map")
    state = region_map.get_attribute("data-state")
    assert state == "ready", f"map state {state!r}; page errors: {seen['errors']}"
    return int(region_map.get_attribute("data-features"))


def watch(page, origin: str) -> dict[str, list[str]]:
    """Collect requests leaving the app's origin (there must be none: no CDN) and page errors."""
    seen: dict[str, list[str]] = {"foreign": [], "errors": []}
    page.on("request", lambda r: None if r.url.startswith((origin, "data:")) else seen["foreign"].append(r.url))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: seen["errors"].append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return seen


def test_town_operator_drills_down_from_town_to_village(page, live_server, screenshot_dir):
    seed_seconds = seed_if_empty()
    operator = town_operator(HUJI, PASSWORD)
    villages = list(Region.objects.filter(parent_id=HUJI).order_by("code"))
    village = next(v for v in villages if v.name == "湖山村")
    grids = list(Region.objects.filter(parent=village).order_by("code"))
    seen = watch(page, live_server.url)

    response = page.goto(f"{live_server.url}/accounts/login/")
    assert response.status == 200, seen["errors"]
    assert page.title().startswith("登录"), page.content()[:500]
    page.fill("#id_username", operator.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")

    # Home sends a town operator to the town's page; the map fills in from the GeoJSON endpoint.
    page.wait_for_url(f"**/regions/{HUJI}/")
    assert wait_for_map(page, seen) == len(villages)
    assert page.locator(".breadcrumb li").all_inner_texts() == ["钟祥市", "胡集镇"]
    assert page.locator("h1").inner_text() == "胡集镇"
    shapes = page.locator(".leaflet-overlay-pane path")
    assert shapes.count() == len(villages)
    assert sorted(shapes.evaluate_all("els => els.map(e => e.dataset.code)")) == [v.code for v in villages]
    labels = page.locator(".leaflet-tooltip-pane .region-label").all_inner_texts()
    assert sorted(labels) == sorted(v.name for v in villages)
    assert page.locator("#children-table tbody tr").count() == len(villages)
    town_png = screenshot_dir / "region-map-town.png"
    page.screenshot(path=str(town_png), full_page=True)

    # A click on the village's polygon opens the village page, with its grids on the map.
    point = page.evaluate(FIND_CLICK_POINT, village.code)
    assert point is not None, "no visible, clickable point on the village polygon"
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(f"**/regions/{village.code}/")
    assert wait_for_map(page, seen) == len(grids)
    assert page.locator(".breadcrumb li").all_inner_texts() == ["钟祥市", "胡集镇", "湖山村"]
    assert page.locator(".breadcrumb a").all_inner_texts() == ["胡集镇"]  # the county is above the scope
    assert page.locator(".leaflet-overlay-pane path").count() == len(grids)
    assert page.locator("#children-table tbody tr").count() == len(grids)
    for grid in grids:
        assert page.locator(f"#children-table a[href='/regions/{grid.code}/']").inner_text() == grid.name

    village_png = screenshot_dir / "region-map-village.png"
    page.screenshot(path=str(village_png), full_page=True)
    assert town_png.stat().st_size > 10_000 and village_png.stat().st_size > 10_000

    assert seen["foreign"] == [], f"requests left the app: {seen['foreign']}"
    assert seen["errors"] == [], f"errors in the page: {seen['errors']}"
    print(f"\nseed_demo: {seed_seconds:.1f} s; screenshots in {screenshot_dir}")
