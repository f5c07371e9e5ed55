"""Deferred refresh (the production default): a write only notes its stale grid-days after commit;
`refresh_rollups` — the worker — brings the rollups to what a rebuild gives."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.cases.models import CaseCategory
from gridgov.core.testing import user_with_role
from gridgov.dashboard import hooks, rollups
from gridgov.dashboard.models import PendingRefresh, Rollup

from .test_rollups import GRID

pytestmark = pytest.mark.django_db


def _reported(today) -> int:
    return Rollup.objects.filter(code=GRID, day=today, kpi="case.reported").aggregate(s=Sum("value"))["s"] or 0


def test_a_write_notes_its_grid_days_and_the_worker_refreshes_them(settings, django_capture_on_commit_callbacks):
    from gridgov.cases.services import case_report

    settings.DASHBOARD_REFRESH = "deferred"
    today = timezone.localdate()
    rollups.rebuild(today, today, coverage_since=today)
    PendingRefresh.objects.all().delete()
    before = _reported(today)
    worker = user_with_role(Role.GRID_WORKER, GRID)
    for _ in range(2):  # two writes to the same grid-day leave one marker
        with django_capture_on_commit_callbacks(execute=True):
            case_report(acting_user=worker, category=CaseCategory.objects.get(code="G0101"),
                        description="可疑人员徘徊", grid=GRID)
    assert _reported(today) == before  # nothing refreshed inside the writes
    # (marks left by earlier rolled-back transactions in this thread are noted with the next commit too)
    assert {(GRID, today), (GRID, None)} <= set(PendingRefresh.objects.values_list("grid", "day"))
    out = StringIO()
    call_command("refresh_rollups", stdout=out)
    assert "刷新了" in out.getvalue()
    assert not PendingRefresh.objects.exists()
    incremental = _reported(today)
    assert incremental == before + 2
    rollups.rebuild(today, today, coverage_since=today)
    assert _reported(today) == incremental
    assert hooks.drain() == 0  # nothing left
