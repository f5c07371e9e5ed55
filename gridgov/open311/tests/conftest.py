import pytest

from gridgov.open311 import services
from gridgov.regions.models import Region

HUJI = "420881103"  # 胡集镇
LENGSHUI = "420881107"  # 冷水镇


def grid_point(village: str) -> tuple[str, float, float]:
    """A grid of the village and a point inside it (the centroid of a convex Voronoi cell)."""
    grid = Region.objects.filter(code__startswith=village, level=4).order_by("code").first()
    return grid.code, grid.centroid_lat, grid.centroid_lon


@pytest.fixture
def huji(db):
    client, key = services.client_issue(acting_user=None, name="胡集镇随手拍", jurisdiction=HUJI)
    client.raw_key = key
    return client


@pytest.fixture
def lengshui(db):
    client, key = services.client_issue(acting_user=None, name="冷水镇随手拍", jurisdiction=LENGSHUI)
    client.raw_key = key
    return client
