"""GeoReport v2 conformance: every response checked field by field against the specification
(wiki.open311.org/GeoReport_v2) in JSON and in XML (parsed with the standard library)."""

import json
import re
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.cases.choices import Source
from gridgov.cases.models import Case, CaseCategory
from gridgov.cases.services import case_reject
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role
from gridgov.open311.models import ServiceRequest

from .conftest import HUJI, LENGSHUI, grid_point

pytestmark = pytest.mark.django_db
BASE = "/open311/v2/"
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]


def get(path, **params):
    response = Client().get(BASE + path, params)
    return response


def post(path, data):
    return Client().post(BASE + path, data)


def as_json(response):
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return json.loads(response.content)


def as_xml(response):
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    assert response.content.startswith(b"<?xml")
    return ET.fromstring(response.content)


def assert_error(response, status, fmt="json"):
    assert response.status_code == status, (response.status_code, response.content)
    if fmt == "json":
        body = as_json(response)
        assert isinstance(body, list) and len(body) == 1
        assert set(body[0]) == {"code", "description"}
        assert body[0]["code"] == status and body[0]["description"]
    else:
        root = as_xml(response)
        assert root.tag == "errors"
        errors = root.findall("error")
        assert len(errors) == 1
        assert [c.tag for c in errors[0]] == ["code", "description"]
        assert errors[0].findtext("code") == str(status) and errors[0].findtext("description")


def leaf():
    return CaseCategory.objects.filter(is_active=True, children__isnull=True, code="C0107").get()  # 路灯


def report(client, **extra):
    grid, lat, lon = grid_point("420881103201")
    data = {"api_key": client.raw_key, "service_code": "C0107", "lat": f"{lat:.6f}", "long": f"{lon:.6f}",
            "description": "湖山村村委会门口路灯不亮", "address_string": "胡集镇湖山村村委会门口",
            "first_name": "明", "last_name": "王", "phone": "13800001234", "device_id": "dev-1",
            "attribute[urgency]": "normal", "media_url": "https://example.org/lamp.jpg"}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


# --- discovery and services -------------------------------------------------------------------------


def test_discovery_json_and_xml():
    body = as_json(get("discovery.json"))
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/") and endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = as_xml(get("discovery.xml"))
    assert root.tag == "discovery"
    formats = root.findall("endpoints/endpoint/formats/format")
    assert {f.text for f in formats} == {"text/xml", "application/json"}
    assert root.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"


def test_services_json_field_by_field():
    body = as_json(get("services.json"))
    leaves = CaseCategory.objects.filter(is_active=True, children__isnull=True)
    assert len(body) == leaves.count() > 20
    for service in body:
        assert list(service) == SERVICE_FIELDS
        assert service["metadata"] is True and service["type"] in ("realtime", "batch", "blackbox")
        assert service["service_code"] and service["service_name"] and service["group"]
        assert isinstance(service["keywords"], str)
    lamp = next(s for s in body if s["service_code"] == "C0107")
    assert lamp["service_name"] == "路灯" and lamp["group"] == "公用设施"


def test_services_xml_matches_json():
    services = as_json(get("services.json"))
    root = as_xml(get("services.xml", jurisdiction_id="420881"))
    assert root.tag == "services"
    nodes = root.findall("service")
    assert len(nodes) == len(services)
    for node, service in zip(nodes, services, strict=True):
        assert [c.tag for c in node] == SERVICE_FIELDS
        assert node.findtext("metadata") == "true"
        for field in ("service_code", "service_name", "description", "type", "keywords", "group"):
            assert node.findtext(field) == service[field]


def test_unknown_jurisdiction_is_404_in_both_forms():
    assert_error(get("services.json", jurisdiction_id="999999"), 404)
    assert_error(get("services.xml", jurisdiction_id="999999"), 404, "xml")


