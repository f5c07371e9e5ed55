"""In/Out schemas of the people API. Outputs never carry a plaintext ID number or phone: the
`*_masked` fields are computed here through core.masking, and names follow the reader's role
(presenters.display_name). Inputs take raw values; the services validate them, in Chinese."""

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from gridgov.core.masking import mask_id_number, mask_phone

from .choices import ResidencyStatus, ResidentState
from .presenters import display_name, tag_attribute_rows

_REGION = r"^[0-9]{1,15}$"


def _user(context) -> Any:
    request = (context or {}).get("request")
    return getattr(request, "auth", None) or getattr(request, "user", None)


# --- outputs ---------------------------------------------------------------------------------------------------------

class CareTagTypeOut(Schema):
    code: str
    name: str
    category: str
    sensitivity: int
    visit_every_days: int
    attribute_schema: list[dict[str, Any]]
    checklist: list[str]


class TagOut(Schema):
    id: int
    code: str = Field(..., alias="tag_type.code")
    name: str = Field(..., alias="tag_type.name")
    sensitivity: int
    visit_every_days: int
    since: date | None
    ended_on: date | None


class TagAttribute(Schema):
    key: str
    label: str
    value: Any


class TagDetailOut(TagOut):
    resident_id: int
    attributes: list[TagAttribute]

    @staticmethod
    def resolve_attributes(obj) -> list[dict]:
        return tag_attribute_rows(obj)


class ResidentOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: date | None
    ethnicity: str
    id_number_masked: str = Field(..., description="公民身份号码（脱敏，如 420881********1234）")
    phone_masked: str = Field(..., description="联系电话（脱敏，如 138****5678）")
    residency_status: str
    political_status: str
    region_code: str
    region_name: str | None = None
    household_id: int | None
    household_number: str | None = None
    relation_to_head: str
    address_id: int | None
    address: str | None = None
    state: str
    tags: list[TagOut] = Field([], description="您有权查看的在册关爱对象标签")

    @staticmethod
    def resolve_name(obj, context) -> str:
        return display_name(obj.name, _user(context))

    @staticmethod
    def resolve_id_number_masked(obj) -> str:
        return mask_id_number(obj.id_number)

    @staticmethod
    def resolve_phone_masked(obj) -> str:
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_region_name(obj) -> str | None:
        region = obj._state.fields_cache.get("region")
        return region.name if region is not None else None

    @staticmethod
    def resolve_household_number(obj) -> str | None:
        return obj.household.number if obj.household_id else None

    @staticmethod
    def resolve_address(obj) -> str | None:
        return obj.address.short_text if obj.address_id else None

    @staticmethod
    def resolve_tags(obj) -> list:
        tags = getattr(obj, "visible_tags", [])
        return [t for t in tags if t.ended_on is None]


class ResidentDetailOut(ResidentOut):
    occupation: str
    guardian_id: int | None
    guardian_name: str | None = None
    guardian_note: str
    has_health_note: bool = Field(False, description="是否记录了健康状况（内容需说明原因后查看）")
    care_tags: list[TagDetailOut] = Field([], description="您有权查看的全部关爱对象标签（含已退出）")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_guardian_name(obj, context) -> str | None:
        return display_name(obj.guardian.name, _user(context)) if obj.guardian_id else None

    @staticmethod
    def resolve_has_health_note(obj) -> bool:
        return bool(obj.health_note)

    @staticmethod
    def resolve_care_tags(obj) -> list:
        return getattr(obj, "visible_tags", [])


class RevealOut(Schema):
    id_number: str | None = None
    phone: str | None = None
    health_note: str | None = None


class HistoryOut(Schema):
    time: datetime = Field(..., alias="created_at")
    actor: str = Field(..., alias="actor_username")
    action: str
    action_label: str
    outcome: str
    changes: dict[str, Any]
    message: str

    @staticmethod
    def resolve_action_label(obj) -> str:
        from .export import action_label

        return action_label(obj.action)


class HouseholdOut(Schema):
    id: int
    number: str
    region_code: str
    address_id: int | None
    address: str | None = None
    registered_address: str
    head_id: int | None
    head_name: str | None = None

    @staticmethod
    def resolve_address(obj) -> str | None:
        return obj.address.short_text if obj.address_id else None

    @staticmethod
    def resolve_head_name(obj, context) -> str | None:
        return display_name(obj.head.name, _user(context)) if obj.head_id else None


class HouseholdDetailOut(HouseholdOut):
    members: list[ResidentOut]

    @staticmethod
    def resolve_members(obj) -> list:
        return getattr(obj, "member_list", [])


class AddressOut(Schema):
    id: int
    region_code: str
    road: str
    house_number: str
    building: str
    unit: str
    room: str
    lon: float | None
    lat: float | None
    text: str = Field(..., alias="short_text")


class HouseOut(Schema):
    id: int
    region_code: str
    address_id: int
    address: str
    use: str
    occupancy: str
    owner_id: int | None
    owner_name: str
    floor_area: float | None
    note: str

    @staticmethod
    def resolve_address(obj) -> str:
        return obj.address.short_text

    @staticmethod
    def resolve_owner_name(obj, context) -> str:
        name = obj.owner.name if obj.owner_id else obj.owner_name
        return display_name(name, _user(context)) if name else ""


