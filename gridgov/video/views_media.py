"""Endpoints the media server (nginx) calls: not for browsers, no session, no CSRF, and only from the
addresses in VIDEO_MEDIA_SERVER_ADDRS. The answer is the status code: 2xx allows, 403 refuses."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import conf, media


def _from_media_server(request) -> bool:
    return request.META.get("REMOTE_ADDR", "") in conf.media_server_addrs()


@csrf_exempt
@require_POST
def rtmp_notify(request):
    """on_play, on_update, on_play_done, on_publish, on_publish_done (the form's `call` says which)."""
    if not _from_media_server(request):
        return HttpResponse("forbidden", status=403, content_type="text/plain")
    answer = media.rtmp_callback(request.POST, request.META.get("REMOTE_ADDR", ""))
    return HttpResponse(answer.reason or "ok", status=answer.status, content_type="text/plain")


@require_GET
def hls_auth(request):
    """auth_request for /hls/t/<token>/<file>: nginx passes the original URI in X-Original-URI."""
    if not _from_media_server(request):
        return HttpResponse(status=403)
    answer = media.hls_check(request.headers.get("X-Original-URI", ""))
    response = HttpResponse(status=answer.status)
    response["Cache-Control"] = "no-store"
    return response
