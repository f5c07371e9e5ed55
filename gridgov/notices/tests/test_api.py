"""/api/v1/notices: the shared refusals (401 anonymous, 403 wrong role, 404 out of scope, 4xx bad input
that changes nothing) beside the successes."""

import pytest
from django.test import Client

from gridgov.accounts.choices import Role
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint, user_with_role
from gridgov.notices import services
from gridgov.notices.models import Notice, Receipt, Report

from .conftest import OTHER_TOWN, TOWN
from .test_reports import png

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_send_read_ack_over_the_api(town_op, worker, deadline):
    api = ApiClient(town_op)
    status, body = api.post("notices/preview", {"region": TOWN, "roles": ["grid_worker"]})
    assert status == 200 and body["recipients"] == body["by_role"]["grid_worker"] > 10
    status, body = api.post("notices", {"title": "防汛通知", "body_html": "<p>值班<script>x</script></p>",
                                        "region": TOWN, "roles": ["grid_worker"], "requires_ack": True,
                                        "ack_deadline": deadline.isoformat()})
    assert status == 201, body
    nid = body["id"]
    assert body["recipient_count"] > 10 and "<script" not in body["body_html"] and body["can_withdraw"]
    me = ApiClient(worker)
    status, page = me.get("notices/inbox", {"unread": "true"})
    assert status == 200 and nid in [i["id"] for i in page["items"]] and page["count"] >= 1
    status, counts = me.get("notices/inbox/counts")
    assert counts["unacked"] >= 1
    status, detail = me.get(f"notices/{nid}")
    assert status == 200 and detail["receipt"]["read_at"] and detail["receipt"]["acked_at"] is None
    assert not detail["can_withdraw"] and not detail["can_stats"]
    status, page = me.get("notices/inbox", {"unread": "true"})
    assert nid not in [i["id"] for i in page["items"]]
    status, receipt = me.post(f"notices/{nid}/ack", {"comment": "收到"})
    assert status == 200 and receipt["acked_at"] and receipt["ack_comment"] == "收到"
    assert_error(*me.post(f"notices/{nid}/ack", {}), 409, "already_acknowledged")
    status, stats = api.get(f"notices/{nid}/stats")
    assert status == 200 and stats["totals"]["acked"] == 1 and stats["totals"]["read"] == 1
    assert stats["totals"]["total"] == sum(r["total"] for r in stats["rows"])
    status, people = api.get(f"notices/{nid}/receipts", {"state": "unacked"})
    assert status == 200 and people["count"] == stats["totals"]["total"] - 1
    status, _ = api.get(f"notices/{nid}/stats.xlsx")
    assert status == 200


def test_xlsx_export_content(town_op):
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    notice = services.notice_send(acting_user=town_op, title="导出", region=TOWN)
    response = ApiClient(town_op).client.get(f"/api/v1/notices/{notice.pk}/stats.xlsx",
                                             HTTP_AUTHORIZATION=ApiClient(town_op).headers["HTTP_AUTHORIZATION"])
    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(BytesIO(response.content))
    rows = book.get_sheet_by_index(0).to_python()
    total_row = next(r for r in rows if len(r) > 1 and r[1] == "合计")
    assert int(total_row[2]) == notice.recipient_count
    assert len(book.get_sheet_by_index(1).to_python()) == notice.recipient_count + 1  # nobody read yet


def test_refusals(town_op, other_town_op, worker, deadline):
    notice = services.notice_send(acting_user=town_op, title="范围", region=TOWN, requires_ack=True,
                                  ack_deadline=deadline)
    # out of scope: 404; anonymous: 401
    assert_scoped_endpoint(f"notices/{notice.pk}", in_scope_user=worker, out_of_scope_user=other_town_op)
    assert_scoped_endpoint(f"notices/{notice.pk}/stats", in_scope_user=town_op, out_of_scope_user=other_town_op)
    assert_error(*ApiClient().get("notices/inbox"), 401, "not_authenticated")
    # wrong role: 403
    auditor = user_with_role(Role.AUDITOR)
    assert_error(*ApiClient(auditor).get("notices/inbox"), 403, "permission_denied")
    before = Notice.objects.count()
    assert_error(*ApiClient(worker).post("notices", {"title": "x", "region": TOWN}), 403, "permission_denied")
    # malformed input: 4xx, nothing written
    api = ApiClient(town_op)
    assert_error(*api.post("notices", {"title": "x", "region": "abc"}), 422, "invalid_input")
    assert_error(*api.post("notices", {"title": "x", "region": OTHER_TOWN}), 400, "invalid_region")
    assert_error(*api.post("notices", {"title": "x", "region": TOWN, "roles": ["auditor"]}), 422)
    assert_error(*api.post("notices", {"title": "x", "region": TOWN, "requires_ack": True}), 400,
                 "deadline_required")
    assert_error(*api.post("notices", "not json"), 400, "invalid_json")
    assert Notice.objects.count() == before
    # a recipient without notices.stats gets a 404 for the statistics (nothing about the rates leaks)
    assert_error(*ApiClient(worker).get(f"notices/{notice.pk}/stats"), 404)
    assert_error(*ApiClient(other_town_op).post(f"notices/{notice.pk}/withdraw", {"reason": "x"}), 404)
    assert_error(*ApiClient(worker).post(f"notices/{notice.pk}/ack", {"comment": "长" * 501}), 422)
    assert not Receipt.objects.filter(notice=notice, acked_at__isnull=False).exists()


