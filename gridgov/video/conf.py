"""Settings of the video module, each overridable in Django settings or the environment."""

import hashlib
import hmac
import os

from django.conf import settings


def _get(name: str, default):
    if hasattr(settings, name):
        return getattr(settings, name)
    return os.environ.get(name, default)


def token_ttl_seconds() -> int:
    """How long a viewing token lasts; the media server cuts the view when it lapses."""
    return int(_get("VIDEO_TOKEN_TTL_SECONDS", 900))


def idle_seconds() -> int:
    """An HLS view with no request for this long is closed by `video_close_idle`."""
    return int(_get("VIDEO_IDLE_SECONDS", 60))


def rtmp_play_base() -> str:
    """Where players reach the RTMP application, e.g. rtmp://media.example:1935/live."""
    return str(_get("VIDEO_RTMP_BASE_URL", "rtmp://127.0.0.1:1935/live")).rstrip("/")


def hls_base() -> str:
    """Where players reach HLS (by default the same origin, proxied by the same nginx)."""
    return str(_get("VIDEO_HLS_BASE_URL", "/hls")).rstrip("/")


def media_server_addrs() -> frozenset[str]:
    """The addresses the media server's callbacks come from; others get 403."""
    value = _get("VIDEO_MEDIA_SERVER_ADDRS", "127.0.0.1,::1")
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(v.strip() for v in value if v.strip())


def publish_key(camera_code: str) -> str:
    """The key a camera (or its relay) pushes with: derived from SECRET_KEY, so nothing is stored."""
    secret = str(_get("VIDEO_PUBLISH_SECRET", settings.SECRET_KEY)).encode()
    return hmac.new(secret, f"video.publish:{camera_code}".encode(), hashlib.sha256).hexdigest()[:32]
