"""`seed_demo --scale city` at a tiny fraction: counts and proportions, scope columns, encryption,
ledgers, applications, camera views, resumption after an interruption, the dashboard's rollups
against the raw rows, refusal.

Transactional: the city seed needs an empty database, so this test flushes the session's small
demo (pytest-django runs transactional tests last) and seeds what it checks itself.
"""

import io
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Min, Q, Sum
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.cases.choices import OPEN_STATES
from gridgov.cases.models import Case, CaseCount, CaseEvent
from gridgov.dashboard.models import Rollup
from gridgov.demo import city, seed
from gridgov.demo.city import egov as city_egov
from gridgov.demo.city import pipeline, season
from gridgov.demo.city import points as city_points
from gridgov.demo.city import video as city_video
from gridgov.egov.models import Application, ApplicationEvent, Payment
from gridgov.people.models import CareTag, Household, Resident
from gridgov.people.validation import identity_fields
from gridgov.points.models import Claim, Item, LedgerEntry
from gridgov.regions.models import Region
from gridgov.video.models import FootageReview, ViewSession
from gridgov.visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)
FRACTION = 0.002


def test_refused_on_a_database_that_holds_data_and_nothing_changes():
    # the session's small demo is still there when this test starts (or a previous test's rows)
    if not seed.existing_data():
        call_command("seed_demo", scale="small", quiet=True, no_people=True)
    before = (Region.objects.count(), Resident.objects.count(), Case.objects.count(), Visit.objects.count())
    with pytest.raises(seed.SeedRefused):
        city.seed_city(fraction=FRACTION, stream=None)
    with pytest.raises(CommandError, match="只能在空数据库上生成"):
        call_command("seed_demo", scale="city", city_fraction=FRACTION, quiet=True)
    assert (Region.objects.count(), Resident.objects.count(), Case.objects.count(), Visit.objects.count()) == before


def test_fraction_out_of_range_is_refused_before_anything():
    with pytest.raises(CommandError, match="--city-fraction"):
        call_command("seed_demo", scale="city", city_fraction=0, quiet=True)
    with pytest.raises(CommandError, match="--city-fraction"):
        call_command("seed_demo", scale="city", city_fraction=1.5, quiet=True)