def test_multipart_send_with_attachment_served_only_to_recipients(town_op, worker, other_town_op):
    client = Client()
    client.force_login(town_op)
    response = client.post("/api/v1/notices", {"title": "附件通知", "region": TOWN, "roles": ["grid_worker"],
                                               "files": [_upload("方案.pdf", PDF)]})
    assert response.status_code == 201, response.content
    body = response.json()
    url = body["attachments"][0]["url"]
    assert body["attachments"][0]["content_type"] == "application/pdf"
    reader = Client()
    reader.force_login(worker)
    got = reader.get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content).startswith(b"%PDF")
    assert got["X-Content-Type-Options"] == "nosniff"
    stranger = Client()
    stranger.force_login(other_town_op)
    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 401
    bad = client.post("/api/v1/notices", {"title": "伪装附件", "region": TOWN, "files": [_upload("x.pdf", b"MZ..")]})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_attachment"
    assert not Notice.objects.filter(title="伪装附件").exists()


def _upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_withdrawn_notice_hides_its_text(town_op, worker):
    notice = services.notice_send(acting_user=town_op, title="撤回后", body_html="<p>机密内容</p>", region=TOWN)
    status, body = ApiClient(town_op).post(f"notices/{notice.pk}/withdraw", {"reason": "发错了"})
    assert status == 200 and body["status"] == "withdrawn"
    status, detail = ApiClient(worker).get(f"notices/{notice.pk}")
    assert status == 200 and detail["status"] == "withdrawn" and detail["body_html"] == ""
    assert notice.pk not in [i["id"] for i in ApiClient(worker).get("notices/inbox")[1]["items"]]


def test_reports_over_the_api(worker, village_admin, other_town_op):
    client = Client()
    client.force_login(worker)
    response = client.post("/api/v1/notices/reports", {"category": "hazard", "text": "山体有裂缝",
                                                       "client_id": "0b6f8a3e-4a1e-4a55-9d7e-6f0c1d2e3f40",
                                                       "photo": png()})
    assert response.status_code == 201, response.content
    rid = response.json()["id"]
    again = client.post("/api/v1/notices/reports", {"category": "hazard", "text": "山体有裂缝",
                                                    "client_id": "0b6f8a3e-4a1e-4a55-9d7e-6f0c1d2e3f40"})
    assert again.status_code == 200 and again.json()["id"] == rid
    assert_scoped_endpoint(f"notices/reports/{rid}", in_scope_user=village_admin, out_of_scope_user=other_town_op)
    admin = ApiClient(village_admin)
    status, page = admin.get("notices/reports", {"status": "new"})
    assert status == 200 and rid in [r["id"] for r in page["items"]]
    assert_error(*ApiClient(worker).get("notices/reports"), 403)  # the desk is not the grid worker's
    status, mine = ApiClient(worker).get("notices/reports", {"mine": "true"})
    assert status == 200 and rid in [r["id"] for r in mine["items"]]
    status, body = admin.post(f"notices/reports/{rid}/read")
    assert status == 200 and body["status"] == "read"
    assert_error(*admin.post(f"notices/reports/{rid}/case", {"category": "NOPE"}), 400, "invalid_category")
    assert Report.objects.get(pk=rid).status == "read"
    status, body = admin.post(f"notices/reports/{rid}/case", {"category": "G0403"})
    assert status == 201 and body["case_number"]
    status, report = admin.get(f"notices/reports/{rid}")
    assert report["status"] == "case" and report["case_number"] == body["case_number"]
    assert_error(*ApiClient(other_town_op).post(f"notices/reports/{rid}/handle", {"note": "x"}), 404)
    photo = Client()
    photo.force_login(village_admin)
    assert photo.get(report["photo_url"]).status_code == 200
    photo.force_login(other_town_op)
    assert photo.get(report["photo_url"]).status_code == 404


def test_list_endpoints_do_not_grow_with_rows(town_op, worker, village_admin, django_assert_max_num_queries):
    for i in range(4):
        services.notice_send(acting_user=town_op, title=f"计数{i}", region=TOWN)
        services.report_send(acting_user=worker, category="daily_log", text=f"日志{i}")
    me, admin, town = ApiClient(worker), ApiClient(village_admin), ApiClient(town_op)
    # token, scope, count and one page query: five, however many rows the page holds
    with django_assert_max_num_queries(5):
        status, page = me.get("notices/inbox", {"page_size": 50})
    assert status == 200 and len(page["items"]) >= 4
    with django_assert_max_num_queries(5):
        status, page = admin.get("notices/reports", {"page_size": 50})
    assert status == 200 and len(page["items"]) >= 4
    with django_assert_max_num_queries(5):
        status, page = town.get("notices/sent", {"page_size": 50})
    assert status == 200 and len(page["items"]) >= 4


def test_report_desk_export(worker, village_admin, other_town_op):
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    services.report_send(acting_user=worker, category="opinion", text="导出测试：希望修缮村道")
    client = Client()
    client.force_login(village_admin)
    response = client.get("/api/v1/notices/reports.xlsx", {"q": "导出测试"})
    assert response.status_code == 200
    rows = CalamineWorkbook.from_filelike(BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert len(rows) == 2 and rows[1][2] == "导出测试：希望修缮村道" and rows[1][1] == "群众意见建议"
    client.force_login(other_town_op)
    rows = CalamineWorkbook.from_filelike(BytesIO(client.get("/api/v1/notices/reports.xlsx", {"q": "导出测试"})
                                                  .content)).get_sheet_by_index(0).to_python()
    assert len(rows) == 1  # outside the town: the header only
    client.force_login(worker)
    assert client.get("/api/v1/notices/reports.xlsx").status_code == 403
