"""Residents for the retention tests, registered through the people services and then aged."""

from datetime import timedelta

from django.utils import timezone

from gridgov.people import services as people
from gridgov.people.models import Resident
from gridgov.people.tests.registry_helpers import make_resident


def aged_resident(place, *, state: str, days_ago: int, **data) -> Resident:
    """A resident of the place's grid in `state`, whose record last changed `days_ago` days ago."""
    resident = make_resident(place.worker, place.grid, **data)
    if state != "active":
        people.resident_update(acting_user=place.worker, resident_id=resident.pk, data={"state": state})
    Resident.objects.filter(pk=resident.pk).update(updated_at=timezone.now() - timedelta(days=days_ago))
    return Resident.objects.get(pk=resident.pk)
