"""An OpenAPI 3.1 description of the GeoReport v2 JSON endpoints (docs/open311.md).

The views are plain Django views in the spec's own formats, so nothing generates this for us: it is
written out here, field by field as views.py renders them, for clients and for the schema fuzzer
(tests/security/test_fuzz_open311.py). XML is the same data in another form and is not described.
`api_key` is a query parameter on reads and a form field on POST (the spec's choice, which OpenAPI's
security schemes cannot express for a form body), so it is declared as an ordinary parameter."""

import copy

BASE = "/open311/v2"
JSON = "application/json"

_S = {"type": "string"}
_DATETIME = {"type": "string", "format": "date-time"}


def _obj(properties: dict, required: list | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties),
            "additionalProperties": False}


SCHEMAS = {
    "Error": _obj({"code": {"type": "integer", "minimum": 400, "maximum": 599}, "description": {**_S, "minLength": 1}}),
    "Discovery": _obj({
        "changeset": _DATETIME, "contact": _S, "key_service": _S,
        "endpoints": {"type": "array", "minItems": 1, "items": _obj({
            "specification": _S, "url": _S, "changeset": _DATETIME,
            "type": {"enum": ["production", "test"]}, "formats": {"type": "array", "items": _S}})},
    }),
    "Service": _obj({
        "service_code": _S, "service_name": _S, "description": _S, "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]}, "keywords": _S, "group": _S,
    }),
    "ServiceDefinition": _obj({
        "service_code": _S,
        "attributes": {"type": "array", "items": _obj({
            "variable": {"type": "boolean"}, "code": _S,
            "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
            "required": {"type": "boolean"}, "datatype_description": _S, "order": {"type": "integer"},
            "description": _S, "values": {"type": "array", "items": _obj({"key": _S, "name": _S})}})},
    }),
    "ServiceRequest": _obj({
        "service_request_id": _S, "status": {"enum": ["open", "closed"]}, "status_notes": _S,
        "service_name": _S, "service_code": _S, "description": _S, "agency_responsible": _S,
        "service_notice": _S, "requested_datetime": _DATETIME, "updated_datetime": _DATETIME,
        "expected_datetime": {"type": ["string", "null"], "format": "date-time"}, "address": _S,
        "address_id": _S, "zipcode": _S, "lat": {"type": ["number", "null"]}, "long": {"type": ["number", "null"]},
        "media_url": _S,
    }),
    "RequestAccepted": _obj({"service_request_id": _S, "token": _S, "service_notice": _S,
                             "account_id": {"type": ["string", "null"]}}),
    "RequestToken": _obj({"service_request_id": _S, "token": _S}),
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(name: str, **limits) -> dict:
    return {"type": "array", "items": _ref(name), **limits}


def _responses(ok: dict, *refusals: int, created: dict | None = None) -> dict:
    out = {"200": {"description": "OK", "content": {JSON: {"schema": ok}}}}
    if created is not None:
        out["201"] = {"description": "已受理", "content": {JSON: {"schema": created}}}
    for status in refusals:
        out[str(status)] = {"description": "拒绝（规范的错误格式）",
                            "content": {JSON: {"schema": _list_of("Error", minItems=1, maxItems=1)}}}
    return out


def _query(name: str, description: str, required: bool = False, **schema) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string", **schema}}


def _path(name: str, pattern: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": pattern}}


API_KEY = _query("api_key", "客户端密钥（open311_key issue 签发）", required=True, minLength=1)
JURISDICTION = _query("jurisdiction_id", "乡镇（街道）或村（社区）的区划代码；须在密钥的管辖区域内")
# Reads and writes of requests need the key: 401 without it, 403 for an unknown or revoked one, 429 over
# the rate limit; 404 for an unknown jurisdiction, service, request or token.
KEYED = (400, 401, 403, 404, 429)

POST_FIELDS = {
    "api_key": {**_S, "minLength": 1}, "jurisdiction_id": _S, "service_code": {**_S, "minLength": 1},
    "lat": {"type": "number", "minimum": -90, "maximum": 90},
    "long": {"type": "number", "minimum": -180, "maximum": 180},
    "address_string": {**_S, "maxLength": 200}, "address_id": _S, "email": _S, "device_id": _S,
    "account_id": _S, "first_name": _S, "last_name": _S, "phone": _S,
    "description": {**_S, "maxLength": 2000}, "media_url": {**_S, "maxLength": 500},
    "attribute[urgency]": {"enum": ["normal", "urgent", "emergency"]},
}


def document() -> dict:
    """The OpenAPI document (a new dict each call)."""
    service_code = _path("service_code", "^[A-Za-z0-9_-]{1,16}$")
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "gridgov Open311 GeoReport v2", "version": "v2",
                 "description": "钟祥市网格化管理平台的 Open311 接口（JSON 格式；XML 格式字段相同）。"},
        "paths": {
            f"{BASE}/discovery.json": {"get": {
                "operationId": "discovery", "summary": "服务发现", "responses": _responses(_ref("Discovery"))}},
            f"{BASE}/services.json": {"get": {
                "operationId": "service_list", "summary": "服务（案件小类）列表", "parameters": [JURISDICTION],
                "responses": _responses(_list_of("Service"), 404)}},
            f"{BASE}/services/{{service_code}}.json": {"get": {
                "operationId": "service_definition", "summary": "服务定义（可填属性）",
                "parameters": [service_code, JURISDICTION],
                "responses": _responses(_ref("ServiceDefinition"), 404)}},
            f"{BASE}/requests.json": {
                "get": {
                    "operationId": "request_list", "summary": "服务请求列表（本密钥提交、管辖区域内）",
                    "parameters": [
                        API_KEY, JURISDICTION,
                        _query("service_request_id", "逗号分隔，最多 1000 个；给出时忽略其他条件"),
                        _query("service_code", "逗号分隔"),
                        _query("start_date", "W3C 时间，默认 90 天前", format="date-time"),
                        _query("end_date", "W3C 时间；与 start_date 相隔不超过 90 天", format="date-time"),
                        _query("status", "open、closed 或两者（逗号分隔）"),
                    ],
                    "responses": _responses(_list_of("ServiceRequest", maxItems=1000), *KEYED)},
                "post": {
                    "operationId": "request_create", "summary": "提交服务请求（成为案件）",
                    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                        "type": "object", "properties": POST_FIELDS, "required": ["api_key", "service_code"]}}}},
                    "responses": _responses(_list_of("RequestAccepted", minItems=1, maxItems=1), *KEYED, 413,
                                            created=_list_of("RequestAccepted", minItems=1, maxItems=1))},
            },
            f"{BASE}/requests/{{service_request_id}}.json": {"get": {
                "operationId": "request_detail", "summary": "一个服务请求",
                "parameters": [_path("service_request_id", "^[A-Za-z0-9_-]{1,20}$"), API_KEY, JURISDICTION],
                "responses": _responses(_list_of("ServiceRequest", minItems=1, maxItems=1), *KEYED)}},
            f"{BASE}/tokens/{{token}}.json": {"get": {
                "operationId": "token_detail", "summary": "凭令牌查服务请求编号",
                "parameters": [_path("token", "^[A-Za-z0-9-]{1,36}$"), API_KEY],
                "responses": _responses(_list_of("RequestToken", minItems=1, maxItems=1), *KEYED)}},
        },
        "components": {"schemas": SCHEMAS},
    })
