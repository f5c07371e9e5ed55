"""Pages: inbox, detail (read on open, acknowledge), compose, sent, statistics drill-down, report desk."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.testing import user_with_role
from gridgov.notices import services
from gridgov.notices.models import Notice, Receipt, Report

from .conftest import OTHER_TOWN, TOWN

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_inbox_detail_and_ack(town_op, worker, deadline):
    notice = services.notice_send(acting_user=town_op, title="关于开展安全大排查的通知",
                                  body_html="<p>请于本周完成</p>", region=TOWN, requires_ack=True,
                                  ack_deadline=deadline)
    client = logged_in(worker)
    page = client.get("/notices/")
    assert page.status_code == 200 and "关于开展安全大排查的通知" in page.content.decode()
    assert 'class="unread"' in page.content.decode()
    assert "关于开展" in client.get("/notices/", {"show": "unacked", "q": "排查"}).content.decode()
    empty = client.get("/notices/", {"q": "完全无关的词"}).content.decode()
    assert "没有符合条件的通知" in empty
    detail = client.get(f"/notices/{notice.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200 and "请于本周完成" in body and 'id="ack-form"' in body
    assert "<script" not in body.split('id="notice-body"')[1].split("</div>")[0]
    assert Receipt.objects.get(notice=notice, user=worker).read_at is not None
    response = client.post(f"/notices/{notice.pk}/ack/", {"comment": "已传达"})
    assert response.status_code == 302
    receipt = Receipt.objects.get(notice=notice, user=worker)
    assert receipt.acked_at and receipt.ack_comment == "已传达"
    assert "已签收" in client.get(f"/notices/{notice.pk}/").content.decode()


def test_pages_refuse(town_op, other_town_op, worker):
    notice = services.notice_send(acting_user=town_op, title="仅本镇", region=TOWN)
    assert logged_in(other_town_op).get(f"/notices/{notice.pk}/").status_code == 404
    assert logged_in(other_town_op).get(f"/notices/{notice.pk}/stats/").status_code == 404
    assert logged_in(worker).get("/notices/compose/").status_code == 403
    assert logged_in(user_with_role(Role.AUDITOR)).get("/notices/").status_code == 403
    assert Client().get("/notices/").status_code == 302  # to the login page
    response = logged_in(other_town_op).post(f"/notices/{notice.pk}/withdraw/", {"reason": "x"})
    assert response.status_code == 404
    assert Notice.objects.get(pk=notice.pk).status == "sent"


def test_compose_sends_and_shows_errors(town_op):
    client = logged_in(town_op)
    form = client.get("/notices/compose/")
    html = form.content.decode()
    assert form.status_code == 200 and f'value="{TOWN}"' in html and f'value="{OTHER_TOWN}"' not in html
    assert "<script>" not in html.replace('<script src=', '')  # no inline scripts
    bad = client.post("/notices/compose/", {"title": "需签收", "region": TOWN, "requires_ack": "on"})
    assert bad.status_code == 400 and "签收截止时间" in bad.content.decode()
    deadline = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    ok = client.post("/notices/compose/", {"title": "页面发送", "body_html": "<p>正文</p>", "region": TOWN,
                                           "roles": ["grid_admin"], "requires_ack": "on", "ack_deadline": deadline})
    assert ok.status_code == 302
    notice = Notice.objects.get(title="页面发送")
    assert set(Receipt.objects.filter(notice=notice).values_list("role", flat=True)) == {"grid_admin"}
    assert notice.requires_ack and notice.ack_deadline > timezone.now()
    assert "页面发送" in client.get("/notices/sent/", {"mine": "1"}).content.decode()


def test_stats_page_drills_down(city):
    notice = services.notice_send(acting_user=city, title="全市统计", region="420881")
    client = logged_in(city)
    top = client.get(f"/notices/{notice.pk}/stats/").content.decode()
    assert f'?region={TOWN}"' in top and "职能部门" in top
    total = re.search(r'id="stats-total"><th>合计</th><th class="num">(\d+)</th>', top)
    assert int(total.group(1)) == notice.recipient_count
    town = client.get(f"/notices/{notice.pk}/stats/", {"region": TOWN}).content.decode()
    town_total = int(re.search(r'id="stats-total"><th>合计</th><th class="num">(\d+)</th>', town).group(1))
    assert town_total == Receipt.objects.filter(notice=notice, region_code__startswith=TOWN).count()
    names = client.get(f"/notices/{notice.pk}/stats/", {"region": TOWN, "state": "unread"})
    assert names.status_code == 200 and f"共 {town_total} 人" in names.content.decode()
    assert client.get(f"/notices/{notice.pk}/stats/", {"region": "abc"}).status_code == 404


def test_report_desk_pages(worker, village_admin, other_town_op):
    client = logged_in(worker)
    assert client.get("/notices/reports/new/").status_code == 200
    bad = client.post("/notices/reports/new/", {"category": "situation", "text": ""})
    assert bad.status_code == 400
    ok = client.post("/notices/reports/new/", {"category": "dispute", "text": "两户邻里因排水沟起争执"})
    assert ok.status_code == 302
    report = Report.objects.get(text="两户邻里因排水沟起争执")
    admin = logged_in(village_admin)
    desk = admin.get("/notices/reports/").content.decode()
    assert "两户邻里因排水沟" in desk
    assert "两户邻里因排水沟" not in logged_in(other_town_op).get("/notices/reports/").content.decode()
    assert logged_in(other_town_op).get(f"/notices/reports/{report.pk}/").status_code == 404
    detail = admin.get(f"/notices/reports/{report.pk}/").content.decode()
    assert 'id="case-form"' in detail
    admin.post(f"/notices/reports/{report.pk}/read/")
    assert Report.objects.get(pk=report.pk).status == "read"
    admin.post(f"/notices/reports/{report.pk}/case/", {"category": "G0403"})
    report.refresh_from_db()
    assert report.status == "case" and report.case is not None
    assert report.case.number in admin.get(f"/notices/reports/{report.pk}/").content.decode()
    assert logged_in(worker).get("/notices/reports/", {"mine": "1"}).status_code == 200
