"""Renders deploy/nginx/gridgov-media.conf.template for a given platform address and ports."""

import getpass
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

TEMPLATE = Path(settings.BASE_DIR) / "deploy" / "nginx" / "gridgov-media.conf.template"
DEFAULT_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


@dataclass(frozen=True)
class MediaConfig:
    platform: str                 # http://host:port of the Django app, as nginx reaches it
    prefix: Path                  # pid, logs, temp files and HLS fragments live here
    rtmp_listen: str = "1935"
    http_listen: str = "8080"
    module_path: str = DEFAULT_MODULE
    daemon: bool = True
    update_seconds: int = 10
    app_upstream: str = ""        # when set, / is proxied to the app (one origin for pages and HLS)
    log_level: str = "warn"


def _port(listen: str) -> str:
    return listen.rsplit(":", 1)[-1]


def render(cfg: MediaConfig) -> str:
    parts = urlsplit(cfg.platform)
    if parts.scheme not in ("http",) or not parts.netloc or parts.path not in ("", "/"):
        # nginx-rtmp notifications speak plain HTTP only: keep the platform on a private address.
        raise ValueError("平台地址应形如 http://127.0.0.1:8000（nginx-rtmp 回调只支持 http）")
    if not Path(cfg.module_path).is_absolute():
        raise ValueError("RTMP 模块路径必须是绝对路径")
    prefix = Path(cfg.prefix).resolve()
    # Workers of a root master run as `nobody` unless told otherwise: run them as the current user.
    user_line = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    app_proxy = ""
    if cfg.app_upstream:
        app_proxy = (
            "        location / {\n"
            f"            proxy_pass {cfg.app_upstream};\n"
            "            proxy_set_header Host $http_host;\n"
            "            proxy_set_header X-Forwarded-Proto $scheme;\n"
            "            client_max_body_size 20m;\n"
            "        }\n"
        )
    values = {
        "MODULE_PATH": cfg.module_path,
        "USER_LINE": user_line,
        "DAEMON_LINE": "" if cfg.daemon else "daemon off;",
        "PREFIX": str(prefix),
        "LOG_LEVEL": cfg.log_level,
        "RTMP_LISTEN": cfg.rtmp_listen,
        "HTTP_LISTEN": cfg.http_listen,
        "RTMP_PORT": _port(cfg.rtmp_listen),
        "HTTP_PORT": _port(cfg.http_listen),
        "PLATFORM": cfg.platform.rstrip("/"),
        "UPDATE_SECONDS": str(int(cfg.update_seconds)),
        "APP_PROXY": app_proxy,
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    if "@@" in text:
        raise ValueError("模板中有未替换的占位符")
    return text


def prepare(cfg: MediaConfig) -> Path:
    """Writes nginx.conf under the prefix with the directories nginx needs; returns the file."""
    prefix = Path(cfg.prefix).resolve()
    for sub in ("logs", "hls", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(render(cfg), encoding="utf-8")
    return path
