"""Duplicates: the same category within 50 m and 24 h is flagged with the earlier case; merging."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.cases import duplicates, services
from gridgov.cases.choices import CaseState
from gridgov.cases.services import common

from . import factories as f

pytestmark = pytest.mark.django_db

M_PER_DEG_LAT = 111_320.0


def north(grid, metres=0):
    """A spot `metres` north of a point near the grid's centre that no other test or demo case uses."""
    return {"lon": grid.centroid_lon + 0.00123, "lat": grid.centroid_lat + 0.00077 + metres / M_PER_DEG_LAT}


def test_distance_in_a_local_projection():
    assert duplicates.distance_m(112.5, 31.2, 112.5, 31.2 + 50 / M_PER_DEG_LAT) == pytest.approx(50, abs=0.01)
    east = 50 / (M_PER_DEG_LAT * 0.8555)  # cos(31.2°)
    assert duplicates.distance_m(112.5, 31.2, 112.5 + east, 31.2) == pytest.approx(50, rel=1e-3)


def test_a_report_within_50_m_and_24_h_is_flagged(world):
    first = f.report(world.grid, category="E0102", **north(world.grid))
    near = f.report(world.grid, category="E0102", **north(world.grid, 30))
    assert near.duplicate_of_id == first.pk
    flag = near.events.get(action="flag_duplicate")
    assert flag.data["duplicate_of"] == first.pk and flag.data["distance_m"] == pytest.approx(30, abs=0.5)


@pytest.mark.parametrize("metres", [55, 80, 500])
def test_farther_than_50_m_is_not(world, metres):
    f.report(world.grid, category="E0102", **north(world.grid))
    assert f.report(world.grid, category="E0102", **north(world.grid, metres)).duplicate_of_id is None


def test_another_category_is_not(world):
    f.report(world.grid, category="E0102", **north(world.grid))
    assert f.report(world.grid, category="E0104", **north(world.grid)).duplicate_of_id is None


def test_older_than_24_h_is_not(world, monkeypatch):
    then = timezone.now() - timedelta(hours=25)
    monkeypatch.setattr(common, "now", lambda: then)
    f.report(world.grid, category="E0102", **north(world.grid))
    monkeypatch.setattr(common, "now", lambda: then + timedelta(hours=23))
    assert f.report(world.grid, category="E0102", **north(world.grid)).duplicate_of_id is not None
    monkeypatch.setattr(common, "now", lambda: then + timedelta(hours=25))
    # the 23-hour one is still within 24 h of this one: flagged with it, never with the 25-hour one
    third = f.report(world.grid, category="E0102", **north(world.grid))
    assert third.duplicate_of.created_at == then + timedelta(hours=23)


def test_voided_cases_are_not_duplicated_against(world):
    first = f.report(world.grid, category="E0102", **north(world.grid))
    services.case_void(acting_user=world.town_op, case=first, reason="误报")
    assert f.report(world.grid, category="E0102", **north(world.grid)).duplicate_of_id is None


def test_merge_a_duplicate_into_the_earlier_case(world):
    first = f.report(world.grid, category="E0102", **north(world.grid))
    second = f.report(world.grid, category="E0102", **north(world.grid, 10))
    services.case_merge(acting_user=world.town_op, case=second, into=first, note="同一处垃圾")
    second.refresh_from_db()
    assert second.state == CaseState.MERGED and second.duplicate_of_id == first.pk and second.stage_deadline is None
    absorb = first.events.get(action="absorb")
    assert absorb.data == {"merged": second.pk, "number": second.number}


def test_merge_refusals(world):
    first = f.report(world.grid, category="E0102", **north(world.grid))
    second = f.report(world.grid, category="E0102", **north(world.grid))
    far = f.report(world.far_grid, category="E0102")
    for into, code in ((second, "invalid_merge"), (far, "not_found")):
        with pytest.raises(Exception) as caught:
            services.case_merge(acting_user=world.town_op, case=second, into=into)
        assert caught.value.code == code
    services.case_void(acting_user=world.town_op, case=first, reason="误报")
    with pytest.raises(Exception) as caught:
        services.case_merge(acting_user=world.town_op, case=second, into=first)
    assert (caught.value.status, caught.value.code) == (409, "invalid_merge")
    second.refresh_from_db()
    assert second.state == CaseState.REPORTED
