"""The real media server: Debian's nginx with the RTMP module, a test pattern pushed by ffmpeg as the
camera, ffprobe as the viewer, and the platform answering nginx's callbacks from `live_server`.

Skips without nginx / the RTMP module / ffmpeg, except in CI (CI set), where that is a failure.
The database is flushed by live_server, so the test creates its own regions, users and cameras.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User
from gridgov.regions.models import Region
from gridgov.video import conf
from gridgov.video.choices import CameraStatus, Protocol, ViewEnd
from gridgov.video.models import AccessGrant, Camera, ViewSession
from gridgov.video.nginx import DEFAULT_MODULE, MediaConfig, prepare
from gridgov.video.services import grant_create, grant_revoke, view_close_idle, view_start

pytestmark = pytest.mark.django_db(transaction=True)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"


@pytest.fixture(scope="module", autouse=True)
def _require_media_tools():
    missing = [p for p in (NGINX, FFMPEG, FFPROBE, DEFAULT_MODULE) if not Path(p).exists()]
    if not missing:
        return
    message = f"media server tests need {', '.join(missing)} (apt-get install nginx libnginx-mod-rtmp ffmpeg)"
    if os.environ.get("CI"):
        pytest.fail(message + " (required in CI)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, step: float = 0.2, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def make_world():
    """County → town → village → grid, a town operator (viewer), a city operator (grantor), a grid
    worker, two cameras and a grant to the town's 综治中心 for the town."""
    # get_or_create: the seeded demo may still be there (the flush comes after the test), or not.
    county, _ = Region.objects.get_or_create(code="420881", defaults={"name": "钟祥市", "kind": "county", "level": 1})
    town, _ = Region.objects.get_or_create(code="420881100", defaults={"name": "洋梓镇", "kind": "town", "level": 2,
                                                                        "parent": county})
    village, _ = Region.objects.get_or_create(code="420881100201", defaults={
        "name": "测试村", "kind": "village", "level": 3, "parent": town})
    grid, _ = Region.objects.get_or_create(code="420881100201001", defaults={
        "name": "测试村一网格", "kind": "grid", "level": 4, "parent": village})
    viewer = User.objects.create_user("to-test", password="x", full_name="镇综治员")
    Assignment.objects.create(user=viewer, role=Role.TOWN_OPERATOR, region=town)
    centre = User.objects.create_user("city-test", password="x", full_name="市中心值班员")
    Assignment.objects.create(user=centre, role=Role.CITY_OPERATOR, region=county)
    cam_a = Camera.objects.create(code="CAM-A", name="村委会门口", grid=grid, lon=112.7, lat=31.08,
                                  stream_source="rtsp://10.9.8.7:554/secret-a")
    cam_b = Camera.objects.create(code="CAM-B", name="村口", grid=grid, lon=112.71, lat=31.081,
                                  stream_source="rtsp://10.9.8.7:554/secret-b")
    now = timezone.now()
    # The demo's standing grants (if the seeded demo is still there) must not outlive our revocation.
    AccessGrant.objects.filter(revoked_at__isnull=True).update(revoked_at=now - timedelta(seconds=1))
    grant = grant_create(acting_user=centre, purpose="镇综治中心日常巡看", valid_from=now - timedelta(minutes=1),
                         valid_until=now + timedelta(days=1), grantee_role=Role.TOWN_OPERATOR,
                         grantee_region_code=town.code, scope_region_code=town.code)
    return {"viewer": viewer, "centre": centre, "cam_a": cam_a, "cam_b": cam_b, "grant": grant, "town": town}


