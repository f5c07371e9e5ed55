import pytest

from gridgov.people.choices import ResidentState
from gridgov.people.models import Resident


@pytest.fixture
def registered():
    """A seeded resident in a household, with a mobile phone of their own (unique in the registry)."""
    from collections import Counter

    candidates = list(Resident.objects.filter(state=ResidentState.ACTIVE, household__isnull=False)
                      .exclude(phone_index="").order_by("id")[:200])
    counts = Counter(Resident.objects.filter(phone_index__in=[r.phone_index for r in candidates])
                     .values_list("phone_index", flat=True))
    for person in candidates:
        if counts[person.phone_index] == 1 and person.phone.startswith("1") and len(person.phone) == 11:
            return person
    pytest.skip("no resident with a unique mobile phone in the demo")
