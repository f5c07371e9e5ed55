import io
from datetime import timedelta

import pytest
import xlsxwriter
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from python_calamine import CalamineWorkbook

from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint
from gridgov.video.models import AccessGrant, Camera, ViewSession

from .conftest import SECRET_SOURCE

pytestmark = pytest.mark.django_db

SECRET_BITS = ("Pa55w0rd", "10.77.66.55", "Streaming/Channels")


def _no_secret(text: str) -> None:
    for bit in SECRET_BITS:
        assert bit not in text, bit


def test_scoped_camera_endpoints(video):
    assert_scoped_endpoint(f"video/cameras/{video.cam_a.pk}", in_scope_user=video.op_a, out_of_scope_user=video.op_b)
    status, body = ApiClient(video.op_b).get("video/cameras", {"q": "T-CAM"})
    assert status == 200 and [c["code"] for c in body["items"]] == ["T-CAM-B"]
    status, body = ApiClient(video.grid_worker).get("video/cameras")
    assert_error(status, body, 403, "permission_denied")
    status, body = ApiClient().get("video/cameras")
    assert_error(status, body, 401, "not_authenticated")


def test_camera_list_filters_paginates_and_does_not_grow_queries(video):
    client = ApiClient(video.centre)
    status, body = client.get("video/cameras", {"region": video.town_a.code, "page_size": 1})
    assert status == 200 and body["count"] >= 1 and len(body["items"]) == 1
    status, body = client.get("video/cameras", {"status": "nope"})
    assert_error(status, body, 422, "invalid_input")
    with CaptureQueriesContext(connection) as small:
        client.get("video/cameras", {"page_size": 1})
    with CaptureQueriesContext(connection) as large:
        client.get("video/cameras", {"page_size": 50})
    assert len(large) == len(small)


def test_stream_source_never_appears_in_any_response(video):
    ticket_client = ApiClient(video.op_a)
    status, ticket = ticket_client.post(f"video/cameras/{video.cam_a.pk}/view", {"purpose": "核实群众反映的问题"})
    assert status == 201 and ticket["hls_url"].endswith("/T-CAM-A.m3u8")
    texts = [str(ticket)]
    for user in (video.op_a, video.centre, video.admin):
        client = ApiClient(user)
        for path in ("video/cameras", f"video/cameras/{video.cam_a.pk}", "video/cameras/geojson", "video/views",
                     "video/grants", "video/grants/mine", "video/reviews", f"video/views/{ticket['view_id']}"):
            status, body = client.get(path, {"q": "T-CAM"} if path == "video/cameras" else None)
            if status == 200:
                texts.append(str(body))
        response = client.client.get("/api/v1/video/cameras/export", **client.headers)
        if response.status_code == 200:
            book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
            texts.append(str(book.get_sheet_by_index(0).to_python()))
    created_status, created = ApiClient(video.centre).post("video/cameras", {
        "code": "T-CAM-NEW", "name": "新装摄像机", "grid": video.grid_a.code, "lon": 112.6, "lat": 31.1,
        "stream_source": SECRET_SOURCE})
    assert created_status == 201 and "stream_source" not in created
    texts.append(str(created))
    web = Client()
    web.force_login(video.centre)
    for url in ("/video/", "/video/cameras/?q=T-CAM", f"/video/cameras/{video.cam_a.pk}/", "/video/views/",
                "/video/grants/", "/video/reviews/"):
        response = web.get(url)
        assert response.status_code == 200, url
        texts.append(response.content.decode())
    assert len(texts) > 20
    for text in texts:
        _no_secret(text)
    # And the audit log does not hold it either.
    for entry in AuditEntry.objects.filter(action__startswith="video.").values_list("changes", flat=True):
        _no_secret(str(entry))


