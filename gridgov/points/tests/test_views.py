"""The points pages: the worker's entry, the committee's votes, the shop, rankings, exports, and
the public notice board and certificate check."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.points.models import Balance, Claim, Order, Subject

from . import factories as f

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_page_answers_the_scheme_roles(village):
    subject = village.subject("钱多多")
    claim = f.credit(village, subject, 20)
    shop = f.make_shop(village, goods=(("毛巾", 10, 3),))
    town = f.make_user(Role.TOWN_OPERATOR, village.region.parent, "镇综治")
    pages = ["/points/", "/points/items/", "/points/subjects/?q=钱", f"/points/subjects/{subject.pk}/",
             "/points/claims/", f"/points/claims/{claim.pk}/", "/points/ledger/", "/points/rankings/",
             "/points/shops/", f"/points/shops/{shop.pk}/", "/points/orders/"]
    for user in (village.worker, village.admin, village.cadres[0], town):
        client = login(user)
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, (user, path, response.status_code)
    assert login(village.worker).get(f"/points/subjects/{subject.pk}/claim/").status_code == 200
    assert "积分" in login(village.worker).get("/points/").content.decode()


def test_pages_refuse_outsiders_and_anonymous(village, other_village):
    subject = village.subject()
    claim = f.submit(village, subject, "M04", 2)
    outsider = login(other_village.cadres[0])
    assert outsider.get(f"/points/subjects/{subject.pk}/").status_code == 404
    assert outsider.get(f"/points/claims/{claim.pk}/").status_code == 404
    assert outsider.post(f"/points/claims/{claim.pk}/approve/").status_code == 404
    assert login(f.make_user(Role.AUDITOR)).get("/points/").status_code == 403
    assert Client().get("/points/").status_code == 302
    assert Claim.objects.get(pk=claim.pk).status == "pending"


def test_the_worker_opens_an_account_and_enters_a_claim(village, media):
    person = village.resident("吴正宪")
    client = login(village.worker)
    page = client.get("/points/subjects/?q=吴正宪").content.decode()
    assert "开户并录入积分" in page
    response = client.post("/points/subjects/open/", {"kind": "resident", "target": "resident",
                                                      "target_id": person.pk, "next": "claim"})
    subject = Subject.objects.get(resident=person, kind="resident")
    assert response.status_code == 302 and response["Location"] == f"/points/subjects/{subject.pk}/claim/"
    form = client.get(response["Location"]).content.decode()
    assert "M02 帮扶困难群众" in form and "V01" not in form  # household items are not offered to a resident
    data = {"item": "M02", "points": "500", "occurred_on": timezone.localdate().isoformat(), "channel": "phone",
            "source": "neighbour", "reporter_name": "邻居李某", "description": "每天接送姚家孩子上学并买早餐",
            "public_reason": "接送困难家庭孩子上学", "evidence": "村委会走访核实", "idempotency_key": "form-key-000001"}
    response = client.post(response["Location"], data)
    claim = Claim.objects.get(subject=subject)
    assert response.status_code == 302 and response["Location"] == f"/points/claims/{claim.pk}/"
    assert claim.needs_collective and claim.channel == "phone" and claim.source == "neighbour"
    client.post(f"/points/subjects/{subject.pk}/claim/", data)  # a double submit of the same form
    assert Claim.objects.filter(subject=subject).count() == 1
    bad = client.post(f"/points/subjects/{subject.pk}/claim/", data | {"points": "900", "idempotency_key": ""})
    assert bad.status_code == 400 and "之间" in bad.content.decode()


def test_the_committee_votes_on_the_page(village):
    subject = village.subject()
    claim = f.submit(village, subject, "M02", 300)
    for n, cadre in enumerate(village.cadres, 1):
        client = login(cadre)
        page = client.get(f"/points/claims/{claim.pk}/").content.decode()
        assert 'id="approve-form"' in page
        client.post(f"/points/claims/{claim.pk}/approve/", {"note": "同意"})
        client.post(f"/points/claims/{claim.pk}/approve/", {})  # a second click
        page = client.get(f"/points/claims/{claim.pk}/").content.decode()
        assert 'id="approve-form"' not in page
        if n < 3:
            assert f"{n}/3 人同意" in page
    assert Claim.objects.get(pk=claim.pk).status == "posted"
    assert Balance.objects.get(subject=subject).earned == 300
    page = login(village.cadres[0]).get(f"/points/claims/{claim.pk}/").content.decode()
    assert 'id="reverse-form"' in page


def test_redeem_and_certificate_on_the_subject_page(village):
    subject = village.subject()
    f.credit(village, subject, 30)
    shop = f.make_shop(village, goods=(("毛巾", 10, 3),))
    towel = f.goods(shop, "毛巾")
    client = login(village.worker)
    page = client.get(f"/points/subjects/{subject.pk}/").content.decode()
    assert "毛巾" in page
    data = {"goods": towel.pk, "quantity": 2, "idempotency_key": "redeem-form-0001"}
    client.post(f"/points/subjects/{subject.pk}/redeem/", data)
    client.post(f"/points/subjects/{subject.pk}/redeem/", data)  # the double click posts once
    assert Order.objects.filter(subject=subject).count() == 1
    assert Balance.objects.get(subject=subject).spendable == 10
    response = client.post(f"/points/subjects/{subject.pk}/redeem/", data | {"idempotency_key": "redeem-form-0002"})
    assert response.status_code == 302
    assert Order.objects.filter(subject=subject).count() == 1  # 20 points needed, 10 left: refused
    assert login(village.admin).post(f"/points/subjects/{subject.pk}/certificate/",
                                     {"purpose": "school"}).status_code == 302
    assert subject.certificates.count() == 1
    assert client.post(f"/points/subjects/{subject.pk}/certificate/", {"purpose": "school"}).status_code == 403


def test_exports_from_the_pages(village):
    subject = village.subject()
    f.credit(village, subject, 30)
    client = login(village.admin)
    ledger = client.get(f"/points/ledger/?region={village.code}&export=1")
    assert ledger.status_code == 200 and ledger.content[:2] == b"PK"
    assert "attachment" in ledger["Content-Disposition"]
    ranking = client.get(f"/points/rankings/?region={village.code}&period=year&export=1")
    assert ranking.status_code == 200 and ranking.content[:2] == b"PK"


def test_list_pages_have_bounded_queries(village):
    client = login(village.cadres[0])

    def run(path):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    f.credit(village, village.subject(), 10)
    paths = ["/points/claims/", "/points/ledger/", "/points/subjects/", "/points/orders/"]
    small = {p: run(p) for p in paths}
    for _ in range(12):
        f.credit(village, village.subject(), 10)
    assert {p: run(p) for p in paths} == small


def test_the_public_notice_board(village):
    adult = village.subject("吴正宪", phone="13812345678")
    f.credit(village, adult, 80, public_reason="接送困难家庭孩子上学")
    index = Client().get("/points/notice/")
    assert index.status_code == 200 and village.region.name in index.content.decode()
    page = Client().get(f"/points/notice/{village.code}/")
    text = page.content.decode()
    assert page.status_code == 200 and "吴正宪" in text and "接送困难家庭孩子上学" in text and "+80" in text
    assert "13812345678" not in text and "身份证" not in text
    assert Client().get("/points/notice/999/").status_code == 404
