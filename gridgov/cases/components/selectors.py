"""Reads of the component registry. Every function takes the user and starts from their scope."""

import math
import re
from dataclasses import dataclass

from django.db.models import Count

from gridgov.accounts.policy import require
from gridgov.cases.models.component import Component, ComponentState
from gridgov.core.errors import ValidationFailed

MAX_FEATURES = 5000
MAX_BBOX_DEGREES = 2.0  # a map view wider than this asks for too much at once
_CATEGORY = re.compile(r"^[Cc]?([0-9]{2}|[0-9]{4})$")


@dataclass(frozen=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


def parse_bbox(text: str | None, *, max_degrees: float | None = None) -> BBox | None:
    """"minlon,minlat,maxlon,maxlat" (WGS84) → BBox; None when empty; 400 when malformed."""
    if text is None or not str(text).strip():
        return None
    parts = str(text).split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise ValidationFailed("bbox 应为“最小经度,最小纬度,最大经度,最大纬度”四个数字", code="invalid_bbox",
                               extra={"field": "bbox"})
    box = BBox(*numbers)
    if not (-180 <= box.min_lon <= box.max_lon <= 180 and -90 <= box.min_lat <= box.max_lat <= 90):
        raise ValidationFailed("bbox 范围不正确：最小值应不大于最大值，且经纬度在合法范围内", code="invalid_bbox",
                               extra={"field": "bbox"})
    if max_degrees and (box.max_lon - box.min_lon > max_degrees or box.max_lat - box.min_lat > max_degrees):
        raise ValidationFailed(f"bbox 过大：经纬度跨度均不能超过 {max_degrees} 度，请放大地图", code="bbox_too_large",
                               extra={"field": "bbox"})
    return box


def category_prefix(value: str | None) -> str | None:
    """A class filter as a category-code prefix: "01"/"C01" is a major class, "0101"/"C0101" a subclass."""
    if not value:
        return None
    match = _CATEGORY.fullmatch(value.strip())
    if not match:
        raise ValidationFailed("部件类别应为大类代码（如 C01）或小类代码（如 C0101）", code="invalid_category",
                               extra={"field": "category"})
    return "C" + match.group(1)


def component_list(*, user, category: str | None = None, state: str | None = None, region: str | None = None,
                   department: str | None = None, bbox: str | BBox | None = None, q: str | None = None):
    """Components the user may see, filtered, in code order, with class, grid and owner loaded."""
    require(user, "components.view")
    qs = Component.objects.visible_to(user).select_related("category", "region", "owner_department")
    prefix = category_prefix(category)
    if prefix:
        qs = qs.filter(category__code__startswith=prefix)
    if state:
        if state not in ComponentState.values:
            raise ValidationFailed("状态无效", code="invalid_state", extra={"field": "state"})
        qs = qs.filter(state=state)
    if region:
        qs = qs.filter(region__code__startswith=region)
    if department:
        department = str(department).strip()
        qs = qs.filter(owner_department_id=int(department)) if department.isdigit() else qs.filter(
            owner_department__code__iexact=department)
    box = bbox if isinstance(bbox, BBox) or bbox is None else parse_bbox(bbox)
    if box is not None:
        qs = qs.filter(lon__gte=box.min_lon, lon__lte=box.max_lon, lat__gte=box.min_lat, lat__lte=box.max_lat)
    if q:
        q = q.strip()
        qs = qs.filter(code__startswith=q) if q.isdigit() else qs.filter(name__icontains=q)
    return qs.order_by("code")


def component_state_counts(queryset) -> dict[str, int]:
    """{state: count} for the rows of a (filtered) component queryset, every state present."""
    counts = dict(queryset.order_by().values_list("state").annotate(n=Count("id")))
    return {s: counts.get(s, 0) for s in ComponentState.values}


def component_feature(c: Component) -> dict:
    return {
        "type": "Feature",
        "id": c.pk,
        "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
        "properties": {
            "id": c.pk, "code": c.code, "name": c.name, "category": c.category.code,
            "category_name": c.category.name, "state": c.state, "state_label": str(c.get_state_display()),
            "region_code": c.region_id,
            "owner_department": c.owner_department.name if c.owner_department_id else "",
        },
    }


def component_features(*, user, bbox: str | None, category: str | None = None, state: str | None = None,
                       limit: int = MAX_FEATURES) -> dict:
    """A GeoJSON FeatureCollection of the visible components inside `bbox` (required, at most 2° a side),
    at most `limit` of them; `truncated` says when there were more (zoom in)."""
    box = parse_bbox(bbox, max_degrees=MAX_BBOX_DEGREES)
    if box is None:
        raise ValidationFailed("请提供 bbox（地图可视范围）", code="bbox_required", extra={"field": "bbox"})
    qs = component_list(user=user, category=category, state=state, bbox=box).select_related(None) \
        .select_related("category", "owner_department").only(
            "id", "code", "name", "lon", "lat", "state", "region", "category__code", "category__name",
            "owner_department__name")
    rows = list(qs[: limit + 1])
    return {
        "type": "FeatureCollection",
        "bbox": [box.min_lon, box.min_lat, box.max_lon, box.max_lat],
        "truncated": len(rows) > limit,
        "features": [component_feature(c) for c in rows[:limit]],
    }
