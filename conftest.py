"""Shared test fixtures.

The whole demo structure (18 towns, 561 villages, 2,867 grids, departments, one account per
post) is seeded once per test session into the test database; ordinary tests run inside a
transaction on top of it and roll back. Transactional tests (browser, races) flush the
database, which is why pytest-django runs them last; they seed what they need themselves.
"""

import os

import pytest
from django.core.management import call_command

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", scale="small", quiet=True)


@pytest.fixture(autouse=True)
def _fresh_locator_and_axes(settings):
    # The locator caches per process; tests that change regions must not see a stale tree.
    from gridgov.regions import locator

    locator.invalidate()
    yield


def user_with_role(role: str, region_code: str | None = None, department_code: str | None = None):
    """A seeded demo user holding `role` (at `region_code`, or in `department_code`)."""
    from gridgov.accounts.models import Assignment

    qs = Assignment.objects.filter(role=role, is_active=True).select_related("user").order_by("id")
    if region_code:
        qs = qs.filter(region_id=region_code)
    if department_code:
        qs = qs.filter(department__code=department_code)
    assignment = qs.first()
    assert assignment is not None, f"no seeded user with role {role} at {region_code or department_code}"
    return assignment.user


@pytest.fixture
def role_user(db):
    return user_with_role
