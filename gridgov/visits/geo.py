"""Distances in metres on a local projection, good to well under 1 % at grid and county scale.

An equirectangular projection centred on the point of interest: x = Δlon·cos(lat₀)·R, y = Δlat·R.
Over a few kilometres its error is far below GPS noise, and it needs no projection library.
"""

import math

import numpy as np
import shapely
from shapely import affinity

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0


def _projector(lon0: float, lat0: float):
    kx = M_PER_DEG * math.cos(math.radians(lat0))
    ky = M_PER_DEG
    return kx, ky


def distance_to_polygon_m(geom, lon: float, lat: float) -> float:
    """0 inside (or on the edge of) `geom`, else the shortest distance to it in metres."""
    point = shapely.Point(lon, lat)
    if geom.covers(point):
        return 0.0
    kx, ky = _projector(lon, lat)
    # Project the shape around the point: x' = (x - lon)·kx, y' = (y - lat)·ky.
    local = affinity.affine_transform(geom, [kx, 0, 0, ky, -lon * kx, -lat * ky])
    return float(local.distance(shapely.Point(0.0, 0.0)))


def local_xy(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    kx, ky = _projector(lon0, lat0)
    return (np.asarray(lon, dtype=float) - lon0) * kx, (np.asarray(lat, dtype=float) - lat0) * ky


def nearest_neighbour_order(lon: list[float], lat: list[float], start: tuple[float, float]) -> list[int]:
    """Indices of the points in the order of a greedy walk from `start` to the nearest unvisited point.

    Ties (people at one address) keep their input order, so the order is deterministic.
    """
    n = len(lon)
    if n == 0:
        return []
    x, y = local_xy(np.array(lon), np.array(lat), start[0], start[1])
    left = np.ones(n, dtype=bool)
    cx, cy = 0.0, 0.0
    order: list[int] = []
    for _ in range(n):
        d = np.where(left, (x - cx) ** 2 + (y - cy) ** 2, np.inf)
        i = int(np.argmin(d))
        order.append(i)
        left[i] = False
        cx, cy = x[i], y[i]
    return order


# A patrol is on foot, by bicycle or e-bike; a jump faster than this between two fixes is a GPS glitch.
MAX_PATROL_SPEED_MPS = 25.0
MAX_USABLE_ACCURACY_M = 100.0


def track_length_m(points: list[list]) -> float:
    """Length of a track [[t, lon, lat, accuracy], …] sorted by t, in metres.

    Fixes worse than 100 m and jumps faster than 25 m/s are left out: they are noise, and counting
    them would reward standing still with a drifting phone.
    """
    usable = [p for p in points if p[3] is None or p[3] <= MAX_USABLE_ACCURACY_M]
    if len(usable) < 2:
        return 0.0
    arr = np.array([[p[0], p[1], p[2]] for p in usable], dtype=float)
    lat0 = float(np.mean(arr[:, 2]))
    x, y = local_xy(arr[:, 1], arr[:, 2], float(arr[0, 1]), lat0)
    total = 0.0
    px, py, pt = x[0], y[0], arr[0, 0]
    for i in range(1, len(arr)):
        d = math.hypot(x[i] - px, y[i] - py)
        dt = arr[i, 0] - pt
        if dt > 0 and d / dt > MAX_PATROL_SPEED_MPS:
            continue  # glitch: skip this fix, keep measuring from the last good one
        total += d
        px, py, pt = x[i], y[i], arr[i, 0]
    return total
