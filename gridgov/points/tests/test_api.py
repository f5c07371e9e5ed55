"""/api/v1/points: shapes, scope, refusals in the one error shape, idempotency headers, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint
from gridgov.points.models import Balance, Claim, Order

from . import factories as f

pytestmark = pytest.mark.django_db


def claim_body(subject, **extra):
    return {"subject": getattr(subject, "pk", subject), "item": "M02", "points": 500,
            "occurred_on": timezone.localdate().isoformat(),
            "description": "每天接送姚家孩子上学，并为他们买早餐", "public_reason": "接送困难家庭孩子上学并买早餐",
            "channel": "phone", "source": "neighbour", "reporter_name": "邻居", "evidence": "村委会走访核实"} | extra


def test_catalogue(village):
    client = ApiClient(village.worker)
    status, body = client.get("points/items", {"page_size": 200})
    assert status == 200 and body["count"] == 104 and len(body["items"]) == 104
    assert {i["category"] for i in body["items"]} == {"safety", "morality", "beautiful_village"}
    status, body = client.get("points/items", {"kind": "household", "category": "beautiful_village"})
    assert status == 200 and all("household" in i["subject_kinds"] for i in body["items"])
    assert_error(*ApiClient().get("points/items"), 401, "not_authenticated")
    auditor = f.make_user(Role.AUDITOR)
    assert_error(*ApiClient(auditor).get("points/items"), 403, "permission_denied")


def test_the_collective_award_through_the_api(village, other_village):
    person = village.resident("吴正宪")
    status, subject = ApiClient(village.worker).post("points/subjects", {"kind": "resident", "resident": person.pk})
    assert status == 201 and subject["name"] == "吴正宪" and subject["balance"] == {"earned": 0, "spent": 0,
                                                                                      "spendable": 0}
    status, again = ApiClient(village.worker).post("points/subjects", {"kind": "resident", "resident": person.pk})
    assert status == 200 and again["id"] == subject["id"]

    worker = ApiClient(village.worker)
    status, claim = worker.post("points/claims", claim_body(subject["id"]),
                                HTTP_IDEMPOTENCY_KEY="wu-zhengxian-500")
    assert status == 201, claim
    assert claim["needs_collective"] and claim["quorum"] == 3 and claim["status"] == "pending"
    status, replay = worker.post("points/claims", claim_body(subject["id"]),
                                 HTTP_IDEMPOTENCY_KEY="wu-zhengxian-500")
    assert status == 200 and replay["id"] == claim["id"]
    path = f"points/claims/{claim['id']}"

    assert_error(*ApiClient(other_village.cadres[0]).post(f"{path}/approve", {}), 404, "not_found")
    assert_error(*worker.post(f"{path}/approve", {}), 403, "permission_denied")
    for n, cadre in enumerate(village.cadres[:2], 1):
        status, detail = ApiClient(cadre).post(f"{path}/approve", {"note": "同意"})
        assert status == 200 and detail["approvals"] == n and detail["status"] == "collective"
        status, detail = ApiClient(cadre).post(f"{path}/approve", {})
        assert status == 200 and detail["approvals"] == n  # the same member twice counts once
    assert Balance.objects.get(subject_id=subject["id"]).earned == 0
    status, detail = ApiClient(village.cadres[2]).post(f"{path}/approve", {})
    assert status == 200 and detail["status"] == "posted" and detail["approvals"] == 3
    assert [v["decision"] for v in detail["votes"]] == ["approve"] * 3
    assert [e["action"] for e in detail["events"]] == ["submit", "approve", "approve", "approve", "post"]
    assert Balance.objects.get(subject_id=subject["id"]).earned == 500
    assert_error(*ApiClient(village.cadres[0]).post(f"{path}/reject", {"reason": "晚了"}), 409, "wrong_state")

    assert_scoped_endpoint(path, in_scope_user=village.cadres[0], out_of_scope_user=other_village.cadres[0])
    status, page = ApiClient(village.cadres[0]).get("points/claims", {"status": "posted"})
    assert status == 200 and [c["id"] for c in page["items"]] == [claim["id"]]


def test_claim_input_errors_are_4xx(village):
    subject = village.subject()
    client = ApiClient(village.worker)
    assert_error(*client.post("points/claims", claim_body(subject, channel="pigeon")), 422, "invalid_input")
    assert_error(*client.post("points/claims", claim_body(subject, points=900)), 400, "points_out_of_range")
    assert_error(*client.post("points/claims", "{not json"), 400)
    assert_error(*client.post("points/claims", claim_body(subject, idempotency_key="abcdefgh"),
                              HTTP_IDEMPOTENCY_KEY="other-key-1"), 400, "idempotency_key_mismatch")
    assert Claim.objects.filter(subject=subject).count() == 0


def test_claim_with_evidence_file(village, media):
    subject = village.subject()
    client = ApiClient(village.worker)
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {k: str(v) for k, v in claim_body(subject, points=30, evidence="").items()}
    data["evidence_file"] = SimpleUploadedFile("x.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client.client.post("/api/v1/points/claims", data=data, **client.headers)
    assert response.status_code == 201, response.json()
    claim_id = response.json()["id"]
    assert response.json()["has_evidence_file"]
    evidence = client.client.get(f"/api/v1/points/claims/{claim_id}/evidence", **client.headers)
    assert evidence.status_code == 200 and b"".join(evidence.streaming_content).startswith(b"%PDF")
    data["evidence_file"] = SimpleUploadedFile("x.exe", b"MZ\x90\x00", content_type="application/pdf")
    response = client.client.post("/api/v1/points/claims", data=data, **client.headers)
    assert response.status_code == 400 and response.json()["code"] == "invalid_evidence"


def test_orders_through_the_api(village):
    subject = village.subject()
    f.credit(village, subject, 50)
    shop = f.make_shop(village, goods=(("洗衣粉", 20, 2),))
    soap = f.goods(shop, "洗衣粉")
    client = ApiClient(village.worker)
    body = {"subject": subject.pk, "goods": soap.pk, "quantity": 1}
    status, order = client.post("points/orders", body, HTTP_IDEMPOTENCY_KEY="order-api-0001")
    assert status == 201 and order["total_cost"] == 20 and order["status"] == "placed"
    status, again = client.post("points/orders", body, HTTP_IDEMPOTENCY_KEY="order-api-0001")
    assert status == 200 and again["id"] == order["id"]
    assert Order.objects.filter(subject=subject).count() == 1
    assert_error(*client.post("points/orders", body | {"quantity": 2}), 409, "insufficient_points")
    status, _ = client.post("points/orders", body)
    assert status == 201
    assert_error(*client.post("points/orders", body), 409)
    status, cancelled = client.post(f"points/orders/{order['id']}/cancel", {"reason": "换别的"})
    assert status == 200 and cancelled["status"] == "cancelled"
    status, shop_body = client.get(f"points/shops/{shop.pk}")
    assert status == 200 and shop_body["goods"][0]["stock"] == 1
    status, listing = client.get("points/shops")
    assert status == 200 and shop.pk in [s["id"] for s in listing["items"]]
    b = Balance.objects.get(subject=subject)
    assert (b.earned, b.spent, b.spendable) == (50, 20, 30)


def test_rankings_and_ledger(village, other_village):
    a, b, c = village.subject("甲"), village.subject("乙"), village.subject("丙")
    f.credit(village, a, 30)
    f.credit(village, b, 50)
    f.credit(village, c, 30)
    client = ApiClient(village.cadres[0])
    status, body = client.get("points/rankings", {"region": village.code})
    assert status == 200, body
    assert [(r["rank"], r["name"], r["points"]) for r in body["items"]] == [(1, "乙", 50), (2, "甲", 30),
                                                                          (2, "丙", 30)]
    status, body = client.get("points/rankings", {"region": village.code, "period": "year"})
    assert status == 200 and len(body["items"]) == 3
    assert_error(*client.get("points/rankings", {"region": other_village.code}), 404)
    status, totals = client.get("points/rankings/regions", {"region": village.code})
    assert status == 200 and sum(t["points"] for t in totals) == 110
    status, ledger = client.get("points/ledger", {"region": village.code, "kind": "award"})
    assert status == 200 and ledger["count"] == 3
    response = client.client.get("/api/v1/points/ledger/export", {"region": village.code}, **client.headers)
    assert response.status_code == 200 and response.content[:2] == b"PK"
    response = client.client.get("/api/v1/points/rankings/export", {"region": village.code}, **client.headers)
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert_error(*ApiClient(village.worker).get("points/ledger/export"), 403)


def test_list_endpoints_have_bounded_queries(village):
    client = ApiClient(village.cadres[0])

    def run(path):
        with CaptureQueriesContext(connection) as ctx:
            status, _ = client.get(path, {"region": village.code})
        assert status == 200
        return len(ctx.captured_queries)

    subject = village.subject()
    f.credit(village, subject, 10)
    paths = ["points/claims", "points/ledger", "points/subjects", "points/orders", "points/rankings"]
    for path in paths:
        run(path)  # warm: the first call of a token records its use
    small = {path: run(path) for path in paths}
    for _ in range(15):
        f.credit(village, village.subject(), 10)
    assert {path: run(path) for path in paths} == small
    assert max(small.values()) <= 10


def test_public_notice_board(village):
    child = village.subject("姚小妹", birth=timezone.localdate().replace(year=timezone.localdate().year - 9))
    adult = village.subject("吴正宪", phone="13812345678")
    f.credit(village, adult, 80, public_reason="接送困难家庭孩子上学")
    f.credit(village, child, 10, "M06", evidence="失主证明")
    status, body = ApiClient().get(f"points/notice/{village.code}")
    assert status == 200
    names = {r["name"]: r for r in body["items"]}
    assert "吴正宪" in names and names["吴正宪"]["reason"] == "接送困难家庭孩子上学" and names["吴正宪"]["points"] == 80
    assert "姚*妹" in names and "姚小妹" not in str(body)  # minors are always masked
    text = str(body)
    assert "13812345678" not in text and "420881" not in text.replace(village.code, "")
    assert body["top"][0] == {"rank": 1, "name": "吴正宪", "points": 80}
    assert_error(*ApiClient().get("points/notice/123"), 404)
    assert_error(*ApiClient().get(f"points/notice/{village.grid.code}"), 404)


def test_the_openapi_document_describes_the_points_api():
    from gridgov.api import api

    doc = api.get_openapi_schema()
    paths = [p for p in doc["paths"] if p.startswith("/api/v1/points")]
    assert "/api/v1/points/claims" in paths and "/api/v1/points/verify/{code}" in paths
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({p: doc["paths"][p] for p in paths})
    schemas = doc["components"]["schemas"]
    assert all(ref.rsplit("/", 1)[-1] in schemas for ref in refs), refs