class MediaServer:
    def __init__(self, platform: str, prefix: Path, app_upstream: str = ""):
        self.rtmp_port, self.http_port = free_port(), free_port()
        self.prefix = prefix
        self.conf = prepare(MediaConfig(platform=platform, prefix=prefix, rtmp_listen=f"127.0.0.1:{self.rtmp_port}",
                                        http_listen=f"127.0.0.1:{self.http_port}", daemon=False, update_seconds=2,
                                        log_level="info", app_upstream=app_upstream))
        self.proc: subprocess.Popen | None = None
        self.publisher: subprocess.Popen | None = None

    def start(self):
        self.proc = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", str(self.conf), "-e",
                                      str(self.prefix / "logs" / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.rtmp_port) and port_open(self.http_port), 10, what="nginx to listen")

    def publish(self, code: str, key: str):
        url = f"rtmp://127.0.0.1:{self.rtmp_port}/live/{code}?key={key}"
        self.publisher = subprocess.Popen(
            [FFMPEG, "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "120", "-c:v", "libx264",
             "-preset", "ultrafast", "-tune", "zerolatency", "-g", "10", "-pix_fmt", "yuv420p", "-c:a", "aac",
             "-f", "flv", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def rtmp(self, path: str) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live/{path}"

    def hls(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def error_log(self) -> str:
        path = self.prefix / "logs" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        for proc in (self.publisher, self.proc):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


def probe(url: str) -> bool:
    """True when ffprobe reads an H.264 video stream from `url`."""
    try:
        out = subprocess.run([FFPROBE, "-v", "error", "-rw_timeout", "8000000", "-show_entries", "stream=codec_name",
                              "-of", "csv=p=0", url], capture_output=True, text=True, timeout=25)
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0 and "h264" in out.stdout


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def token_of(ticket) -> str:
    return ticket.token


def test_tokens_gate_rtmp_and_hls_and_the_log_records_every_view(live_server, tmp_path):
    w = make_world()
    viewer, cam_a, cam_b = w["viewer"], w["cam_a"], w["cam_b"]
    platform = f"http://127.0.0.1:{live_server.thread.port}"
    server = MediaServer(platform, tmp_path / "media")
    try:
        server.start()
        # A camera with a wrong key may not publish; the real key brings it online.
        server.publish("CAM-A", "wrong-key")
        wait_for(lambda: server.publisher.poll() is not None, 20, what="the bad publisher to be dropped")
        assert Camera.objects.get(pk=cam_a.pk).status == CameraStatus.OFFLINE
        server.publish("CAM-A", conf.publish_key("CAM-A"))
        wait_for(lambda: Camera.objects.get(pk=cam_a.pk).status == CameraStatus.ONLINE, 15, what="camera online")
        wait_for(lambda: (server.prefix / "hls" / "CAM-A.m3u8").exists(), 15, what="the HLS playlist")
        time.sleep(2.5)  # a few fragments, and on_update has fired for the publisher: it must stay up
        assert server.publisher.poll() is None, server.error_log()[-2000:]

        # --- RTMP: a valid token plays, and the view is logged with start and end.
        ticket = view_start(acting_user=viewer, camera_id=cam_a.pk, purpose="核实群众反映的占道经营")
        assert ticket.rtmp_url.endswith(f"/CAM-A?token={ticket.token}")
        assert probe(server.rtmp(f"CAM-A?token={ticket.token}")), server.error_log()[-3000:]
        view = wait_for(lambda: ViewSession.objects.filter(pk=ticket.view.pk, ended_at__isnull=False).first(), 10,
                        what="play_done to end the RTMP view")
        assert view.protocol == Protocol.RTMP and view.started_at is not None
        assert view.started_at <= view.ended_at and view.end_reason == ViewEnd.STOPPED
        # One play per token: replaying the same token is refused.
        assert not probe(server.rtmp(f"CAM-A?token={ticket.token}"))

        # Without a token / with a made-up token.
        assert not probe(server.rtmp("CAM-A"))
        assert not probe(server.rtmp("CAM-A?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        # With another camera's token, and a crafted URL repeating `name` to widen it.
        other = view_start(acting_user=viewer, camera_id=cam_b.pk, purpose="查看村口路况情况")
        assert not probe(server.rtmp(f"CAM-A?token={other.token}"))
        assert not probe(server.rtmp(f"CAM-A?token={other.token}&name=CAM-B"))
        # With an expired token.
        expired = view_start(acting_user=viewer, camera_id=cam_a.pk, purpose="过期令牌的测试查看")
        ViewSession.objects.filter(pk=expired.view.pk).update(token_expires_at=timezone.now() - timedelta(seconds=1))
        assert not probe(server.rtmp(f"CAM-A?token={expired.token}"))

        # --- HLS: the token in the path gates playlist and segments.
        hls_ticket = view_start(acting_user=viewer, camera_id=cam_a.pk, purpose="HLS 方式查看路口")
        assert hls_ticket.hls_url == f"/hls/t/{hls_ticket.token}/CAM-A.m3u8"
        assert probe(server.hls(hls_ticket.hls_url)), server.error_log()[-3000:]
        assert http_status(server.hls("/hls/CAM-A.m3u8")) == 404
        assert http_status(server.hls("/hls/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/CAM-A.m3u8")) == 403
        assert http_status(server.hls(f"/hls/t/{other.token}/CAM-A.m3u8")) == 403
        assert http_status(server.hls(f"/hls/t/{expired.token}/CAM-A.m3u8")) == 403
        segment = next((server.prefix / "hls").glob("CAM-A-*.ts")).name
        assert http_status(server.hls(f"/hls/t/{hls_ticket.token}/{segment}")) == 200
        assert http_status(server.hls(f"/hls/t/{other.token}/{segment}")) == 403
        # The HLS view is open while fetched, and closed by the idle sweep with its last fetch as end.
        hls_view = ViewSession.objects.get(pk=hls_ticket.view.pk)
        assert hls_view.protocol == Protocol.HLS and hls_view.started_at and hls_view.ended_at is None
        assert view_close_idle(idle_seconds=0) >= 1
        hls_view.refresh_from_db()
        assert hls_view.ended_at == hls_view.last_checked_at and hls_view.end_reason == ViewEnd.IDLE

        # --- Revoking the grant cuts a running view at the next on_update, and refuses new plays.
        running = view_start(acting_user=viewer, camera_id=cam_a.pk, purpose="持续查看直到授权撤销")
        hls_before = view_start(acting_user=viewer, camera_id=cam_a.pk, purpose="撤销前申请的 HLS 令牌")
        player = subprocess.Popen([FFMPEG, "-nostdin", "-loglevel", "error", "-rw_timeout", "8000000", "-i",
                                   server.rtmp(f"CAM-A?token={running.token}"), "-t", "60", "-f", "null", "-"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: ViewSession.objects.filter(pk=running.view.pk, started_at__isnull=False).exists(), 15,
                     what="the running view to start")
            time.sleep(1)
            assert player.poll() is None
            grant_revoke(acting_user=w["centre"], grant_id=w["grant"].pk, reason="专项行动结束")
            revoked_at = time.monotonic()
            player.wait(timeout=20)
            assert time.monotonic() - revoked_at < 15  # cut by on_update (every 2 s), not by -t 60
        finally:
            if player.poll() is None:
                player.kill()
                player.wait(timeout=5)
        running_view = ViewSession.objects.get(pk=running.view.pk)
        assert running_view.ended_at is not None and running_view.end_reason == ViewEnd.GRANT_LAPSED
        assert not probe(server.rtmp(f"CAM-A?token={hls_before.token}"))
        assert http_status(server.hls(f"/hls/t/{hls_before.token}/CAM-A.m3u8")) == 403
        # The camera kept publishing through all of this; when it stops, it is offline.
        assert server.publisher.poll() is None
        server.publisher.terminate()
        wait_for(lambda: Camera.objects.get(pk=cam_a.pk).status == CameraStatus.OFFLINE, 10, what="camera offline")
    finally:
        server.stop()
