"""Rollups and KPIs: a small known dataset counted by hand, rollups equal to raw counts after a
rebuild and after incremental updates, parents equal to the sum of their children."""

from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.cases.models import Case, CaseCategory, CaseDispatch, Evaluation
from gridgov.cases.models.tip import Tip
from gridgov.core.testing import user_with_role
from gridgov.dashboard import rollups, selectors
from gridgov.dashboard.models import Rollup, Snapshot
from gridgov.egov.models import Application, Payment, ServiceItem
from gridgov.notices.models import Notice, Receipt
from gridgov.people.models import Resident
from gridgov.points.models import LedgerEntry
from gridgov.video.models import AccessGrant, Camera, FootageReview, ViewSession
from gridgov.visits.models import Visit

pytestmark = pytest.mark.django_db

GRID = "420881103201001"  # 湖山村第1网格, 胡集镇
OTHER_GRID = "420881107201001"  # 百井村, 冷水镇
MARCH = selectors.Period(date(2015, 3, 1), date(2015, 3, 31))  # long before any demo data


def at(day: int, hour: int = 10, month: int = 3):
    return timezone.make_aware(datetime(2015, month, day, hour))


def _case(n, *, created, source="grid_worker", category="G0101", state="closed", closed=None, escalated=None,
          dept=None, dispatched=None, self_resolved=False, overdue=False, grid=GRID):
    return Case.objects.create(
        number=f"DASH{n:08d}", region_id=grid, source=source, category=CaseCategory.objects.get(code=category),
        description="测试事件", state=state, created_at=created, closed_at=closed, escalated_to_level=escalated,
        lead_department=dept, dispatched_at=dispatched, self_resolved=self_resolved, overdue=overdue)


@pytest.fixture
def march():
    """The known dataset, all in one grid in March 2015 (plus one case elsewhere that must not count)."""
    dept = Department.objects.get(code="CGJ")
    city = user_with_role(Role.CITY_OPERATOR)
    c1 = _case(1, created=at(2), closed=at(5, 8), dept=dept, dispatched=at(2, 10))  # 70 h, on time
    c2 = _case(2, created=at(3, 8), source="hotline", category="G0201", state="evaluated", closed=at(10, 8),
               escalated=2, dept=dept, dispatched=at(3, 8))  # 168 h, late
    _case(3, created=at(4), state="handling", self_resolved=True)
    _case(4, created=at(4), source="hotline", state="voided")
    _case(5, created=at(4), state="handling", grid=OTHER_GRID)  # another town
    Evaluation.objects.create(case=c2, evaluator_kind="centre", score=4, created_at=at(11))
    CaseDispatch.objects.create(case=c1, department=dept, role="helper", dispatched_by=city, dispatched_at=at(2),
                                is_active=False, ended_at=at(2, 12), end_reason="returned")
    worker = user_with_role(Role.GRID_WORKER, GRID)
    resident = Resident.objects.filter(region_id=GRID).first()
    for day in (2, 2, 9):
        Visit.objects.create(region_id=GRID, resident=resident, worker=worker, visited_at=at(day),
                             visit_date=date(2015, 3, day), location_check="no_gps")
    item = ServiceItem.objects.filter(pays_money=True).first()
    admin = user_with_role(Role.GRID_ADMIN, GRID[:12])
    a1 = Application.objects.create(item=item, department_code=item.department_code, applicant=resident,
                                    region_id=GRID, agent=admin, channel="village", state="completed",
                                    created_at=at(1), completed_on=date(2015, 3, 6), due_on=date(2015, 3, 10))
    Application.objects.create(item=item, department_code=item.department_code, applicant=resident,
                               region_id=GRID, agent=admin, channel="village", state="completed",
                               created_at=at(1), completed_on=date(2015, 3, 20), due_on=date(2015, 3, 15))
    Payment.objects.create(application=a1, region_id=GRID, period="once", amount_fen=300000,
                           due_on=date(2015, 3, 7), status="paid", paid_on=date(2015, 3, 7), reference="PAY-1")
    station = Department.objects.get(code="GAJ-420881103")
    Tip.objects.create(region_id=GRID, sender=worker, station=station, content="线索", state="paid", sent_at=at(2),
                       decided_at=at(3), reward_fen=50000, paid_at=at(6), recipient_key=f"user:{worker.pk}")
    Tip.objects.create(region_id=GRID, sender=worker, station=station, content="线索二", state="not_useful",
                       sent_at=at(8), decided_at=at(9))
    camera = Camera.objects.create(code="DASH-CAM-1", name="湖山村村口", grid_id=GRID, lon=112.6, lat=31.2,
                                   status="online")
    Camera.objects.create(code="DASH-CAM-2", name="湖山村广场", grid_id=GRID, lon=112.6, lat=31.2, status="fault")
    grant = AccessGrant.objects.create(grantee_role=Role.TOWN_OPERATOR, grantee_region_id=GRID[:9], valid_from=at(1),
                                       valid_until=at(30), purpose="测试", granted_by=city, granted_at=at(1))
    for i, day in enumerate((2, 3, 3)):
        ViewSession.objects.create(user=city, camera=camera, grant=grant, purpose="查看", token_hash=f"dash{i:060d}",
                                   token_expires_at=at(day, 11), issued_at=at(day))
    FootageReview.objects.create(camera=camera, case=c1, footage_from=at(1), footage_to=at(2), outcome="helpful",
                                 finding="看到嫌疑人", reviewer=city, created_at=at(3))
    FootageReview.objects.create(camera=camera, case=c2, footage_from=at(1), footage_to=at(2), outcome="no_footage",
                                 finding="无", reviewer=city, created_at=at(4))
    notice = Notice.objects.create(title="防汛通知", author=city, target_region_id=GRID[:6], sent_at=at(5),
                                   requires_ack=True, ack_deadline=at(8))
    Receipt.objects.create(notice=notice, user=worker, role=Role.GRID_WORKER, region_code=GRID, read_at=at(5),
                           acked_at=at(6))
    Receipt.objects.create(notice=notice, user=admin, role=Role.GRID_ADMIN, region_code=GRID[:12])
    Receipt.objects.create(notice=notice, user=city, role=Role.DEPT_STAFF, region_code="")  # a department post
    rollups.rebuild(MARCH.start, MARCH.end)
    rollups.rebuild_snapshots()
    return {"dept": dept}


