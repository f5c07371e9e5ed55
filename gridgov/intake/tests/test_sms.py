import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from gridgov.core.crypto import blind_index
from gridgov.core.errors import ValidationFailed
from gridgov.intake.models import OutboundSms, SmsStatus
from gridgov.intake.sms import PHONE_INDEX_PURPOSE, normalise_phone, send_sms, sign_request

pytestmark = pytest.mark.django_db

SECRET = "provider-secret-123"


class Provider:
    """A real HTTP server playing the SMS provider: checks the signature like a provider would."""

    def __init__(self, answer=None, status=200):
        self.requests = []
        self.answer = answer if answer is not None else {"code": "OK", "message_id": "P-0001"}
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = sign_request(SECRET, "POST", self.path, self.headers["X-Timestamp"],
                                        self.headers["X-Nonce"], body)
                ok = self.headers["X-Signature"] == expected and self.headers["X-Access-Key"] == "AK1"
                outer.requests.append({"headers": dict(self.headers), "body": json.loads(body), "signed": ok})
                reply = outer.answer if ok else {"code": "SignatureDoesNotMatch", "message": "bad signature"}
                data = json.dumps(reply).encode()
                self.send_response(outer.status if ok else 403)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_backend(settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_ACCESS_KEY = "AK1"
    settings.SMS_HTTP_SECRET = SECRET
    settings.SMS_HTTP_TIMEOUT = 2
    return settings


def test_normalise_phone():
    assert normalise_phone("+86 138-0000-1234") == "13800001234"
    assert normalise_phone("008613800001234") == "13800001234"
    assert normalise_phone("12800001234") == ""
    assert normalise_phone("1380000123") == ""
    assert normalise_phone("") == ""


def test_log_backend_records_encrypted_phone_and_masks_log(caplog):
    caplog.set_level("INFO", logger="gridgov.intake.sms")
    sms = send_sms("13800001234", "您的验证码是 123456", purpose="selfservice.otp")
    assert sms.status == SmsStatus.LOGGED and sms.backend == "log"
    sms.refresh_from_db()
    assert sms.phone == "13800001234"
    assert sms.phone_index == blind_index("13800001234", PHONE_INDEX_PURPOSE)
    with connection.cursor() as cur:
        cur.execute("SELECT phone FROM intake_outboundsms WHERE id = %s", [sms.pk])
        stored = cur.fetchone()[0]
    assert "13800001234" not in stored and stored.startswith("g1$")
    assert "138****1234" in caplog.text and "13800001234" not in caplog.text


@pytest.mark.parametrize("phone,text,purpose,code", [
    ("1234", "x", "p", "invalid_phone"),
    ("13800001234", "  ", "p", "empty_text"),
    ("13800001234", "长" * 501, "p", "too_long"),
    ("13800001234", "x", "", "invalid_purpose"),
])
def test_refused_before_anything_is_recorded(phone, text, purpose, code):
    before = OutboundSms.objects.count()
    with pytest.raises(ValidationFailed) as err:
        send_sms(phone, text, purpose=purpose)
    assert err.value.code == code and err.value.message
    assert OutboundSms.objects.count() == before


def test_http_backend_signs_and_sends(http_backend):
    with Provider() as provider:
        http_backend.SMS_HTTP_URL = provider.url
        sms = send_sms("+8613800001234", "案件 A1 已受理", purpose="intake.confirm")
    assert sms.status == SmsStatus.SENT and sms.provider_message_id == "P-0001" and sms.backend == "http"
    [request] = provider.requests
    assert request["signed"]
    assert request["body"]["phone"] == "13800001234" and request["body"]["text"] == "案件 A1 已受理"
    assert request["body"]["purpose"] == "intake.confirm"


def test_a_one_time_code_is_starred_in_the_log_once_a_provider_carried_it(http_backend, settings):
    with Provider() as provider:
        http_backend.SMS_HTTP_URL = provider.url
        sms = send_sms("13800001234", "验证码 482913，5 分钟内有效", purpose="selfservice.login", secret=True)
    assert provider.requests[0]["body"]["text"] == "验证码 482913，5 分钟内有效"  # the resident gets it
    assert sms.text == "验证码 ******，5 分钟内有效"  # the log does not keep it
    settings.SMS_BACKEND = "log"  # nothing delivered: the record is the only copy (the demo reads it)
    assert "482913" in send_sms("13800001234", "验证码 482913", purpose="selfservice.login", secret=True).text


def test_http_backend_wrong_secret_is_a_recorded_failure(http_backend):
    http_backend.SMS_HTTP_SECRET = "not-the-secret"
    with Provider() as provider:
        http_backend.SMS_HTTP_URL = provider.url
        sms = send_sms("13800001234", "x", purpose="intake.confirm")
    assert not provider.requests[0]["signed"]
    assert sms.status == SmsStatus.FAILED and sms.error == "HTTP 403"


def test_http_backend_provider_refusal_and_unreachable(http_backend):
    with Provider(answer={"code": "isv.BUSINESS_LIMIT_CONTROL", "message": "触发流控"}) as provider:
        http_backend.SMS_HTTP_URL = provider.url
        refused = send_sms("13800001234", "x", purpose="intake.confirm")
    assert refused.status == SmsStatus.FAILED and "BUSINESS_LIMIT_CONTROL" in refused.error
    # The server is gone now: connection refused is a failure, not an exception.
    unreachable = send_sms("13800001234", "x", purpose="intake.confirm")
    assert unreachable.status == SmsStatus.FAILED and unreachable.error.startswith("unreachable")


def test_http_backend_needs_its_settings(http_backend):
    http_backend.SMS_HTTP_URL = ""
    with pytest.raises(RuntimeError):
        send_sms("13800001234", "x", purpose="intake.confirm")
