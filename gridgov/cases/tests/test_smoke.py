import pytest

from gridgov.cases.choices import CaseState

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", list(CaseState.values))
def test_every_state_reachable(world, state):
    case = world.case_in(state)
    assert case.events.count() >= 1