def test_each_kpi_equals_the_hand_count(march):
    city = user_with_role(Role.CITY_OPERATOR)
    for code in (GRID, GRID[:12], GRID[:9], GRID[:6]):  # the same numbers at every level above the grid
        k = selectors.node_kpis(user=city, code=code, period=MARCH)
        c = k["cases"]
        extra = 1 if code == GRID[:6] else 0  # the case in 冷水镇 counts only for the county
        assert c["reported"] == 4 + extra
        assert {s["code"]: s["count"] for s in c["by_source"]} == {"grid_worker": 2 + extra, "hotline": 2}
        assert c["closed"] == 2 and c["closed_on_time"] == 1
        assert c["closure_rate"] == round(100 * 2 / (3 + extra), 1)  # cohort: 2 closed of 3 valid (one voided)
        assert c["on_time_rate"] == 50.0
        assert c["self_resolved"] == 1
        assert c["rating_avg"] == 4.0
        assert c["top_classes"][0] == {"code": "G0101", "name": "可疑人员物品", "count": 3 + extra}
        [d] = c["departments"]
        assert (d["code"], d["closed"], d["on_time_rate"], d["avg_hours"], d["returned"]) == ("CGJ", 2, 50.0,
                                                                                              119.0, 1)
        assert k["visits"]["done"] == 3
        assert k["egov"] == {"applied": 2, "completed": 2, "on_time": 1, "on_time_rate": 50.0, "payments": 1,
                             "paid_yuan": 3000.0}
        assert k["tips"] == {"sent": 2, "useful": 1, "rewards_paid": 1, "reward_yuan": 500.0}
        assert (k["video"]["views"], k["video"]["reviews"], k["video"]["cases_helped"]) == (3, 2, 1)
        if code != GRID:  # the village's own receipt lands in its direct bucket, seen from the village up
            assert k["notices"] == {"receipts": 2, "read": 1, "acknowledged": 1, "ack_rate": 50.0}
        else:
            assert k["notices"]["receipts"] == 1 and k["notices"]["acknowledged"] == 1
        cams = Camera.objects.filter(grid__code__startswith=code)
        assert (k["video"]["cameras"], k["video"]["online"]) == (cams.count(), cams.filter(status="online").count())

    trend = selectors.trend(user=city, code=GRID, period=MARCH, granularity="day")
    reported = next(s for s in trend["series"] if s["kpi"] == "case.reported")["data"]
    assert reported[1:4] == [1, 1, 2] and sum(reported) == 4
    weekly = selectors.trend(user=city, code=GRID, period=MARCH, granularity="week")
    assert weekly["labels"][0] == "2015-W09" and sum(weekly["series"][0]["data"]) == 4
    monthly = selectors.trend(user=city, code=GRID, period=MARCH, granularity="month")
    assert monthly["labels"] == ["2015-03"]

    report = selectors.article_report(user=city, code=GRID[:9], since=MARCH.start, until=MARCH.end)
    figures = {f["key"]: f["value"] for f in report["figures"]}
    assert figures["services"] == 2 and figures["security_cases"] == 1 and figures["rewarded_people"] == 1
    assert figures["reward_money"] == 500.0 and figures["video_cases"] == 1
    assert all(f["definition"] for f in report["figures"])

    ranking = selectors.department_ranking(user=city, code=GRID[:9], period=MARCH)
    assert ranking[0]["code"] == "CGJ" and ranking[0]["rank"] == 1


