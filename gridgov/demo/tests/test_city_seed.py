"""`seed_demo --scale city` at a tiny fraction: counts, scope columns, encryption, ledgers, refusal.

Transactional: the city seed needs an empty database, so this test flushes the session's small
demo (pytest-django runs transactional tests last) and seeds what it checks itself.
"""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F, Min
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.cases.choices import OPEN_STATES
from gridgov.cases.models import Case, CaseEvent
from gridgov.demo import city, seed
from gridgov.demo.city import season
from gridgov.people.models import CareTag, Household, Resident
from gridgov.people.validation import identity_fields
from gridgov.regions.models import Region
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
    err = io.StringIO()
    call_command("seed_demo", scale="city", city_fraction=FRACTION, stderr=err, stdout=io.StringIO())
    log = err.getvalue()
    assert "完成，用时" in log and "条走访记录" in log and "100%" in log  # progress bars and the summary

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
        assert events[-1].to_state == case.state or case.state == "merged"
        assert case.number.startswith(f"{timezone.localdate(case.created_at):%Y%m%d}")
    assert len(set(Case.objects.values_list("number", flat=True))) == cases

    # balances equal their ledgers, stocks their movements
    out = io.StringIO()
    call_command("verify_points_ledger", stdout=out)

    # the second run is refused and changes nothing
    with pytest.raises(CommandError):
        call_command("seed_demo", scale="city", city_fraction=FRACTION, quiet=True)
    assert Resident.objects.count() == residents and Case.objects.count() == cases
