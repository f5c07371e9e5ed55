"""GCJ-02 ↔ WGS84 against published reference pairs."""

import math

import numpy as np
import pytest

from gridgov.regions.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02

# (wgs lon, wgs lat, gcj lon, gcj lat).
# Shanghai, Shenzhen, Beijing: the test table of googollee/eviltransform, python/test.py and
# go/transform_test.go (given there as lat, lng, lat, lng).
# Tiananmen: wandergis/coordtransform, test/app.js (wgs84togcj02(116.404, 39.915) result comment).
REFERENCE = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # beijing
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),  # tiananmen
]
FORWARD_TOLERANCE = 1e-6  # degrees
EARTH_RADIUS = 6378137.0


def distance_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(math.sqrt(a))


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), REFERENCE)
def test_forward_matches_published_pairs(wlon, wlat, glon, glat):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert isinstance(lon, float) and isinstance(lat, float)
    assert abs(lon - glon) < FORWARD_TOLERANCE
    assert abs(lat - glat) < FORWARD_TOLERANCE


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), REFERENCE)
def test_inverse_recovers_the_published_wgs84_point(wlon, wlat, glon, glat):
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert distance_m(lon, lat, wlon, wlat) < 0.5
    # And the offset being undone is real: hundreds of metres.
    assert distance_m(glon, glat, wlon, wlat) > 100


def test_round_trip_across_zhongxiang_and_china():
    rng = np.random.default_rng(420881)
    # Zhongxiang's extent, then the whole of mainland China's box.
    for lo, hi in (((112.0, 30.7), (113.1, 31.7)), ((73.7, 18.2), (134.7, 53.5))):
        lon = rng.uniform(lo[0], hi[0], 2000)
        lat = rng.uniform(lo[1], hi[1], 2000)
        g_lon, g_lat = wgs84_to_gcj02(lon, lat)
        w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
        worst = max(distance_m(*args) for args in zip(w_lon, w_lat, lon, lat, strict=True))
        assert worst < 0.5
        assert worst < 0.01  # in fact well under a centimetre


@pytest.mark.parametrize(("lon", "lat"), [
    (-0.1276, 51.5072),  # London
    (139.6917, 35.6895),  # Tokyo, east of the box
    (100.5018, 0.5),  # south of the box
    (37.6173, 55.7558),  # Moscow
])
def test_points_outside_china_are_unchanged(lon, lat):
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_arrays_and_lists_convert_elementwise():
    wlon = np.array([r[0] for r in REFERENCE] + [-0.1276])
    wlat = np.array([r[1] for r in REFERENCE] + [51.5072])
    glon, glat = wgs84_to_gcj02(wlon, wlat)
    assert isinstance(glon, np.ndarray) and glon.shape == wlon.shape
    np.testing.assert_allclose(glon[:-1], [r[2] for r in REFERENCE], atol=FORWARD_TOLERANCE, rtol=0)
    np.testing.assert_allclose(glat[:-1], [r[3] for r in REFERENCE], atol=FORWARD_TOLERANCE, rtol=0)
    assert (glon[-1], glat[-1]) == (-0.1276, 51.5072)
    # Each element equals the scalar conversion.
    for i in range(len(wlon)):
        assert (glon[i], glat[i]) == wgs84_to_gcj02(float(wlon[i]), float(wlat[i]))
    back_lon, back_lat = gcj02_to_wgs84(list(glon), list(glat))
    assert isinstance(back_lon, np.ndarray)
    np.testing.assert_allclose(back_lon, wlon, atol=1e-8, rtol=0)
    np.testing.assert_allclose(back_lat, wlat, atol=1e-8, rtol=0)


def test_two_dimensional_arrays_keep_their_shape():
    lon = np.full((3, 4), 112.57)
    lat = np.full((3, 4), 31.17)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert g_lon.shape == (3, 4) and g_lat.shape == (3, 4)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    np.testing.assert_allclose(w_lon, lon, atol=1e-8, rtol=0)
