"""/api/v1/egov: shapes, scope, refusals in the one error shape, retries, files, query counts."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.choices import Role
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint
from gridgov.egov.models import Application, ApplicationMaterial, Payment

from . import factories as f

pytestmark = pytest.mark.django_db


def test_catalogue(db):
    client = ApiClient(f.user(Role.GRID_WORKER, f.grid()))
    status, body = client.get("egov/items", {"page_size": 200})
    assert status == 200 and body["count"] == 93 and len(body["items"]) == 93
    assert {i["category_name"] for i in body["items"]} == {"公共服务", "行政审批", "社会保障"}
    status, body = client.get("egov/items", {"category": "social_security", "q": "救助"})
    assert status == 200 and all(i["category"] == "social_security" for i in body["items"]) and body["count"] >= 3
    status, item = client.get(f"egov/items/{f.REWARD}")
    assert status == 200 and item["name"] == "严重精神障碍患者监护以奖代补" and item["standard_amount_fen"] == 20000
    assert item["department_name"] == "民政局" and item["eligibility_rule"] and item["materials"][0]["required"]
    assert_error(*client.get("egov/items/NOPE"), 404)
    assert_error(*client.get("egov/items", {"category": "food"}), 422, "invalid_input")
    assert_error(*ApiClient().get("egov/items"), 401, "not_authenticated")


def test_rule_edits_through_the_api(db):
    city = ApiClient(f.user(Role.CITY_OPERATOR, f.COUNTY))
    status, body = city.patch(f"egov/items/{f.OLD_AGE}", {"eligibility_rule": {">=": [{"var": "agee"}, 80]}}) \
        if hasattr(city, "patch") else city._call("patch", f"egov/items/{f.OLD_AGE}",
                                                  {"eligibility_rule": {">=": [{"var": "agee"}, 80]}})
    assert_error(status, body, 400, "invalid_rule")
    assert "未知变量“agee”" in body["message"]
    status, body = city._call("patch", f"egov/items/{f.OLD_AGE}", {"eligibility_rule": {">=": [{"var": "age"}, 85]},
                                                                  "promised_days": 12})
    assert status == 200 and body["eligibility_rule"] == {">=": [{"var": "age"}, 85]} and body["promised_days"] == 12
    status, body = city.post("egov/rules/check", {"rule": {">=": [{"var": "age"}, 80]}, "facts": {"age": 81}})
    assert status == 200 and body["valid"] and body["result"] is True and body["sensitivity"] == 1
    assert_error(*city.post("egov/rules/check", {"rule": {"log": 1}}), 400, "invalid_rule")
    worker = ApiClient(f.user(Role.GRID_WORKER, f.grid()))
    assert_error(*worker._call("patch", f"egov/items/{f.OLD_AGE}", {"promised_days": 1}), 403, "permission_denied")


def _upload(client, app_id, code, content=f.PDF, name="scan.pdf"):
    response = client.client.post(f"/api/v1/egov/applications/{app_id}/materials",
                                  data={"material_code": code, "file": SimpleUploadedFile(name, content)},
                                  **client.headers)
    return response.status_code, response.json()


def test_the_whole_story_through_the_api(db):
    person = f.resident(name="王必俊", birth=date(1962, 4, 8))
    flow = f.Flow(f.TEMP_AID, person=person)
    admin, town, staff, head = (ApiClient(u) for u in (flow.admin, flow.town, flow.staff, flow.head))
    status, app = admin.post("egov/applications", {
        "item": f.TEMP_AID, "applicant": person.pk, "answers": f.answers_for(f.TEMP_AID),
        "payee_account": "6217 9952 0001 2345 678"}, HTTP_IDEMPOTENCY_KEY="new-wbj")
    assert status == 201, app
    assert app["state"] == "pending" and app["applicant"]["name"] == "王必俊"
    assert app["applicant"]["id_number_masked"].startswith("110101") and "*" in app["applicant"]["id_number_masked"]
    assert app["payee_account_masked"].endswith("5678") and "6217" not in app["payee_account_masked"]
    assert app["actions"] == ["accept", "withdraw", "material"]
    status, again = admin.post("egov/applications", {"item": f.TEMP_AID, "applicant": person.pk,
                                                     "answers": f.answers_for(f.TEMP_AID)},
                               HTTP_IDEMPOTENCY_KEY="new-wbj")
    assert status == 200 and again["id"] == app["id"]
    assert_error(*admin.post(f"egov/applications/{app['id']}/accept", {}), 400, "missing_materials")
    assert_error(*_upload(admin, app["id"], "id_card", b"MZ\x90\x00 not a scan"), 400, "invalid_file_type")
    for code in ("id_card", "hukou", "application", "bank"):
        status, material = _upload(admin, app["id"], code)
        assert status == 201, material
    got = admin.client.get(material["url"], **admin.headers)
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    assert b"".join(got.streaming_content) == f.PDF
    outsider = ApiClient(f.user(Role.GRID_ADMIN, f.YUANTAI))
    assert outsider.client.get(material["url"], **outsider.headers).status_code == 404
    # A file erased with its owner's personal data (privacy.sweeps) keeps its row: a 404, not a 500.
    erased = ApplicationMaterial.objects.get(pk=material["id"])
    kept_name = erased.file.name
    ApplicationMaterial.objects.filter(pk=erased.pk).update(file="")
    got = admin.client.get(material["url"], **admin.headers)
    assert got.status_code == 404 and got.json()["code"] == "not_found"
    ApplicationMaterial.objects.filter(pk=erased.pk).update(file=kept_name)
    status, app = admin.post(f"egov/applications/{app['id']}/accept", {"note": "材料齐全"})
    assert status == 200 and app["state"] == "town_review" and app["clock"]["running"]
    status, app = town.post(f"egov/applications/{app['id']}/town-pass", {})
    assert status == 200 and app["state"] == "dept_verify"
    status, app = staff.post(f"egov/applications/{app['id']}/verify", {"note": "入户核实：胃癌两次住院，家庭困难属实",
                                                                        "proposed_amount_fen": 300000})
    assert status == 200 and app["actions"] == []  # staff may not decide
    status, app = head.post(f"egov/applications/{app['id']}/approve", {"amount_fen": 300000},
                            HTTP_IDEMPOTENCY_KEY="approve-wbj")
    assert status == 200 and app["state"] == "approved" and app["amount_yuan"] == "3,000.00"
    status, retry = head.post(f"egov/applications/{app['id']}/approve", {"amount_fen": 300000},
                              HTTP_IDEMPOTENCY_KEY="approve-wbj")
    assert status == 200 and len(retry["payments"]) == 1
    assert_error(*head.post(f"egov/applications/{app['id']}/approve", {"amount_fen": 300000}), 409, "wrong_state")
    payment = app["payments"][0]
    # the department's queue holds the demo's scheduled payments too: look in the applicant's village
    status, queue = staff.get("egov/payments", {"status": "scheduled", "region": app["region_code"][:12],
                                                "page_size": 200})
    assert status == 200 and payment["id"] in [p["id"] for p in queue["items"]]
    status, paid = staff.post(f"egov/payments/{payment['id']}/pay", {"reference": "MZ2026032000017"},
                              HTTP_IDEMPOTENCY_KEY="pay-wbj")
    assert status == 200 and paid["status"] == "paid"
    status, paid_again = staff.post(f"egov/payments/{payment['id']}/pay", {"reference": "MZ2026032000017"},
                                    HTTP_IDEMPOTENCY_KEY="pay-wbj")
    assert status == 200 and paid_again["id"] == paid["id"]
    assert_error(*staff.post(f"egov/payments/{payment['id']}/pay", {"reference": "MZ-OTHER-0001"}), 409,
                 "already_paid")
    assert Payment.objects.filter(application_id=app["id"]).count() == 1
    status, app = staff.post(f"egov/applications/{app['id']}/complete", {})
    assert status == 200 and app["state"] == "completed" and app["paid_fen"] == 300000
    assert [e["action"] for e in app["timeline"]][-4:] == ["verify", "approve", "pay", "complete"]
    status, notes = admin.get("egov/notifications")
    assert status == 200 and any("3,000.00 元" in n["text"] for n in notes["items"])
    status, stats = head.get("egov/stats", {"region": f.HUSHAN})
    assert status == 200 and stats["paid_fen"] >= 300000 and stats["completed"] >= 1
    assert {r["code"][:12] for r in stats["by_level"]} == {f.HUSHAN}
    status, stats = head.get("egov/stats")
    assert status == 200 and stats["region"]["code"] == f.COUNTY and stats["by_level"]
    export = head.client.get("/api/v1/egov/applications/export", {"region": f.HUSHAN}, **head.headers)
    assert export.status_code == 200 and int(export["X-Export-Rows"]) >= 1
    assert b"".join(export.streaming_content)[:2] == b"PK"


def test_applications_are_scoped_and_refusals_are_json(db):
    mine = f.Flow(f.TEMP_AID)
    mine.start()
    theirs = f.Flow(f.TEMP_AID, person=f.resident(f.grid(f.YUANTAI)))
    theirs.start()
    rsj = f.Flow(f.HUKOU_PROOF, person=f.resident(), department="GAJ")
    rsj.start()
    path = f"egov/applications/{mine.app.pk}"
    assert_scoped_endpoint(path, in_scope_user=mine.admin, out_of_scope_user=theirs.admin)
    # The village sees only its applicants.
    status, body = ApiClient(mine.admin).get("egov/applications", {"page_size": 200})
    assert status == 200 and all(a["region_code"].startswith(f.HUSHAN) for a in body["items"])
    ids = {a["id"] for a in body["items"]}
    assert mine.app.pk in ids and theirs.app.pk not in ids
    # A department sees only its items: 民政局 not the 户籍证明 of 公安局.
    status, body = ApiClient(mine.head).get("egov/applications", {"region": f.HUSHAN, "page_size": 200})
    assert status == 200 and all(a["department_code"] == "MZJ" for a in body["items"])
    assert rsj.app.pk not in {a["id"] for a in body["items"]}
    assert_error(*ApiClient(mine.head).get(f"egov/applications/{rsj.app.pk}"), 404)
    # The auditor and village cadres see none.
    assert_error(*ApiClient(f.user(Role.AUDITOR)).get("egov/applications"), 403, "permission_denied")
    assert_error(*ApiClient(f.user(Role.VILLAGE_CADRE, f.HUSHAN)).get(path), 403)
    # Bad input is a 4xx in the one shape, never a 500.
    admin = ApiClient(mine.admin)
    assert_error(*admin.get("egov/applications", {"state": "flying"}), 400, "invalid_filter")
    assert_error(*admin.get("egov/applications", {"month": "2026-13"}), 400, "invalid_filter")
    assert_error(*admin.post("egov/applications", {"item": f.TEMP_AID}), 422, "invalid_input")
    assert_error(*admin.post(f"{path}/return", {"missing_materials": [], "reason": "x"}), 422)
    assert_error(*admin.post("egov/applications/999999999/accept", {}), 404)
    status, counts = admin.get("egov/applications/counts")
    assert status == 200 and counts["pending"] >= 1 and set(counts) >= {"pending", "completed", "returned"}


def test_list_query_count_is_bounded(db):
    flow = f.Flow(f.OLD_AGE, person=f.resident(f.grid(n=3), birth=date(1940, 1, 1)))
    flow.start(payee_account="")
    client = ApiClient(flow.head)

    def run():
        with CaptureQueriesContext(connection) as ctx:
            status, body = client.get("egov/applications", {"region": f.HUSHAN, "page_size": 50})
        assert status == 200
        return len(ctx.captured_queries), body["count"]

    run()  # the token's first use is recorded
    small, n = run()
    for i in range(12):
        f.Flow(f.OLD_AGE, person=f.resident(f.grid(n=1 + i % 3), birth=date(1941, 1, 1))).start(payee_account="")
    large, m = run()
    assert m == n + 12 and large == small <= 12


def test_matches_endpoint(db):
    grid = f.grid(n=2)
    person = f.resident(grid, name="高龄测", birth=date(1935, 6, 1))
    worker = ApiClient(f.user(Role.GRID_WORKER, grid))
    status, scan = worker.post("egov/matches/scan", {"grid": grid})
    assert status == 200 and scan["grid"] == grid and scan["matches"] >= 1
    status, body = worker.get("egov/matches")
    assert status == 200 and any(m["resident"]["id"] == person.pk and m["item"]["code"] == f.OLD_AGE
                                 for m in body["items"])
    assert_error(*worker.post("egov/matches/scan", {"grid": f.grid(n=1)}), 404)
    assert_error(*ApiClient(f.user(Role.DEPT_HEAD, "MZJ")).get("egov/matches", {"region": grid}), 403)
    assert Application.objects.filter(applicant=person).count() == 0
