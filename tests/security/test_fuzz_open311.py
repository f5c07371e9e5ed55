"""Schema fuzzing of Open311 GeoReport v2 (issue #11) against gridgov/open311/openapi.py.

For each generated call with a client's valid key (a town's): no 5xx, a declared status, a body
matching the declared schema (refusals in the spec's [{code, description}] form), JSON content. And
for every keyed operation: no key answers 401, a forged or revoked key 403, with the spec's error
body and nothing written. Each test rolls back; media_url is stored, never fetched (no network).
"""

import secrets

import pytest
from django.db import connection, transaction
from schemathesis.core.parameters import ParameterLocation

from gridgov.core.models import AuditEntry
from gridgov.open311 import openapi, services
from gridgov.open311.models import ServiceRequest
from gridgov.regions.models import Region

from . import fuzzing

pytestmark = pytest.mark.django_db

HUJI = "420881103"  # 胡集镇
DOCUMENT = openapi.document()
APP = fuzzing.InTransaction()
schema = fuzzing.load(DOCUMENT, app=APP, max_examples=10)
auth_schema = fuzzing.load(DOCUMENT, app=APP, max_examples=1, mode="positive")
KEYED = {f"{m.upper()} {p}" for p, ms in DOCUMENT["paths"].items() for m, op in ms.items()
         if any(par["name"] == "api_key" for par in op.get("parameters", []))
         or "api_key" in str(op.get("requestBody", ""))}


@pytest.fixture(autouse=True)
def _isolated():
    yield
    if connection.vendor == "sqlite":
        transaction.set_rollback(True)  # skip the whole-database foreign-key scan (see test_fuzz_api.py)


@pytest.fixture
def open311_client():
    """A town's client with one request already submitted, so reads by id and token find something."""
    client, key = services.client_issue(acting_user=None, name="胡集镇随手拍（模糊测试）", jurisdiction=HUJI)
    grid = Region.objects.filter(code__startswith=HUJI + "201", level=4).order_by("code").first()
    row, _ = services.request_submit(client=client, params={
        "service_code": "C0107", "lat": f"{grid.centroid_lat:.6f}", "long": f"{grid.centroid_lon:.6f}",
        "description": "路灯不亮"})
    client.raw_key, client.request, client.point = key, row, (grid.centroid_lat, grid.centroid_lon)
    return client


def _keyed(case, key: str) -> None:
    if case.operation.label not in KEYED:
        return
    if case.method == "POST":
        case.body = case.body if isinstance(case.body, dict) else {}
        case.body["api_key"] = key
    else:
        case.query = {**(case.query or {}), "api_key": key}


@schema.parametrize()
@fuzzing.hypothesis_settings_for(max_examples=10)
def test_fuzz(case, open311_client):
    # Generated ids and service codes are all but always unknown (404): valid cases name real ones.
    if not case.meta.is_negative_at(ParameterLocation.PATH):
        known = {"service_code": "C0107", "service_request_id": open311_client.request.case.number,
                 "token": open311_client.request.token}
        case.path_parameters.update({k: v for k, v in known.items() if k in case.path_parameters})
    if case.query and "jurisdiction_id" in case.query and not case.meta.is_negative_at(ParameterLocation.QUERY):
        case.query["jurisdiction_id"] = HUJI
    if isinstance(case.body, dict) and not case.meta.is_negative_at(ParameterLocation.BODY):
        # A real service, the key's town and, when coordinates are given, a point inside it: the other
        # fields stay generated, so the case service sees them instead of a refused position.
        case.body["service_code"] = "C0107"
        if "jurisdiction_id" in case.body:
            case.body["jurisdiction_id"] = HUJI
        if "lat" in case.body or "long" in case.body:
            case.body["lat"], case.body["long"] = open311_client.point
    _keyed(case, open311_client.raw_key)
    response = case.call()
    fuzzing.record(case, response)
    if case.meta.is_negative_at(ParameterLocation.PATH) and response.status_code == 404:
        return  # a path outside the URL patterns names no Open311 resource: Django's own 404 page
    case.validate_response(response)


@auth_schema.parametrize()
@fuzzing.hypothesis_settings_for(max_examples=1)
def test_keys_cannot_be_bypassed(case, open311_client):
    if case.operation.label not in KEYED:
        pytest.skip("discovery and services are public in GeoReport v2")
    revoked, revoked_key = services.client_issue(acting_user=None, name="已吊销（模糊测试）", jurisdiction=HUJI)
    services.client_revoke(acting_user=None, name=revoked.name)
    before = (AuditEntry.objects.count(), ServiceRequest.objects.count())
    wrong = []
    for name, key, expected in (("no key", "", 401), ("forged key", "o311_" + secrets.token_urlsafe(32), 403),
                                ("revoked key", revoked_key, 403)):
        _keyed(case, key)
        response = case.call()
        body = response.json() if response.status_code == expected else None
        if not (isinstance(body, list) and body and body[0].get("code") == expected):
            wrong.append(f"{name}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert (AuditEntry.objects.count(), ServiceRequest.objects.count()) == before


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    fuzzing.report(request, "Open311 schema fuzzing", {f"{m.upper()} {p}" for p, ms in DOCUMENT["paths"].items()
                                                       for m in ms})
