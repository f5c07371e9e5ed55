"""Reads of the Open311 module: the service list (leaf case categories), service definitions, and the
service requests a client may read (those submitted through Open311 inside its jurisdiction)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gridgov.cases.choices import FINAL_STATES, CaseState, CategoryKind, Urgency
from gridgov.cases.models import CaseCategory
from gridgov.core.errors import ApplicationError, NotFound, ValidationFailed

from .models import ApiClient, ServiceRequest

DEFAULT_DAYS = 90
MAX_REQUESTS = 1000

# Our case states → Open311 status (open/closed) and the extended status commonly used by GeoReport
# implementations, which goes into status_notes together with our own state name.
EXTENDED_STATUS = {
    CaseState.REPORTED: "submitted",
    CaseState.ACCEPTED: "acknowledged",
    CaseState.REGISTERED: "acknowledged",
    CaseState.RETURNED: "in_progress",
    CaseState.REOPENED: "in_progress",
    CaseState.DISPATCHED: "in_progress",
    CaseState.HANDLING: "in_progress",
    CaseState.AWAITING_VERIFICATION: "resolved",
    CaseState.SELF_RESOLVED: "resolved",
    CaseState.VERIFIED: "resolved",
    CaseState.CLOSED: "closed",
    CaseState.EVALUATED: "closed",
    CaseState.SUSPENDED: "on_hold",
    CaseState.REJECTED: "rejected",
    CaseState.VOIDED: "cancelled",
    CaseState.MERGED: "duplicate",
}


def status_of(state: str) -> str:
    return "closed" if state in FINAL_STATES else "open"


def status_notes(state: str) -> str:
    return f"{EXTENDED_STATUS.get(state, 'open')}: {CaseState(state).label}"


def service_list() -> list[CaseCategory]:
    """Every active leaf category is a service; its group is the parent (大类)."""
    return list(CaseCategory.objects.select_related("parent")
                .filter(is_active=True, children__isnull=True).order_by("kind", "sort_order", "code"))


def service_get(code: str) -> CaseCategory:
    found = (CaseCategory.objects.select_related("parent")
             .filter(code=code, is_active=True, children__isnull=True).first())
    if found is None:
        raise NotFound("service_code 不存在")
    return found


def service_keywords(category: CaseCategory) -> str:
    words = [category.name, str(CategoryKind(category.kind).label)]
    if category.parent_id:
        words.append(category.parent.name)
    return ",".join(dict.fromkeys(words))


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    required: bool
    description: str
    datatype_description: str
    order: int
    values: list[tuple[str, str]]


def service_attributes(category: CaseCategory) -> list[Attribute]:
    """The attributes a client may send as attribute[code]: the urgency levels this category admits."""
    levels = category.urgency_levels or [Urgency.NORMAL]
    return [Attribute(code="urgency", datatype="singlevaluelist", required=False, description="紧急程度",
                      datatype_description=f"不填为“{Urgency(levels[0]).label}”", order=1,
                      values=[(level, str(Urgency(level).label)) for level in levels])]


def _parse_when(value: str, field: str) -> datetime:
    try:
        # A "+" left unencoded in a query string arrives as a space.
        parsed = parse_datetime(value.strip().replace(" ", "+")) if value else None
    except ValueError:  # well-formed but impossible (month 13)
        parsed = None
    if parsed is None:
        raise ValidationFailed(f"{field} 应为 W3C 格式的时间，如 2026-01-01T00:00:00+08:00", code="invalid_date",
                               extra={"field": field})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def request_list(*, client: ApiClient, params) -> QuerySet:
    """The client's readable requests, newest first, filtered as GeoReport specifies (jurisdiction_id may
    narrow the key's jurisdiction to a town or village inside it, 403 outside): a list of
    service_request_id ignores the other filters; otherwise the last 90 days by default (at most 90
    days between start and end), service_code (comma list) and status (open/closed); at most 1000."""
    area = (params.get("jurisdiction_id") or "").strip() or client.jurisdiction_id
    if not area.startswith(client.jurisdiction_id):
        raise ApplicationError("outside_jurisdiction", "jurisdiction_id 不在该密钥的管辖区域内", status=403)
    qs = (ServiceRequest.objects.select_related("case", "case__category", "case__lead_department")
          .filter(region__code__startswith=area).order_by("-created_at", "-id"))
    ids = [v.strip() for v in (params.get("service_request_id") or "").split(",") if v.strip()]
    if ids:
        if len(ids) > MAX_REQUESTS:
            raise ValidationFailed("service_request_id 最多 1000 个", code="too_many_ids",
                                   extra={"field": "service_request_id"})
        return qs.filter(case__number__in=ids)
    end = _parse_when(params["end_date"], "end_date") if params.get("end_date") else None
    start = _parse_when(params["start_date"], "start_date") if params.get("start_date") else None
    if start is None and end is None:
        start = timezone.now() - timedelta(days=DEFAULT_DAYS)
    elif start is None:
        start = end - timedelta(days=DEFAULT_DAYS)
    if end is not None:
        if end < start:
            raise ValidationFailed("end_date 不能早于 start_date", code="invalid_date", extra={"field": "end_date"})
        if end - start > timedelta(days=DEFAULT_DAYS):
            raise ValidationFailed("start_date 与 end_date 相隔不能超过 90 天", code="invalid_date",
                                   extra={"field": "end_date"})
        qs = qs.filter(created_at__lte=end)
    qs = qs.filter(created_at__gte=start)
    codes = [v.strip() for v in (params.get("service_code") or "").split(",") if v.strip()]
    if codes:
        qs = qs.filter(case__category__code__in=codes)
    status = (params.get("status") or "").strip()
    if status:
        wanted = {s.strip() for s in status.split(",")}
        if not wanted <= {"open", "closed"}:
            raise ValidationFailed("status 应为 open 或 closed", code="invalid_status", extra={"field": "status"})
        if wanted == {"open"}:
            qs = qs.exclude(case__state__in=FINAL_STATES)
        elif wanted == {"closed"}:
            qs = qs.filter(case__state__in=FINAL_STATES)
    return qs[:MAX_REQUESTS]


def request_get(*, client: ApiClient, number: str) -> ServiceRequest:
    """One request by its id (the case number); 404 when missing or outside the jurisdiction."""
    found = (ServiceRequest.objects.select_related("case", "case__category", "case__lead_department")
             .filter(region__code__startswith=client.jurisdiction_id, case__number=number).first())
    if found is None:
        raise NotFound("service_request_id 不存在")
    return found


def token_get(*, client: ApiClient, token: str) -> ServiceRequest:
    found = (ServiceRequest.objects.select_related("case")
             .filter(region__code__startswith=client.jurisdiction_id, token=token).first())
    if found is None:
        raise NotFound("token 不存在")
    return found
