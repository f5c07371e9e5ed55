"""/api/v1/people/: masks, scope, permissions, errors, pagination and query counts."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint
from gridgov.people import services
from gridgov.people.models import CareTag, Household, Resident

from .registry_helpers import make_resident, new_id, place, unique_name

pytestmark = pytest.mark.django_db


@pytest.fixture
def p():
    return place()


@pytest.fixture
def worker(p):
    return ApiClient(p.worker)


def test_list_is_masked_paginated_and_scoped(p, worker):
    number = new_id()
    resident = make_resident(p.worker, p.grid, id_number=number, phone="13812345678")
    status, body = worker.get("people/residents", {"q": resident.name})
    assert status == 200 and body["count"] == 1
    item = body["items"][0]
    assert item["id_number_masked"] == number[:6] + "********" + number[-4:]
    assert item["phone_masked"] == "138****5678"
    assert item["name"] == resident.name and item["region_code"] == p.grid.code
    raw = json.dumps(body, ensure_ascii=False)
    assert number not in raw and "13812345678" not in raw
    # The neighbour's worker does not find them, by name or by exact number.
    other = ApiClient(p.other_worker)
    assert other.get("people/residents", {"q": resident.name})[1] == {"count": 0, "items": []}
    assert other.get("people/residents", {"id_number": number})[1] == {"count": 0, "items": []}
    assert worker.get("people/residents", {"id_number": number})[1]["count"] == 1
    status, found = worker.post("people/residents/search?page_size=5", {"id_number": number, "phone": "13812345678"})
    assert status == 200 and [i["id"] for i in found["items"]] == [resident.pk]
    assert other.post("people/residents/search", {"id_number": number})[1] == {"count": 0, "items": []}
    assert_error(*ApiClient().get("people/residents"), 401, "not_authenticated")
    assert_error(*ApiClient(p.auditor).get("people/residents"), 403, "permission_denied")


def test_detail_in_and_out_of_scope(p):
    resident = make_resident(p.worker, p.grid, health_note="哮喘")
    body = assert_scoped_endpoint(f"/api/v1/people/residents/{resident.pk}", in_scope_user=p.worker,
                                  out_of_scope_user=p.other_worker)
    assert body["has_health_note"] is True and "哮喘" not in json.dumps(body, ensure_ascii=False)
    assert "id_number" not in body and "phone" not in body
    assert_error(*ApiClient(p.worker).get("people/residents/999999999"), 404, "not_found")


def test_department_staff_see_masked_names():
    from gridgov.accounts.choices import Role
    from gridgov.accounts.models import Department
    from gridgov.core.testing import user_with_role

    department = Department.objects.filter(assignments__role=Role.DEPT_STAFF, jurisdiction__isnull=False).first()
    staff = user_with_role(Role.DEPT_STAFF, department_code=department.code)
    code = department.jurisdiction.order_by("code").values_list("code", flat=True).first()
    from gridgov.regions.models import Region

    grid = Region.objects.filter(level=4, code__startswith=code).order_by("code").first()
    city = user_with_role(Role.CITY_OPERATOR, "420881")
    resident = make_resident(city, grid, name="王必俊")
    status, body = ApiClient(staff).get(f"people/residents/{resident.pk}")
    assert status == 200 and body["name"] == "王*俊"
    assert ApiClient(city).get(f"people/residents/{resident.pk}")[1]["name"] == "王必俊"


def test_create_update_and_refusals(p, worker):
    number = new_id()
    status, body = worker.post("people/residents", {
        "region_code": p.grid.code, "name": "胡晓梅", "id_number": number, "phone": "13912345678",
        "residency_status": "外出务工"})
    assert status == 201, body
    assert body["residency_status"] == "away" and body["phone_masked"] == "139****5678"
    pk = body["id"]
    count = Resident.objects.count()

    status, body = worker.post("people/residents", {"region_code": p.grid.code, "name": "胡晓梅", "id_number": number})
    assert_error(status, body, 400, "duplicate_id_number")
    assert body["message"] == "该身份证号码已登记"
    status, body = worker.post("people/residents", {"region_code": p.grid.code, "name": "张三",
                                                    "id_number": number[:-1] + ("1" if number[-1] != "1" else "2")})
    assert_error(status, body, 400, "invalid")
    assert "校验位错误" in body["extra"]["errors"]["id_number"]
    status, body = worker.post("people/residents", {"region_code": p.grid.code})
    assert_error(status, body, 422, "invalid_input")
    status, body = worker.post("people/residents", {"region_code": p.other_grid.code, "name": "张三",
                                                    "id_number": new_id()})
    assert_error(status, body, 404, "not_found")
    assert_error(*ApiClient(p.cadre).post("people/residents", {"region_code": p.grid.code, "name": "张三",
                                                                  "id_number": new_id()}), 403, "permission_denied")
    assert Resident.objects.count() == count

    status, body = worker._call("patch", f"people/residents/{pk}", {"occupation": "深圳务工", "phone": "13500001111"})
    assert status == 200 and body["occupation"] == "深圳务工" and body["phone_masked"] == "135****1111"
    status, body = ApiClient(p.other_worker)._call("patch", f"people/residents/{pk}", {"occupation": "x"})
    assert_error(status, body, 404, "not_found")
    status, body = worker._call("patch", f"people/residents/{pk}", {"phone": "110"})
    assert_error(status, body, 400, "invalid")
    assert "联系电话" in body["message"]
    assert Resident.objects.get(pk=pk).occupation == "深圳务工"


def test_reveal_endpoint(p, worker):
    number = new_id()
    resident = make_resident(p.worker, p.grid, id_number=number)
    url = f"people/residents/{resident.pk}/reveal"
    assert_error(*worker.post(url, {"fields": ["id_number"], "reason": "看"}), 400, "reason_required")
    assert_error(*worker.post(url, {"fields": ["id_number"]}), 422, "invalid_input")
    assert_error(*ApiClient(p.cadre).post(url, {"fields": ["id_number"], "reason": "核对身份信息"}), 403)
    assert_error(*ApiClient(p.other_worker).post(url, {"fields": ["id_number"], "reason": "核对身份信息"}), 404)
    status, body = worker.post(url, {"fields": ["id_number", "phone"], "reason": "代办低保申请核对身份"})
    assert status == 200 and body["id_number"] == number and body["phone"] == "13807241234"
    entry = AuditEntry.objects.get(action="people.reveal", object_id=str(resident.pk), outcome="success")
    assert entry.message == "代办低保申请核对身份" and entry.actor == p.worker


def test_tags_add_update_end_and_sensitivity(p, worker):
    resident = make_resident(p.worker, p.grid)
    base = f"people/residents/{resident.pk}/tags"
    status, body = worker.post(base, {"tag_type": "severe_mental_disorder", "attributes": {"risk_level": 4}})
    assert status == 201 and body["visit_every_days"] == 1 and body["sensitivity"] == 3
    assert body["attributes"] == [{"key": "risk_level", "label": "危险性评估等级", "value": 4}]
    restricted = body["id"]
    status, body = worker.post(base, {"tag_type": "dibao", "attributes": {"monthly_amount": "abc"}})
    assert_error(status, body, 400, "invalid")
    assert body["extra"]["errors"]["attributes.monthly_amount"] == "月保障金(元)应为整数"
    status, body = worker.post(base, {"tag_type": "dibao", "attributes": {"monthly_amount": 500}})
    assert status == 201
    dibao = body["id"]
    status, body = worker._call("patch", f"{base}/{restricted}", {"attributes": {"risk_level": 1}})
    assert status == 200 and body["visit_every_days"] == 30

    admin = ApiClient(p.admin)
    status, body = admin.get(f"people/residents/{resident.pk}")
    assert [t["code"] for t in body["tags"]] == ["dibao"]
    assert_error(*admin.post(f"{base}/{restricted}/end", {}), 404)
    assert_error(*admin.post(base, {"tag_type": "severe_mental_disorder"}), 403)
    assert admin.get("people/residents", {"tag": "severe_mental_disorder"})[1] == {"count": 0, "items": []}
    cadre = ApiClient(p.cadre)
    assert cadre.get(f"people/residents/{resident.pk}")[1]["tags"] == []
    assert cadre.get("people/residents", {"tag": "dibao"})[1]["count"] == 0
    assert {t["code"] for t in cadre.get("people/care-tag-types")[1]} == {
        "left_behind_woman", "left_behind_elderly", "living_alone_elderly", "advanced_age", "entitled_group"}

    status, body = worker.post(f"{base}/{dibao}/end", {"reason": "收入超标退出"})
    assert status == 200 and body["ended_on"]
    assert_error(*worker.post(f"{base}/{dibao}/end", {}), 400, "wrong_state")
    assert CareTag.objects.get(pk=dibao).ended_on is not None


def test_households_addresses_houses_organisations(p, worker):
    head = make_resident(p.worker, p.grid)
    child = make_resident(p.worker, p.grid)
    status, address = worker.post("people/addresses", {"region_code": p.grid.code, "road": "湖山村二组",
                                                       "house_number": "8"})
    assert status == 201 and address["text"] == "湖山村二组8号"
    status, household = worker.post("people/households", {
        "region_code": p.grid.code, "number": unique_name("户"), "address_id": address["id"],
        "members": [{"resident_id": head.pk, "relation_to_head": "户主"},
                    {"resident_id": child.pk, "relation_to_head": "子女"}]})
    assert status == 201, household
    assert household["head_id"] == head.pk and household["address"] == "湖山村二组8号"
    assert {m["id"] for m in household["members"]} == {head.pk, child.pk}
    assert all("*" in m["id_number_masked"] for m in household["members"])
    assert_scoped_endpoint(f"/api/v1/people/households/{household['id']}", in_scope_user=p.worker,
                           out_of_scope_user=p.other_worker)
    status, body = worker._call("patch", f"people/households/{household['id']}", {"head_id": child.pk})
    assert status == 200 and body["head_id"] == child.pk
    assert worker.get("people/households", {"q": household["number"]})[1]["count"] == 1
    assert ApiClient(p.other_worker).get("people/households", {"q": household["number"]})[1]["count"] == 0

    status, house = worker.post("people/houses", {"address_id": address["id"], "use": "自住", "owner_id": head.pk})
    assert status == 201 and house["owner_name"] == head.name
    assert_error(*worker.post("people/houses", {"address_id": address["id"]}), 400)
    assert worker.get("people/houses", {"region": p.grid.code})[1]["count"] >= 1

    status, org = worker.post("people/organisations", {"region_code": p.grid.code, "name": "湖山村农资店",
                                                       "kind": "商铺", "contact_phone": "13612345678"})
    assert status == 201 and org["contact_phone_masked"] == "136****5678"
    assert "13612345678" not in json.dumps(org)
    assert_scoped_endpoint(f"/api/v1/people/organisations/{org['id']}", in_scope_user=p.worker,
                           out_of_scope_user=p.other_worker)
    assert worker.get("people/organisations", {"q": "湖山村农资店"})[1]["count"] == 1
    assert_error(*worker.post("people/organisations", {"region_code": p.grid.code, "name": "x", "kind": "网吧"}),
                 400, "invalid")
    assert Household.objects.filter(pk=household["id"]).exists()


def test_move_correct_history_and_subject_access(p):
    resident = make_resident(p.worker, p.grid)
    admin = ApiClient(p.admin)
    status, body = admin.post(f"people/residents/{resident.pk}/corrections",
                              {"ethnicity": "回族", "reason": "本人申请更正民族"})
    assert status == 200 and body["ethnicity"] == "回族"
    assert_error(*admin.post(f"people/residents/{resident.pk}/corrections", {"ethnicity": "回族", "reason": ""}),
                 400, "reason_required")
    status, body = admin.post(f"people/residents/{resident.pk}/move", {"region_code": p.other_grid.code})
    assert status == 200 and body["region_code"] == p.other_grid.code
    assert_error(*ApiClient(p.worker).post(f"people/residents/{resident.pk}/move",
                                           {"region_code": p.grid.code}), 404)
    status, body = admin.get(f"people/residents/{resident.pk}/history")
    actions = [i["action"] for i in body["items"]]
    assert actions[:3] == ["people.resident.move", "people.resident.correct", "people.resident.create"]
    assert body["items"][1]["message"] == "本人申请更正民族" and body["items"][1]["action_label"] == "更正人员信息"

    status, body = admin.post(f"people/residents/{resident.pk}/subject-access", {"reason": "本人申请查阅个人信息"})
    assert status == 200 and body["person"]["name"] == resident.name
    response = admin.client.post(f"/api/v1/people/residents/{resident.pk}/subject-access?format=xlsx",
                                 data=json.dumps({"reason": "本人申请复制个人信息"}), content_type="application/json",
                                 **admin.headers)
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert "attachment" in response["Content-Disposition"]
    assert_error(*ApiClient(p.worker).post(f"people/residents/{resident.pk}/subject-access",
                                           {"reason": "本人申请查阅个人信息"}), 404)


def test_list_query_count_does_not_grow_with_page_size(p):
    household = services.household_create(acting_user=p.worker, region_code=p.grid.code,
                                          data={"number": unique_name("户")})
    address = services.address_create(acting_user=p.worker, region_code=p.grid.code, data={"road": "湖山村一组"})
    for i in range(12):
        resident = make_resident(p.worker, p.grid, household_id=household.pk, address_id=address.pk)
        services.care_tag_add(acting_user=p.worker, resident_id=resident.pk,
                              tag_type_code=["dibao", "left_behind_elderly", "disabled"][i % 3])
    client = ApiClient(p.worker)
    client.get("people/residents", {"page_size": 1})  # token touch, caches
    for path in ("people/residents", "people/households", "people/organisations", "people/addresses"):
        with CaptureQueriesContext(connection) as small:
            status, body = client.get(path, {"page_size": 2, "region": p.grid.code})
        assert status == 200
        with CaptureQueriesContext(connection) as big:
            status, body = client.get(path, {"page_size": 200, "region": p.grid.code})
        assert status == 200
        assert len(big) == len(small) <= 7, (path, [q["sql"] for q in big.captured_queries])
    assert len(body["items"]) >= 0
    assert client.get("people/residents", {"page_size": 200, "region": p.grid.code})[1]["count"] >= 12
