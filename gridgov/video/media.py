"""The platform side of the media server's questions: nginx-rtmp's on_play / on_update /
on_play_done / on_publish / on_publish_done callbacks, and nginx's auth_request for HLS.

nginx-rtmp posts a form with its own fields first and then the query arguments of the client's
URL, so a crafted URL can repeat a field (`...live/cam1?token=T&name=cam2`). A field given twice
with different values is refused outright: a token is bound to one camera and nothing widens it.
Any non-2xx answer makes nginx refuse (on_play) or drop (on_update) the client.
"""

import hmac
import logging
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from gridgov.core.audit import audit_record
from gridgov.core.models import AuditOutcome

from . import conf
from .access import watch_grant
from .choices import CameraStatus, Protocol, ViewEnd
from .models import Camera, ViewSession
from .services import hash_token

log = logging.getLogger("gridgov.video.media")

RTMP_APP = "live"
HLS_PATH_RE = re.compile(r"^/hls/t/(?P<token>[A-Za-z0-9_-]{16,64})/(?P<file>[A-Za-z0-9][A-Za-z0-9_.-]{1,60})$")
REASONS = {
    "bad_request": "请求格式不正确",
    "conflicting_fields": "请求中同一参数出现了不同的值",
    "wrong_app": "应用名不正确",
    "no_token": "缺少查看令牌",
    "invalid_token": "令牌无效",
    "wrong_camera": "令牌不属于该摄像机",
    "used": "令牌已被使用",
    "ended": "该次查看已结束",
    "token_expired": "令牌已过期",
    "grant_lapsed": "查看授权已失效或被撤销",
    "user_inactive": "账号已停用",
    "unknown_camera": "摄像机未登记",
    "bad_key": "推流密钥不正确",
}


@dataclass(frozen=True)
class Answer:
    allowed: bool
    reason: str = ""

    @property
    def status(self) -> int:
        return 200 if self.allowed else 403


OK = Answer(True)


class _Conflict(Exception):
    pass


def _one(form, name: str) -> str:
    values = form.getlist(name)
    if len(set(values)) > 1:
        raise _Conflict(name)
    return values[0] if values else ""


def _refuse(reason: str, view: ViewSession | None = None, camera_code: str = "", audit: bool = True) -> Answer:
    if audit:
        audit_record(actor=view.user if view else None, action="video.play.refused",
                     object_type="video.viewsession" if view else "video.camera",
                     object_id=str(view.pk) if view else camera_code,
                     region_code=view.camera.grid_id if view else "",
                     outcome=AuditOutcome.FAILURE, changes={"reason": reason, "camera": camera_code},
                     message=f"拒绝播放 {camera_code}：{REASONS.get(reason, reason)}")
    return Answer(False, reason)


def _end(view: ViewSession, reason: str, now) -> None:
    ViewSession.objects.filter(pk=view.pk, ended_at__isnull=True).update(ended_at=now, end_reason=reason)


def _check(view: ViewSession | None, camera_code: str, now) -> str:
    """'' when the view may go on; otherwise why not (ending the view when its token or grant lapsed)."""
    if view is None:
        return "invalid_token"
    if view.camera.code != camera_code:
        return "wrong_camera"
    if view.ended_at is not None:
        return view.end_reason if view.end_reason in (ViewEnd.GRANT_LAPSED, ViewEnd.TOKEN_EXPIRED) else "ended"
    if view.token_expires_at <= now:
        _end(view, ViewEnd.TOKEN_EXPIRED, now)
        return "token_expired"
    if not view.user.is_active:
        _end(view, ViewEnd.GRANT_LAPSED, now)
        return "user_inactive"
    if watch_grant(view.user, view.camera, now) is None:
        _end(view, ViewEnd.GRANT_LAPSED, now)
        return "grant_lapsed"
    return ""


def _view_for(token: str) -> ViewSession | None:
    if not token:
        return None
    return ViewSession.objects.select_related("camera", "user").filter(token_hash=hash_token(token)).first()


