"""网格通 offline: a grid worker on a phone records a visit and reports a case with no signal.

Real chromium (mobile viewport, touch, emulated GPS) against Django's live server: the service
worker installs, the context goes offline, both records wait in the IndexedDB outbox, survive a
reload with no signal, and are sent exactly once when the connection returns.
"""

import time

import pytest
from PIL import Image

from gridgov.cases.models import Case
from gridgov.core.testing import restore_demo
from gridgov.regions.models import Region
from gridgov.visits.models import Visit
from gridgov.visits.tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Mobile-Browser-Pass-2026"


def seed_if_empty() -> None:
    # Transactional tests flush the database; the structure (towns, catalogues) is all this test needs.
    if not Region.objects.filter(code=f.HUJI).exists():
        restore_demo(no_people=True)


@pytest.fixture
def phone(browser, live_server, tmp_path):
    seed_if_empty()
    village, grids = f.make_village(name="网格通村")
    grid = grids[0]
    worker = f.make_worker(grid, "离线网格员")
    worker.set_password(PASSWORD)
    worker.save(update_fields=["password"])
    person = f.make_resident(grid, name="王留守", lon=grid.centroid_lon, lat=grid.centroid_lat)
    f.make_tag(person, "left_behind_child")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True,
        locale="zh-CN", timezone_id="Asia/Shanghai", permissions=["geolocation"],
        geolocation={"latitude": grid.centroid_lat, "longitude": grid.centroid_lon, "accuracy": 15},
    )
    photo = tmp_path / "scene.jpg"
    Image.new("RGB", (2400, 1800), (90, 140, 60)).save(photo, "JPEG", quality=95)
    yield {"context": context, "worker": worker, "grid": grid, "grid2": grids[1], "person": person, "photo": photo,
           "url": live_server.url}
    context.close()


def wait_js(page, expression: str, timeout: float = 20.0) -> None:
    """Poll an expression through page.evaluate (CDP, not subject to the page's CSP, which forbids
    the eval that page.wait_for_function relies on)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.2)


def login(page, url, worker):
    page.goto(f"{url}/m/")
    assert "/m/login/" in page.url
    page.fill("#id_username", worker.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{url}/m/")
    wait_js(page, "navigator.serviceWorker.controller?.state === 'activated'")
    page.wait_for_selector("text=今日走访 0/1", timeout=60_000)


def test_offline_visit_and_case_reach_the_server_exactly_once(phone):
    context, worker, url = phone["context"], phone["worker"], phone["url"]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, url, worker)

    context.set_offline(True)
    page.wait_for_selector("#net[data-online='0']")
    page.click("text=记录走访")
    page.check("input[name=check] >> nth=0")
    page.fill("textarea[name=findings]", "孩子在家，作业已完成")
    page.set_input_files("input[name=photo]", str(phone["photo"]))
    page.click("#sheet button[type=submit]")
    page.wait_for_selector("#outbox-count[data-n='1']")

    page.click("#tabs button[data-tab=cases]")
    page.click("text=上报事件")
    page.select_option("select[name=category]", "E0102")
    page.fill("textarea[name=description]", "村口垃圾堆积")
    page.set_input_files("input[name=photo]", str(phone["photo"]))
    page.click("#sheet button[type=submit]")
    page.wait_for_selector("#outbox-count[data-n='2']")
    assert Visit.objects.filter(worker=worker).count() == 0 and Case.objects.filter(reporter=worker).count() == 0

    page.reload()  # still offline: the service worker serves the shell, IndexedDB keeps the outbox
    page.wait_for_selector("body[data-ready='1']")
    page.click("#tabs button[data-tab=outbox]")
    page.wait_for_selector(".outbox-item[data-status=waiting] >> nth=1")
    assert page.locator(".outbox-item[data-status=waiting]").count() == 2
    assert page.locator("#net").text_content() == "离线"

    context.set_offline(False)
    page.wait_for_selector("#outbox-count[data-n='0']", timeout=30_000)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Case.objects.filter(reporter=worker).count() == 0:
        time.sleep(0.2)
    visits = list(Visit.objects.filter(worker=worker))
    cases = list(Case.objects.filter(reporter=worker))
    assert len(visits) == 1 and len(cases) == 1
    visit = visits[0]
    assert visit.resident_id == phone["person"].pk and visit.photo and visit.accuracy_m == 15
    assert visit.location_check == "ok" and visit.checklist[0]["checked"] is True
    assert visit.photo.size < 400_000  # compressed on the phone (the original is 2400 × 1800)
    assert cases[0].attachments.count() == 1 and cases[0].description == "村口垃圾堆积"

    page.click("#tabs button[data-tab=outbox]")
    page.wait_for_selector(".outbox-item[data-status=sent] >> nth=1")
    page.click("text=清除已发送")
    page.wait_for_selector("#outbox-empty")
    # A second sync pushes nothing more.
    page.click("#sync-now")
    page.wait_for_timeout(1500)
    assert Visit.objects.filter(worker=worker).count() == 1 and Case.objects.filter(reporter=worker).count() == 1
    assert not errors, errors


def test_a_refused_item_shows_its_reason_and_can_be_resent(phone):
    context, worker, url = phone["context"], phone["worker"], phone["url"]
    page = context.new_page()
    login(page, url, worker)
    context.set_offline(True)
    page.click("#tabs button[data-tab=cases]")
    page.click("text=上报事件")
    page.select_option("select[name=category]", "E0102")
    page.fill("textarea[name=description]", "路灯不亮")
    page.click("#sheet button[type=submit]")
    page.wait_for_selector("#outbox-count[data-n='1']")  # saved in IndexedDB before we move it
    # The report is placed in the neighbouring grid (not the worker's) before it goes out.
    other = phone["grid2"]
    page.evaluate("""async ([lon, lat]) => {
      const req = indexedDB.open('gridgov-m', 1);
      const db = await new Promise((r) => { req.onsuccess = () => r(req.result); });
      const store = db.transaction('outbox', 'readwrite').objectStore('outbox');
      const all = await new Promise((r) => { const q = store.getAll(); q.onsuccess = () => r(q.result); });
      const item = all[0]; item.data.lon = lon; item.data.lat = lat; store.put(item);
    }""", [other.centroid_lon, other.centroid_lat])
    context.set_offline(False)
    page.click("#tabs button[data-tab=outbox]")
    page.click("#sync-now")
    page.wait_for_selector(".outbox-item[data-status=refused]", timeout=60_000)
    assert "不在您负责的区域内" in page.locator(".outbox-item[data-status=refused] .error").text_content()
    assert Case.objects.filter(reporter=worker).count() == 0
    page.click("text=修改后重发")
    page.fill("input[name=address]", "村委会门口")
    page.click("#sheet button[type=submit]")
    page.wait_for_selector("#outbox-count[data-n='0']", timeout=60_000)
    assert Case.objects.filter(reporter=worker, address="村委会门口").count() == 1
