"""Registry writes: validation, scope, permissions, households, care tags, audit rows."""

from datetime import date, timedelta

import pytest

from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied
from gridgov.core.models import AuditEntry
from gridgov.people import services
from gridgov.people.models import Address, CareTag, House, Household, Organisation, Resident
from gridgov.people.validation import identity_fields

from .registry_helpers import make_resident, new_id, place, unique_name

pytestmark = pytest.mark.django_db


@pytest.fixture
def p():
    return place()


def audit_text(obj) -> str:
    import json

    rows = AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return json.dumps([r.changes for r in rows] + [r.message for r in rows], ensure_ascii=False)


# --- residents -------------------------------------------------------------------------------------------------------

def test_create_derives_gender_and_birth_and_indexes_identity(p):
    number = new_id(date(1956, 3, 8), male=False)
    resident = make_resident(p.worker, p.grid, id_number=number.lower(), phone="138 0724 5678",
                             residency_status="流动", health_note="高血压")
    resident.refresh_from_db()
    assert resident.gender == "female" and resident.birth_date == date(1956, 3, 8)
    assert resident.id_number == number and resident.id_tail == number[-4:]
    assert resident.phone == "13807245678" and len(resident.phone_index) == 64
    assert resident.residency_status == "floating" and resident.region_id == p.grid.code
    entry = AuditEntry.objects.get(action="people.resident.create", object_id=str(resident.pk))
    assert entry.actor == p.worker and entry.region_code == p.grid.code
    text = audit_text(resident)
    assert number not in text and "13807245678" not in text and "高血压" not in text
    assert entry.changes["id_number"] == number[:6] + "********" + number[-4:]
    assert entry.changes["phone"] == "138****5678" and entry.changes["health_note"] == "已填写"


def test_duplicate_id_number_is_refused_with_a_clear_message(p):
    number = new_id()
    make_resident(p.worker, p.grid, id_number=number)
    before = Resident.objects.count()
    with pytest.raises(ApplicationError) as exc:
        # Another grid, another clerk, the same person: still one registration in the county.
        make_resident(p.town, p.other_grid, id_number=number.lower())
    assert exc.value.status == 400 and exc.value.code == "duplicate_id_number"
    assert exc.value.message == "该身份证号码已登记"
    assert Resident.objects.count() == before


def test_bad_input_gets_one_chinese_message_per_field_and_changes_nothing(p):
    before = (Resident.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ApplicationError) as exc:
        services.resident_create(acting_user=p.worker, region_code=p.grid.code, data={
            "name": "", "id_number": "42088119560308", "phone": "12345", "residency_status": "游客",
            "ethnicity": "火星族"})
    errors = exc.value.extra["errors"]
    assert set(errors) == {"name", "id_number", "phone", "residency_status", "ethnicity"}
    assert errors["id_number"] == "身份证号码应为 18 位，实际为 14 位"
    assert "可选：户籍、常住、流动、外出务工" in errors["residency_status"]
    assert (Resident.objects.count(), AuditEntry.objects.count()) == before


def test_unknown_fields_and_contradicting_gender_are_refused(p):
    with pytest.raises(ApplicationError) as exc:
        make_resident(p.worker, p.grid, nickname="x")
    assert exc.value.code == "unknown_field"
    with pytest.raises(ApplicationError) as exc:
        make_resident(p.worker, p.grid, id_number=new_id(male=True), gender="女")
    assert "性别与身份证号码不符" in exc.value.extra["errors"]["gender"]


def test_residents_are_registered_in_a_grid_of_the_actors_scope(p):
    with pytest.raises(ApplicationError) as exc:
        make_resident(p.admin, p.village)
    assert exc.value.code == "invalid_region" and "15 位" in exc.value.message
    with pytest.raises(NotFound):
        make_resident(p.worker, p.other_grid)
    with pytest.raises(NotFound):
        make_resident(p.town, p.far_grid)
    with pytest.raises(PermissionDenied):
        make_resident(p.cadre, p.grid)  # village cadres read the registry, they do not keep it
    with pytest.raises(PermissionDenied):
        make_resident(p.auditor, p.grid)


