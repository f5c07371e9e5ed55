"""The demo notices and reports: written through the services, their statistics add up, fast."""

import time

import pytest

from gridgov.accounts.choices import Role
from gridgov.core.testing import user_with_role
from gridgov.demo.notices import seed_notices
from gridgov.notices import selectors
from gridgov.notices.models import Notice, Receipt, Report

pytestmark = pytest.mark.django_db


def test_demo_notices_and_reports():
    before = set(Notice.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    counts = seed_notices(seed=20260101)
    elapsed = time.perf_counter() - started
    new = Notice.objects.exclude(pk__in=before)
    assert counts["notices"] == new.count() == 8
    assert counts["notice_receipts"] == Receipt.objects.filter(notice__in=new).count()
    assert counts["notice_acks"] == Receipt.objects.filter(notice__in=new, acked_at__isnull=False).count() > 0
    assert counts["reports"] >= 20 and Report.objects.filter(status="handled").exists()
    city = user_with_role(Role.CITY_OPERATOR)
    fire = new.get(title__startswith="关于做好今冬明春森林防火")
    stats = selectors.notice_stats(city, fire)
    assert stats["totals"]["total"] == fire.recipient_count > 5000
    assert 0 < stats["totals"]["acked"] < stats["totals"]["read"] < stats["totals"]["total"]
    overdue = new.filter(title="关于开展安全隐患大排查的通知").first()
    assert selectors.notice_stats(city, overdue)["totals"]["late"] > 0
    assert elapsed < 10  # ~1.5 s on the shared 2-core machine; generous against load
