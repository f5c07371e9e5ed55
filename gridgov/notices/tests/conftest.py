from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.testing import user_with_role

TOWN = "420881001"  # 郢中街道
OTHER_TOWN = "420881002"


@pytest.fixture
def city(db):
    return user_with_role(Role.CITY_OPERATOR)


@pytest.fixture
def town_op(db):
    return user_with_role(Role.TOWN_OPERATOR, TOWN)


@pytest.fixture
def other_town_op(db):
    return user_with_role(Role.TOWN_OPERATOR, OTHER_TOWN)


@pytest.fixture
def village(db):
    from gridgov.regions.models import Region

    return Region.objects.filter(parent_id=TOWN).order_by("code").first()


@pytest.fixture
def village_admin(village):
    return user_with_role(Role.GRID_ADMIN, village.code)


@pytest.fixture
def grid(village):
    return village.children.order_by("code").first()


@pytest.fixture
def worker(grid):
    return user_with_role(Role.GRID_WORKER, grid.code)


@pytest.fixture
def deadline():
    return timezone.now() + timedelta(days=3)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    # attachment and photo files of a test stay in its own directory
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
