"""GeoReport v2 endpoints: plain Django views (the spec has its own JSON and XML forms, not ours).

Reads of services are public; requests and tokens need the client's api_key, and a key reads and
creates only inside its jurisdiction. Every refusal uses the spec's error form."""

import functools

from django.conf import settings
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from gridgov.core import ratelimit
from gridgov.core.errors import ApplicationError

from . import selectors, services
from .formats import render, render_errors, w3c
from .models import ApiClient, ServiceRequest

SPEC = "http://wiki.open311.org/GeoReport_v2"
MAX_BODY = 64 * 1024


def _rate() -> tuple[int, int]:
    return tuple(getattr(settings, "OPEN311_RATE", (120, 60)))


def georeport(methods=("GET",), key: bool = False):
    """Method check, body size, api_key and rate limit, and ApplicationError → spec error form."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def inner(request, fmt, **kwargs):
            if request.method not in methods:
                response = render_errors(fmt, 405, f"不支持 {request.method} 方法")
                response["Allow"] = ", ".join(methods)
                return response
            if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
                return render_errors(fmt, 413, "请求体过大（上限 64 KB）")
            client = None
            if key:
                params = request.POST if request.method == "POST" else request.GET
                raw = (params.get("api_key") or "").strip()
                if not raw:
                    return render_errors(fmt, 401, "缺少 api_key")
                client = services.client_for_key(raw)
                if client is None:
                    return render_errors(fmt, 403, "api_key 无效或已吊销")
                limit, window = _rate()
                decision = ratelimit.hit(f"open311:{client.pk}", limit=limit, window=window)
                if not decision.allowed:
                    retry = decision.retry_after
                    return render_errors(fmt, 429, f"请求过于频繁，请 {retry} 秒后再试", {"Retry-After": str(retry)})
            try:
                return view(request, fmt, client=client, **kwargs)
            except ApplicationError as error:
                return render_errors(fmt, error.status, error.message)

        return inner

    return wrap


def _service(category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or f"{category.parent.name if category.parent_id else ''}·{category.name}",
        "metadata": True,
        "type": "realtime",
        "keywords": selectors.service_keywords(category),
        "group": category.parent.name if category.parent_id else str(category.get_kind_display()),
    }


@georeport()
def discovery(request, fmt, client: ApiClient | None):
    base = request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": fmt})).rsplit("/", 1)[0] + "/"
    data = {
        "changeset": "2026-12-04T00:00:00+08:00",
        "contact": "钟祥市网格化管理中心",
        "key_service": "向钟祥市网格化管理中心申请 api_key（管理命令 open311_key issue）",
        "endpoints": [{"specification": SPEC, "url": base, "changeset": "2026-12-04T00:00:00+08:00",
                       "type": "production", "formats": ["text/xml", "application/json"]}],
    }
    return render(fmt, "discovery", None, data)


@georeport()
def service_list(request, fmt, client):
    _jurisdiction(request)
    return render(fmt, "services", "service", [_service(c) for c in selectors.service_list()])


def _jurisdiction(request) -> None:
    code = (request.GET.get("jurisdiction_id") or request.POST.get("jurisdiction_id") or "").strip()
    if code:
        from gridgov.regions.models import Region

        if not Region.objects.filter(code=code, level__lte=3).exists():
            raise ApplicationError("unknown_jurisdiction", "jurisdiction_id 不存在", status=404)


@georeport()
def service_definition(request, fmt, client, code: str):
    _jurisdiction(request)
    category = selectors.service_get(code)
    attributes = [{
        "variable": True, "code": a.code, "datatype": a.datatype, "required": a.required,
        "datatype_description": a.datatype_description, "order": a.order, "description": a.description,
        "values": [{"key": k, "name": n} for k, n in a.values],
    } for a in selectors.service_attributes(category)]
    return render(fmt, "service_definition", None, {"service_code": category.code, "attributes": attributes})


def _request_record(row: ServiceRequest) -> dict:
    case = row.case
    return {
        "service_request_id": case.number,
        "status": selectors.status_of(case.state),
        "status_notes": selectors.status_notes(case.state),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": case.lead_department.name if case.lead_department_id else "",
        "service_notice": "",
        "requested_datetime": w3c(case.created_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.stage_deadline) if selectors.status_of(case.state) == "open" else None,
        "address": case.address,
        "address_id": "",
        "zipcode": "",
        "lat": case.lat,
        "long": case.lon,
        "media_url": row.media_url,
    }


@georeport(methods=("GET", "POST"), key=True)
def requests_view(request, fmt, client):
    if request.method == "POST":
        _jurisdiction(request)
        params = {k: request.POST.get(k) for k in request.POST}
        row, replayed = services.request_submit(client=client, params=params)
        notice = f"已受理，案件编号 {row.case.number}，可凭编号查询办理进度"
        return render(fmt, "service_requests", "request", [{
            "service_request_id": row.case.number, "token": row.token, "service_notice": notice,
            "account_id": row.account_id or None,
        }], status=200 if replayed else 201)
    _jurisdiction(request)
    rows = selectors.request_list(client=client, params=request.GET)
    return render(fmt, "service_requests", "request", [_request_record(r) for r in rows])


@georeport(key=True)
def request_detail(request, fmt, client, number: str):
    _jurisdiction(request)
    row = selectors.request_get(client=client, number=number)
    return render(fmt, "service_requests", "request", [_request_record(row)])


@georeport(key=True)
def token_detail(request, fmt, client, token: str):
    row = selectors.token_get(client=client, token=token)
    return render(fmt, "service_requests", "request", [{"service_request_id": row.case.number, "token": row.token}])
