"""Outbound SMS: `send_sms(phone, text, purpose=...)` records the message and hands it to the
backend chosen by the SMS_BACKEND setting.

- ``log`` (default): nothing leaves the machine; the message is recorded (phone encrypted at rest)
  and logged with the phone masked. Development, demo and tests.
- ``http``: a provider reached over HTTP(S) (an in-house SMS gateway or a carrier's API): a JSON
  POST to SMS_HTTP_URL, signed with HMAC-SHA256 (see `HttpBackend`).
- any dotted path to a class with ``name`` and ``send(phone, text, purpose) -> (status, id, error)``.

send_sms never raises for a provider failure: the row comes back with status ``failed`` and the
error, so a caller (a one-time code, a confirmation) decides what to tell its user. It sends at once,
not on commit: a code sent inside a transaction that later rolls back has still been sent.
"""

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

from gridgov.core.crypto import blind_index
from gridgov.core.errors import ValidationFailed
from gridgov.core.masking import mask_phone

from .models import OutboundSms, SmsStatus

log = logging.getLogger("gridgov.intake.sms")

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
MAX_TEXT = 500  # a long SMS is split by the carrier into 67-character parts; 500 is about 8 of them
PHONE_INDEX_PURPOSE = "intake.sms.phone"


def normalise_phone(value: str) -> str:
    """A mainland mobile number as 11 digits (+86 / 0086 / spaces / dashes removed), or ''."""
    digits = re.sub(r"[\s\-()]", "", str(value or ""))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
    return digits if PHONE_RE.match(digits) else ""


class LogBackend:
    name = "log"

    def send(self, phone: str, text: str, purpose: str) -> tuple[str, str, str]:
        log.info("SMS (not sent, log backend) to %s for %s: %d characters", mask_phone(phone), purpose, len(text))
        return SmsStatus.LOGGED, "", ""


def sign_request(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, METHOD \\n path \\n timestamp \\n nonce \\n hex(SHA-256(body))))."""
    message = "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()


class HttpBackend:
    """A JSON POST to SMS_HTTP_URL: {"phone", "text", "sign_name", "purpose"}, with the headers
    X-Access-Key, X-Timestamp (Unix seconds), X-Nonce and X-Signature (`sign_request` with
    SMS_HTTP_SECRET). The provider answers 2xx with {"code": "OK", "message_id": "..."}; anything
    else (another code, a non-2xx status, a timeout, an unreachable host) is a failure."""

    name = "http"

    def __init__(self):
        self.url = settings.SMS_HTTP_URL
        self.access_key = settings.SMS_HTTP_ACCESS_KEY
        self.secret = settings.SMS_HTTP_SECRET
        self.sign_name = settings.SMS_HTTP_SIGN_NAME
        self.timeout = settings.SMS_HTTP_TIMEOUT
        if not (self.url and self.access_key and self.secret):
            raise RuntimeError("SMS_BACKEND=http needs SMS_HTTP_URL, SMS_HTTP_ACCESS_KEY and SMS_HTTP_SECRET")

    def send(self, phone: str, text: str, purpose: str) -> tuple[str, str, str]:
        body = json.dumps({"phone": phone, "text": text, "sign_name": self.sign_name, "purpose": purpose},
                          ensure_ascii=False).encode()
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        signature = sign_request(self.secret, "POST", urlsplit(self.url).path or "/", timestamp, nonce, body)
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "X-Access-Key": self.access_key,
            "X-Timestamp": timestamp, "X-Nonce": nonce, "X-Signature": signature,
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                answer = json.loads(response.read(65536) or b"{}")
        except urllib.error.HTTPError as exc:
            return SmsStatus.FAILED, "", f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return SmsStatus.FAILED, "", f"unreachable: {getattr(exc, 'reason', exc)}"[:300]
        except ValueError:
            return SmsStatus.FAILED, "", "provider answered something that is not JSON"
        if not isinstance(answer, dict) or answer.get("code") != "OK":
            code = answer.get("code") if isinstance(answer, dict) else None
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            return SmsStatus.FAILED, "", f"provider refused: {code} {message}"[:300]
        return SmsStatus.SENT, str(answer.get("message_id", ""))[:64], ""


BACKENDS = {"log": LogBackend, "http": HttpBackend}


def get_backend():
    name = settings.SMS_BACKEND
    cls = BACKENDS.get(name) or import_string(name)
    return cls()


SECRET_DIGITS = re.compile(r"\d{4,8}")


def send_sms(phone: str, text: str, *, purpose: str, secret: bool = False) -> OutboundSms:
    """Sends `text` to a mainland mobile `phone` and returns the recorded OutboundSms.

    Refused (ValidationFailed) before anything is recorded: a number that is not a mainland mobile,
    empty text or text over 500 characters, no purpose. Provider failures are recorded, not raised
    (status `failed`, `error`). With `secret` (a one-time code in the text), the record keeps the text
    with its digits starred once a provider has carried it: whoever reads the SMS log must not be able
    to sign in as the resident. The log backend delivers nothing, so its record is the only copy (the
    demo reads codes there) and keeps the text."""
    number = normalise_phone(phone)
    if not number:
        raise ValidationFailed("手机号码格式不正确", code="invalid_phone", extra={"field": "phone"})
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("短信内容不能为空", code="empty_text", extra={"field": "text"})
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"短信内容不能超过 {MAX_TEXT} 字", code="too_long", extra={"field": "text"})
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > 40:
        raise ValidationFailed("请说明短信用途", code="invalid_purpose", extra={"field": "purpose"})
    backend = get_backend()
    status, provider_id, error = backend.send(number, text, purpose)
    if secret and backend.name != LogBackend.name:
        text = SECRET_DIGITS.sub(lambda m: "*" * len(m.group(0)), text)
    sms = OutboundSms.objects.create(phone=number, phone_index=blind_index(number, PHONE_INDEX_PURPOSE), text=text,
                                     purpose=purpose, backend=backend.name, status=status,
                                     provider_message_id=provider_id, error=error)
    if status == SmsStatus.FAILED:
        log.warning("SMS to %s for %s failed: %s", mask_phone(number), purpose, error)
    return sms
