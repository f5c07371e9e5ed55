"""Point → grid throughput on the demo tessellation: vectorised GridIndex.locate_many vs a loop.

    .venv/bin/python bench/locate.py [--points 1000000] [--sample 20000] [--repeat 3]

Builds the 2,867 demo grids in memory (the same plan `seed_demo --scale small` writes; no
database), puts them in a GridIndex exactly as gridgov.regions.locator does, and locates
uniformly random points in the county's bounding box. The per-point loop is timed on a sample
and extrapolated. Not part of the test suite.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
os.environ.setdefault("GRIDGOV_VAR_DIR", tempfile.mkdtemp(prefix="gridgov-bench-"))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import shapely  # noqa: E402

from gridgov.demo.seed import plan_regions  # noqa: E402
from gridgov.regions.locator import NOT_FOUND, GridIndex  # noqa: E402


def build_index() -> tuple[GridIndex, tuple[float, float, float, float]]:
    plan = plan_regions()
    grids = sorted((r for r in plan if r.level == 4), key=lambda r: r.code)
    codes = np.array([r.code for r in grids], dtype=object)
    index = GridIndex(version=("bench",), codes=codes, tree=shapely.STRtree([r.geom for r in grids]))
    return index, plan[0].geom.bounds


def loop_locate(index: GridIndex, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The plain way: one tree query per point, smallest code wins."""
    result = np.full(len(lon), NOT_FOUND, dtype=np.int64)
    for i, (x, y) in enumerate(zip(lon, lat, strict=True)):
        hits = index.tree.query(shapely.Point(x, y), predicate="intersects")
        if len(hits):
            result[i] = hits.min()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="points for the per-point loop")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the vectorised run")
    args = parser.parse_args()

    t = time.perf_counter()
    index, (minx, miny, maxx, maxy) = build_index()
    print(f"tessellation + index: {len(index.codes):,} grids in {time.perf_counter() - t:.2f} s")

    rng = np.random.default_rng(42)
    lon = rng.uniform(minx, maxx, args.points)
    lat = rng.uniform(miny, maxy, args.points)

    t = time.perf_counter()
    found = index.locate_many(lon, lat)
    first = time.perf_counter() - t
    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        again = index.locate_many(lon, lat)
        best = min(best, time.perf_counter() - t)
    inside = int((found != NOT_FOUND).sum())
    print(f"vectorised locate_many: {args.points:,} points in {best:.3f} s = {args.points / best:,.0f} points/s "
          f"(best of {args.repeat}; {inside / args.points:.1%} inside a grid)")
    print(f"  first call, including the one-off raster build: {first:.3f} s = {args.points / first:,.0f} points/s")

    # The tree-only path that small batches take: one STRtree query over point geometries.
    t = time.perf_counter()
    points = shapely.points(lon, lat)
    inputs, grids = index.tree.query(points, predicate="intersects")
    tree_found = np.full(len(lon), np.iinfo(np.int64).max)
    np.minimum.at(tree_found, inputs, grids)
    tree_found[tree_found == np.iinfo(np.int64).max] = NOT_FOUND
    tree_time = time.perf_counter() - t
    print(f"vectorised STRtree query only: {args.points / tree_time:,.0f} points/s")
    if not (np.array_equal(found, again) and np.array_equal(found, tree_found)):
        sys.exit("the raster and the tree disagree")

    n = min(args.sample, args.points)
    t = time.perf_counter()
    looped = loop_locate(index, lon[:n], lat[:n])
    loop_time = time.perf_counter() - t
    rate = n / loop_time
    print(f"per-point loop: {n:,} points in {loop_time:.3f} s = {rate:,.0f} points/s; "
          f"extrapolated to {args.points:,} points: {args.points / rate:.1f} s")
    if not np.array_equal(looped, found[:n]):
        sys.exit("the vectorised and the per-point results differ")
    print(f"speed-up: {args.points / best / rate:.0f}x; all methods agree on every point compared")


if __name__ == "__main__":
    main()
