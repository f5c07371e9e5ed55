"""Holds (法定保存): who may set and release them, within scope, with a reason, audited; the page."""

import pytest
from django.test import Client

from gridgov.accounts.choices import Role
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role
from gridgov.people.tests.registry_helpers import place
from gridgov.privacy import services
from gridgov.privacy.models import PersonalDataHold

from .helpers import aged_resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def p():
    return place()


def _counts():
    return PersonalDataHold.objects.count(), AuditEntry.objects.count()


def test_set_and_release_are_audited_with_who_and_why(p):
    resident = aged_resident(p, state="moved_out", days_ago=5)
    hold = services.hold_set(acting_user=p.town, resident_id=resident.pk, reason="公安机关调查中")
    assert (hold.held_by, hold.region_id, hold.released_at) == (p.town, p.grid.code, None)
    entry = AuditEntry.objects.filter(action="privacy.hold.set").latest("id")
    assert entry.actor == p.town and entry.message == "公安机关调查中" and entry.object_id == str(resident.pk)
    with pytest.raises(ValidationFailed):
        services.hold_set(acting_user=p.city, resident_id=resident.pk, reason="再次冻结一下")
    services.hold_release(acting_user=p.city, hold_id=hold.pk, reason="调查已结束")
    hold.refresh_from_db()
    assert hold.released_by == p.city and hold.release_reason == "调查已结束"
    assert AuditEntry.objects.filter(action="privacy.hold.release", object_id=str(resident.pk)).exists()


def test_wrong_roles_out_of_scope_and_short_reasons_are_refused_and_change_nothing(p):
    resident = aged_resident(p, state="moved_out", days_ago=5)
    before = _counts()
    for user in (p.worker, p.admin, p.cadre, p.auditor, user_with_role(Role.SYSADMIN),
                 user_with_role(Role.DEPT_HEAD)):
        with pytest.raises(PermissionDenied):
            services.hold_set(acting_user=user, resident_id=resident.pk, reason="诉讼中保存")
    other_town = user_with_role(Role.TOWN_OPERATOR, p.far_grid.code[:9])
    with pytest.raises(NotFound):
        services.hold_set(acting_user=other_town, resident_id=resident.pk, reason="诉讼中保存")
    with pytest.raises(ValidationFailed):
        services.hold_set(acting_user=p.town, resident_id=resident.pk, reason="短")
    assert _counts() == before
    hold = services.hold_set(acting_user=p.town, resident_id=resident.pk, reason="诉讼中保存")
    before = _counts()
    with pytest.raises(PermissionDenied):
        services.hold_release(acting_user=p.worker, hold_id=hold.pk, reason="不需要了吧")
    with pytest.raises(NotFound):
        services.hold_release(acting_user=other_town, hold_id=hold.pk, reason="不需要了吧")
    assert _counts() == before and PersonalDataHold.objects.get(pk=hold.pk).released_at is None


def test_the_hold_page(p):
    resident = aged_resident(p, state="deceased", days_ago=5)
    worker = Client()
    worker.force_login(p.worker)
    assert worker.get("/privacy/holds/").status_code == 403
    assert worker.post("/privacy/holds/", {"resident_id": resident.pk, "reason": "诉讼中保存"}).status_code == 403
    assert Client().get("/privacy/holds/").status_code == 302  # to the login page
    town = Client()
    town.force_login(p.town)
    assert town.post("/privacy/holds/", {"resident_id": resident.pk, "reason": "短"}).status_code == 400
    assert town.post("/privacy/holds/", {"resident_id": 10 ** 9, "reason": "诉讼中保存"}).status_code == 404
    assert town.post("/privacy/holds/", {"resident_id": 10 ** 30, "reason": "诉讼中保存"}).status_code == 400
    assert town.post(f"/privacy/holds/{10 ** 30}/release/", {"reason": "诉讼已结束"}).status_code == 404
    assert not PersonalDataHold.objects.filter(resident=resident).exists()
    response = town.post("/privacy/holds/", {"resident_id": resident.pk, "reason": "诉讼中保存"}, follow=True)
    assert response.status_code == 200 and "诉讼中保存" in response.content.decode()
    hold = PersonalDataHold.objects.get(resident=resident)
    assert town.post(f"/privacy/holds/{hold.pk}/release/", {"reason": ""}).status_code == 400
    assert worker.post(f"/privacy/holds/{hold.pk}/release/", {"reason": "诉讼已结束"}).status_code == 403
    assert town.post(f"/privacy/holds/{hold.pk}/release/", {"reason": "诉讼已结束"}).status_code == 302
    hold.refresh_from_db()
    assert hold.released_at is not None
    assert town.post(f"/privacy/holds/{hold.pk}/release/", {"reason": "诉讼已结束"}).status_code == 404
