from ninja import Field, Schema


class RegionOut(Schema):
    code: str
    name: str
    kind: str
    level: int
    parent: str | None = Field(None, alias="parent_id")
    centroid: list[float] | None = None
    area_km2: float | None = None

    @staticmethod
    def resolve_centroid(obj) -> list[float] | None:
        if obj.centroid_lon is None:
            return None
        return [obj.centroid_lon, obj.centroid_lat]


class BreadcrumbItem(Schema):
    code: str
    name: str


class RegionDetailOut(RegionOut):
    bbox: list[float] | None = None
    parent_name: str | None = None
    child_counts: dict[str, int]
    breadcrumb: list[BreadcrumbItem]


class LocateOut(Schema):
    lon: float
    lat: float
    grid: RegionOut
    ancestors: list[RegionOut]