def test_worker_evaluation_counts_reports_and_ratings(march):
    city = user_with_role(Role.CITY_OPERATOR)
    rows = selectors.worker_evaluation(user=city, code=GRID[:12], month=date(2015, 3, 1))
    row = next(r for r in rows if r["grid_code"] == GRID)
    assert (row["visits"], row["reports"], row["self_resolved"], row["ratings"], row["rating_avg"]) == (3, 2, 1, 1, 4.0)
    assert row["worker"] and row["on_time_rate"] == 50.0
    # Only the rating counts this month (no coverage computed for 2015): 40 × 4/5 rescaled to 100.
    assert row["score"] == 80.0
    assert all(r["grid_code"].startswith(GRID[:12]) for r in rows)


def test_rollups_equal_raw_counts_after_a_rebuild():
    today = timezone.localdate()
    start = today - timedelta(days=20)
    call_command("rebuild_rollups", since=start, until=today, coverage_days=1, quiet=True)
    period = selectors.Period(start, today)
    for code in ("420881", "420881103", "420881107201"):
        sums = dict(Rollup.objects.filter(code=code, day__range=(start, today)).values_list("kpi")
                    .annotate(v=Sum("value")).order_by())
        cases = Case.objects.filter(region__code__startswith=code, created_at__gte=rollups.day_start(start),
                                    created_at__lt=rollups.day_start(today + timedelta(days=1)))
        assert sums.get("case.reported", 0) == cases.count()
        assert sums.get("visit.done", 0) == Visit.objects.filter(region__code__startswith=code,
                                                                 visit_date__range=(start, today)).count()
        awarded = (LedgerEntry.objects.filter(region__code__startswith=code, kind="award",
                                              occurred_on__range=(start, today)).aggregate(s=Sum("score_delta"))["s"])
        assert sums.get("points.awarded", 0) == (awarded or 0)
        residents = Resident.objects.filter(region__code__startswith=code, state="active").count()
        assert Snapshot.objects.get(code=code, kpi="people.residents").value == residents
    assert Rollup.objects.filter(code="420881", day=today, kpi="visit.required").exists()
    # Every parent row is the sum of its children's rows.
    for level in (1, 2, 3):
        n = rollups.CODE_LENGTH[level]
        parents = {(r["code"], r["kpi"]): r["v"] for r in Rollup.objects.filter(level=level, day__range=(start, today))
                   .values("code", "kpi").annotate(v=Sum("value"))}
        children = {}
        for r in (Rollup.objects.filter(level=level + 1, day__range=(start, today)).values("code", "kpi")
                  .annotate(v=Sum("value"))):
            key = (r["code"][:n], r["kpi"])
            children[key] = children.get(key, 0) + r["v"]
        assert parents == children
    assert selectors.node_kpis(user=user_with_role(Role.CITY_OPERATOR), code="420881", period=period)["cases"][
        "reported"] == Case.objects.filter(created_at__gte=rollups.day_start(start)).count()


