import re

import pytest
from django.test import Client

from gridgov.core.crypto import blind_index
from gridgov.intake.models import OutboundSms
from gridgov.intake.sms import PHONE_INDEX_PURPOSE
from gridgov.people.models import Resident
from gridgov.points.choices import SubjectKind
from gridgov.points.models import Subject

API = "/api/v1/my/"


def resident_with_points(exclude_household=None) -> Resident:
    """A registered resident with a phone whose household has a points account."""
    households = (Subject.objects.filter(kind=SubjectKind.HOUSEHOLD, balance__earned__gt=0)
                  .order_by("id").values_list("household_id", flat=True))
    for household in households[:200]:
        if household == exclude_household:
            continue
        found = (Resident.objects.filter(household_id=household, state="active").exclude(phone_index="")
                 .order_by("id").first())
        if found is not None:
            return found
    raise AssertionError("the demo has no resident with a phone in a household with points")


def last_code(phone: str) -> str:
    index = blind_index(phone, PHONE_INDEX_PURPOSE)  # the SMS log keeps the number encrypted
    sms = OutboundSms.objects.filter(phone_index=index, purpose="selfservice.login").order_by("-id").first()
    assert sms is not None, "no code was sent"
    return re.search(r"\d{6}", sms.text).group(0)


def sign_in(resident: Resident, client: Client | None = None) -> Client:
    client = client or Client()
    response = client.post(API + "otp", {"phone": resident.phone}, content_type="application/json")
    assert response.status_code == 202, response.content
    response = client.post(API + "session", {"phone": resident.phone, "code": last_code(resident.phone)},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return client


@pytest.fixture
def resident(db):
    return resident_with_points()


@pytest.fixture
def neighbour(db, resident):
    return resident_with_points(exclude_household=resident.household_id)
