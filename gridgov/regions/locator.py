"""Point → grid, for one point or many at once.

The grid polygons live in a Shapely STRtree, one per process, rebuilt when the regions
change (a cheap version check against the database). Many points are located in one
vectorised query. A point on a shared edge or corner touches several grids: the grid with
the smallest code wins, so every point in the county maps to exactly one grid.

Big batches (bench/locate.py: a million points) go through a raster built once per index: a
point in a cell that one grid covers entirely, or that no grid touches, is answered by array
lookup; only points in cells crossed by a border are tested against their few candidate grids.
Building point geometries would cost more than the whole lookup, so no point is ever built there.
"""

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from django.db.models import Count, Max

from .choices import RegionLevel
from .models import Region

NOT_FOUND = -1
RASTER_MIN_POINTS = 50_000  # below this a batch is answered by the tree; the raster costs ~0.5 s to build
_NONE = np.iinfo(np.int64).max


def _smallest_hit(n: int, inputs: np.ndarray, grids: np.ndarray) -> np.ndarray:
    """For each of `n` inputs the smallest grid index paired with it, or NOT_FOUND."""
    best = np.full(n, _NONE, dtype=np.int64)
    np.minimum.at(best, inputs, grids)
    best[best == _NONE] = NOT_FOUND
    return best


class _Raster:
    """Square cells over the grids' extent, each empty, covered by one grid, or mixed.

    Cells are classified on boxes widened by a hair, so a point that rounding puts in the
    neighbouring cell is still inside the box its cell was judged by; the answers are exactly
    those of testing every grid.
    """

    EMPTY, MIXED = -1, -2

    def __init__(self, tree: shapely.STRtree, cells_per_grid: int = 64):
        self.grids = np.asarray(tree.geometries)
        shapely.prepare(self.grids)
        minx, miny, maxx, maxy = shapely.total_bounds(self.grids)
        width, height = maxx - minx, maxy - miny
        self.size = max(float(np.sqrt(width * height / (len(self.grids) * cells_per_grid))), 1e-9)
        margin = self.size * 1e-6
        self.x0, self.y0 = minx - margin, miny - margin
        self.nx = max(1, int(np.ceil((width + 2 * margin) / self.size)))
        self.ny = max(1, int(np.ceil((height + 2 * margin) / self.size)))
        ix, iy = np.meshgrid(np.arange(self.nx), np.arange(self.ny))
        left = self.x0 + ix.ravel() * self.size - margin
        bottom = self.y0 + iy.ravel() * self.size - margin
        boxes = shapely.box(left, bottom, left + self.size + 2 * margin, bottom + self.size + 2 * margin)
        cells, grids = tree.query(boxes, predicate="intersects")
        order = np.lexsort((grids, cells))  # grouped by cell, for the offsets in indptr
        self.candidates = grids[order]
        counts = np.bincount(cells, minlength=len(boxes))
        self.indptr = np.concatenate([[0], np.cumsum(counts)])
        self.state = np.where(counts > 0, self.MIXED, self.EMPTY).astype(np.int64)
        single = np.flatnonzero(counts == 1)
        only = self.candidates[self.indptr[single]]
        covered = shapely.covers(self.grids[only], boxes[single])
        self.state[single[covered]] = only[covered]

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        result = np.full(len(lon), NOT_FOUND, dtype=np.int64)
        with np.errstate(invalid="ignore"):  # NaN coordinates fall outside every cell
            fx = np.floor((lon - self.x0) / self.size)
            fy = np.floor((lat - self.y0) / self.size)
        points = np.flatnonzero((fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny))
        cells = fy[points].astype(np.int64) * self.nx + fx[points].astype(np.int64)
        state = self.state[cells]
        covered = state >= 0
        result[points[covered]] = state[covered]
        mixed = state == self.MIXED
        points, cells = points[mixed], cells[mixed]
        starts = self.indptr[cells]
        counts = self.indptr[cells + 1] - starts
        pairs = np.repeat(points, counts)
        offsets = np.arange(len(pairs)) - np.repeat(np.cumsum(counts) - counts, counts)
        candidates = self.candidates[np.repeat(starts, counts) + offsets]
        hit = shapely.intersects_xy(self.grids[candidates], lon[pairs], lat[pairs])
        found = _smallest_hit(len(lon), pairs[hit], candidates[hit])
        result[points] = found[points]
        return result


@dataclass(frozen=True)
class GridIndex:
    version: tuple
    codes: np.ndarray  # grid codes sorted ascending; tree index i ↔ codes[i]
    tree: shapely.STRtree

    def locate_many(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index into `codes` for each point, or NOT_FOUND; on a border the smallest index wins."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if len(self.codes) and len(lon) >= RASTER_MIN_POINTS:
            return self._raster.locate(lon, lat)
        points = shapely.points(lon, lat)
        inputs, grids = self.tree.query(points, predicate="intersects")
        return _smallest_hit(len(points), inputs, grids)

    @cached_property
    def _raster(self) -> _Raster:
        return _Raster(self.tree)

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