def test_a_village_level_row_lands_in_its_direct_bucket():
    assert rollups.bucket("420881103201") == "420881103201000"
    assert rollups.node_of("420881103201000") == "420881103201"
    assert rollups.node_of("420881103000000") == "420881103"
    assert rollups.node_of(GRID) == GRID
    village_entries = LedgerEntry.objects.filter(region__code="420881103201")
    if village_entries.exists():  # the demo's household ledger sits at village level
        day = village_entries.values_list("occurred_on", flat=True).first()
        rows = rollups.compute(day, day, ["420881103201000"])
        assert any(code == "420881103201000" for (_, code, _, _) in rows)


def test_incremental_updates_equal_a_rebuild(django_capture_on_commit_callbacks):
    from gridgov.cases.services import case_report
    from gridgov.visits.services import visit_record

    today = timezone.localdate()
    rollups.rebuild(today, today, coverage_since=today)
    before = Rollup.objects.filter(code=GRID, day=today, kpi="case.reported").aggregate(s=Sum("value"))["s"] or 0
    worker = user_with_role(Role.GRID_WORKER, GRID)
    resident = Resident.objects.filter(region_id=GRID, care_tags__isnull=False).first()
    with django_capture_on_commit_callbacks(execute=True):
        case_report(acting_user=worker, category=CaseCategory.objects.get(code="G0101"), description="可疑人员徘徊",
                    grid=GRID)
    with django_capture_on_commit_callbacks(execute=True):
        visit_record(acting_user=worker, resident=resident, visited_at=timezone.now())
    codes = [GRID, GRID[:12], GRID[:9], GRID[:6]]

    def state():
        return {(r.code, r.kpi, r.dim): r.value for r in Rollup.objects.filter(code__in=codes, day=today)
                if r.value}

    incremental = state()
    assert sum(v for (c, k, _), v in incremental.items() if c == GRID and k == "case.reported") == before + 1
    assert Snapshot.objects.get(code=GRID, kpi="case.open").value == Case.objects.filter(
        region_id=GRID, state__in=["reported", "accepted", "registered", "returned", "reopened", "dispatched",
                                   "handling", "awaiting_verification", "self_resolved", "verified"]).count()
    rollups.rebuild(today, today, coverage_since=today)
    assert state() == incremental
    raw = (Case.objects.filter(region__code__startswith=GRID[:9], created_at__gte=rollups.day_start(today))
           .aggregate(n=Count("id"))["n"])
    assert sum(v for (c, k, _), v in incremental.items() if c == GRID[:9] and k == "case.reported") == raw


def test_a_rolled_back_write_changes_no_rollup(django_capture_on_commit_callbacks):
    from django.db import transaction

    today = timezone.localdate()
    rollups.rebuild(today, today)
    worker = user_with_role(Role.GRID_WORKER, GRID)
    resident = Resident.objects.filter(region_id=GRID).first()
    snapshot = list(Rollup.objects.filter(code__startswith="420881103", day=today).values_list("code", "kpi", "value"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                Visit.objects.create(region_id=GRID, resident=resident, worker=worker, visited_at=timezone.now(),
                                     visit_date=today, location_check="no_gps")
                raise RuntimeError("abort")
        except RuntimeError:
            pass
    assert not callbacks
    assert list(Rollup.objects.filter(code__startswith="420881103", day=today)
                .values_list("code", "kpi", "value")) == snapshot


def test_the_rebuild_command_refuses_bad_ranges():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="起始日期"):
        call_command("rebuild_rollups", since=date(2026, 2, 1), until=date(2026, 1, 1), quiet=True)
    with pytest.raises(CommandError, match="--days"):
        call_command("rebuild_rollups", days=0, quiet=True)