class OrganisationOut(Schema):
    id: int
    name: str
    kind: str
    region_code: str
    credit_code: str
    legal_person: str
    contact_name: str
    contact_phone_masked: str
    address_id: int | None
    address: str | None = None
    employees: int | None

    @staticmethod
    def resolve_contact_phone_masked(obj) -> str:
        return mask_phone(obj.contact_phone)

    @staticmethod
    def resolve_address(obj) -> str | None:
        return obj.address.short_text if obj.address_id else None


# --- inputs ----------------------------------------------------------------------------------------------------------

class ResidentFilters(Schema):
    q: str | None = Field(None, max_length=50, description="姓名包含")
    id_tail: str | None = Field(None, max_length=4, description="身份证后四位")
    id_number: str | None = Field(None, max_length=20, description="完整身份证号码（精确匹配）")
    phone: str | None = Field(None, max_length=20, description="完整联系电话（精确匹配）")
    address: str | None = Field(None, max_length=100, description="地址包含")
    tag: str | None = Field(None, max_length=32, description="关爱对象类别代码")
    region: str | None = Field(None, pattern=_REGION, description="区划代码前缀")
    residency_status: ResidencyStatus | None = None
    state: ResidentState | None = None
    household: int | None = Field(None, ge=1)


class ExportQuery(ResidentFilters):
    unmasked: bool = Field(False, description="导出完整身份证号码和电话（需授权）")


class ResidentFields(Schema):
    name: str | None = Field(None, max_length=100)
    id_number: str | None = Field(None, max_length=30)
    phone: str | None = Field(None, max_length=30)
    gender: str | None = Field(None, max_length=10)
    birth_date: str | None = Field(None, max_length=20)
    ethnicity: str | None = Field(None, max_length=20)
    residency_status: str | None = Field(None, max_length=20)
    political_status: str | None = Field(None, max_length=20)
    relation_to_head: str | None = Field(None, max_length=20)
    occupation: str | None = Field(None, max_length=200)
    health_note: str | None = Field(None, max_length=1000)
    guardian_note: str | None = Field(None, max_length=200)
    state: str | None = Field(None, max_length=20)
    household_id: int | None = None
    address_id: int | None = None
    guardian_id: int | None = None


class ResidentCreateIn(ResidentFields):
    region_code: str = Field(..., max_length=15, description="所属网格（15 位代码）")
    name: str = Field(..., max_length=100)
    id_number: str = Field(..., max_length=30)


class CorrectionIn(ResidentFields):
    reason: str = Field(..., max_length=500, description="更正原因（至少 4 个字）")


class RevealIn(Schema):
    fields: list[str] = Field(["id_number"], max_length=3, description="id_number / phone / health_note")
    reason: str = Field(..., max_length=500, description="查看原因（至少 4 个字）")


class MoveIn(Schema):
    region_code: str = Field(..., max_length=15)
    reason: str = Field("", max_length=500)


class PeopleReasonIn(Schema):
    reason: str = Field(..., max_length=500)


class TagIn(Schema):
    tag_type: str = Field(..., max_length=32, description="关爱对象类别代码，如 left_behind_child")
    attributes: dict[str, Any] = Field({}, description="按类别的属性定义填写")
    since: date | None = None


class TagUpdateIn(Schema):
    attributes: dict[str, Any] | None = None
    since: date | None = None


class TagEndIn(Schema):
    ended_on: date | None = None
    reason: str = Field("", max_length=500)


class MemberIn(Schema):
    resident_id: int
    relation_to_head: str = Field("", max_length=20)


class HouseholdFields(Schema):
    number: str | None = Field(None, max_length=64)
    address_id: int | None = None
    registered_address: str | None = Field(None, max_length=300)
    head_id: int | None = None
    members: list[MemberIn] | None = Field(None, max_length=100)


class HouseholdCreateIn(HouseholdFields):
    region_code: str = Field(..., max_length=15)
    number: str = Field(..., max_length=64)


class AddressFields(Schema):
    road: str | None = Field(None, max_length=200)
    house_number: str | None = Field(None, max_length=60)
    building: str | None = Field(None, max_length=60)
    unit: str | None = Field(None, max_length=60)
    room: str | None = Field(None, max_length=60)
    lon: float | None = Field(None, allow_inf_nan=False)
    lat: float | None = Field(None, allow_inf_nan=False)


class AddressCreateIn(AddressFields):
    region_code: str = Field(..., max_length=15)


class HouseFields(Schema):
    use: str | None = Field(None, max_length=20)
    occupancy: str | None = Field(None, max_length=20)
    owner_id: int | None = None
    owner_name: str | None = Field(None, max_length=100)
    floor_area: float | None = Field(None, allow_inf_nan=False)
    note: str | None = Field(None, max_length=400)


class HouseCreateIn(HouseFields):
    address_id: int


class OrganisationFields(Schema):
    name: str | None = Field(None, max_length=200)
    kind: str | None = Field(None, max_length=20)
    credit_code: str | None = Field(None, max_length=30)
    legal_person: str | None = Field(None, max_length=100)
    contact_name: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=30)
    address_id: int | None = None
    employees: int | None = None


class OrganisationCreateIn(OrganisationFields):
    region_code: str = Field(..., max_length=15)
    name: str = Field(..., max_length=200)
    kind: str = Field(..., max_length=20)


class OrganisationFilters(Schema):
    q: str | None = Field(None, max_length=50)
    kind: str | None = Field(None, max_length=20)
    region: str | None = Field(None, pattern=_REGION)


class RegionFilter(Schema):
    q: str | None = Field(None, max_length=50)
    region: str | None = Field(None, pattern=_REGION)
