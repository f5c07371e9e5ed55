import io
import os
import shutil
import subprocess

import pytest
from django.core.management import CommandError, call_command

from gridgov.video import conf
from gridgov.video.nginx import DEFAULT_MODULE

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_nginx_conf_renders_for_the_platform(tmp_path):
    text = _run("video_nginx_conf", "--platform", "http://10.1.2.3:8000", "--prefix", str(tmp_path), "--print")
    assert f"load_module {DEFAULT_MODULE};" in text
    assert "on_play http://10.1.2.3:8000/video/media/rtmp/;" in text and "on_update" in text
    assert "proxy_pass http://10.1.2.3:8000/video/media/hls-auth/;" in text and "auth_request" in text
    assert "@@" not in text and f"hls_path {tmp_path.resolve()}/hls;" in text
    with pytest.raises(CommandError):
        _run("video_nginx_conf", "--platform", "https://platform.example", "--prefix", str(tmp_path), "--print")
    _run("video_nginx_conf", "--platform", "http://127.0.0.1:8000", "--prefix", str(tmp_path),
         "--rtmp-listen", "127.0.0.1:19351", "--http-listen", "127.0.0.1:18081")
    assert (tmp_path / "nginx.conf").exists() and (tmp_path / "logs").is_dir()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if shutil.which(nginx) and os.path.exists(DEFAULT_MODULE):
        check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e",
                                str(tmp_path / "logs" / "error.log")], capture_output=True, text=True, timeout=20)
        assert check.returncode == 0, check.stderr


def test_publish_url_and_close_idle(video):
    text = _run("video_publish_url", "T-CAM-A", "--base", "rtmp://media:1935/live")
    assert text.strip() == f"rtmp://media:1935/live/T-CAM-A?key={conf.publish_key('T-CAM-A')}"
    with pytest.raises(CommandError):
        _run("video_publish_url", "NOPE")
    assert "已结束" in _run("video_close_idle")
