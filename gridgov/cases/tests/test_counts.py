"""The per-town, per-state counts kept by triggers, and the desk counts that read them."""

from django.db.models import Count
from django.db.models.functions import Substr

from gridgov.cases import counts, selectors, services
from gridgov.cases.choices import CaseState
from gridgov.cases.models import Case, CaseCount

from . import factories as f


def _raw() -> dict[tuple[str, str], int]:
    rows = Case.objects.annotate(town=Substr("region_id", 1, 9)).values("town", "state").annotate(n=Count("*"))
    return {(r["town"], r["state"]): r["n"] for r in rows.order_by()}


def _kept() -> dict[tuple[str, str], int]:
    return {(c.town_code, c.state): c.n for c in CaseCount.objects.all() if c.n}


def test_the_triggers_keep_the_counts_through_report_transitions_and_delete(world):
    assert _kept() == _raw()  # the seeded demo (bulk inserts) is counted too
    town = world.grid.code[:9]

    def n(state):
        return CaseCount.objects.filter(town_code=town, state=state).values_list("n", flat=True).first() or 0

    reported, accepted = n(CaseState.REPORTED), n(CaseState.ACCEPTED)
    case = f.report(world.grid, by=world.worker)
    assert n(CaseState.REPORTED) == reported + 1
    services.case_accept(acting_user=world.town_op, case=case)
    assert (n(CaseState.REPORTED), n(CaseState.ACCEPTED)) == (reported, accepted + 1)
    Case.objects.filter(pk=case.pk).update(description="只改描述")  # not a state change: nothing moves
    assert n(CaseState.ACCEPTED) == accepted + 1
    case.events.all().delete()
    case.attachments.all().delete()
    Case.objects.filter(pk=case.pk).delete()
    assert n(CaseState.ACCEPTED) == accepted
    assert _kept() == _raw()


def test_rebuild_recomputes_what_was_lost(world):
    CaseCount.objects.all().update(n=0)
    assert counts.rebuild() == CaseCount.objects.count()
    assert _kept() == _raw()


def test_desk_counts_from_the_rollup_equal_a_direct_count(world):
    f.report(world.grid, by=world.worker)
    for user, region in [(world.city_op, None), (world.city_op, world.grid.code[:9]), (world.town_op, None),
                         (world.town_op, world.grid.code[:9]), (world.far_town_op, world.grid.code[:9])]:
        assert selectors._counted_prefixes(user, {"region": region}) is not False
        expected = dict.fromkeys(CaseState.values, 0)
        for state, n in (selectors.filtered(user=user, region=region).values_list("state").annotate(n=Count("*"))
                         .order_by()):
            expected[state] = n
        assert selectors.case_counts(user=user, region=region) == expected
        total, _page = selectors.case_page(user=user, region=region, state=[CaseState.REPORTED, CaseState.ACCEPTED])
        assert total == selectors.filtered(user=user, region=region,
                                           state=[CaseState.REPORTED, CaseState.ACCEPTED]).count()
    # the far town's operator asking about 胡集镇 sees nothing of it
    assert sum(selectors.case_counts(user=world.far_town_op, region=world.grid.code[:9]).values()) == 0


def test_other_filters_and_narrow_scopes_count_directly(world):
    assert selectors._counted_prefixes(world.city_op, {"category": "E01"}) is False
    assert selectors._counted_prefixes(world.city_op, {"region": world.grid.code[:12]}) is False
    assert selectors._counted_prefixes(world.grid_admin, {}) is False  # a village desk
    assert selectors._counted_prefixes(world.station_staff, {}) is False  # a department's dispatched cases
    expected = selectors.filtered(user=world.city_op, category="E01").count()
    assert sum(selectors.case_counts(user=world.city_op, category="E01").values()) == expected