def test_view_token_api_refusals(video):
    status, body = ApiClient(video.grid_worker).post(f"video/cameras/{video.cam_a.pk}/view", {"purpose": "想看"})
    assert_error(status, body, 403)
    status, body = ApiClient(video.grid_admin).post(f"video/cameras/{video.cam_a.pk}/view", {"purpose": "网管员想看"})
    assert_error(status, body, 403)
    status, body = ApiClient(video.op_b).post(f"video/cameras/{video.cam_a.pk}/view", {"purpose": "看别的镇"})
    assert_error(status, body, 404)
    status, body = ApiClient(video.op_a).post(f"video/cameras/{video.cam_a.pk}/view", {"purpose": ""})
    assert_error(status, body, 400)
    status, body = ApiClient().post(f"video/cameras/{video.cam_a.pk}/view", {"purpose": "匿名查看"})
    assert_error(status, body, 401)
    assert not ViewSession.objects.filter(camera=video.cam_a).exists()


def test_grant_api_create_revoke_and_refusals(video):
    centre, until = ApiClient(video.centre), (timezone.now() + timedelta(days=3)).isoformat()
    body = {"grantee_department": f"GAJ-{video.town_b.code}", "scope_region": video.town_b.code,
            "valid_until": until, "purpose": "派出所辖区治安巡看"}
    status, out = ApiClient(video.op_a).post("video/grants", body)
    assert_error(status, out, 403)
    status, out = centre.post("video/grants", {**body, "grantee_role": "grid_worker"})
    assert_error(status, out, 400)
    before = AccessGrant.objects.count()
    status, out = centre.post("video/grants", {**body, "valid_until": "not a date"})
    assert_error(status, out, 422)
    assert AccessGrant.objects.count() == before
    status, out = centre.post("video/grants", body)
    assert status == 201 and out["scope_region"] == video.town_b.code and out["revoked_at"] is None
    status, listed = centre.get("video/grants", {"state": "active"})
    assert status == 200 and out["id"] in [g["id"] for g in listed["items"]]
    status, revoked = centre.post(f"video/grants/{out['id']}/revoke", {"reason": "任务完成"})
    assert status == 200 and revoked["revoked_at"] and revoked["revoke_reason"] == "任务完成"
    actions = set(AuditEntry.objects.filter(object_id=str(out["id"]), object_type="video.accessgrant")
                  .values_list("action", flat=True))
    assert actions == {"video.grant.create", "video.grant.revoke"}
    status, out = ApiClient(video.op_a).get(f"video/grants/{video.grant.pk}")
    assert_error(status, out, 404)


def test_view_log_scope(video):
    ApiClient(video.op_a).post(f"video/cameras/{video.cam_a.pk}/view", {"purpose": "核实群众反映的问题"})
    status, body = ApiClient(video.op_a).get("video/views", {"camera": "T-CAM-A"})
    assert status == 200 and body["count"] == 1 and body["items"][0]["user"] == video.op_a.username
    status, body = ApiClient(video.op_b).get("video/views", {"camera": "T-CAM-A"})
    assert status == 200 and body["count"] == 0  # another town's centre sees neither the camera nor its views
    status, body = ApiClient(video.auditor).get("video/views", {"camera": "T-CAM-A"})
    assert status == 200 and body["count"] == 1
    status, body = ApiClient(video.grid_worker).get("video/views")
    assert_error(status, body, 403)


def test_geojson_layer_marks_watchable(video):
    status, body = ApiClient(video.op_a).get("video/cameras/geojson", {"region": video.town_a.code})
    assert status == 200 and body["type"] == "FeatureCollection"
    feature = next(f for f in body["features"] if f["properties"]["code"] == "T-CAM-A")
    assert feature["properties"]["watchable"] is True and feature["geometry"]["coordinates"] == [112.6, 31.1]
    status, body = ApiClient(video.grid_admin).get("video/cameras/geojson", {"region": video.grid_a.code[:12]})
    feature = next(f for f in body["features"] if f["properties"]["code"] == "T-CAM-A")
    assert feature["properties"]["watchable"] is False


def _workbook(rows) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


HEADER = ["摄像机编码", "名称", "网格代码", "经度", "纬度", "类型", "视频源地址", "安装日期", "资金来源",
          "投入金额(元)"]


