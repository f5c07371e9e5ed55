import pytest

from gridgov.demo.reference import ensure_reference_data
from gridgov.people.models import CareTagType


@pytest.mark.django_db
def test_reference_catalogues_come_back_after_a_flush_and_reload_is_idempotent():
    from gridgov.cases.models import CaseCategory
    from gridgov.egov.models import ServiceItem
    from gridgov.points.models import Item

    counts = (CareTagType.objects.count(), CaseCategory.objects.count(), ServiceItem.objects.count(),
              Item.objects.count())
    CareTagType.objects.filter(code="living_alone_elderly").update(name="改名")
    ensure_reference_data()
    ensure_reference_data()
    assert (CareTagType.objects.count(), CaseCategory.objects.count(), ServiceItem.objects.count(),
            Item.objects.count()) == counts
    assert CareTagType.objects.get(code="living_alone_elderly").name == "独居老人"
    assert counts[2] == 93 and counts[3] == 104
