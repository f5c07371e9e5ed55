from typing import Literal

from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from gridgov.core.pagination import PageNumberCount

from . import selectors
from .choices import RegionKind
from .schemas import LocateOut, RegionDetailOut, RegionOut

router = Router(tags=["regions 行政区划与网格"])


class RegionFilters(Schema):
    kind: RegionKind | None = None
    parent: str | None = Field(None, pattern=r"^[0-9]{6,15}$")
    prefix: str | None = Field(None, pattern=r"^[0-9]{1,15}$", description="区划代码前缀")
    q: str | None = Field(None, max_length=50, description="名称包含")


class LocateQuery(Schema):
    lon: float = Field(..., ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(..., ge=-90, le=90, allow_inf_nan=False)
    crs: Literal["wgs84", "gcj02"] = "wgs84"


@router.get("", response=list[RegionOut], summary="区划与网格列表")
@paginate(PageNumberCount)
def list_regions(request, filters: Query[RegionFilters]):
    return selectors.region_list(user=request.auth, **filters.dict())


@router.get("/locate", response=LocateOut, summary="坐标定位到网格")
def locate(request, query: Query[LocateQuery]):
    chain = selectors.region_locate(user=request.auth, lon=query.lon, lat=query.lat, crs=query.crs)
    return {"lon": query.lon, "lat": query.lat, "grid": chain[-1], "ancestors": chain[:-1]}


@router.get("/{code}", response=RegionDetailOut, summary="区划详情")
def get_region(request, code: str):
    region = selectors.region_get(user=request.auth, code=code)
    breadcrumb = selectors.region_breadcrumb(region)
    region.parent_name = breadcrumb[-2]["name"] if len(breadcrumb) > 1 else None
    region.child_counts = selectors.region_child_counts(region)
    region.breadcrumb = breadcrumb
    return region


@router.get("/{code}/children", response=list[RegionOut], summary="下级区划")
@paginate(PageNumberCount)
def list_children(request, code: str):
    return selectors.region_children(user=request.auth, code=code)


@router.get("/{code}/geojson", summary="下级区划边界 (GeoJSON FeatureCollection)")
def region_geojson(request, code: str):
    return selectors.region_feature_collection(user=request.auth, code=code)
