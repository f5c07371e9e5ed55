"""Point → grid against a brute-force check on the seeded demo grids."""

import numpy as np
import pytest
import shapely
from django.utils import timezone
from shapely import affinity

from gridgov.regions import locator
from gridgov.regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def grids() -> list[tuple[str, object]]:
    rows = Region.objects.filter(level=4).order_by("code").values_list("code", "geom_wkb")
    return [(code, shapely.from_wkb(bytes(wkb))) for code, wkb in rows]


def brute_force(grids, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    """For each point the smallest code among the grids it intersects; no spatial index."""
    points = shapely.points(lon, lat)
    result: list[str | None] = [None] * len(points)
    for code, geom in grids:  # ascending codes: the first grid to claim a point is the smallest
        minx, miny, maxx, maxy = geom.bounds
        near = np.flatnonzero((lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy))
        for i in near[shapely.intersects(geom, points[near])]:
            if result[i] is None:
                result[i] = code
    return result


def random_points(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    county = Region.objects.get(code="420881")
    rng = np.random.default_rng(seed)
    return rng.uniform(county.min_lon, county.max_lon, n), rng.uniform(county.min_lat, county.max_lat, n)


@pytest.fixture(params=["tree", "raster"])
def path(request, monkeypatch):
    """Small batches are answered by the STRtree, big ones by the raster: both must agree."""
    monkeypatch.setattr(locator, "RASTER_MIN_POINTS", 10**9 if request.param == "tree" else 1)
    return request.param


def test_agrees_with_brute_force_on_random_points(grids, path):
    lon, lat = random_points(10_000)
    expected = brute_force(grids, lon, lat)
    assert locator.locate_points(lon, lat) == expected
    inside = sum(code is not None for code in expected)
    assert 5_000 < inside < 10_000  # the county fills most of its bounding box, not all of it


def test_locate_point_matches_locate_points():
    lon, lat = random_points(100, seed=11)
    many = locator.locate_points(lon, lat)
    assert [locator.locate_point(x, y) for x, y in zip(lon, lat, strict=True)] == many


def test_a_vertex_shared_by_neighbouring_grids_goes_to_the_smallest_code(grids, path):
    codes = np.array([code for code, _ in grids])
    tree = shapely.STRtree([g for _, g in grids])
    hushan = Region.objects.get(name="湖山村")
    first, *others = [(code, g) for code, g in grids if code.startswith(hushan.code)]
    checked = 0
    for xy in dict.fromkeys(first[1].exterior.coords):
        touching = sorted(codes[tree.query(shapely.Point(xy), predicate="intersects")])
        if len(touching) < 2:
            continue
        assert first[0] in touching
        assert locator.locate_point(*xy) == touching[0]
        assert locator.locate_points([xy[0]], [xy[1]]) == [touching[0]]
        checked += 1
    assert checked >= 2


def test_a_point_on_a_shared_edge_goes_to_the_smallest_code(path):
    # Two grids made square so that a point exactly on their common edge is representable.
    a, b = Region.objects.filter(level=4).order_by("code")[:2]
    Region.objects.filter(code=b.code).update(
        geom_wkb=shapely.to_wkb(shapely.box(120.0, 20.0, 120.01, 20.01)), updated_at=timezone.now()
    )
    Region.objects.filter(code=a.code).update(
        geom_wkb=shapely.to_wkb(shapely.box(120.01, 20.0, 120.02, 20.01)), updated_at=timezone.now()
    )
    on_edge, corner = (120.01, 20.005), (120.01, 20.01)
    for lon, lat in (on_edge, corner):
        assert locator.locate_point(lon, lat) == a.code < b.code
        assert locator.locate_points([lon, lon], [lat, lat]) == [a.code, a.code]
    assert locator.locate_point(120.005, 20.005) == b.code
    assert locator.locate_point(120.015, 20.005) == a.code


def test_outside_the_county_or_not_a_number_is_none(path):
    assert locator.locate_point(116.4, 39.9) is None
    nan, inf = float("nan"), float("inf")
    assert locator.locate_points([0.0, 112.59, nan, 112.59, inf], [0.0, 50.0, 31.17, nan, 31.17]) == [None] * 5
    assert locator.locate_points([], []) == []


def test_the_index_is_rebuilt_when_a_grid_changes():
    grid = Region.objects.filter(level=4).order_by("code").first()
    inside = (grid.centroid_lon, grid.centroid_lat)
    assert locator.locate_point(*inside) == grid.code
    first_index = locator.grid_index()

    # Move the grid far away (off the county): its old place is now in no grid.
    moved = affinity.translate(grid.geometry, 5.0, 5.0)
    Region.objects.filter(code=grid.code).update(geom_wkb=shapely.to_wkb(moved), updated_at=timezone.now())
    assert locator.locate_point(*inside) is None
    assert locator.locate_point(inside[0] + 5.0, inside[1] + 5.0) == grid.code
    assert locator.grid_index() is not first_index


def test_the_index_is_rebuilt_when_a_grid_is_added():
    village = Region.objects.filter(kind="village").order_by("code").first()
    square = shapely.box(120.0, 20.0, 120.01, 20.01)
    assert locator.locate_point(120.005, 20.005) is None
    Region.objects.create(code=village.code + "999", name="新网格", kind="grid", level=4, parent=village,
                          geom_wkb=shapely.to_wkb(square))
    assert locator.locate_point(120.005, 20.005) == village.code + "999"
