import pytest

from gridgov.accounts.choices import Role

from . import factories as f


@pytest.fixture
def village(db):
    return f.make_village()


@pytest.fixture
def grid(village):
    return village[1][0]


@pytest.fixture
def grid2(village):
    return village[1][1]


@pytest.fixture
def worker(grid):
    return f.make_worker(grid, "张网格")


@pytest.fixture
def worker2(grid2):
    return f.make_worker(grid2, "李网格")


@pytest.fixture
def cadre(village):
    return f.make_user(Role.VILLAGE_CADRE, village[0], "王村委")


@pytest.fixture
def town_operator(db):
    from gridgov.regions.models import Region

    return f.make_user(Role.TOWN_OPERATOR, Region.objects.get(code=f.HUJI), "镇综治")
