"""Point → grid, for one point or many at once.

The grid polygons live in a Shapely STRtree, one per process, rebuilt when the regions
change (a cheap version check against the database). Many points are located in one
vectorised query. A point on a shared edge or corner touches several grids: the grid with
the smallest code wins, so every point in the county maps to exactly one grid.
"""

import threading
from dataclasses import dataclass

import numpy as np
import shapely
from django.db.models import Count, Max

from .choices import RegionLevel
from .models import Region

NOT_FOUND = -1


@dataclass(frozen=True)
class GridIndex:
    version: tuple
    codes: np.ndarray  # grid codes sorted ascending; tree index i ↔ codes[i]
    tree: shapely.STRtree

    def locate_many(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index into `codes` for each point, or NOT_FOUND."""
        points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        hits = self.tree.query(points, predicate="intersects")
        result = np.full(len(points), NOT_FOUND, dtype=np.int64)
        if hits.shape[1]:
            inputs, grids = hits
            # Reverse order so that, on assignment, the smallest grid index per input is written last.
            order = np.lexsort((-grids, inputs))
            result[inputs[order]] = grids[order]
        return result

    def codes_for(self, lon, lat) -> list[str | None]:
        idx = self.locate_many(lon, lat)
        return [self.codes[i] if i != NOT_FOUND else None for i in idx]


_lock = threading.Lock()
_index: GridIndex | None = None


def _current_version() -> tuple:
    agg = Region.objects.filter(level=RegionLevel.GRID).aggregate(n=Count("code"), t=Max("updated_at"))
    return (agg["n"], agg["t"])


def _build(version: tuple) -> GridIndex:
    rows = list(
        Region.objects.filter(level=RegionLevel.GRID, geom_wkb__isnull=False)
        .order_by("code")
        .values_list("code", "geom_wkb")
    )
    codes = np.array([code for code, _ in rows], dtype=object)
    geoms = shapely.from_wkb([bytes(wkb) for _, wkb in rows]) if rows else np.array([], dtype=object)
    return GridIndex(version=version, codes=codes, tree=shapely.STRtree(geoms))


def grid_index() -> GridIndex:
    """The process-wide index, rebuilt if a grid was added, removed or changed since it was built."""
    global _index
    version = _current_version()
    index = _index
    if index is not None and index.version == version:
        return index
    with _lock:
        if _index is None or _index.version != version:
            _index = _build(version)
        return _index


def invalidate() -> None:
    global _index
    with _lock:
        _index = None


def locate_point(lon: float, lat: float) -> str | None:
    """The code of the grid containing (lon, lat) in WGS84, or None outside every grid."""
    return grid_index().codes_for([lon], [lat])[0]


def locate_points(lon, lat) -> list[str | None]:
    return grid_index().codes_for(lon, lat)
