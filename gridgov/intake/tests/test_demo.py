import time

import pytest

from gridgov.demo.intake import seed_intake
from gridgov.intake.models import InboundMessage, Outcome

pytestmark = pytest.mark.django_db


def test_seed_intake_is_fast_and_runs_once():
    InboundMessage.objects.filter(external_id__startswith="DEMO-").delete()
    started = time.perf_counter()
    counts = seed_intake(seed=1)
    elapsed = time.perf_counter() - started
    assert counts == {"intake_messages": 5} and elapsed < 3
    demo = InboundMessage.objects.filter(external_id__startswith="DEMO-")
    outcomes = dict(demo.values_list("external_id", "outcome"))
    assert outcomes == {"DEMO-SMS-0001": Outcome.CASE, "DEMO-SMS-0002": Outcome.CLAIM,
                        "DEMO-SMS-0003": Outcome.UNREGISTERED, "DEMO-WX-0001": Outcome.CASE,
                        "DEMO-CALL-0001": Outcome.CASE}
    assert seed_intake(seed=1) == {"intake_messages": 0}