def test_update_is_partial_masked_in_the_audit_and_refused_out_of_scope(p):
    resident = make_resident(p.worker, p.grid, occupation="务农")
    services.resident_update(acting_user=p.worker, resident_id=resident.pk,
                             data={"phone": "13900001111", "health_note": "糖尿病", "occupation": "外出务工"})
    resident.refresh_from_db()
    assert resident.phone == "13900001111" and resident.occupation == "外出务工"
    entry = AuditEntry.objects.filter(action="people.resident.update", object_id=str(resident.pk)).get()
    assert entry.changes["phone"] == ["138****1234", "139****1111"]
    assert entry.changes["health_note"] == ["", "已修改"]
    assert entry.changes["occupation"] == ["务农", "外出务工"]
    assert "13900001111" not in audit_text(resident) and "糖尿病" not in audit_text(resident)

    with pytest.raises(NotFound):
        services.resident_update(acting_user=p.other_worker, resident_id=resident.pk, data={"occupation": "教师"})
    with pytest.raises(PermissionDenied):
        services.resident_update(acting_user=p.cadre, resident_id=resident.pk, data={"occupation": "教师"})
    resident.refresh_from_db()
    assert resident.occupation == "外出务工"


def test_update_of_id_number_reindexes_and_refuses_a_duplicate(p):
    a = make_resident(p.worker, p.grid)
    b = make_resident(p.worker, p.grid)
    new_number = new_id(date(1990, 5, 17), male=False)
    services.resident_update(acting_user=p.worker, resident_id=a.pk, data={"id_number": new_number})
    a.refresh_from_db()
    assert a.id_tail == new_number[-4:] and a.gender == "female" and a.birth_date == date(1990, 5, 17)
    assert Resident.objects.filter(id_number_index=identity_fields(id_number=new_number)["id_number_index"]
                                   ).get() == a
    with pytest.raises(ApplicationError) as exc:
        services.resident_update(acting_user=p.worker, resident_id=b.pk, data={"id_number": new_number})
    assert exc.value.message == "该身份证号码已登记"
    with pytest.raises(ApplicationError) as exc:
        services.resident_update(acting_user=p.worker, resident_id=b.pk, data={"id_number": ""})
    assert "不能清空" in exc.value.message
    b_before = b.id_number
    b.refresh_from_db()
    assert b.id_number == b_before


def test_no_change_writes_no_audit_row(p):
    resident = make_resident(p.worker, p.grid, occupation="务农")
    count = AuditEntry.objects.count()
    services.resident_update(acting_user=p.worker, resident_id=resident.pk, data={"occupation": "务农"})
    assert AuditEntry.objects.count() == count


def test_correction_needs_a_reason_and_is_recorded_even_without_change(p):
    resident = make_resident(p.worker, p.grid)
    with pytest.raises(ApplicationError) as exc:
        services.resident_correct(acting_user=p.admin, resident_id=resident.pk, data={"name": "李春艳"}, reason="改")
    assert exc.value.code == "reason_required"
    resident.refresh_from_db()
    assert resident.name != "李春艳"
    services.resident_correct(acting_user=p.admin, resident_id=resident.pk, data={"name": "李春艳"},
                              reason="本人持户口簿申请更正姓名")
    services.resident_correct(acting_user=p.admin, resident_id=resident.pk, data={}, reason="本人申请核对，信息无误")
    entries = list(AuditEntry.objects.filter(action="people.resident.correct", object_id=str(resident.pk))
                   .order_by("id"))
    assert [e.message for e in entries] == ["本人持户口簿申请更正姓名", "本人申请核对，信息无误"]
    assert entries[0].changes["name"][1] == "李春艳" and entries[1].changes == {}


def test_move_needs_scope_over_both_grids_and_takes_the_tags_along(p):
    resident = make_resident(p.worker, p.grid)
    tag = services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="left_behind_elderly")
    with pytest.raises(NotFound):
        services.resident_move(acting_user=p.worker, resident_id=resident.pk, to_region_code=p.other_grid.code)
    with pytest.raises(NotFound):
        services.resident_move(acting_user=p.admin, resident_id=resident.pk, to_region_code=p.far_grid.code)
    resident.refresh_from_db()
    assert resident.region_id == p.grid.code
    services.resident_move(acting_user=p.admin, resident_id=resident.pk, to_region_code=p.other_grid.code,
                           reason="搬到儿子家")
    resident.refresh_from_db()
    tag.refresh_from_db()
    assert resident.region_id == tag.region_id == p.other_grid.code
    entry = AuditEntry.objects.get(action="people.resident.move", object_id=str(resident.pk))
    assert entry.changes == {"region": [p.grid.code, p.other_grid.code]}
    # The old grid's worker has lost sight of them; the new one has it.
    with pytest.raises(NotFound):
        services.resident_update(acting_user=p.worker, resident_id=resident.pk, data={"occupation": "x"})
    services.resident_update(acting_user=p.other_worker, resident_id=resident.pk, data={"occupation": "务农"})


