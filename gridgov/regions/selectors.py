"""Reads of the region tree. Every function starts from the user's scope."""

from django.db.models import Count

from gridgov.accounts.policy import get_scope, require, require_region
from gridgov.core.errors import NotFound, ValidationFailed

from . import codes, locator
from .gcj02 import gcj02_to_wgs84
from .geometry import to_geojson
from .models import Region

LIST_FIELDS = ("code", "name", "kind", "level", "parent_id", "centroid_lon", "centroid_lat", "area_km2")


def region_list(*, user, kind: str | None = None, parent: str | None = None, prefix: str | None = None,
                q: str | None = None):
    """Regions inside the user's scope, filtered; ordered by code."""
    require(user, "regions.view")
    qs = Region.objects.visible_to(user).only(*LIST_FIELDS)
    if kind:
        qs = qs.filter(kind=kind)
    if parent:
        qs = qs.filter(parent_id=parent)
    if prefix:
        qs = qs.filter(code__startswith=prefix)
    if q:
        qs = qs.filter(name__contains=q)
    return qs.order_by("code")


def region_get(*, user, code: str) -> Region:
    """One region in scope, or NotFound (also for a malformed code)."""
    require(user, "regions.view")
    try:
        codes.level_of(code)
    except codes.CodeError:
        raise NotFound() from None
    require_region(user, code)
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound()
    return region


def region_children(*, user, code: str):
    region_get(user=user, code=code)
    return Region.objects.filter(parent_id=code).only(*LIST_FIELDS).order_by("code")


def region_child_counts(region: Region) -> dict[str, int]:
    """How many nodes of each kind lie below `region`."""
    rows = (
        Region.objects.filter(code__startswith=region.code, level__gt=region.level)
        .values("kind").annotate(n=Count("code")).order_by()
    )
    return {row["kind"]: row["n"] for row in rows}


def region_breadcrumb(region: Region) -> list[dict]:
    """The chain from the county down to `region`: names only, so a grid worker sees where they are."""
    chain = codes.ancestor_codes(region.code)
    names = dict(Region.objects.filter(code__in=chain).values_list("code", "name"))
    return [{"code": c, "name": names.get(c, c)} for c in chain]


def region_feature_collection(*, user, code: str) -> dict:
    """The node's children as a GeoJSON FeatureCollection (the node itself when it is a grid)."""
    region = region_get(user=user, code=code)
    rows = list(Region.objects.filter(parent_id=code).order_by("code")) or [region]
    return {
        "type": "FeatureCollection",
        "bbox": region.bbox,
        "features": [
            {
                "type": "Feature",
                "id": r.code,
                "properties": {"code": r.code, "name": r.name, "kind": r.kind, "level": r.level,
                               "area_km2": r.area_km2, "drill": r.level < 4,
                               "centroid": [r.centroid_lon, r.centroid_lat] if r.centroid_lon is not None else None},
                "geometry": to_geojson(r.geometry),
            }
            for r in rows
        ],
    }


def region_locate(*, user, lon: float, lat: float, crs: str = "wgs84") -> list[Region]:
    """The grid at a point and its ancestors (county first), if inside the user's scope."""
    require(user, "regions.view")
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    elif crs != "wgs84":
        raise ValidationFailed("坐标系只能是 wgs84 或 gcj02", code="invalid_crs")
    code = locator.locate_point(lon, lat)
    if code is None or not get_scope(user).covers(code):
        raise NotFound("该位置不在您可查看的任何网格内")
    chain = codes.ancestor_codes(code)
    return list(Region.objects.filter(code__in=chain).only(*LIST_FIELDS).order_by("code"))
