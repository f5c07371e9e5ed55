"""Shared test fixtures.

The whole demo structure (18 towns, 561 villages, 2,867 grids, departments, one account per
post) is seeded once per test session into the test database; ordinary tests run inside a
transaction on top of it and roll back. Transactional tests (browser, races) flush the
database, which is why pytest-django runs them last; they seed what they need themselves.
"""

import os

import pytest
from django.core.management import call_command

from gridgov.core.testing import (
    drop_demo_copy,
    keep_demo_copy,
    user_with_role,  # noqa: F401  (re-exported for tests)
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    # With --reuse-db (a developer's quick reruns, SQLITE_TEST_NAME set to a file) a database that
    # still holds the demo is kept as it is; a flushed one is seeded again.
    reuse = request.config.getoption("reuse_db", False)
    with django_db_blocker.unblock():
        call_command("seed_demo", scale="small", quiet=True, if_empty=reuse)
        # A copy for the modules after a transactional test's flush (gridgov.core.testing.restore_demo).
        keep_demo_copy()
    yield
    with django_db_blocker.unblock():
        drop_demo_copy()


@pytest.fixture(autouse=True)
def _fresh_locator_and_fast_hashing(settings):
    # Passwords set inside tests hash with MD5 (fast); PBKDF2 still verifies the seeded accounts.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    # The locator caches per process; tests that change regions must not see a stale tree.
    from gridgov.regions import locator

    locator.invalidate()
    # The dashboards' tests check that every write refreshes its rollups; in the tests it happens at
    # once (production notes the work for `refresh_rollups`, tested in dashboard/tests/test_deferred.py).
    settings.DASHBOARD_REFRESH = "sync"
    yield


@pytest.fixture
def role_user(db):
    return user_with_role
