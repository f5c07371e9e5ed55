"""The people registry API (一标三实, care tags, privacy actions) under /api/v1/people/.

Thin: parse, call one selector or service, serialise. ID numbers and phones leave only masked,
except in the answer to a logged reveal and in an authorised unmasked export.
"""

import tempfile

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Query, Router, Status
from ninja.pagination import paginate

from gridgov.core.pagination import PageNumberCount

from . import selectors, services
from .export import resident_export
from .schemas import (
    AddressCreateIn,
    AddressFields,
    AddressOut,
    CareTagTypeOut,
    CorrectionIn,
    ExportQuery,
    HistoryOut,
    HouseCreateIn,
    HouseFields,
    HouseholdCreateIn,
    HouseholdDetailOut,
    HouseholdFields,
    HouseholdOut,
    HouseOut,
    MoveIn,
    OrganisationCreateIn,
    OrganisationFields,
    OrganisationFilters,
    OrganisationOut,
    PeopleReasonIn,
    RegionFilter,
    ResidentCreateIn,
    ResidentDetailOut,
    ResidentFields,
    ResidentFilters,
    ResidentOut,
    RevealIn,
    RevealOut,
    TagDetailOut,
    TagEndIn,
    TagIn,
    TagUpdateIn,
)

router = Router(tags=["people 一标三实与关爱对象"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(schema) -> dict:
    return {k: (v.value if hasattr(v, "value") else v) for k, v in schema.model_dump().items() if v not in (None, "")}


def _detail(request, resident_id: int):
    return selectors.resident_get(user=request.auth, resident_id=resident_id)


# --- residents -------------------------------------------------------------------------------------------------------

@router.get("/residents", response=list[ResidentOut], summary="人员列表与查询")
@paginate(PageNumberCount)
def list_residents(request, filters: Query[ResidentFilters]):
    return selectors.resident_list(user=request.auth, **_filters(filters))


@router.post("/residents/search", response=list[ResidentOut], summary="人员查询（条件放在请求体中）",
             description="与 GET /residents 相同的条件。按完整身份证号码或电话查找时请用本接口："
                         "号码不进入网址，也就不会出现在访问日志中。")
@paginate(PageNumberCount)
def search_residents(request, filters: ResidentFilters):
    return selectors.resident_list(user=request.auth, **_filters(filters))


@router.post("/residents", response={201: ResidentDetailOut}, summary="登记人员")
def create_resident(request, data: ResidentCreateIn):
    body = data.model_dump(exclude_unset=True)
    region_code = body.pop("region_code")
    resident = services.resident_create(acting_user=request.auth, region_code=region_code, data=body)
    return Status(201, _detail(request, resident.pk))


@router.get("/residents/export", summary="导出人员名单 (Excel)",
            description="默认对身份证号码和电话脱敏；unmasked=1 需要 people.export.unmasked 权限。"
                        "每次导出均记入审计日志。")
def export_residents(request, query: Query[ExportQuery]):
    filters = _filters(query)
    unmasked = bool(filters.pop("unmasked", False))
    output = tempfile.TemporaryFile()
    try:
        result = resident_export(acting_user=request.auth, output=output, unmasked=unmasked, filters=filters)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    response = FileResponse(output, as_attachment=True, filename=result.filename, content_type=XLSX)
    response["X-Export-Rows"] = str(result.rows)
    response["Cache-Control"] = "no-store"
    return response


@router.get("/residents/{int:resident_id}", response=ResidentDetailOut, summary="人员详情（脱敏）")
def get_resident(request, resident_id: int):
    return _detail(request, resident_id)


@router.patch("/residents/{int:resident_id}", response=ResidentDetailOut, summary="修改人员信息")
def update_resident(request, resident_id: int, data: ResidentFields):
    services.resident_update(acting_user=request.auth, resident_id=resident_id,
                             data=data.model_dump(exclude_unset=True))
    return _detail(request, resident_id)


@router.post("/residents/{int:resident_id}/corrections", response=ResidentDetailOut,
             summary="更正人员信息（需说明原因）")
def correct_resident(request, resident_id: int, data: CorrectionIn):
    body = data.model_dump(exclude_unset=True)
    reason = body.pop("reason")
    services.resident_correct(acting_user=request.auth, resident_id=resident_id, data=body, reason=reason)
    return _detail(request, resident_id)


@router.post("/residents/{int:resident_id}/move", response=ResidentDetailOut, summary="变更所属网格")
def move_resident(request, resident_id: int, data: MoveIn):
    services.resident_move(acting_user=request.auth, resident_id=resident_id, to_region_code=data.region_code,
                           reason=data.reason)
    return _detail(request, resident_id)


@router.post("/residents/{int:resident_id}/reveal", response=RevealOut,
             summary="查看完整个人信息（需权限与原因，记入审计）")
def reveal_resident(request, resident_id: int, data: RevealIn):
    return services.resident_reveal(acting_user=request.auth, resident_id=resident_id, fields=data.fields,
                                    reason=data.reason)


@router.get("/residents/{int:resident_id}/history", response=list[HistoryOut], summary="人员信息变更与查看记录")
@paginate(PageNumberCount)
def resident_history(request, resident_id: int):
    resident = selectors.resident_get(user=request.auth, resident_id=resident_id)
    return selectors.resident_history(user=request.auth, resident=resident)


@router.post("/residents/{int:resident_id}/subject-access", summary="个人信息查阅复制（PIPL），format=xlsx 返回 Excel")
def subject_access(request, resident_id: int, data: PeopleReasonIn, format: str = "json"):
    package = services.resident_subject_access_export(acting_user=request.auth, resident_id=resident_id,
                                                      reason=data.reason)
    if format == "xlsx":
        response = HttpResponse(package.xlsx, content_type=XLSX)
        response["Content-Disposition"] = content_disposition_header(True, package.filename)
        response["Cache-Control"] = "no-store"
        return response
    return package.data


@router.post("/residents/{int:resident_id}/tags", response={201: TagDetailOut}, summary="认定关爱对象")
def add_tag(request, resident_id: int, data: TagIn):
    tag = services.care_tag_add(acting_user=request.auth, resident_id=resident_id, tag_type_code=data.tag_type,
                                attributes=data.attributes, since=data.since)
    return Status(201, tag)


@router.patch("/residents/{int:resident_id}/tags/{int:tag_id}", response=TagDetailOut, summary="修改关爱对象属性")
def update_tag(request, resident_id: int, tag_id: int, data: TagUpdateIn):
    body = data.model_dump(exclude_unset=True)
    return services.care_tag_update(acting_user=request.auth, tag_id=tag_id, resident_id=resident_id, **body)


@router.post("/residents/{int:resident_id}/tags/{int:tag_id}/end", response=TagDetailOut, summary="关爱对象退出")
def end_tag(request, resident_id: int, tag_id: int, data: TagEndIn):
    return services.care_tag_end(acting_user=request.auth, tag_id=tag_id, resident_id=resident_id,
                                 ended_on=data.ended_on, reason=data.reason)


@router.get("/care-tag-types", response=list[CareTagTypeOut], summary="关爱对象类别（按您的查看权限）")
def list_care_tag_types(request):
    return selectors.care_tag_type_list(user=request.auth)


# --- households ------------------------------------------------------------------------------------------------------

@router.get("/households", response=list[HouseholdOut], summary="户列表")
@paginate(PageNumberCount)
def list_households(request, filters: Query[RegionFilter]):
    return selectors.household_list(user=request.auth, **_filters(filters))


@router.post("/households", response={201: HouseholdDetailOut}, summary="登记户")
def create_household(request, data: HouseholdCreateIn):
    body = data.model_dump(exclude_unset=True)
    region_code = body.pop("region_code")
    household = services.household_create(acting_user=request.auth, region_code=region_code, data=body)
    return Status(201, selectors.household_get(user=request.auth, household_id=household.pk))


@router.get("/households/{int:household_id}", response=HouseholdDetailOut, summary="户详情与成员")
def get_household(request, household_id: int):
    return selectors.household_get(user=request.auth, household_id=household_id)


@router.patch("/households/{int:household_id}", response=HouseholdDetailOut, summary="修改户、户主与成员")
def update_household(request, household_id: int, data: HouseholdFields):
    services.household_update(acting_user=request.auth, household_id=household_id,
                              data=data.model_dump(exclude_unset=True))
    return selectors.household_get(user=request.auth, household_id=household_id)


# --- addresses and houses --------------------------------------------------------------------------------------------

@router.get("/addresses", response=list[AddressOut], summary="标准地址列表")
@paginate(PageNumberCount)
def list_addresses(request, filters: Query[RegionFilter]):
    return selectors.address_list(user=request.auth, **_filters(filters))


@router.post("/addresses", response={201: AddressOut}, summary="登记标准地址")
def create_address(request, data: AddressCreateIn):
    body = data.model_dump(exclude_unset=True)
    region_code = body.pop("region_code")
    return Status(201, services.address_create(acting_user=request.auth, region_code=region_code, data=body))


@router.patch("/addresses/{int:address_id}", response=AddressOut, summary="修改标准地址")
def update_address(request, address_id: int, data: AddressFields):
    return services.address_update(acting_user=request.auth, address_id=address_id,
                                   data=data.model_dump(exclude_unset=True))


@router.get("/houses", response=list[HouseOut], summary="实有房屋列表")
@paginate(PageNumberCount)
def list_houses(request, region: str | None = Query(None, pattern=r"^[0-9]{1,15}$")):
    return selectors.house_list(user=request.auth, region=region)


@router.post("/houses", response={201: HouseOut}, summary="登记实有房屋")
def create_house(request, data: HouseCreateIn):
    house = services.house_create(acting_user=request.auth, data=data.model_dump(exclude_unset=True))
    return Status(201, house)


@router.patch("/houses/{int:house_id}", response=HouseOut, summary="修改实有房屋")
def update_house(request, house_id: int, data: HouseFields):
    return services.house_update(acting_user=request.auth, house_id=house_id, data=data.model_dump(exclude_unset=True))


# --- organisations ---------------------------------------------------------------------------------------------------

@router.get("/organisations", response=list[OrganisationOut], summary="实有单位列表")
@paginate(PageNumberCount)
def list_organisations(request, filters: Query[OrganisationFilters]):
    return selectors.organisation_list(user=request.auth, **_filters(filters))


@router.post("/organisations", response={201: OrganisationOut}, summary="登记实有单位")
def create_organisation(request, data: OrganisationCreateIn):
    body = data.model_dump(exclude_unset=True)
    region_code = body.pop("region_code")
    return Status(201, services.organisation_create(acting_user=request.auth, region_code=region_code, data=body))


@router.get("/organisations/{int:organisation_id}", response=OrganisationOut, summary="实有单位详情")
def get_organisation(request, organisation_id: int):
    return selectors.organisation_get(user=request.auth, organisation_id=organisation_id)


@router.patch("/organisations/{int:organisation_id}", response=OrganisationOut, summary="修改实有单位")
def update_organisation(request, organisation_id: int, data: OrganisationFields):
    return services.organisation_update(acting_user=request.auth, organisation_id=organisation_id,
                                        data=data.model_dump(exclude_unset=True))
