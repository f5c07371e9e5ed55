"""The egov pages: catalogue and guides, the form, the desks, an application and its steps, 政策找人,
statistics and the export; scope (404), roles (403) and bounded queries."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gridgov.accounts.choices import Role
from gridgov.egov import services
from gridgov.egov.models import Application

from . import factories as f

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_catalogue_and_guide(db):
    c = client_for(f.user(Role.GRID_WORKER, f.grid()))
    response = c.get(reverse("egov:catalogue"))
    body = response.content.decode()
    assert response.status_code == 200 and "临时救助" in body and "农村建房审批" in body and "93" in body
    response = c.get(reverse("egov:catalogue"), {"category": "administrative_approval", "q": "建房"})
    body = response.content.decode()
    assert "农村建房审批" in body and ">临时救助<" not in body
    assert "没有找到" in c.get(reverse("egov:catalogue"), {"q": "火星移民"}).content.decode()
    response = c.get(reverse("egov:item_detail", args=[f.REWARD]))
    body = response.content.decode()
    assert response.status_code == 200 and "严重精神障碍患者监护以奖代补" in body and "200.00 元/月" in body
    assert "监护关系证明" in body and 'id="apply-link"' in body
    assert c.get(reverse("egov:item_detail", args=["NOPE"])).status_code == 404
    auditor = client_for(f.user(Role.AUDITOR))
    body = auditor.get(reverse("egov:item_detail", args=[f.REWARD])).content.decode()
    assert 'id="apply-link"' not in body
    assert auditor.get(reverse("egov:desk")).status_code == 403


def test_the_form_pre_fills_and_submits_with_scans(db):
    from gridgov.people.models import Household

    household = Household.objects.create(region_id=f.grid(), number=f"HS-T{date.today():%H%M%S}")
    person = f.resident(name="王测俊", household=household)
    f.resident(household=household)
    admin = f.user(Role.GRID_ADMIN, f.HUSHAN)
    c = client_for(admin)
    url = reverse("egov:apply", args=[f.TEMP_AID])
    picked = c.get(url, {"q": "王测俊"}).content.decode()
    assert f"?resident={person.pk}" in picked
    page = c.get(url, {"resident": person.pk}).content.decode()
    assert 'value="2"' in page and "已从人口信息预填" in page  # 家庭人口数 from the household
    files = {f"m_{code}": SimpleUploadedFile(f"{code}.pdf", f.PDF) for code in ("id_card", "hukou", "application",
                                                                                "bank")}
    data = {"q_reason": "因病", "q_family_size": "2", "q_monthly_income": "900", "q_situation": "胃癌住院",
            "payee_account": "6217995200012345678", "accept": "on", "client_key": "k-apply-1", **files}
    response = c.post(f"{url}?resident={person.pk}", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    app = Application.objects.get(applicant=person)
    assert app.state == "town_review" and app.materials.count() == 4 and app.answers["family_size"] == 2
    detail = c.get(response["Location"]).content.decode()
    assert app.number in detail and "村级受理" in detail and "办结期限" in detail
    # Errors come back onto the form, nothing is written.
    other = f.resident()
    bad = c.post(f"{url}?resident={other.pk}", {"q_reason": "因懒", "client_key": "k-apply-2"})
    assert bad.status_code == 400 and not Application.objects.filter(applicant=other).exists()
    # A resident outside the administrator's village is a 404.
    far = f.resident(f.grid(f.YUANTAI))
    assert c.get(url, {"resident": far.pk}).status_code == 404
    assert client_for(f.user(Role.TOWN_OPERATOR, f.HUJI)).get(url, {"resident": person.pk}).status_code == 403


def test_desks_steps_and_timeline_through_the_pages(db):
    flow = f.Flow(f.TEMP_AID)
    flow.start()
    admin, town, staff, head = (client_for(u) for u in (flow.admin, flow.town, flow.staff, flow.head))
    desk = admin.get(reverse("egov:desk")).content.decode()
    assert "村级受理台" in desk and flow.app.number in desk
    detail_url = reverse("egov:application_detail", args=[flow.app.pk])
    page = admin.get(detail_url).content.decode()
    assert 'id="do-accept"' in page and 'id="do-approve"' not in page
    for code in ("id_card", "hukou", "application", "bank"):
        response = admin.post(reverse("egov:material_upload", args=[flow.app.pk]),
                              {"material_code": code, "file": SimpleUploadedFile("x.png", f.PNG)})
        assert response.status_code == 302
    admin.post(reverse("egov:act", args=[flow.app.pk, "accept"]), {"note": ""})
    assert Application.objects.get(pk=flow.app.pk).state == "town_review"
    town_desk = town.get(reverse("egov:desk")).content.decode()
    assert "镇审核台" in town_desk and flow.app.number in town_desk
    town.post(reverse("egov:act", args=[flow.app.pk, "return"]),
              {"missing_materials": ["hukou"], "reason": "户口簿复印件缺户主页"})
    app = Application.objects.get(pk=flow.app.pk)
    assert app.state == "returned"
    assert "计时暂停" in admin.get(detail_url).content.decode()
    admin.post(reverse("egov:material_upload", args=[app.pk]), {"material_code": "hukou",
                                                              "file": SimpleUploadedFile("h.pdf", f.PDF)})
    admin.post(reverse("egov:act", args=[app.pk, "resubmit"]), {"note": ""})
    town.post(reverse("egov:act", args=[app.pk, "town_pass"]), {"note": "同意"})
    staff.post(reverse("egov:act", args=[app.pk, "verify"]), {"note": "入户核实属实", "proposed_amount": "3000"})
    # The staff member cannot approve; the page refuses and nothing changes.
    staff.post(reverse("egov:act", args=[app.pk, "approve"]), {"amount": "3000"})
    assert Application.objects.get(pk=app.pk).state == "dept_decide"
    head_desk = head.get(reverse("egov:desk")).content.decode()
    assert "部门审批台" in head_desk and app.number in head_desk
    head.post(reverse("egov:act", args=[app.pk, "approve"]), {"amount": "3000", "note": "同意救助"})
    app = Application.objects.get(pk=app.pk)
    assert app.state == "approved" and app.amount_fen == 300000
    payment = app.payments.get()
    staff.post(reverse("egov:pay", args=[app.pk, payment.pk]), {"reference": "MZ-PAGE-0001", "client_key": "p1"})
    staff.post(reverse("egov:pay", args=[app.pk, payment.pk]), {"reference": "MZ-PAGE-0002", "client_key": "p2"})
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.reference == "MZ-PAGE-0001"
    staff.post(reverse("egov:act", args=[app.pk, "complete"]), {"note": ""})
    page = admin.get(detail_url).content.decode()
    assert "已办结" in page and "按期办结" in page and "资金发放" in page and "补正暂停" in page
    for label in ("代办申请", "村级受理", "退回补正", "补正提交", "镇审核通过", "部门核实", "批准", "资金发放", "办结"):
        assert label in page
    # Material downloads go through the access check.
    material = app.materials.first()
    url = reverse("egov:material_download", args=[app.pk, material.pk])
    assert admin.get(url).status_code == 200
    assert client_for(f.user(Role.GRID_ADMIN, f.YUANTAI)).get(url).status_code == 404
    assert client_for(f.user(Role.GRID_ADMIN, f.YUANTAI)).get(detail_url).status_code == 404
    assert client_for(f.user(Role.DEPT_HEAD, "RSJ")).get(detail_url).status_code == 404
    # Export and statistics.
    response = head.post(reverse("egov:export"), {"region": f.HUSHAN, "state": ""})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    stats = head.get(reverse("egov:stats"), {"region": f.HUSHAN}).content.decode()
    assert "按期办结率" in stats and 'id="by-item"' in stats and "临时救助" in stats
    from gridgov.egov.selectors import application_stats

    assert application_stats(user=flow.head, region=f.HUSHAN).paid_fen >= 300000


def test_desk_filters_empty_states_and_query_count(db):
    admin = f.user(Role.GRID_ADMIN, f.HUSHAN)
    c = client_for(admin)
    empty = c.get(reverse("egov:desk"), {"state": "pending", "q": "没有这个人"}).content.decode()
    assert "没有符合条件的申请" in empty
    assert c.get(reverse("egov:desk"), {"month": "2026-13"}).status_code == 400

    def run():
        with CaptureQueriesContext(connection) as ctx:
            response = c.get(reverse("egov:desk"), {"state": ""})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    f.Flow(f.HUKOU_PROOF, department="GAJ").start()
    run()
    small = run()
    for _ in range(8):
        f.Flow(f.HUKOU_PROOF, department="GAJ").start()
    assert run() == small


def test_matches_page(db):
    grid = f.grid(n=2)
    person = f.resident(grid, name="李测艳", gender="female", birth=date(1979, 2, 3))
    f.tag(person, "severe_mental_disorder", risk_level=3)
    worker = f.user(Role.GRID_WORKER, grid)
    c = client_for(worker)
    c.post(reverse("egov:match_scan"), {"grid": grid})
    page = c.get(reverse("egov:matches")).content.decode()
    assert "李测艳" in page and "严重精神障碍患者监护以奖代补" in page
    assert f"?resident={person.pk}&match=1" in page
    # The village administrator may not see the mental-health match; the department has no such page.
    admin_page = client_for(f.user(Role.GRID_ADMIN, f.HUSHAN)).get(reverse("egov:matches"),
                                                                    {"region": grid}).content.decode()
    assert "李测艳" not in admin_page
    assert client_for(f.user(Role.DEPT_STAFF, "MZJ")).get(reverse("egov:matches")).status_code == 403
    assert c.get(reverse("egov:matches"), {"region": f.grid(f.YUANTAI)}).status_code == 404
    # Applying from the list marks the application as found by policy.
    flow = f.Flow(f.REWARD, person=person)
    app = services.application_create(acting_user=worker, item_code=f.REWARD, applicant_id=person.pk,
                                      answers=f.answers_for(f.REWARD), found_by_match=True)
    assert app.found_by_match and "李测艳" not in c.get(reverse("egov:matches")).content.decode()
    assert flow.person == person
