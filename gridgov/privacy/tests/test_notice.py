"""The notice of purpose and legal basis appears on the forms that collect personal data."""

import pytest
from django.test import Client

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
