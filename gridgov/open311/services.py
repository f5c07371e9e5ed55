"""Writes of the Open311 module: issuing and revoking client keys, accepting a service request.

A request becomes a case through cases.services.case_report, acted by the client's machine account:
the case module's scope rule (a reporter reports only inside its region) is the jurisdiction check.
"""

import hashlib
import json
import secrets
import uuid
from datetime import timedelta
from urllib.parse import urlparse

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, hash_token
from gridgov.cases.choices import Source
from gridgov.cases.models import CaseCategory
from gridgov.cases.services import case_report
from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound, ValidationFailed
from gridgov.regions.choices import RegionLevel
from gridgov.regions.models import Region

from .models import ApiClient, ServiceRequest

KEY_PREFIX = "o311_"
# A retry of the same POST by the same client within this window returns the first request.
REPLAY_WINDOW = timedelta(hours=24)
ROLE_AT_LEVEL = {1: Role.CITY_OPERATOR, 2: Role.TOWN_OPERATOR, 3: Role.GRID_ADMIN}
MAX_MEDIA_URL = 500
MAX_DESCRIPTION = 2000


def _key_hash(raw: str) -> str:
    return hash_token(raw)


@transaction.atomic
def client_issue(*, acting_user, name: str, jurisdiction: str) -> tuple[ApiClient, str]:
    """Creates a client with a new key for a county, town or village; returns (client, raw key).
    The raw key is not stored and cannot be shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("请填写客户端名称（100 字以内）", code="invalid_name", extra={"field": "name"})
    if ApiClient.objects.filter(name=name).exists():
        raise ValidationFailed("该客户端名称已存在", code="duplicate_name", extra={"field": "name"})
    region = Region.objects.filter(code=str(jurisdiction or "")).first()
    if region is None or region.level not in ROLE_AT_LEVEL:
        raise ValidationFailed("管辖区域应为本市、乡镇（街道）或村（社区）的区划代码", code="invalid_jurisdiction",
                               extra={"field": "jurisdiction"})
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    user_model = get_user_model()
    user = user_model(username=f"open311-{uuid.uuid4().hex[:12]}", full_name=f"Open311·{name}", is_machine=True)
    user.set_unusable_password()
    user.save()
    Assignment.objects.create(user=user, role=ROLE_AT_LEVEL[region.level], region=region)
    client = ApiClient.objects.create(name=name, key_hash=_key_hash(raw), key_prefix=raw[:12], jurisdiction=region,
                                      user=user)
    audit_record(actor=acting_user, action="open311.client.issue", obj=client, region_code=region.code,
                 changes={"name": name, "jurisdiction": region.code, "key_prefix": client.key_prefix})
    return client, raw


@transaction.atomic
def client_revoke(*, acting_user, name: str) -> ApiClient:
    """Revokes the client's key and deactivates its machine account; idempotent."""
    client = ApiClient.objects.select_for_update().filter(name=name).first()
    if client is None:
        raise NotFound("客户端不存在")
    if client.is_active:
        client.is_active = False
        client.revoked_at = timezone.now()
        client.save(update_fields=["is_active", "revoked_at"])
        client.user.is_active = False
        client.user.save(update_fields=["is_active"])
        audit_record(actor=acting_user, action="open311.client.revoke", obj=client, region_code=client.jurisdiction_id,
                     changes={"is_active": [True, False]})
    return client


def client_for_key(raw: str | None) -> ApiClient | None:
    """The active client holding this key, or None."""
    if not raw:
        return None
    client = ApiClient.objects.select_related("jurisdiction", "user").filter(key_hash=_key_hash(raw)).first()
    if client is None or not client.is_active or not client.user.is_active:
        return None
    return client