def test_city_seed_invariants():
    call_command("flush", interactive=False, verbosity=0)
    # An interrupted run (stopped after the cases) leaves whole steps; the rerun skips them.
    city.seed_city(fraction=FRACTION, stream=None, stop_after="cases")
    partial = (Resident.objects.count(), Visit.objects.count(), Case.objects.count())
    assert partial[0] and partial[1] and partial[2]
    assert not Application.objects.exists() and not LedgerEntry.objects.exists() and not ViewSession.objects.exists()
    with pytest.raises(CommandError, match="续跑须用相同参数"):  # resuming with other parameters is refused
        call_command("seed_demo", scale="city", city_fraction=FRACTION * 2, quiet=True)
    err = io.StringIO()
    call_command("seed_demo", scale="city", city_fraction=FRACTION, stderr=err, stdout=io.StringIO())
    log = err.getvalue()
    assert "完成，用时" in log and "条走访记录" in log and "100%" in log  # progress bars and the summary
    assert "已完成，跳过：cases" in log and "已完成，跳过：visits" in log
    assert (Resident.objects.count(), Visit.objects.count(), Case.objects.count()) == partial

    # counts: the structure is whole, the volumes scale
    assert Region.objects.filter(level=4).count() == seed.RURAL_GRIDS + seed.URBAN_GRIDS
    residents = Resident.objects.count()
    assert residents >= 3 * 2867  # the population code's floor of three a grid
    assert Household.objects.count() > residents / 6
    assert Visit.objects.count() == round(city.VISITS * FRACTION)
    cases = Case.objects.count()
    assert 0.9 * city.CASES * FRACTION <= cases <= 1.1 * city.CASES * FRACTION

    # region_code: every row sits on a grid, the same as the row it belongs to
    grids = set(Region.objects.filter(level=4).values_list("code", flat=True))
    assert set(Resident.objects.values_list("region_id", flat=True).distinct()) <= grids
    assert not Resident.objects.exclude(region_id=F("household__region_id")).exists()
    assert not CareTag.objects.exclude(region_id=F("resident__region_id")).exists()
    assert not Visit.objects.exclude(region_id=F("resident__region_id")).exists()
    assert set(Case.objects.values_list("region_id", flat=True).distinct()) <= grids
    workers = dict(Assignment.objects.filter(role=Role.GRID_WORKER).values_list("region_id", "user_id"))
    for region, worker in Visit.objects.values_list("region_id", "worker_id").distinct():
        assert workers[region] == worker

    # visits: five years, the local day of the moment, never before the visited person was tagged
    today = timezone.localdate()
    first, _days = season.period(today)
    for v in Visit.objects.order_by("?")[:300]:
        assert timezone.localdate(v.visited_at) == v.visit_date
        assert first <= v.visit_date <= today
        assert v.created_at >= v.visited_at
        since = CareTag.objects.filter(resident_id=v.resident_id).aggregate(m=Min("since"))["m"]
        assert since is None or v.visit_date >= since
        assert (v.lon is None) == (v.location_check == "no_gps")
    # seasonality in the rows: the Spring Festival week has far fewer visits per day
    festival = season.spring_festival_days(*season.period(today))
    festival_days = {first + timedelta(days=int(i)) for i, on in enumerate(festival) if on}
    per_day = dict(Visit.objects.values_list("visit_date").annotate(n=Min("id")).values_list("visit_date", "n"))
    counts = {}
    for d in Visit.objects.values_list("visit_date", flat=True):
        counts[d] = counts.get(d, 0) + 1
    on = sum(counts.get(d, 0) for d in festival_days) / len(festival_days)
    off = sum(n for d, n in counts.items() if d not in festival_days) / (len(festival) - len(festival_days))
    assert per_day and on < 0.6 * off

    # encrypted fields decrypt through the field, and their blind indexes are the app's own
    for r in Resident.objects.exclude(id_number="").order_by("?")[:50]:
        index = identity_fields(id_number=r.id_number, phone=r.phone or None)
        assert r.id_number_index == index["id_number_index"] and r.id_tail == r.id_number[-4:]
        if r.phone:
            assert r.phone_index == index["phone_index"]
    assert Resident.objects.filter(name__in=["王必俊", "李春艳", "吴正宪"]).count() >= 3  # the article's people

    # cases: open ones are recent (moved-back copies are finished), timelines start with the report
    year_ago = timezone.now() - timedelta(weeks=city.cases.WEEKS)
    assert not Case.objects.filter(created_at__lt=year_ago - timedelta(days=30), state__in=OPEN_STATES).exists()
    assert Case.objects.filter(created_at__lt=year_ago).exists()
    assert not Case.objects.filter(created_at__gt=timezone.now()).exists()
    for case in Case.objects.order_by("?")[:100]:
        events = list(CaseEvent.objects.filter(case=case).order_by("created_at", "id"))
        assert events and events[0].action in ("report", "flag_duplicate") and events[0].created_at == case.created_at
        # the last transition (work notes and video reviews after the close change no state)
        assert [e for e in events if e.to_state][-1].to_state == case.state or case.state == "merged"
        assert case.number.startswith(f"{timezone.localdate(case.created_at):%Y%m%d}")
    assert len(set(Case.objects.values_list("number", flat=True))) == cases
    # the per-town counts, loaded with their triggers off, equal the rows; and the triggers are back
    kept = set(CaseCount.objects.filter(n__gt=0).values_list("town_code", "state", "n"))
    raw_counts = {(town, state, n) for (town, state), n in Counter(
        (r[:9], s) for r, s in Case.objects.values_list("region_id", "state")).items()}
    assert kept == raw_counts
    case = Case.objects.exclude(state="closed").order_by("id").first()
    before = {s: n for t, s, n in raw_counts if t == case.region_id[:9]}
    Case.objects.filter(pk=case.pk).update(state="closed")
    after = dict(CaseCount.objects.filter(town_code=case.region_id[:9]).values_list("state", "n"))
    assert after["closed"] == before.get("closed", 0) + 1 and after[case.state] == before[case.state] - 1
    Case.objects.filter(pk=case.pk).update(state=case.state)

    # balances equal their ledgers, stocks their movements
    out = io.StringIO()
    call_command("verify_points_ledger", stdout=out)
    assert "核对通过" in out.getvalue()

    # proportions of the new volumes (the small demos' fixed rows come on top)
    done = city.done_steps()
    assert 0.8 * city_egov.APPLICATIONS * FRACTION <= done["egov"]["egov_applications_bulk"] \
        <= 1.05 * city_egov.APPLICATIONS * FRACTION
    assert 0.7 * city_points.ENTRIES * FRACTION <= done["points"]["points_entries_bulk"] \
        <= 1.3 * city_points.ENTRIES * FRACTION
    assert 0.95 * city_video.VIEWS * FRACTION <= done["video"]["camera_views_bulk"] <= city_video.VIEWS * FRACTION
    assert Application.objects.filter(created_at__lt=year_ago).exists()

    # applications: a timeline from the create step, states with the fields they need, money paid once
    for app in Application.objects.order_by("?")[:60]:
        events = list(ApplicationEvent.objects.filter(application=app).order_by("at", "id"))
        assert events[0].action == "create" and events[0].at == app.created_at
        assert events[-1].to_state == app.state
        if app.state == "completed":
            assert app.accepted_on <= app.completed_on and app.due_on is not None
        if app.item.pays_money and app.decision == "approved":
            assert app.payee_account.startswith("62179952") and app.amount_fen > 0  # decrypts
    assert not Payment.objects.filter(status="paid", paid_on__gt=timezone.localdate()).exists()
    assert not Application.objects.filter(state="completed", completed_on__isnull=True).exists()

    # points: every item's monthly cap holds (one award per subject, item and month by construction)
    caps = dict(Item.objects.filter(cap_period="month").values_list("pk", "cap_times"))
    per_month = (LedgerEntry.objects.filter(kind="award", item_id__in=caps)
                 .values("subject_id", "item_id", "occurred_on__year", "occurred_on__month").annotate(n=Count("id")))
    assert all(r["n"] <= caps[r["item_id"]] for r in per_month)
    assert not Claim.objects.filter(decided_at__lt=F("created_at")).exists()
    assert not LedgerEntry.objects.filter(posted_at__gt=timezone.now()).exists()

    # camera views: under a grant in force at the time, over a camera in the grant's region
    assert not ViewSession.objects.exclude(issued_at__gte=F("grant__valid_from"),
                                           issued_at__lt=F("grant__valid_until")).exists()
    for view in ViewSession.objects.select_related("camera", "grant").order_by("?")[:100]:
        assert view.camera.grid_id.startswith(view.grant.scope_region_id)

    # footage reviews on about 3 % of the cases: a camera of the case's village, after the report, with the
    # centre's view of it and the case timeline's event
    assert 0.015 * cases <= done["video"]["footage_reviews_bulk"] <= 0.045 * cases
    for review in FootageReview.objects.select_related("camera", "case").order_by("?")[:60]:
        assert review.camera.grid_id[:12] == review.case.region_id[:12]
        assert review.created_at > review.case.created_at and review.footage_to <= review.case.created_at
        assert ViewSession.objects.filter(case=review.case, camera=review.camera, user=review.reviewer_id).exists()
        assert CaseEvent.objects.filter(case=review.case, action="video_review", data__review=review.pk).count() == 1

    # the dashboard's rollups (from the earliest row: the article's 2018 case) equal the raw rows, at every level
    call_command("rebuild_rollups", coverage_days=0, quiet=True, stdout=io.StringIO())
    totals = {level: dict(Rollup.objects.filter(level=level).values("kpi").annotate(s=Sum("value"))
                          .values_list("kpi", "s")) for level in (1, 2, 3, 4)}
    assert totals[1] == totals[2] == totals[3] == totals[4]
    raw = {
        "case.reported": Case.objects.count(), "visit.done": Visit.objects.count(),
        "egov.applied": Application.objects.count(),
        "egov.completed": Application.objects.filter(state="completed").count(),
        "egov.paid_n": Payment.objects.filter(status="paid").count(),
        "points.awards": LedgerEntry.objects.filter(kind="award").count(),
        "points.awarded": LedgerEntry.objects.filter(kind="award").aggregate(s=Sum("score_delta"))["s"],
        "points.redeemed": -LedgerEntry.objects.filter(Q(kind="redemption") | Q(kind="redemption_cancel"))
        .aggregate(s=Sum("delta"))["s"],
        "video.views": ViewSession.objects.count(),
    }
    assert {k: totals[1].get(k) for k in raw} == raw

    # the second run is refused and changes nothing
    with pytest.raises(CommandError):
        call_command("seed_demo", scale="city", city_fraction=FRACTION, quiet=True)
    assert Resident.objects.count() == residents and Case.objects.count() == cases


