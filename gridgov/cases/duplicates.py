"""Duplicate reports: the same category within 50 m and 24 hours of an earlier, still live case.

The candidates come from an indexed query (category, created_at window) narrowed by a bounding box
on lat/lon; the exact distance is then measured in a local equirectangular projection (metres),
which at 50 m differs from the geodesic distance by far less than a GPS fix.
"""

import math
from datetime import datetime, timedelta

from .choices import CaseState

RADIUS_M = 50.0
WINDOW = timedelta(hours=24)
EARTH_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)
NOT_LIVE = (CaseState.VOIDED, CaseState.MERGED, CaseState.REJECTED)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    mean_lat = math.radians((lat1 + lat2) / 2)
    dx = (lon2 - lon1) * EARTH_M_PER_DEG * math.cos(mean_lat)
    dy = (lat2 - lat1) * EARTH_M_PER_DEG
    return math.hypot(dx, dy)


def bbox(lon: float, lat: float, radius_m: float = RADIUS_M) -> tuple[float, float, float, float]:
    d_lat = radius_m / EARTH_M_PER_DEG
    d_lon = radius_m / (EARTH_M_PER_DEG * max(math.cos(math.radians(lat)), 1e-6))
    return lon - d_lon, lat - d_lat, lon + d_lon, lat + d_lat


def find_earlier(*, category_id: int, lon: float | None, lat: float | None, at: datetime,
                 exclude_id: int | None = None):
    """The nearest live case of the same category reported within 24 h before `at` and 50 m of the
    point (the earliest among equally near ones), or None."""
    from .models import Case

    if lon is None or lat is None:
        return None
    min_lon, min_lat, max_lon, max_lat = bbox(lon, lat)
    qs = (Case.objects.filter(category_id=category_id, created_at__gte=at - WINDOW, created_at__lte=at,
                              lat__gte=min_lat, lat__lte=max_lat, lon__gte=min_lon, lon__lte=max_lon)
          .exclude(state__in=NOT_LIVE).only("id", "number", "lon", "lat", "created_at", "region_id"))
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    best = None
    for case in qs[:200]:
        d = distance_m(lon, lat, case.lon, case.lat)
        if d <= RADIUS_M and (best is None or (d, case.created_at) < best[0]):
            best = ((d, case.created_at), case)
    if best is None:
        return None
    best[1].distance_m = round(best[0][0], 1)
    return best[1]