def test_service_definition_json_and_xml():
    category = CaseCategory.objects.get(code="C0109")  # 燃气调压站: urgent or emergency only
    body = as_json(get("services/C0109.json"))
    assert body["service_code"] == "C0109"
    (attribute,) = body["attributes"]
    assert attribute["variable"] is True and attribute["code"] == "urgency"
    assert attribute["datatype"] == "singlevaluelist" and attribute["required"] is False
    assert attribute["order"] == 1 and attribute["description"] and attribute["datatype_description"]
    assert [v["key"] for v in attribute["values"]] == category.urgency_levels == ["urgent", "emergency"]
    assert [v["name"] for v in attribute["values"]] == ["紧急", "特急"]
    root = as_xml(get("services/C0109.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "C0109"
    node = root.find("attributes/attribute")
    assert [c.tag for c in node] == ["variable", "code", "datatype", "required", "datatype_description", "order",
                                     "description", "values"]
    assert node.findtext("variable") == "true" and node.findtext("required") == "false"
    assert [v.findtext("key") for v in node.findall("values/value")] == ["urgent", "emergency"]


def test_service_definition_refusals():
    assert_error(get("services/NOPE.json"), 404)
    assert_error(get("services/NOPE.xml"), 404, "xml")
    assert_error(get("services/C01.json"), 404)  # a group (大类) is not a service
    assert get("services/C0107.yaml").status_code == 404


# --- POST requests ---------------------------------------------------------------------------------


def test_post_creates_a_case_in_the_jurisdiction(huji):
    before = Case.objects.count()
    response = post("requests.json", report(huji))
    assert response.status_code == 201, response.content
    (body,) = as_json(response)
    assert list(body) == ["service_request_id", "token", "service_notice", "account_id"]
    case = Case.objects.get(number=body["service_request_id"])
    assert Case.objects.count() == before + 1
    assert case.source == Source.OPEN311 and case.category.code == "C0107"
    assert case.region_id.startswith("420881103201") and case.reporter_phone == "13800001234"
    assert case.reporter_name == "王 明" and case.urgency == "normal"
    assert case.reporter == huji.user and body["account_id"] is None
    row = ServiceRequest.objects.get(case=case)
    assert row.token == body["token"] and row.client == huji and row.media_url == "https://example.org/lamp.jpg"
    assert AuditEntry.objects.filter(action="open311.request.submit", object_id=str(row.pk)).exists()


def test_post_xml_response(huji):
    response = post("requests.xml", report(huji, account_id="acct-9"))
    assert response.status_code == 201
    root = as_xml(response)
    assert root.tag == "service_requests"
    (node,) = root.findall("request")
    assert [c.tag for c in node] == ["service_request_id", "token", "service_notice", "account_id"]
    assert Case.objects.filter(number=node.findtext("service_request_id")).exists()
    assert node.findtext("account_id") == "acct-9"


def test_post_with_address_only_finds_the_village(huji):
    response = post("requests.json", report(huji, lat=None, long=None, address_string="胡集镇湖山村三组"))
    assert response.status_code == 201, response.content
    case = Case.objects.get(number=as_json(response)[0]["service_request_id"])
    assert case.region_id.startswith("420881103201") and case.lat is None


def test_retry_returns_the_same_request(huji):
    first = post("requests.json", report(huji))
    count = Case.objects.count()
    again = post("requests.json", report(huji))
    assert again.status_code == 200
    assert as_json(again) == as_json(first)
    assert Case.objects.count() == count
    other = post("requests.json", report(huji, description="另一盏路灯也不亮"))
    assert other.status_code == 201 and Case.objects.count() == count + 1


def test_retry_after_the_window_is_a_new_request(huji):
    first = as_json(post("requests.json", report(huji)))[0]
    ServiceRequest.objects.filter(token=first["token"]).update(created_at=timezone.now() - timedelta(hours=25))
    second = post("requests.json", report(huji))
    assert second.status_code == 201 and as_json(second)[0]["token"] != first["token"]


@pytest.mark.parametrize(("change", "status"), [
    ({"api_key": None}, 401),
    ({"api_key": "o311_wrong"}, 403),
    ({"service_code": "NOPE"}, 404),
    ({"service_code": None}, 404),
    ({"lat": None, "long": None, "address_string": None}, 400),
    ({"lat": None, "long": None, "address_string": "某地"}, 400),
    ({"long": None}, 400),
    ({"lat": "abc"}, 400),
    ({"lat": "95"}, 400),
    ({"service_code": "C0109"}, 400),  # 燃气调压站 is never 一般 (normal)
    ({"attribute[colour]": "red"}, 400),
    ({"media_url": "javascript:alert(1)"}, 400),
    ({"description": "长" * 2001}, 400),
    ({"jurisdiction_id": LENGSHUI}, 403),
])
def test_post_refusals_change_nothing(huji, change, status):
    before = (Case.objects.count(), ServiceRequest.objects.count())
    data = report(huji, **change)
    data = {k: v for k, v in data.items() if v is not None}
    for fmt in ("json", "xml"):
        assert_error(post(f"requests.{fmt}", data), status, fmt)
    assert (Case.objects.count(), ServiceRequest.objects.count()) == before


def test_post_outside_the_jurisdiction_is_refused(huji):
    _, lat, lon = grid_point("420881107201")  # 百井村, 冷水镇
    before = Case.objects.count()
    assert_error(post("requests.json", report(huji, lat=str(lat), long=str(lon))), 403)
    assert Case.objects.count() == before


def test_revoked_key_is_refused(huji):
    from django.core.management import call_command

    call_command("open311_key", "revoke", "--name", huji.name)
    assert_error(post("requests.json", report(huji)), 403)
    assert_error(get("requests.json", api_key=huji.raw_key), 403, "json")


def test_method_and_size_limits(huji):
    assert_error(Client().delete(BASE + "requests.json"), 405)
    assert_error(Client().post(BASE + "services.json"), 405)
    big = report(huji, description="长" * 40000)
    assert_error(post("requests.xml", big), 413, "xml")


def test_rate_limit_per_key(huji, lengshui, settings):
    settings.OPEN311_RATE = (3, 60)
    for _ in range(3):
        assert get("requests.json", api_key=huji.raw_key).status_code == 200
    refused = get("requests.json", api_key=huji.raw_key)
    assert_error(refused, 429)
    assert int(refused["Retry-After"]) > 0
    assert get("requests.json", api_key=lengshui.raw_key).status_code == 200  # another key has its own budget


# --- GET requests ----------------------------------------------------------------------------------


def _submit(client, **extra):
    response = post("requests.json", report(client, **extra))
    assert response.status_code == 201, response.content
    return as_json(response)[0]


def test_get_one_json_field_by_field(huji):
    sent = _submit(huji)
    body = as_json(get(f"requests/{sent['service_request_id']}.json", api_key=huji.raw_key))
    (record,) = body
    assert list(record) == REQUEST_FIELDS
    case = Case.objects.get(number=sent["service_request_id"])
    assert record["status"] == "open" and record["status_notes"] == "submitted: 待受理"
    assert record["service_code"] == "C0107" and record["service_name"] == "路灯"
    assert record["description"] == "湖山村村委会门口路灯不亮"
    assert W3C.match(record["requested_datetime"]) and W3C.match(record["updated_datetime"])
    assert record["requested_datetime"].endswith("+08:00")
    assert record["expected_datetime"] is None or W3C.match(record["expected_datetime"])
    assert record["lat"] == pytest.approx(case.lat) and record["long"] == pytest.approx(case.lon)
    assert record["media_url"] == "https://example.org/lamp.jpg" and record["address"] == "胡集镇湖山村村委会门口"


def test_get_one_xml_field_by_field(huji):
    sent = _submit(huji)
    root = as_xml(get(f"requests/{sent['service_request_id']}.xml", api_key=huji.raw_key))
    assert root.tag == "service_requests"
    (node,) = root.findall("request")
    assert [c.tag for c in node] == REQUEST_FIELDS
    assert node.findtext("service_request_id") == sent["service_request_id"]
    assert node.findtext("status") == "open" and node.findtext("status_notes") == "submitted: 待受理"
    assert W3C.match(node.findtext("requested_datetime"))
    float(node.findtext("lat")), float(node.findtext("long"))


def test_closed_state_and_extended_status(huji):
    sent = _submit(huji)
    operator = user_with_role("town_operator", HUJI)
    case_reject(acting_user=operator, case=Case.objects.get(number=sent["service_request_id"]).pk,
                reason="非本平台受理事项")
    (record,) = as_json(get(f"requests/{sent['service_request_id']}.json", api_key=huji.raw_key))
    assert record["status"] == "closed" and record["status_notes"] == "rejected: 不予受理"
    assert record["expected_datetime"] is None
    ids = {r["service_request_id"] for r in as_json(get("requests.json", api_key=huji.raw_key, status="closed"))}
    assert sent["service_request_id"] in ids
    ids = {r["service_request_id"] for r in as_json(get("requests.json", api_key=huji.raw_key, status="open"))}
    assert sent["service_request_id"] not in ids


def test_list_filters(huji):
    lamp = _submit(huji)
    other = _submit(huji, service_code="C0101", description="上水井盖破损")
    old = _submit(huji, description="去年的路灯")
    ServiceRequest.objects.filter(token=old["token"]).update(created_at=timezone.now() - timedelta(days=100))
    key = huji.raw_key

    def ids(**params):
        return [r["service_request_id"] for r in as_json(get("requests.json", api_key=key, **params))]

    default = ids()
    assert lamp["service_request_id"] in default and other["service_request_id"] in default
    assert old["service_request_id"] not in default  # default window: 90 days
    assert ids(service_code="C0101") == [other["service_request_id"]]
    assert set(ids(service_request_id=f"{lamp['service_request_id']},{old['service_request_id']}")) == {
        lamp["service_request_id"], old["service_request_id"]}  # an id list ignores the date window
    start = (timezone.now() - timedelta(days=120)).isoformat(timespec="seconds")
    end = (timezone.now() - timedelta(days=50)).isoformat(timespec="seconds")
    assert ids(start_date=start, end_date=end) == [old["service_request_id"]]
    xml = as_xml(get("requests.xml", api_key=key, service_code="C0101"))
    assert [n.findtext("service_request_id") for n in xml.findall("request")] == [other["service_request_id"]]


@pytest.mark.parametrize("params", [
    {"start_date": "yesterday"},
    {"end_date": "2026-13-01T00:00:00+08:00"},
    {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"},
    {"start_date": "2026-06-01T00:00:00+08:00", "end_date": "2026-05-01T00:00:00+08:00"},
    {"status": "pending"},
])
def test_list_bad_filters_are_400(huji, params):
    assert_error(get("requests.json", api_key=huji.raw_key, **params), 400)
    assert_error(get("requests.xml", api_key=huji.raw_key, **params), 400, "xml")


def test_a_key_reads_only_its_jurisdiction(huji, lengshui):
    sent = _submit(huji)
    assert as_json(get("requests.json", api_key=lengshui.raw_key)) == []
    assert_error(get(f"requests/{sent['service_request_id']}.json", api_key=lengshui.raw_key), 404)
    assert_error(get(f"tokens/{sent['token']}.xml", api_key=lengshui.raw_key), 404, "xml")
    assert_error(get("requests.json"), 401)
    assert_error(get(f"requests/{sent['service_request_id']}.xml"), 401, "xml")


def test_cases_not_from_open311_are_not_listed(huji):
    from gridgov.cases.services import case_report

    worker = user_with_role("grid_worker", grid_point("420881103201")[0])
    case = case_report(acting_user=worker, category="C0107", description="网格员上报的路灯")
    assert case.number not in {r["service_request_id"] for r in as_json(get("requests.json", api_key=huji.raw_key))}
    assert_error(get(f"requests/{case.number}.json", api_key=huji.raw_key), 404)


def test_token_lookup(huji):
    sent = _submit(huji)
    (body,) = as_json(get(f"tokens/{sent['token']}.json", api_key=huji.raw_key))
    assert body == {"service_request_id": sent["service_request_id"], "token": sent["token"]}
    root = as_xml(get(f"tokens/{sent['token']}.xml", api_key=huji.raw_key))
    assert [c.tag for c in root.find("request")] == ["service_request_id", "token"]
    assert_error(get("tokens/00000000-0000-0000-0000-000000000000.json", api_key=huji.raw_key), 404)


def test_list_queries_do_not_grow(huji, django_assert_max_num_queries):
    for n in range(3):
        _submit(huji, description=f"路灯 {n}")
    with django_assert_max_num_queries(6):
        assert len(as_json(get("requests.json", api_key=huji.raw_key))) == 3


def test_jurisdiction_id_narrows_the_list(huji):
    sent = _submit(huji)
    key = huji.raw_key
    inside = as_json(get("requests.json", api_key=key, jurisdiction_id="420881103201"))
    assert [r["service_request_id"] for r in inside] == [sent["service_request_id"]]
    assert as_json(get("requests.json", api_key=key, jurisdiction_id="420881103202")) == []  # 袁台村
    assert_error(get("requests.json", api_key=key, jurisdiction_id=LENGSHUI), 403)
    assert_error(get("requests.xml", api_key=key, jurisdiction_id="999999999"), 404, "xml")


def test_control_characters_still_give_well_formed_xml(huji):
    sent = _submit(huji, description="路灯\x01不亮\x1f")
    root = as_xml(get(f"requests/{sent['service_request_id']}.xml", api_key=huji.raw_key))
    assert root.findtext("request/description").startswith("路灯")
