"""/api/v1/components: the registry of components (部件普查): list, detail, create, update, import, map."""

from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from gridgov.core.errors import ValidationFailed
from gridgov.core.pagination import PageNumberCount

from . import importer, selectors, services
from .access import access_component, access_component_by_code
from .schemas import ComponentFilters, ComponentIn, ComponentOut, ComponentPatch, GeoJsonQuery, ImportOut

router = Router(tags=["components 部件普查"])

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def component_out(c) -> dict:
    owner = c.owner_department
    return {
        "id": c.pk, "code": c.code, "category": {"code": c.category.code, "name": c.category.name},
        "region_code": c.region_id, "grid_name": c.region.name, "name": c.name, "lon": c.lon, "lat": c.lat,
        "owner_department": {"id": owner.pk, "code": owner.code, "name": owner.name} if owner else None,
        "state": c.state, "state_label": str(c.get_state_display()), "installed_on": c.installed_on,
        "note": c.note, "created_at": c.created_at, "updated_at": c.updated_at,
    }


class _ConvertingList:
    """A queryset whose requested page only is converted (count and slicing stay in SQL)."""

    def __init__(self, queryset, convert):
        self.queryset = queryset
        self.convert = convert

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, item):
        return [self.convert(row) for row in self.queryset[item]]


@router.get("", response=list[ComponentOut], summary="部件列表")
@paginate(PageNumberCount)
def list_components(request, filters: Query[ComponentFilters]):
    return _ConvertingList(selectors.component_list(user=request.auth, **filters.dict()), component_out)


@router.post("", response={201: ComponentOut}, summary="登记部件（留空编码则自动编号）")
def create_component(request, data: ComponentIn):
    component = services.component_create(acting_user=request.auth, data=data.model_dump(exclude_none=True))
    return Status(201, component_out(access_component(request.auth, component.pk)))


@router.get("/geojson", summary="可视范围内的部件 (GeoJSON FeatureCollection，供地图使用)")
def components_geojson(request, query: Query[GeoJsonQuery]):
    return selectors.component_features(user=request.auth, **query.dict())


@router.post("/import", response=ImportOut, summary="导入部件普查数据（Excel .xlsx 或 GeoJSON）",
             description="逐行校验，错误行列出原因（每个问题一条），其余行批量写入；按部件编码（无编码时按类别+位置）"
                         "幂等：重复导入同一文件不会产生重复部件。dry_run=true 只校验不写入。")
def import_components(request, file: File[UploadedFile], dry_run: Form[bool] = False):
    if file.size and file.size > MAX_UPLOAD_BYTES:
        raise ValidationFailed("文件不能超过 20 MB，请分批导入或使用命令 gridgov import_components",
                               code="file_too_large", extra={"field": "file"})
    data = file.read()
    try:
        report = importer.import_components(data, file_name=file.name or "", acting_user=request.auth,
                                            dry_run=dry_run)
    except importer.ImportFileError as exc:
        raise ValidationFailed(exc.message, code="unreadable_file", extra={"field": "file"}) from None
    return report.as_dict()


@router.get("/code/{code}", response=ComponentOut, summary="按部件编码查询")
def get_component_by_code(request, code: str):
    return component_out(access_component_by_code(request.auth, code))


@router.get("/{int:component_id}", response=ComponentOut, summary="部件详情")
def get_component(request, component_id: int):
    return component_out(access_component(request.auth, component_id))


@router.patch("/{int:component_id}", response=ComponentOut, summary="修改部件（状态、位置、权属、名称等）")
def update_component(request, component_id: int, data: ComponentPatch):
    services.component_update(acting_user=request.auth, component_id=component_id,
                              data=data.model_dump(exclude_unset=True))
    return component_out(access_component(request.auth, component_id))