@transaction.atomic
def rtmp_callback(form, remote_addr: str = "") -> Answer:
    """Answers one nginx-rtmp notification (the `call` field says which)."""
    try:
        call, app, name = _one(form, "call"), _one(form, "app"), _one(form, "name")
        token, addr = _one(form, "token"), _one(form, "addr")
    except _Conflict as exc:
        return _refuse("conflicting_fields", camera_code=f"{form.get('name', '')}:{exc}")
    now = timezone.now()
    if call in ("publish", "update_publish", "publish_done"):
        return _publisher(call, app, name, form, now)
    if call == "play_done" or call == "done":
        view = _view_for(token)
        if view is not None and view.protocol == Protocol.RTMP:
            _end(view, ViewEnd.STOPPED, now)
        return OK
    if call not in ("play", "update_play"):
        return Answer(False, "bad_request")
    if app != RTMP_APP:
        return _refuse("wrong_app", camera_code=name)
    if not token:
        return _refuse("no_token", camera_code=name)
    view = _view_for(token)
    if view is not None:
        view = ViewSession.objects.select_for_update().select_related("camera", "user").get(pk=view.pk)
    reason = _check(view, name, now)
    if not reason and call == "play" and view.started_at is not None:
        reason = "used"  # one play per token: a second player needs its own token (and log row)
    if not reason and call == "update_play" and (view.protocol != Protocol.RTMP or view.started_at is None):
        reason = "invalid_token"
    if reason:
        return _refuse(reason, view if view and reason != "wrong_camera" else None, name)
    if call == "play":
        view.started_at, view.protocol, view.client_addr = now, Protocol.RTMP, (addr or remote_addr)[:64]
    view.last_checked_at = now
    view.save(update_fields=["started_at", "protocol", "client_addr", "last_checked_at"])
    return OK


def _publisher(call: str, app: str, name: str, form, now) -> Answer:
    camera = Camera.objects.filter(code=name).first() if name else None
    if call == "update_publish":
        # Must be 2xx, or nginx cuts the camera's push; publish already checked the key.
        if camera is not None:
            Camera.objects.filter(pk=camera.pk).update(last_seen_at=now)
        return OK
    if camera is None or app != RTMP_APP:
        return _refuse("unknown_camera", camera_code=name) if call == "publish" else OK
    if call == "publish":
        if not hmac.compare_digest(_one(form, "key"), conf.publish_key(camera.code)):
            return _refuse("bad_key", camera_code=name)
        if camera.status != CameraStatus.ONLINE:
            audit_record(actor=None, action="video.camera.online", obj=camera, changes={"status": camera.status},
                         message=f"摄像机 {camera.code} 上线")
        Camera.objects.filter(pk=camera.pk).update(status=CameraStatus.ONLINE, last_seen_at=now, status_changed_at=now)
        return OK
    # publish_done: the push stopped. A camera marked faulty stays faulty until someone repairs it.
    if camera.status == CameraStatus.ONLINE:
        Camera.objects.filter(pk=camera.pk).update(status=CameraStatus.OFFLINE, last_seen_at=now,
                                                   status_changed_at=now)
        audit_record(actor=None, action="video.camera.offline", obj=camera, message=f"摄像机 {camera.code} 离线")
    return OK


def parse_hls_uri(uri: str) -> tuple[str, str] | None:
    """(token, camera code) from /hls/t/<token>/<code>.m3u8 or /hls/t/<token>/<code>-<n>.ts; else None."""
    path = (uri or "").split("?", 1)[0]
    m = HLS_PATH_RE.match(path)
    if not m:
        return None
    file = m["file"]
    if file.endswith(".m3u8"):
        return m["token"], file[: -len(".m3u8")]
    if file.endswith(".ts"):
        code, _, seq = file[: -len(".ts")].rpartition("-")
        if code and seq.isdigit():
            return m["token"], code
    return None


@transaction.atomic
def hls_check(uri: str) -> Answer:
    """nginx's auth_request for one HLS playlist or segment."""
    parsed = parse_hls_uri(uri)
    if parsed is None:
        return Answer(False, "bad_request")
    token, code = parsed
    playlist = uri.split("?", 1)[0].endswith(".m3u8")
    now = timezone.now()
    view = _view_for(token)
    if view is not None:
        view = ViewSession.objects.select_for_update().select_related("camera", "user").get(pk=view.pk)
    reason = _check(view, code, now)
    if not reason and view.protocol == Protocol.RTMP:
        reason = "used"
    if reason:
        # Segments follow playlists every second: audit the playlist refusals only.
        return _refuse(reason, view if view and reason != "wrong_camera" else None, code, audit=playlist)
    fields = ["last_checked_at"]
    if view.started_at is None:
        view.started_at, view.protocol = now, Protocol.HLS
        fields += ["started_at", "protocol"]
    view.last_checked_at = now
    view.save(update_fields=fields)
    return OK