def _digest() -> dict[str, int]:
    """What the seed wrote, independent of the order rows went in (hashes of sorted column values)."""
    def h(rows) -> int:
        return hash(tuple(sorted(rows)))

    return {
        "residents": h(Resident.objects.values_list("id_number_index", "name", "region_id", "birth_date")),
        "cases": h(Case.objects.values_list("id", "number", "region_id", "state", "created_at", "category_id",
                                            "duplicate_of_id", "closed_at")),
        "events": h(CaseEvent.objects.values_list("id", "case_id", "action", "to_state", "created_at")),
        "ledger": h(LedgerEntry.objects.values_list("subject_id", "kind", "delta", "score_delta", "occurred_on")),
        "claims": h(Claim.objects.values_list("id", "subject_id", "status", "points", "created_at")),
    }


def test_one_process_or_two_write_the_same_city(monkeypatch):
    """The pipeline (city/pipeline.py) only moves work to another process: with it or without it
    (GRIDGOV_SEED_PROCESSES=1), the same seed and clock give the same rows and keys."""
    if not pipeline.second_cpu():
        pytest.skip("one CPU: both runs would be inline")
    now = timezone.now().replace(microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: now)
    digests = []
    for processes in ("1", "2"):
        call_command("flush", interactive=False, verbosity=0)
        monkeypatch.setenv("GRIDGOV_SEED_PROCESSES", processes)
        city.seed_city(fraction=0.001, stream=None, stop_after="points")
        digests.append(_digest())
    assert digests[0]["cases"] and digests[0] == digests[1]
