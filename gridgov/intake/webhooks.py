"""The endpoints outside parties call: the SMS gateway's inbound webhook and the WeChat
official-account callback. Plain Django views (raw bodies, the protocols' own error forms), exempt
from CSRF because they authenticate by signature, not by session."""

import hashlib
import hmac
import json
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gridgov.core import ratelimit
from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError
from gridgov.core.models import AuditOutcome

from . import services
from .models import Channel, InboundMessage, SeenNonce
from .sms import normalise_phone

log = logging.getLogger("gridgov.intake")

SMS_MAX_BODY = 8 * 1024
SMS_PER_SENDER = (10, 3600)  # messages per sender and hour
SMS_PER_ADDRESS = (600, 60)  # requests per gateway address and minute (a flood with random senders)
MESSAGE_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")


def sms_signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """hex(HMAC-SHA256(secret, timestamp "\\n" nonce "\\n" body)): what the gateway sends as X-Signature."""
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body,
                    hashlib.sha256).hexdigest()


def _sms_error(status: int, code: str, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"code": code, "message": message}, status=status,
                            json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def audit_refusal(channel: str, ip: str, status: int, code: str) -> None:
    """Audits a refused call, at most 20 a minute per address: a flood must not fill the audit log."""
    log.warning("%s inbound refused from %s: %s %s", channel, ip, status, code)
    if status == 429 or not ratelimit.hit(f"audit:{channel}:{ip}", limit=20, window=60).allowed:
        return
    audit_record(actor=None, action=f"intake.{channel}.refused", username=f"{channel}:{ip}"[:150],
                 outcome=AuditOutcome.FAILURE, message=f"{status} {code}")


def _refuse(request, status: int, code: str, message: str, **headers) -> JsonResponse:
    audit_refusal("sms", _client_ip(request), status, code)
    return _sms_error(status, code, message, **headers)


def remember_nonce(channel: str, nonce: str, window: int) -> bool:
    """False when this nonce was already used inside the window (a replay)."""
    now = timezone.now()
    if SeenNonce.objects.filter(channel=channel, nonce=nonce).exclude(expires_at__lt=now).exists():
        return False
    try:
        with transaction.atomic():
            SeenNonce.objects.filter(channel=channel, nonce=nonce, expires_at__lt=now).delete()
            SeenNonce.objects.create(channel=channel, nonce=nonce, expires_at=now + timedelta(seconds=2 * window))
    except IntegrityError:
        return False
    if int(now.timestamp()) % 50 == 0:  # now and then, forget nonces whose window is long gone
        SeenNonce.objects.filter(expires_at__lt=now).delete()
    return True


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@csrf_exempt
@require_http_methods(["POST"])
def sms_inbound(request):
    """POST {"message_id", "from", "text"[, "received_at"]} from the SMS gateway, signed (X-Timestamp,
    X-Nonce, X-Signature). Answers {"code": "OK", ...} or {"code": <error>, "message": <中文>}."""
    secret = settings.SMS_INBOUND_SECRET
    if not secret:
        return _sms_error(503, "not_configured", "短信接入未配置")
    address = ratelimit.hit(f"sms-in:ip:{_client_ip(request)}", limit=SMS_PER_ADDRESS[0], window=SMS_PER_ADDRESS[1])
    if not address.allowed:
        return _refuse(request, 429, "rate_limited", "请求过于频繁", Retry_After=str(address.retry_after))
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > SMS_MAX_BODY:
        return _refuse(request, 413, "payload_too_large", f"请求体不能超过 {SMS_MAX_BODY} 字节")
    body = request.body
    if len(body) > SMS_MAX_BODY:
        return _refuse(request, 413, "payload_too_large", f"请求体不能超过 {SMS_MAX_BODY} 字节")
    timestamp = request.headers.get("X-Timestamp", "")
    nonce = request.headers.get("X-Nonce", "")
    signature = request.headers.get("X-Signature", "")
    if not (timestamp.isdigit() and NONCE_RE.match(nonce) and signature):
        return _refuse(request, 401, "signature_missing", "缺少签名、时间戳或随机数")
    if not hmac.compare_digest(sms_signature(secret, timestamp, nonce, body), signature.lower()):
        return _refuse(request, 401, "bad_signature", "签名不正确")
    window = settings.SMS_INBOUND_WINDOW
    if abs(timezone.now().timestamp() - int(timestamp)) > window:
        return _refuse(request, 401, "stale_timestamp", f"时间戳超出 {window} 秒的有效期")
    if not remember_nonce(Channel.SMS, nonce, window):
        return _refuse(request, 409, "replayed", "重复的请求（随机数已使用）")
    try:
        data = json.loads(body)
    except ValueError:
        return _refuse(request, 400, "malformed", "请求体不是有效的 JSON")
    if not isinstance(data, dict):
        return _refuse(request, 400, "malformed", "请求体应为 JSON 对象")
    message_id, sender, text = data.get("message_id"), data.get("from"), data.get("text")
    if not isinstance(message_id, str) or not MESSAGE_ID_RE.match(message_id):
        return _refuse(request, 400, "invalid_message_id", "message_id 应为 1-64 位字母、数字或 _ . : -")
    phone = normalise_phone(sender) if isinstance(sender, str) else ""
    if not phone:
        return _refuse(request, 400, "invalid_sender", "发送号码应为手机号")
    if not isinstance(text, str):
        return _refuse(request, 400, "invalid_text", "text 应为字符串")
    known = InboundMessage.objects.filter(channel=Channel.SMS, external_id=message_id).select_related("case").first()
    if known is not None:  # the gateway's retry: the same answer, not counted against the sender
        return _answer(known, replayed=True)
    per_sender = ratelimit.hit(f"sms-in:from:{services.sender_index(Channel.SMS, phone)}", limit=SMS_PER_SENDER[0],
                               window=SMS_PER_SENDER[1])
    if not per_sender.allowed:
        return _refuse(request, 429, "rate_limited", "该号码发送过于频繁，请稍后再试",
                       Retry_After=str(per_sender.retry_after))
    try:
        msg, replayed = services.receive(services.Report(channel=Channel.SMS, external_id=message_id, sender=phone,
                                                         phone=phone, text=text))
    except ApplicationError as exc:
        return _refuse(request, exc.status, exc.code, exc.message)
    if not replayed:
        services.confirm_by_sms(msg, phone)
    return _answer(msg, replayed=replayed)


def _answer(msg: InboundMessage, *, replayed: bool) -> JsonResponse:
    return JsonResponse({"code": "OK", "replayed": replayed, "outcome": msg.outcome,
                         "case_number": msg.case.number if msg.case_id else None, "claim_id": msg.claim_id,
                         "reply": msg.reply}, json_dumps_params={"ensure_ascii": False})