# --- households ------------------------------------------------------------------------------------------------------

def test_household_with_members_head_and_relations(p):
    head = make_resident(p.worker, p.grid)
    wife = make_resident(p.worker, p.grid)
    child = make_resident(p.worker, p.grid, id_number=new_id(date(2015, 6, 1)))
    number = unique_name("户")
    household = services.household_create(acting_user=p.worker, region_code=p.grid.code, data={
        "number": number, "registered_address": "胡集镇湖山村三组",
        "members": [{"resident_id": head.pk, "relation_to_head": "户主"},
                    {"resident_id": wife.pk, "relation_to_head": "spouse"},
                    {"resident_id": child.pk, "relation_to_head": "子女"}]})
    assert household.head_id == head.pk
    rel = dict(Resident.objects.filter(household=household).values_list("pk", "relation_to_head"))
    assert rel == {head.pk: "head", wife.pk: "spouse", child.pk: "child"}

    # Change of head without a member list: the old head keeps no relation until recorded.
    services.household_update(acting_user=p.worker, household_id=household.pk, data={"head_id": wife.pk})
    household.refresh_from_db()
    rel = dict(Resident.objects.filter(household=household).values_list("pk", "relation_to_head"))
    assert household.head_id == wife.pk and rel[wife.pk] == "head" and rel[head.pk] == ""

    # Removing a member.
    services.household_update(acting_user=p.worker, household_id=household.pk, data={
        "members": [{"resident_id": wife.pk, "relation_to_head": "户主"},
                    {"resident_id": child.pk, "relation_to_head": "子女"}]})
    head.refresh_from_db()
    assert head.household_id is None and head.relation_to_head == ""
    entry = AuditEntry.objects.filter(action="people.household.update", object_id=str(household.pk)).latest("id")
    assert entry.changes["members_removed"] == [head.pk]


def test_household_refusals_change_nothing(p):
    a = make_resident(p.worker, p.grid)
    b = make_resident(p.worker, p.grid)
    outsider = make_resident(p.other_worker, p.other_grid)
    number = unique_name("户")
    services.household_create(acting_user=p.worker, region_code=p.grid.code,
                              data={"number": number, "members": [{"resident_id": a.pk, "relation_to_head": "户主"}]})
    count = Household.objects.count()
    cases = [
        ({"number": number}, "number", "已存在"),
        ({"number": unique_name("户"), "members": [{"resident_id": a.pk}]}, "members", "已属于户"),
        ({"number": unique_name("户"), "members": [{"resident_id": outsider.pk}]}, "members", "不在您的管辖范围内"),
        ({"number": unique_name("户"), "members": [{"resident_id": b.pk, "relation_to_head": "户主"},
                                                  {"resident_id": outsider.pk + 10**9, "relation_to_head": "子女"}]},
         "members", "不存在"),
        ({"number": unique_name("户"), "members": [{"resident_id": b.pk, "relation_to_head": "堂兄"}]}, "members",
         "与户主关系"),
        ({"number": ""}, "number", "不能为空"),
    ]
    for data, field, text in cases:
        with pytest.raises(ApplicationError) as exc:
            services.household_create(acting_user=p.worker, region_code=p.grid.code, data=data)
        assert text in exc.value.extra["errors"][field], (data, exc.value.extra)
    b.refresh_from_db()
    assert Household.objects.count() == count and b.household_id is None


