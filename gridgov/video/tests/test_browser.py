"""The page player in a real browser: chromium (Debian, through Playwright) opens the camera map and
the watch page through nginx (which proxies the app, so pages and /hls/ share one origin under the
content security policy), states a purpose, and hls.js plays the test pattern that ffmpeg pushes.
Then the grant is revoked and the page says the playback stopped.

Skips without chromium, nginx or ffmpeg unless CI is set.
"""

import os
from pathlib import Path

import pytest

from gridgov.video import conf
from gridgov.video.models import ViewSession
from gridgov.video.services import grant_revoke

from .test_media_server import MediaServer, _require_media_tools, make_world, wait_for  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path(os.environ.get("GRIDGOV_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "Browser-Test-Pass-2026"


@pytest.fixture(scope="module", autouse=True)
def _require_chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found (required in CI)", pytrace=False)
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium and fonts-noto-cjk")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": [*browser_type_launch_args.get("args", []), "--disable-gpu", "--no-first-run",
                     "--autoplay-policy=no-user-gesture-required"]}


# page.wait_for_function evaluates through `new Function`, which the CSP forbids: poll page.evaluate.
def test_map_and_player_in_a_real_browser(live_server, page, tmp_path):
    w = make_world()
    viewer = w["viewer"]
    viewer.set_password(PASSWORD)
    viewer.save(update_fields=["password"])
    app = f"http://127.0.0.1:{live_server.thread.port}"
    server = MediaServer(app, tmp_path / "media", app_upstream=app)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        server.start()
        server.publish("CAM-A", conf.publish_key("CAM-A"))
        wait_for(lambda: (server.prefix / "hls" / "CAM-A.m3u8").exists(), 20, what="the HLS playlist")
        origin = f"http://127.0.0.1:{server.http_port}"
        page.goto(f"{origin}/accounts/login/")
        page.fill("#id_username", viewer.username)
        page.fill("#id_password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_load_state("networkidle")

        page.goto(f"{origin}/video/")
        page.wait_for_selector("#camera-map[data-state='ready']", timeout=15000)
        # Our two cameras, plus the demo's in the same town when the seeded demo is still there.
        assert int(page.get_attribute("#camera-map", "data-features")) >= 2
        assert page.locator("#camera-map .leaflet-interactive").count() >= 2

        page.goto(f"{origin}/video/cameras/{w['cam_a'].pk}/watch/")
        page.fill("input[name=purpose]", "浏览器中查看村委会门口")
        page.click("#watch-form button[type=submit]")
        page.wait_for_selector("#player", timeout=10000)
        # Playing: the video element's clock advances (hls.js fed MSE from the token's playlist).
        wait_for(lambda: page.evaluate("document.getElementById('player').currentTime") > 1.5, 30,
                 what="the player to play")
        view = ViewSession.objects.get(user=viewer, camera=w["cam_a"])
        assert view.protocol == "hls" and view.started_at is not None

        grant_revoke(acting_user=w["centre"], grant_id=w["grant"].pk, reason="浏览器测试结束")
        wait_for(lambda: "授权已失效" in page.evaluate("document.getElementById('player-state').textContent"), 40,
                 what="the page to say the playback stopped")
        assert not errors, errors
    finally:
        server.stop()
