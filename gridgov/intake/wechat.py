"""WeChat official account (微信公众号) callback: URL verification, text/image/location messages,
passive XML replies, and the safe mode (AES-256-CBC message encryption with the EncodingAESKey,
`msg_signature`). wechatpy does the protocol's crypto, parsing and reply rendering.

A resident reports a problem in up to three messages — a location (位置), a photo, then the text
("报 …" / "举报 …"; with a location or photo pending any text completes the report) — and gets the
case number back in the passive reply. A good deed ("好人好事 …" / "积分 …") needs the OpenID bound to
a registered phone first ("绑定 手机号", then "绑定 验证码" with the code sent by SMS). Every message
is stored once per MsgId (events per sender and CreateTime): WeChat's retries get the same reply.
"""

import hashlib
import hmac
import logging
import re
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from gridgov.cases import attachments
from gridgov.core import ratelimit
from gridgov.core.errors import ApplicationError

from . import services
from .models import Channel, InboundMessage, Outcome, WechatSession
from .webhooks import audit_refusal

log = logging.getLogger("gridgov.intake.wechat")

MAX_BODY = 64 * 1024
MAX_IMAGE = 10 * 1024 * 1024
PER_SENDER = (30, 3600)  # messages per OpenID and hour
SESSION_TTL = timedelta(minutes=30)  # a location or photo waits this long for its text
WINDOW = 300  # seconds a callback's timestamp may differ from our clock
HELP = ("您好，这里是钟祥市网格化服务平台。\n"
        "· 反映问题：先发送位置（可附照片），再发送“报 问题描述”\n"
        "· 申报好人好事：发送“好人好事 事情经过”（需先发送“绑定 手机号”）\n"
        "· 紧急情况请拨打 110、119、120")
PHOTO_RECEIVED = "已收到照片。请发送“报 问题描述”，如未发送位置请先发送位置。"
LOCATION_FIRST = "请先发送您的位置（点击“+”→“位置”），再发送“报 问题描述”。"
BIND_RE = re.compile(r"^绑定\s*[:：]?\s*(\S+)$")


