"""A town operator writes a notice with the rich-text editor in a real browser and asks for
acknowledgement; a grid worker finds it unread in the inbox, opens it and acknowledges; the town's
statistics drill down to the worker's village and show the acknowledgement. No request leaves the app,
no script error, no inline script.

Real chromium through Playwright against Django's live server (tests/browser/conftest.py has the
setup notes). Transactional: it seeds the demo itself when an earlier transactional test flushed it.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.core.testing import restore_demo
from gridgov.notices.models import Notice, Receipt
from gridgov.regions.models import Region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path(os.environ.get("GRIDGOV_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "Browser-Test-Pass-2026"
TOWN = "420881103"  # 胡集镇


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


def _seed_if_empty() -> None:
    if not Region.objects.exists():
        restore_demo()


def _account(role: str, region: str):
    user = Assignment.objects.filter(role=role, region_id=region, is_active=True).order_by("id").first().user
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def _login(page, origin, user):
    page.context.clear_cookies()
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")


def test_compose_with_the_editor_then_acknowledge_and_drill_down(live_server, page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    _seed_if_empty()
    town_op = _account(Role.TOWN_OPERATOR, TOWN)
    grid = Region.objects.filter(code__startswith=TOWN, level=4).order_by("code").first()
    worker = _account(Role.GRID_WORKER, grid.code)
    origin = live_server.url
    seen = {"foreign": [], "errors": []}
    page.on("request", lambda r: None if r.url.startswith((origin, "data:", "blob:")) else
            seen["foreign"].append(r.url))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("response", lambda r: seen["errors"].append(f"{r.status} {r.url}") if r.status >= 400 else None)

    _login(page, origin, town_op)
    page.goto(f"{origin}/notices/compose/")
    assert page.locator("textarea#id_body_html").is_hidden()  # the editor took over
    assert page.locator("#field-ack_deadline").is_hidden()
    page.fill("#id_title", "浏览器测试：防汛值班通知")
    page.select_option("#id_region", TOWN)
    page.click(".rich-editor")
    page.keyboard.type("请各网格员")
    page.click(".rich-toolbar button[data-cmd=bold]")
    page.keyboard.type("今晚值班")
    page.check("input[name=roles][value=grid_worker]")
    page.check("#id_requires_ack")
    assert page.locator("#field-ack_deadline").is_visible()
    deadline = timezone.localtime(timezone.now() + timedelta(days=2))
    page.fill("#id_ack_deadline", deadline.strftime("%Y-%m-%dT%H:%M"))
    page.click("#notice-submit")
    page.wait_for_url(f"{origin}/notices/*/", timeout=20_000)
    assert "通知已发送给" in page.inner_text(".messages")
    notice = Notice.objects.get(title="浏览器测试：防汛值班通知")
    assert "今晚值班</b>" in notice.body_html or "今晚值班</strong>" in notice.body_html, notice.body_html
    assert notice.requires_ack and set(Receipt.objects.filter(notice=notice).values_list("role", flat=True)) == {
        "grid_worker"}

    _login(page, origin, worker)
    page.goto(f"{origin}/notices/?show=unread")
    page.click("text=浏览器测试：防汛值班通知")
    page.wait_for_selector("#ack-form")
    page.fill("#ack-form input[name=comment]", "收到，已安排")
    page.click("#ack-button")
    page.wait_for_selector("#receipt .ok")
    receipt = Receipt.objects.get(notice=notice, user=worker)
    assert receipt.acked_at and receipt.ack_comment == "收到，已安排"

    _login(page, origin, town_op)
    page.goto(f"{origin}/notices/{notice.pk}/stats/")
    village = grid.code[:12]
    page.click(f"#stats-table tr[data-code='{village}'] a")
    page.wait_for_selector(f"#stats-table tr[data-code='{grid.code}']")
    row = page.inner_text(f"#stats-table tr[data-code='{grid.code}']")
    assert "100.0%" in row  # the one grid worker read and acknowledged
    assert page.locator("script:not([src])").count() == 0
    assert not seen["foreign"], seen["foreign"]
    assert not seen["errors"], seen["errors"]