def payload_hash(params: dict[str, str]) -> str:
    canonical = json.dumps(sorted((k, v) for k, v in params.items() if k != "api_key"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _media_url(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    parsed = urlparse(value)
    if len(value) > MAX_MEDIA_URL or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationFailed("media_url 应为 http(s) 链接，且不超过 500 个字符", code="invalid_media_url",
                               extra={"field": "media_url"})
    return value


def _grid_for_address(client: ApiClient, address: str) -> str:
    """Without coordinates: the village or community named in the address (inside the jurisdiction),
    and its first grid; the desk corrects the grid when it accepts the case."""
    address = (address or "").strip()
    names = (Region.objects.filter(code__startswith=client.jurisdiction_id, level=RegionLevel.VILLAGE)
             .values_list("code", "name"))
    found = sorted(((len(name), code) for code, name in names if name and name in address), reverse=True)
    if not found:
        raise ValidationFailed("无法根据 address_string 确定位置：请提供 lat/long，或在地址中写明村（社区）名称",
                               code="address_not_located", extra={"field": "address_string"})
    village = found[0][1]
    grid = (Region.objects.filter(code__startswith=village, level=RegionLevel.GRID).order_by("code")
            .values_list("code", flat=True).first())
    if grid is None:
        raise ValidationFailed("该村（社区）尚未划分网格", code="address_not_located",
                               extra={"field": "address_string"})
    return grid


def _category(code: str) -> CaseCategory:
    category = CaseCategory.objects.filter(code=code, is_active=True, children__isnull=True).first()
    if category is None:
        raise NotFound("service_code 不存在")
    return category


def request_submit(*, client: ApiClient, params: dict[str, str]) -> tuple[ServiceRequest, bool]:
    """Accepts a GeoReport POST: (service request, replayed).

    Guarantees: the service exists; the position is given by lat/long (WGS84) or an address naming a
    village of the jurisdiction; the case lies inside the client's jurisdiction (403 otherwise); the
    same parameters from the same client within REPLAY_WINDOW return the first request (no second case).
    Requests of one client are serialised by a row lock, so concurrent retries cannot both create.
    """
    digest = payload_hash(params)
    with transaction.atomic():
        ApiClient.objects.select_for_update().filter(pk=client.pk).first()
        since = timezone.now() - REPLAY_WINDOW
        existing = (ServiceRequest.objects.select_related("case")
                    .filter(client=client, payload_hash=digest, created_at__gte=since).first())
        if existing is not None:
            return existing, True
        category = _category((params.get("service_code") or "").strip())
        jurisdiction = (params.get("jurisdiction_id") or "").strip()
        if jurisdiction and not jurisdiction.startswith(client.jurisdiction_id):
            raise ApplicationError("outside_jurisdiction", "jurisdiction_id 不在该密钥的管辖区域内", status=403)
        lat, lon = (params.get("lat") or "").strip(), (params.get("long") or "").strip()
        address = (params.get("address_string") or "").strip()
        if len(address) > 200:
            raise ValidationFailed("address_string 不能超过 200 个字符", code="too_long",
                                   extra={"field": "address_string"})
        grid = None
        if not (lat and lon):
            if lat or lon:
                raise ValidationFailed("lat 与 long 须同时提供", code="invalid_position", extra={"field": "lat"})
            if not address:
                raise ValidationFailed("须提供 lat/long 或 address_string", code="location_required",
                                       extra={"field": "lat"})
            grid = _grid_for_address(client, address)
        attributes = {k[len("attribute["):-1]: v for k, v in params.items()
                      if k.startswith("attribute[") and k.endswith("]")}
        unknown = set(attributes) - {"urgency"}
        if unknown:
            raise ValidationFailed(f"未知的属性：{'、'.join(sorted(unknown))}", code="invalid_attribute",
                                   extra={"field": "attribute"})
        description = (params.get("description") or "").strip() or category.name
        if len(description) > MAX_DESCRIPTION:
            raise ValidationFailed("description 不能超过 2000 个字符", code="too_long", extra={"field": "description"})
        name = " ".join(p for p in ((params.get("last_name") or "").strip(), (params.get("first_name") or "").strip())
                        if p)
        media_url = _media_url(params.get("media_url", ""))
        token = str(uuid.uuid4())
        case = case_report(acting_user=client.user, category=category.code, description=description,
                           lon=lon or None, lat=lat or None, crs="wgs84", grid=grid, address=address,
                           urgency=attributes.get("urgency") or None, source=Source.OPEN311,
                           reporter_name=name[:50], reporter_phone=(params.get("phone") or "").strip(),
                           external_ref=f"open311:{token}")
        if not case.region_id.startswith(client.jurisdiction_id):
            raise ApplicationError("outside_jurisdiction", "该位置不在该密钥的管辖区域内", status=403)
        request = ServiceRequest(
            client=client, case=case, region_id=case.region_id, token=token, payload_hash=digest,
            device_id=(params.get("device_id") or "").strip()[:64],
            account_id=(params.get("account_id") or "").strip()[:64],
            email=(params.get("email") or "").strip()[:100], media_url=media_url,
            created_at=case.created_at)
        request.full_clean(exclude=["client", "case", "region"])
        request.save()
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
        audit_record(actor=client.user, action="open311.request.submit", obj=request, region_code=case.region_id,
                     changes={"case": case.number, "service_code": category.code, "client": client.name})
        return request, False
