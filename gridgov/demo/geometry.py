"""Deterministic demo geometry: an irregular county outline and Voronoi tessellations inside it.

Everything is built in a local plane measured in kilometres around the county's centre and only
turned into WGS84 lon/lat at the very end (one affine map, so shared vertices stay shared and
areas keep their proportions). The same seed always gives the same coordinates.

A tessellation is a partition of its parent: the cells cover the parent and do not overlap,
each cell is one Polygon. Voronoi cells are convex but the parent need not be, so a clipped
cell can fall apart; its smaller pieces are handed to the neighbour they share most border with.
"""

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import MultiPoint, Point, Polygon

from gridgov.regions.geometry import KM_PER_DEG


class TessellationError(RuntimeError):
    pass


# --- the plane -------------------------------------------------------------------------------


def to_lonlat(geom, *, lon0: float, lat0: float):
    """Plane km (x east, y north, origin at lon0/lat0) → WGS84 degrees (equirectangular)."""
    return affinity.affine_transform(
        geom, [1 / (KM_PER_DEG * math.cos(math.radians(lat0))), 0, 0, 1 / KM_PER_DEG, lon0, lat0]
    )


def to_plane(lon: float, lat: float, *, lon0: float, lat0: float) -> tuple[float, float]:
    return ((lon - lon0) * KM_PER_DEG * math.cos(math.radians(lat0)), (lat - lat0) * KM_PER_DEG)


def blob(
    rng: np.random.Generator, *, area: float, centre=(0.0, 0.0), aspect: float = 1.0, rotation: float = 0.0,
    roughness: float = 0.22, harmonics: int = 7, decay: float = 1.0, vertices: int = 240,
) -> Polygon:
    """A smooth irregular star-shaped polygon of exactly `area` km², its centroid at `centre`.

    The radius is 1 plus harmonics with seeded amplitudes (shrinking as k^-decay) and phases; star-shaped
    with a positive radius means the polygon is always simple, hence valid.
    """
    theta = np.linspace(0.0, 2 * math.pi, vertices, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, harmonics + 2):
        amplitude = rng.normal(0.0, roughness / k**decay)
        phase = rng.uniform(0.0, 2 * math.pi)
        radius += amplitude * np.cos(k * theta + phase)
    radius = np.clip(radius, 0.45, None)
    x = radius * np.cos(theta) * math.sqrt(1 / aspect)
    y = radius * np.sin(theta) * math.sqrt(aspect)
    shape = affinity.rotate(Polygon(np.column_stack([x, y])), rotation, origin=(0, 0))
    shape = affinity.scale(shape, math.sqrt(area / shape.area), math.sqrt(area / shape.area), origin=(0, 0))
    c = shape.centroid
    return affinity.translate(shape, centre[0] - c.x, centre[1] - c.y)


# --- tessellation ----------------------------------------------------------------------------


def sample_points(parent, n: int, rng: np.random.Generator, *, spacing: float = 0.7) -> np.ndarray:
    """`n` seeded points strictly inside `parent`, kept apart like a Poisson-disc sample.

    Rejection sampling in the bounding box; a candidate closer than `spacing`·√(area/n) to an
    accepted point is skipped, and the distance relaxes when the parent is too tight for it.
    """
    if n <= 0:
        return np.empty((0, 2))
    shapely.prepare(parent)
    minx, miny, maxx, maxy = parent.bounds
    min_dist = spacing * math.sqrt(parent.area / n)
    accepted: list[tuple[float, float]] = []
    for _attempt in range(60):
        xs = rng.uniform(minx, maxx, 40 * n)
        ys = rng.uniform(miny, maxy, 40 * n)
        inside = shapely.contains_xy(parent, xs, ys)
        for x, y in zip(xs[inside], ys[inside], strict=True):
            if all((x - ax) ** 2 + (y - ay) ** 2 >= min_dist**2 for ax, ay in accepted):
                accepted.append((x, y))
                if len(accepted) == n:
                    return np.array(accepted)
        min_dist *= 0.8
    raise TessellationError(f"could not place {n} points inside the parent")


def _polygons_of(geom) -> list[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    return [g for part in geom.geoms for g in _polygons_of(part)]


def partition(parent, seeds: np.ndarray) -> list[Polygon]:
    """The Voronoi cells of `seeds` clipped to `parent`, one Polygon per seed, in seed order."""
    if len(seeds) == 1:
        return [parent]
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=parent, ordered=True)
    return resolve_pieces(shapely.intersection(np.array(list(cells.geoms), dtype=object), parent))