def test_a_second_head_is_refused(p):
    a = make_resident(p.worker, p.grid)
    b = make_resident(p.worker, p.grid)
    with pytest.raises(ApplicationError) as exc:
        services.household_create(acting_user=p.worker, region_code=p.grid.code, data={
            "number": unique_name("户"), "members": [{"resident_id": a.pk, "relation_to_head": "户主"},
                                                     {"resident_id": b.pk, "relation_to_head": "户主"}]})
    assert "一户只能有一位户主" in exc.value.message
    household = services.household_create(acting_user=p.worker, region_code=p.grid.code, data={
        "number": unique_name("户"), "members": [{"resident_id": a.pk, "relation_to_head": "户主"}]})
    with pytest.raises(ApplicationError) as exc:
        services.resident_update(acting_user=p.worker, resident_id=b.pk,
                                 data={"household_id": household.pk, "relation_to_head": "户主"})
    assert "已有户主" in exc.value.message
    services.resident_update(acting_user=p.worker, resident_id=b.pk,
                             data={"household_id": household.pk, "relation_to_head": "配偶"})
    b.refresh_from_db()
    assert b.household_id == household.pk


# --- addresses, houses, organisations --------------------------------------------------------------------------------

def test_address_and_house(p):
    address = services.address_create(acting_user=p.worker, region_code=p.grid.code,
                                      data={"road": "湖山村三组", "house_number": "12", "lon": 112.5, "lat": 31.4})
    assert address.short_text == "湖山村三组12号"
    with pytest.raises(ApplicationError) as exc:
        services.address_create(acting_user=p.worker, region_code=p.grid.code, data={"lon": 200, "lat": 31})
    assert set(exc.value.extra["errors"]) == {"lon", "road"}
    with pytest.raises(NotFound):
        services.address_update(acting_user=p.other_worker, address_id=address.pk, data={"room": "1"})
    services.address_update(acting_user=p.worker, address_id=address.pk, data={"building": "2"})
    owner = make_resident(p.worker, p.grid)
    house = services.house_create(acting_user=p.worker, data={"address_id": address.pk, "use": "出租",
                                                              "occupancy": "tenant", "owner_id": owner.pk,
                                                              "floor_area": "120.5"})
    assert house.region_id == p.grid.code and house.use == "rental" and str(house.floor_area) == "120.5"
    with pytest.raises(ApplicationError) as exc:
        services.house_create(acting_user=p.worker, data={"address_id": address.pk})
    assert "已登记房屋" in exc.value.message
    assert House.objects.filter(address=address).count() == 1
    with pytest.raises(ApplicationError) as exc:
        services.house_update(acting_user=p.worker, house_id=house.pk, data={"floor_area": -3, "use": "仓库"})
    assert set(exc.value.extra["errors"]) == {"floor_area", "use"}
    assert Address.objects.get(pk=address.pk).building == "2"


def test_organisation_credit_code_and_phone_are_checked(p):
    org = services.organisation_create(acting_user=p.worker, region_code=p.grid.code, data={
        "name": "湖山村卫生室", "kind": "医疗机构", "credit_code": "91350100m000100y43",
        "contact_phone": "0724-4212345", "employees": 3})
    assert org.kind == "clinic" and org.credit_code == "91350100M000100Y43"
    entry = AuditEntry.objects.get(action="people.organisation.create", object_id=str(org.pk))
    assert entry.changes["contact_phone"] == "072*****2345"
    with pytest.raises(ApplicationError) as exc:
        services.organisation_create(acting_user=p.worker, region_code=p.grid.code, data={
            "name": "", "kind": "网吧", "credit_code": "91350100M000100Y44", "contact_phone": "123", "employees": -1})
    errors = exc.value.extra["errors"]
    assert set(errors) == {"name", "kind", "credit_code", "contact_phone", "employees"}
    assert "校验位错误：最后一位应为 3" in errors["credit_code"]
    services.organisation_update(acting_user=p.admin, organisation_id=org.pk, data={"employees": 5})
    with pytest.raises(NotFound):
        services.organisation_update(acting_user=p.other_worker, organisation_id=org.pk, data={"employees": 9})
    assert Organisation.objects.get(pk=org.pk).employees == 5


# --- care tags -------------------------------------------------------------------------------------------------------