def signature(token: str, timestamp: str, nonce: str) -> str:
    """The protocol's signature: SHA-1 of token, timestamp and nonce sorted and joined."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _refuse(request, status: int, code: str, text: str) -> HttpResponse:
    audit_refusal("wechat", request.META.get("REMOTE_ADDR", ""), status, code)
    return _plain(status, text)


def _crypto() -> WeChatCrypto | None:
    key = settings.WECHAT_ENCODING_AES_KEY
    return WeChatCrypto(settings.WECHAT_TOKEN, key, settings.WECHAT_APP_ID) if key else None


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request):
    token = settings.WECHAT_TOKEN
    if not token:
        return _plain(503, "not configured")
    ts, nonce, sig = (request.GET.get(k, "") for k in ("timestamp", "nonce", "signature"))
    if not (ts.isdigit() and nonce and sig) or not hmac.compare_digest(signature(token, ts, nonce), sig):
        return _refuse(request, 403, "bad_signature", "invalid signature")
    if request.method == "GET":  # URL verification when the server address is configured
        return _plain(200, request.GET.get("echostr", ""))
    if abs(time.time() - int(ts)) > WINDOW:
        return _refuse(request, 403, "stale_timestamp", "stale timestamp")
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY or len(request.body) > MAX_BODY:
        return _refuse(request, 413, "payload_too_large", "payload too large")
    raw = request.body
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():  # the protocol never sends a DTD
        return _refuse(request, 400, "malformed", "malformed xml")
    crypto = _crypto()
    encrypted = request.GET.get("encrypt_type") == "aes"
    try:
        if encrypted:
            if crypto is None:
                return _refuse(request, 400, "not_safe_mode", "safe mode is not configured")
            raw = crypto.decrypt_message(raw, request.GET.get("msg_signature", ""), ts, nonce)
        elif crypto is not None:
            return _refuse(request, 400, "plaintext_refused", "safe mode requires encrypt_type=aes")
        message = parse_message(raw)
    except (InvalidSignatureException, InvalidAppIdException):
        return _refuse(request, 403, "bad_msg_signature", "invalid msg_signature")
    except Exception:  # noqa: BLE001 — bad base64, bad padding, broken XML: all one refusal
        return _refuse(request, 400, "malformed", "malformed message")
    if not getattr(message, "source", None) or not getattr(message, "target", None):
        return _refuse(request, 400, "malformed", "malformed message")
    limit = ratelimit.hit(f"wechat-in:{services.sender_index(Channel.WECHAT, message.source)}",
                          limit=PER_SENDER[0], window=PER_SENDER[1])
    if not limit.allowed:
        text = "您发送得太频繁了，请稍后再试。"
    else:
        text = handle(message)
    if not text:
        return _plain(200, "success")
    xml = create_reply(text, message).render()
    if encrypted:
        xml = crypto.encrypt_message(xml, nonce, ts)
    return HttpResponse(xml, content_type="application/xml; charset=utf-8")


def _external_id(message) -> str:
    if getattr(message, "id", None):
        return str(message.id)[:64]
    return f"{message.source}:{message.create_time.timestamp():.0f}:{getattr(message, 'event', '')}"[:64]


def _store_info(message, external_id: str, body: str, reply: str) -> tuple[str, bool]:
    """Records a message that only gets an answer (location, photo, binding …), once per id."""
    existing = InboundMessage.objects.filter(channel=Channel.WECHAT, external_id=external_id).first()
    if existing is not None:
        return existing.reply, True
    try:
        with transaction.atomic():
            InboundMessage.objects.create(
                channel=Channel.WECHAT, external_id=external_id, sender=message.source,
                sender_index=services.sender_index(Channel.WECHAT, message.source), body=body[:500],
                msg_type=message.type[:16], outcome=Outcome.INFO, reply=reply)
    except IntegrityError:
        pass
    return reply, False


def _session(openid: str) -> WechatSession:
    session, _ = WechatSession.objects.get_or_create(openid_index=services.sender_index(Channel.WECHAT, openid))
    if session.updated_at and timezone.now() - session.updated_at > SESSION_TTL:
        session.lon = session.lat = None
        session.label = session.image_url = ""
    return session


def handle(message) -> str:
    """The reply text for one message (may be '' for events that need none)."""
    external_id = _external_id(message)
    stored = InboundMessage.objects.filter(channel=Channel.WECHAT, external_id=external_id).first()
    if stored is not None:  # WeChat's retry of a message we already answered
        return stored.reply
    kind = message.type
    if kind == "event":
        if getattr(message, "event", "") == "subscribe":
            return HELP
        return ""
    if kind == "location":
        try:
            lat, lon = (float(v) for v in message.location)
        except (TypeError, ValueError):
            return _store_info(message, external_id, "位置", "位置信息无法识别，请重新发送位置。")[0]
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return _store_info(message, external_id, "位置", "位置信息无法识别，请重新发送位置。")[0]
        session = _session(message.source)
        session.lat, session.lon, session.label = lat, lon, (message.label or "")[:200]
        session.save()
        reply = f"已收到位置：{session.label or '（未命名地点）'}。请发送照片或“报 问题描述”。"
        return _store_info(message, external_id, f"位置 {lat},{lon} {session.label}", reply)[0]
    if kind == "image":
        session = _session(message.source)
        session.image_url = (message.image or "")[:500]
        session.save()
        return _store_info(message, external_id, "图片", PHOTO_RECEIVED)[0]
    if kind != "text":
        return _store_info(message, external_id, kind, HELP)[0]
    content = (message.content or "").strip()
    bind = BIND_RE.match(content)
    if bind:
        value = bind.group(1)
        if value.isdigit() and len(value) == 6:
            reply = services.wechat_bind_confirm(openid=message.source, code=value)
        else:
            reply = services.wechat_bind_start(openid=message.source, phone=value)
        return _store_info(message, external_id, "绑定", reply)[0]
    intent, _ = services.parse_intent(content)
    session = _session(message.source)
    has_keyword = content.startswith(services.CASE_WORDS + services.CLAIM_WORDS)
    pending = session.lon is not None or bool(session.image_url)
    if not has_keyword and not pending:
        return _store_info(message, external_id, content, HELP)[0]
    phone = services.wechat_bound_phone(message.source)
    report = services.Report(channel=Channel.WECHAT, external_id=external_id, sender=message.source, text=content,
                             phone=phone, msg_type="text", intent=intent)
    if intent == "case":
        report.intent = "case"
        if session.lon is not None:
            report.lon, report.lat, report.crs, report.address = session.lon, session.lat, "gcj02", session.label
        if session.image_url:
            upload = fetch_image(session.image_url)
            if upload is not None:
                report.files = [upload]
            else:
                report.image_note = f"群众所附照片：{session.image_url}"
        if report.lon is None and not phone:
            return _store_info(message, external_id, content, LOCATION_FIRST)[0]
    try:
        msg, _ = services.receive(report)
    except ApplicationError as exc:
        return f"未能受理：{exc.message}"
    if msg.outcome == Outcome.CASE:
        session.lon = session.lat = None
        session.label = session.image_url = ""
        session.save()
    return msg.reply


def fetch_image(url: str):
    """The photo WeChat holds at PicUrl, as an upload (None when it cannot be fetched in time)."""
    if not url.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a URL from a signed message)
            data = response.read(MAX_IMAGE + 1)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError):
        log.warning("WeChat photo could not be fetched")
        return None
    if not data or len(data) > MAX_IMAGE:
        return None
    upload = SimpleUploadedFile("wechat-photo", data)
    try:
        upload.name = f"wechat-photo.{attachments.sniff(upload)}"
    except ApplicationError:
        return None  # not a photo the case module accepts: the URL goes into the description instead
    return upload