def test_import_is_all_or_nothing_with_reasons(video):
    client = ApiClient(video.centre)
    good = [HEADER, ["IMP-1", "村口", video.grid_a.code, 112.61, 31.11, "枪机", "rtsp://10.1.1.1/a", "2024-05-01",
                     "村级补贴", 10000],
            ["IMP-2", "村委会", video.grid_b.code, 112.62, 31.12, "球机(云台)", "", "", "", ""]]
    bad = good + [["IMP-1", "重复", "999999999999999", 12.0, "x", "无人机", "http://x", "明天", "捐款", -5]]
    response = client.client.post("/api/v1/video/cameras/import",
                                  {"file": io.BytesIO(_workbook(bad))}, **client.headers)
    body = response.json()
    assert response.status_code == 400 and body["code"] == "import_rejected"
    reasons = body["extra"]["errors"][0]["reasons"]
    assert body["extra"]["errors"][0]["row"] == 4 and len(reasons) >= 5
    assert any("重复" in r for r in reasons) and any("网格代码" in r for r in reasons)
    assert not Camera.objects.filter(code__startswith="IMP-").exists()
    upload = io.BytesIO(_workbook(good))
    upload.name = "cameras.xlsx"
    response = client.client.post("/api/v1/video/cameras/import", {"file": upload}, **client.headers)
    assert response.status_code == 200 and response.json()["created"] == 2
    assert Camera.objects.get(code="IMP-1").stream_source == "rtsp://10.1.1.1/a"
    assert AuditEntry.objects.filter(action="video.camera.import").exists()
    # Not a workbook; and a town operator may not import.
    response = client.client.post("/api/v1/video/cameras/import", {"file": io.BytesIO(b"hello")}, **client.headers)
    assert response.status_code == 400 and response.json()["code"] == "unreadable_file"
    op = ApiClient(video.op_a)
    response = op.client.post("/api/v1/video/cameras/import", {"file": io.BytesIO(_workbook(good))}, **op.headers)
    assert response.status_code == 403


def test_export_lists_the_scope_and_is_audited(video):
    client = ApiClient(video.op_b)
    response = client.client.get("/api/v1/video/cameras/export", {"q": "T-CAM"}, **client.headers)
    assert response.status_code == 200
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert rows[0][0] == "摄像机编码" and [r[0] for r in rows[1:]] == ["T-CAM-B"]
    assert AuditEntry.objects.filter(action="video.camera.export", actor=video.op_b).exists()
    gw = ApiClient(video.grid_admin)
    assert gw.client.get("/api/v1/video/cameras/export", **gw.headers).status_code == 403


def test_review_api(video):
    from gridgov.cases.models import Case
    from gridgov.video.access import prefix_q

    case = Case.objects.filter(prefix_q("region_id", video.town_a.code)).order_by("id").first()
    now = timezone.now()
    body = {"camera_id": video.cam_a.pk, "case_number": case.number, "outcome": "helpful", "finding": "看清了车牌",
            "footage_from": (now - timedelta(hours=2)).isoformat(),
            "footage_to": (now - timedelta(hours=1)).isoformat()}
    status, out = ApiClient(video.op_a).post("video/reviews", body)
    assert status == 201 and out["case_number"] == case.number
    status, out = ApiClient(video.op_b).post("video/reviews", body)
    assert_error(status, out, 404)
    status, stats = ApiClient(video.op_a).get("video/reviews/stats")
    assert status == 200 and stats[-1]["helped_cases"] >= 1


def test_camera_update_keeps_the_source_secret_and_audits(video):
    client = ApiClient(video.centre)
    response = client.client.patch(f"/api/v1/video/cameras/{video.cam_a.pk}",
                                   data='{"name": "村委会门口（新）", "stream_source": "rtsp://10.5.5.5/new"}',
                                   content_type="application/json", **client.headers)
    body = response.json()
    assert response.status_code == 200 and body["name"] == "村委会门口（新）" and "stream_source" not in body
    camera = Camera.objects.get(pk=video.cam_a.pk)
    assert camera.stream_source == "rtsp://10.5.5.5/new"
    entry = AuditEntry.objects.filter(action="video.camera.update", object_id=str(camera.pk)).latest("id")
    assert "10.5.5.5" not in str(entry.changes) and "stream_source" in entry.changes
    op = ApiClient(video.op_a)
    response = op.client.patch(f"/api/v1/video/cameras/{video.cam_a.pk}", data='{"name": "x"}',
                               content_type="application/json", **op.headers)
    assert response.status_code == 403 and Camera.objects.get(pk=video.cam_a.pk).name == "村委会门口（新）"