def test_care_tag_attributes_frequency_and_sensitivity(p):
    resident = make_resident(p.worker, p.grid)
    tag = services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="severe_mental_disorder",
                                attributes={"risk_level": "3", "in_hospital": "是", "diagnosis": "精神分裂症"},
                                since=date(2020, 1, 1))
    assert tag.visit_every_days == 1 and tag.sensitivity == 3 and tag.region_id == p.grid.code
    assert "精神分裂症" not in audit_text(tag)
    services.care_tag_update(acting_user=p.worker, tag_id=tag.pk, attributes={"risk_level": 2})
    tag.refresh_from_db()
    assert tag.visit_every_days == 14
    services.care_tag_update(acting_user=p.worker, tag_id=tag.pk, attributes={"risk_level": 0})
    tag.refresh_from_db()
    assert tag.visit_every_days == 30


def test_care_tag_refusals(p):
    resident = make_resident(p.worker, p.grid)
    cases = [
        ("severe_mental_disorder", {"risk_level": 9}, "attributes.risk_level", "0 到 5"),
        ("disabled", {"grade": "五级"}, "attributes.grade", "可选：一级、二级、三级、四级"),
        ("disabled", {"colour": "红"}, "attributes.colour", "没有属性"),
        ("advanced_age", {"allowance": "也许"}, "attributes.allowance", "是”或“否"),
        ("no_such_type", {}, "tag_type", "不存在"),
    ]
    for code, attributes, field, text in cases:
        with pytest.raises(ApplicationError) as exc:
            services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code=code,
                                  attributes=attributes)
        assert text in exc.value.extra["errors"][field], (code, exc.value.extra)
    with pytest.raises(ApplicationError) as exc:
        services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="dibao",
                              since=date.today() + timedelta(days=3))
    assert "不能晚于今天" in exc.value.message
    # A grid administrator may not see (so may not set) the restricted groups.
    with pytest.raises(PermissionDenied):
        services.care_tag_add(acting_user=p.admin, resident_id=resident.pk, tag_type_code="severe_mental_disorder")
    with pytest.raises(NotFound):
        services.care_tag_add(acting_user=p.other_worker, resident_id=resident.pk, tag_type_code="dibao")
    assert not CareTag.objects.filter(resident=resident).exists()

    services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="dibao")
    with pytest.raises(ApplicationError) as exc:
        services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="dibao")
    assert "已有“低保户”标签" in exc.value.message


def test_care_tag_end_keeps_history(p):
    resident = make_resident(p.worker, p.grid)
    tag = services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="left_behind_child",
                                since=date(2024, 3, 1))
    with pytest.raises(ApplicationError) as exc:
        services.care_tag_end(acting_user=p.worker, tag_id=tag.pk, ended_on=date(2024, 1, 1))
    assert "不能早于认定日期" in exc.value.message
    with pytest.raises(NotFound):
        services.care_tag_end(acting_user=p.worker, tag_id=tag.pk, resident_id=resident.pk + 1)
    with pytest.raises(PermissionDenied):
        services.care_tag_end(acting_user=p.cadre, tag_id=tag.pk)
    restricted = services.care_tag_add(acting_user=p.worker, resident_id=resident.pk,
                                       tag_type_code="severe_mental_disorder")
    with pytest.raises(NotFound):  # sensitivity 3: the grid administrator cannot see it, so it is "missing"
        services.care_tag_end(acting_user=p.admin, tag_id=restricted.pk)
    restricted.refresh_from_db()
    assert restricted.ended_on is None
    services.care_tag_end(acting_user=p.worker, tag_id=tag.pk, reason="父母返乡")
    tag.refresh_from_db()
    assert tag.ended_on == date.today()
    with pytest.raises(ApplicationError) as exc:
        services.care_tag_end(acting_user=p.worker, tag_id=tag.pk)
    assert exc.value.code == "wrong_state"
    # A new period of the same group may start after the old one ended.
    services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="left_behind_child")
    assert CareTag.objects.filter(resident=resident, tag_type__code="left_behind_child").count() == 2


def test_cadre_cannot_create_anything(p):
    for call in (
        lambda: services.address_create(acting_user=p.cadre, region_code=p.grid.code, data={"road": "x"}),
        lambda: services.household_create(acting_user=p.cadre, region_code=p.grid.code, data={"number": "1"}),
        lambda: services.organisation_create(acting_user=p.cadre, region_code=p.grid.code,
                                             data={"name": "x", "kind": "shop"}),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_unique_name_helper_is_a_valid_name():
    from gridgov.people.validation import clean_resident_data

    assert clean_resident_data({"name": unique_name()}, partial=True).ok
