import io
from datetime import timedelta

import pytest
import xlsxwriter
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gridgov.video.models import AccessGrant, Camera, ViewSession

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_pages_for_the_right_roles_and_refusals(video):
    op = _client(video.op_a)
    for name in ("video:index", "video:camera_list", "video:view_log", "video:review_list"):
        assert op.get(reverse(name)).status_code == 200, name
    assert op.get(reverse("video:camera_detail", args=[video.cam_a.pk])).status_code == 200
    assert op.get(reverse("video:camera_detail", args=[video.cam_b.pk])).status_code == 404
    assert op.get(reverse("video:grant_list")).status_code == 403
    assert op.get(reverse("video:grant_new")).status_code == 403
    assert _client(video.grid_worker).get(reverse("video:index")).status_code == 403
    anonymous = _client().get(reverse("video:index"))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_watch_page_issues_a_token_and_shows_the_player(video):
    op = _client(video.op_a)
    url = reverse("video:camera_watch", args=[video.cam_a.pk])
    page = op.get(url)
    assert page.status_code == 200 and b'id="watch-form"' in page.content
    refused = op.post(url, {"purpose": ""})
    assert b"field-error" in refused.content and not ViewSession.objects.filter(camera=video.cam_a).exists()
    page = op.post(url, {"purpose": "核实群众反映的占道经营"})
    view = ViewSession.objects.get(camera=video.cam_a)
    html = page.content.decode()
    assert 'id="player"' in html and "vendor/hls/hls.min.js" in html and "<script>" not in html
    assert page["Cache-Control"] == "no-store" and view.user == video.op_a
    assert op.post(reverse("video:view_stop", args=[view.pk])).status_code == 302
    assert ViewSession.objects.get(pk=view.pk).ended_at is not None
    # Someone else cannot stop my view; a worker cannot watch; another town gets 404.
    assert _client(video.op_b).post(reverse("video:view_stop", args=[view.pk])).status_code == 404
    assert _client(video.grid_worker).get(url).status_code == 403
    assert _client(video.op_b).get(url).status_code == 404


def test_grant_pages(video):
    centre = _client(video.centre)
    assert centre.get(reverse("video:grant_list")).status_code == 200
    until = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    before = AccessGrant.objects.count()
    page = centre.post(reverse("video:grant_new"), {"grantee_kind": "role", "grantee_role": "grid_worker",
                                                    "grantee_region": video.town_a.code, "scope_kind": "region",
                                                    "scope_region": video.town_a.code, "valid_until": until,
                                                    "purpose": "给网格员授权"})
    assert page.status_code == 200 and "网格员不能被授权" in page.content.decode()
    assert AccessGrant.objects.count() == before
    page = centre.post(reverse("video:grant_new"), {"grantee_kind": "department",
                                                    "grantee_department": f"GAJ-{video.town_b.code}",
                                                    "scope_kind": "cameras", "camera_codes": "T-CAM-B",
                                                    "valid_until": until, "purpose": "派出所专项查看"})
    assert page.status_code == 302
    grant = AccessGrant.objects.latest("id")
    assert list(grant.cameras.values_list("code", flat=True)) == ["T-CAM-B"]
    centre.post(reverse("video:grant_revoke", args=[grant.pk]), {"reason": "专项结束"})
    assert AccessGrant.objects.get(pk=grant.pk).revoked_at is not None


def test_import_page_all_or_nothing(video):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for c, v in enumerate(["摄像机编码", "名称", "网格代码", "经度", "纬度"]):
        sheet.write(0, c, v)
    for c, v in enumerate(["PG-1", "村口", video.grid_a.code, 112.6, 31.1]):
        sheet.write(1, c, v)
    for c, v in enumerate(["PG-2", "村委会", video.grid_a.code, 31.1, 112.6]):  # lon/lat swapped
        sheet.write(2, c, v)
    book.close()
    buffer.seek(0)
    buffer.name = "cameras.xlsx"
    page = _client(video.centre).post(reverse("video:camera_import"), {"file": buffer})
    html = page.content.decode()
    assert page.status_code == 200 and "经纬度是否填反" in html and 'id="import-errors"' in html
    assert not Camera.objects.filter(code__startswith="PG-").exists()
    assert _client(video.op_a).get(reverse("video:camera_import")).status_code == 403


def test_maintenance_and_export_pages(video):
    admin = _client(video.grid_admin)
    response = admin.post(reverse("video:maintenance_add", args=[video.cam_a.pk]),
                          {"kind": "repair", "note": "更换电源适配器", "status_after": "fault"})
    assert response.status_code == 302 and Camera.objects.get(pk=video.cam_a.pk).status == "fault"
    assert admin.get(reverse("video:camera_export")).status_code == 403
    response = _client(video.centre).get(reverse("video:camera_export"), {"q": "T-CAM"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")


def test_media_callbacks_only_from_the_media_server(video, settings):
    settings.VIDEO_MEDIA_SERVER_ADDRS = "10.0.0.5"
    client = _client()
    assert client.post(reverse("video:media_rtmp"), {"call": "update_publish", "name": "T-CAM-A"}).status_code == 403
    assert client.get(reverse("video:media_hls_auth")).status_code == 403
    settings.VIDEO_MEDIA_SERVER_ADDRS = "127.0.0.1"
    assert client.post(reverse("video:media_rtmp"), {"call": "update_publish", "name": "T-CAM-A"}).status_code == 200
    assert client.get(reverse("video:media_hls_auth"), HTTP_X_ORIGINAL_URI="/hls/x").status_code == 403
