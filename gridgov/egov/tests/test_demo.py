"""The demo's stories (gridgov/demo/egov.py): 王必俊's 临时救助 and 李春艳's 以奖代补."""

import pytest

from gridgov.demo import egov as demo
from gridgov.egov.models import Application, EligibilityMatch, Notification
from gridgov.people.models import Resident

pytestmark = pytest.mark.django_db


def _stories():
    wang = Application.objects.filter(applicant__name="王必俊", item__code="SB001").first()
    li = Application.objects.filter(applicant__name="李春艳", item__code="SB006").first()
    return wang, li


def test_the_article_stories_are_in_the_demo(settings, tmp_path):
    settings.EGOV_MATERIALS_ROOT = str(tmp_path)
    if not Resident.objects.filter(name="王必俊").exists():
        lines = []
        assert demo.seed_egov(progress=lines.append) == {"egov_applications": 0}
        assert "跳过" in lines[0]
        pytest.skip("the demo population is not in this database")
    wang, li = _stories()
    if wang is None:  # the session's seed did not include egov yet: run it here
        demo.seed_egov()
        wang, li = _stories()
    assert wang.state == "completed" and wang.decision == "approved" and wang.amount_fen == 300000
    assert wang.region_id.startswith(demo.ZHONGYAN) and wang.department_code == "MZJ" and wang.on_time
    payment = wang.payments.get()
    assert payment.status == "paid" and payment.amount_fen == 300000
    assert [e.action for e in wang.events.order_by("at", "id")][-6:] == [
        "accept", "town_pass", "verify", "approve", "pay", "complete"]
    assert li.found_by_match and li.region_id.startswith(demo.HUSHAN) and li.amount_fen == 20000
    assert li.channel == "grid_worker" and li.payments.count() == 12
    assert li.payments.filter(status="paid").exists()
    assert Notification.objects.filter(application=li, recipient_resident=li.applicant).exists()
    # She was found by 政策找人 and, having applied, is no longer on the list to approach.
    assert not EligibilityMatch.objects.filter(resident=li.applicant, item__code="SB006").exclude(
        resident__applications__item__code="SB006").exists()
    assert Application.objects.count() >= 50