def resolve_pieces(geoms) -> list[Polygon]:
    """One Polygon per input geometry: its largest part, the other parts going to neighbours."""
    mains: list[Polygon] = []
    orphans: list[Polygon] = []
    for i, geom in enumerate(geoms):
        parts = sorted(_polygons_of(geom), key=lambda p: -p.area)
        if not parts:
            raise TessellationError(f"cell {i} is empty")
        mains.append(parts[0])
        orphans.extend(parts[1:])
    return _adopt_orphans(mains, orphans)


def _adopt_orphans(mains: list[Polygon], orphans: list[Polygon]) -> list[Polygon]:
    """Give every stray piece to the cell it shares the longest border with."""
    pending = orphans
    for _round in range(10):
        if not pending:
            return mains
        deferred = []
        for orphan in pending:
            shared = [shapely.length(shapely.intersection(orphan.boundary, m.boundary)) for m in mains]
            best = int(np.argmax(shared))
            if shared[best] <= 0:
                deferred.append(orphan)
                continue
            merged = _polygons_of(shapely.union(mains[best], orphan))
            if len(merged) != 1:
                deferred.append(orphan)
                continue
            mains[best] = merged[0]
        pending = deferred
    raise TessellationError(f"{len(pending)} stray pieces have no neighbour")


def lloyd(parent, seeds: np.ndarray, iterations: int) -> np.ndarray:
    """Moves the seeds to their cells' centroids, which evens out the cell sizes."""
    seeds = np.array(seeds, dtype=float)
    for _ in range(iterations):
        for i, cell in enumerate(partition(parent, seeds)):
            c = cell.centroid
            if not parent.contains(c) or not cell.contains(c):
                c = cell.representative_point()
            seeds[i] = (c.x, c.y)
    return seeds


def tessellate(parent, n: int, rng: np.random.Generator, *, iterations: int = 1) -> list[Polygon]:
    """`n` cells partitioning `parent`, numbered in reading order (north to south, snaking)."""
    seeds = sample_points(parent, n, rng)
    seeds = lloyd(parent, seeds, iterations)
    return reading_order(partition(parent, seeds))


def reading_order(cells: list[Polygon]) -> list[Polygon]:
    """Sorted in bands from north to south, west→east then east→west, so neighbours get near codes."""
    if len(cells) <= 1:
        return list(cells)
    points = [c.representative_point() for c in cells]
    ys = np.array([p.y for p in points])
    bands = max(1, round(math.sqrt(len(cells))))
    top, height = ys.max(), (ys.max() - ys.min()) or 1.0
    keys = []
    for i, p in enumerate(points):
        band = min(bands - 1, int((top - p.y) / height * bands))
        keys.append((band, p.x if band % 2 == 0 else -p.x, i))
    return [cells[k[2]] for k in sorted(keys)]


def shared_vertex_nearest(cells: list[Polygon], target: tuple[float, float]) -> Point:
    """The vertex where three or more cells meet that lies nearest to `target`."""
    counts: dict[tuple[float, float], int] = {}
    for cell in cells:
        for xy in set(cell.exterior.coords):
            counts[xy] = counts.get(xy, 0) + 1
    junctions = [xy for xy, k in counts.items() if k >= 3]
    if not junctions:
        raise TessellationError("no cell junction")
    tx, ty = target
    return Point(min(junctions, key=lambda xy: ((xy[0] - tx) ** 2 + (xy[1] - ty) ** 2, xy)))


def clean_coverage(polygons: Sequence) -> list[Polygon]:
    """The polygons made into an exact coverage: shared edges identical, no slivers between them."""
    cleaned = shapely.coverage_clean(np.array(polygons, dtype=object), gap_width=1e-6)
    if not shapely.coverage_is_valid(cleaned):
        raise TessellationError("the cleaned tessellation is not a valid coverage")
    result = []
    for geom in cleaned:
        parts = _polygons_of(geom)
        if len(parts) != 1:
            raise TessellationError(f"a cleaned cell has {len(parts)} parts")
        result.append(parts[0])
    return result


def union(polygons: Sequence) -> Polygon:
    """The union of cells of an exact coverage, which must be one Polygon."""
    merged = shapely.coverage_union_all(np.array(polygons, dtype=object))
    parts = _polygons_of(merged)
    if len(parts) != 1:
        raise TessellationError(f"union has {len(parts)} parts")
    return parts[0]
