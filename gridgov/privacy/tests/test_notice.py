"""The notice of purpose and legal basis appears on the forms that collect personal data."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from gridgov.accounts.choices import Role
from gridgov.core.testing import user_with_role
from gridgov.people.tests.registry_helpers import make_resident, place
from gridgov.selfservice.tests.conftest import resident_with_points, sign_in

pytestmark = pytest.mark.django_db


def _assert_notice(response, kind):
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="privacy-notice-{kind}"' in body
    assert "个人信息处理告知" in body and "法律依据" in body and "个人信息保护法" in body and "保存期限" in body


def test_staff_collection_forms_show_the_notice():
    p = place()
    resident = make_resident(p.worker, p.grid)
    worker = Client()
    worker.force_login(p.worker)
    _assert_notice(worker.get(f"/people/residents/{resident.pk}/correct/"), "resident")
    town = Client()
    town.force_login(user_with_role(Role.TOWN_OPERATOR))
    _assert_notice(town.get("/intake/hotline/"), "hotline")


def test_resident_self_service_forms_show_the_notice():
    _assert_notice(Client().get("/my/login/"), "login")
    client = sign_in(resident_with_points())
    _assert_notice(client.get("/my/reports/new/"), "report")
    _assert_notice(client.get("/my/deeds/new/"), "report")


@pytest.mark.urls("gridgov.privacy.tests.urls_import")
def test_the_excel_import_page_shows_the_notice():
    town = Client()
    town.force_login(user_with_role(Role.TOWN_OPERATOR))
    response = town.get(reverse("people_import:upload"))
    _assert_notice(response, "import")
    body = response.content.decode()
    # Inside the upload form, before its submit button: read before the file goes in.
    form = body[body.index('id="import-form"'):body.index('id="import-submit"')]
    assert 'id="privacy-notice-import"' in form


def test_the_phone_app_collection_forms_carry_the_notice_in_the_cached_shell():
    p = place()
    worker = Client()
    worker.force_login(p.worker)
    shell = worker.get(reverse("mobile:shell"))
    body = shell.content.decode()
    # Every kind the app's forms ask for is a <template> of the shell, holding the full notice.
    app_js = Path(finders.find("mobile/app.js")).read_text()
    kinds = set(re.findall(r'collect\("(\w+)"', app_js))
    assert kinds == {"visit", "case", "claim", "application"}
    for kind in kinds:
        start = body.index(f'<template id="notice-tpl-{kind}">')
        template = body[start:body.index("</template>", start)]
        assert f'id="privacy-notice-{kind}"' in template
        assert "个人信息处理告知" in template and "个人信息保护法" in template and "保存期限" in template
    # Each collection screen opens through collect(kind, …), never the bare sheet.
    for title in ("走访：", "上报事件", "积分代报", "代办服务申请", "补正 "):
        assert re.search(r'collect\("\w+", [`"]' + re.escape(title), app_js), title
    # CSP script-src 'self': no inline script in the shell; the service worker precaches the shell.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", body))
    sw = worker.get(reverse("mobile:service_worker")).content.decode()
    assert re.search(r"PRECACHE = \[SHELL\b", sw) and f'const SHELL = "{reverse("mobile:shell")}"' in sw
