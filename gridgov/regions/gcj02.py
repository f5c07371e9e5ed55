"""GCJ-02 ↔ WGS84 conversion for coordinates taken from Chinese map SDKs.

GCJ-02 is WGS84 plus a published, deterministic offset (the "Mars" obfuscation). The forward
transform is exact; the inverse is solved by fixed-point iteration to well under a centimetre.
Outside mainland China GCJ-02 equals WGS84. Works on scalars and on NumPy arrays alike.
"""

import numpy as np

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 algorithm uses it
_EE = 0.00669342162296594323


def _outside_china(lon, lat):
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon, lat):
    x = lon - 105.0
    y = lat - 35.0
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon, lat):
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    d_lon, d_lat = _delta(lon_a, lat_a)
    outside = _outside_china(lon_a, lat_a)
    out_lon = np.where(outside, lon_a, lon_a + d_lon)
    out_lat = np.where(outside, lat_a, lat_a + d_lat)
    return _unwrap(out_lon, lon), _unwrap(out_lat, lat)


def gcj02_to_wgs84(lon, lat, *, tolerance: float = 1e-10, max_iter: int = 30):
    """Inverse by iteration: find w with wgs84_to_gcj02(w) == g."""
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        c_lon, c_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon = np.asarray(c_lon) - g_lon
        e_lat = np.asarray(c_lat) - g_lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        if np.all(np.abs(e_lon) < tolerance) and np.all(np.abs(e_lat) < tolerance):
            break
    return _unwrap(w_lon, lon), _unwrap(w_lat, lat)


def _unwrap(value, like):
    if np.ndim(like) == 0:
        return float(value)
    return value
