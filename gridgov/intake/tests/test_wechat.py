"""The official-account callback, with payloads built as the protocol specifies: the plain-mode XML
messages of the developer documentation, and safe-mode envelopes encrypted by hand below (AES-256-CBC,
key = base64(EncodingAESKey + "="), IV = first 16 bytes of the key, plaintext = 16 random bytes ‖
4-byte big-endian length ‖ message ‖ AppID, PKCS#7 to 32 bytes; msg_signature = SHA-1 of the sorted
token, timestamp, nonce and ciphertext) — and also by wechatpy, as a second opinion."""

import base64
import hashlib
import os
import struct
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.test import Client
from wechatpy.crypto import WeChatCrypto

from gridgov.cases.choices import Source
from gridgov.cases.models import Case, CaseAttachment
from gridgov.core.models import AuditEntry
from gridgov.intake.models import InboundMessage, OutboundSms, WechatBinding
from gridgov.points.choices import ClaimChannel
from gridgov.points.models import Claim
from gridgov.regions.gcj02 import wgs84_to_gcj02
from gridgov.regions.models import Region

pytestmark = pytest.mark.django_db

TOKEN = "gridgovtoken"
APP_ID = "wx1234567890abcdef"
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")  # 43 characters
URL = "/intake/wechat/callback"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"


@pytest.fixture(autouse=True)
def configured(settings):
    settings.WECHAT_TOKEN = TOKEN
    settings.WECHAT_APP_ID = APP_ID
    settings.WECHAT_ENCODING_AES_KEY = ""
    settings.SMS_BACKEND = "log"
    return settings


def sign(*parts) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def query(timestamp=None, nonce="1405432012", **extra):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}


def text_xml(content, msg_id, openid=OPENID):
    return (f"<xml><ToUserName><![CDATA[gh_0f3a5b7c9d1e]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def location_xml(lat, lon, label, msg_id, openid=OPENID):
    return (f"<xml><ToUserName><![CDATA[gh_0f3a5b7c9d1e]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[location]]></MsgType>"
            f"<Location_X>{lat}</Location_X><Location_Y>{lon}</Location_Y><Scale>15</Scale>"
            f"<Label><![CDATA[{label}]]></Label><MsgId>{msg_id}</MsgId></xml>")


def image_xml(pic_url, msg_id, openid=OPENID):
    return (f"<xml><ToUserName><![CDATA[gh_0f3a5b7c9d1e]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
            f"<PicUrl><![CDATA[{pic_url}]]></PicUrl><MediaId><![CDATA[media_id_1]]></MediaId>"
            f"<MsgId>{msg_id}</MsgId></xml>")


def send(xml: str, params=None):
    response = Client().post(f"{URL}?{urlencode(params or query())}", data=xml.encode(), content_type="text/xml")
    return response


def reply_of(response) -> dict:
    assert response.status_code == 200, response.content
    root = ET.fromstring(response.content)
    return {child.tag: child.text for child in root}


# --- the protocol's safe mode, by hand --------------------------------------------------------------


def _key():
    return base64.b64decode(AES_KEY + "=")


def encrypt(plain: str) -> str:
    body = plain.encode()
    data = os.urandom(16) + struct.pack(">I", len(body)) + body + APP_ID.encode()
    pad = 32 - len(data) % 32
    data += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(_key()), modes.CBC(_key()[:16])).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def decrypt(cipher_text: str) -> tuple[str, str]:
    dec = Cipher(algorithms.AES(_key()), modes.CBC(_key()[:16])).decryptor()
    data = dec.update(base64.b64decode(cipher_text)) + dec.finalize()
    data = data[:-data[-1]]
    length = struct.unpack(">I", data[16:20])[0]
    return data[20:20 + length].decode(), data[20 + length:].decode()


def send_safe(xml: str, *, tamper=False):
    encrypted = encrypt(xml)
    timestamp, nonce = str(int(time.time())), "889900123"
    msg_signature = sign(TOKEN, timestamp, nonce, encrypted)
    if tamper:
        msg_signature = "0" * 40
    envelope = (f"<xml><ToUserName><![CDATA[gh_0f3a5b7c9d1e]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    params = query(timestamp, nonce, encrypt_type="aes", msg_signature=msg_signature, openid=OPENID)
    return send(envelope, params), timestamp, nonce


@pytest.fixture
def grid_point():
    """A WGS84 point inside 湖山村's first grid, and the same point in GCJ-02 as WeChat sends it."""
    grid = Region.objects.get(code="420881103201001")
    lon, lat = grid.centroid_lon, grid.centroid_lat
    glon, glat = wgs84_to_gcj02(lon, lat)
    return grid, glon, glat


class PhotoServer:
    """A real HTTP server in place of WeChat's media host (PicUrl)."""

    def __init__(self, payload=JPEG):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mmbiz_jpg/abc/0"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --- tests --------------------------------------------------------------------------------------------


def test_url_verification_echoes_echostr():
    response = Client().get(URL, query(echostr="5837397520946543223"))
    assert response.status_code == 200 and response.content == b"5837397520946543223"
    bad = Client().get(URL, {**query(echostr="x"), "signature": "0" * 40})
    assert bad.status_code == 403


def test_not_configured(configured):
    configured.WECHAT_TOKEN = ""
    assert Client().get(URL, query(echostr="x")).status_code == 503


def test_location_photo_text_make_one_case_with_photo(grid_point):
    grid, glon, glat = grid_point
    photos = PhotoServer()
    try:
        r1 = reply_of(send(location_xml(glat, glon, "湖山村村委会旁", "6000000000000000001")))
        assert "已收到位置" in r1["Content"] and r1["ToUserName"] == OPENID and r1["FromUserName"] == "gh_0f3a5b7c9d1e"
        assert r1["MsgType"] == "text"
        r2 = reply_of(send(image_xml(photos.url, "6000000000000000002")))
        assert "已收到照片" in r2["Content"]
        r3 = reply_of(send(text_xml("报 水渠堵塞，雨天漫到路上", "6000000000000000003")))
    finally:
        photos.close()
    case = Case.objects.get(external_ref="wechat:6000000000000000003")
    assert case.number in r3["Content"]
    assert case.source == Source.WECHAT and case.region_id == grid.code and case.address == "湖山村村委会旁"
    assert abs(case.lon - grid.centroid_lon) < 1e-5 and abs(case.lat - grid.centroid_lat) < 1e-5  # GCJ-02 undone
    assert case.description == "水渠堵塞，雨天漫到路上"
    assert CaseAttachment.objects.filter(case=case).count() == 1
    # The pending location was used up: a plain text now only gets the help.
    r4 = reply_of(send(text_xml("你好", "6000000000000000004")))
    assert "反映问题" in r4["Content"]
    assert AuditEntry.objects.filter(action="intake.wechat.receive").exists()


def test_retry_of_same_msgid_returns_same_reply_and_creates_nothing(grid_point):
    _, glon, glat = grid_point
    send(location_xml(glat, glon, "路口", "6100000000000000001"))
    first = reply_of(send(text_xml("报 路灯不亮", "6100000000000000002")))
    before = (Case.objects.count(), InboundMessage.objects.count())
    again = reply_of(send(text_xml("报 路灯不亮", "6100000000000000002")))
    assert again["Content"] == first["Content"]
    assert (Case.objects.count(), InboundMessage.objects.count()) == before


def test_text_without_location_asks_for_it():
    before = Case.objects.count()
    reply = reply_of(send(text_xml("报 垃圾没人收", "6200000000000000001")))
    assert "请先发送您的位置" in reply["Content"] and Case.objects.count() == before


def test_safe_mode_message_is_decrypted_and_reply_encrypted(configured, grid_point):
    configured.WECHAT_ENCODING_AES_KEY = AES_KEY
    _, glon, glat = grid_point
    send_safe(location_xml(glat, glon, "湖山村", "6300000000000000001"))
    response, timestamp, nonce = send_safe(text_xml("举报 有人焚烧秸秆", "6300000000000000002"))
    envelope = reply_of(response)
    # The reply is the protocol's encrypted envelope, signed with msg_signature.
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert envelope["MsgSignature"] == sign(TOKEN, envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"])
    plain, app_id = decrypt(envelope["Encrypt"])
    assert app_id == APP_ID
    inner = {c.tag: c.text for c in ET.fromstring(plain)}
    case = Case.objects.get(external_ref="wechat:6300000000000000002")
    assert case.number in inner["Content"] and inner["ToUserName"] == OPENID


def test_safe_mode_with_wechatpy_as_the_sender(configured, grid_point):
    configured.WECHAT_ENCODING_AES_KEY = AES_KEY
    _, glon, glat = grid_point
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    for msg_id, xml in (("6400000000000000001", location_xml(glat, glon, "袁台", "6400000000000000001")),
                        ("6400000000000000002", text_xml("报 桥栏杆松动", "6400000000000000002"))):
        timestamp, nonce = str(int(time.time())), f"n{msg_id[-4:]}"
        envelope = crypto.encrypt_message(xml, nonce, timestamp)
        root = ET.fromstring(envelope)
        response = send(envelope, query(timestamp, nonce, encrypt_type="aes",
                                        msg_signature=root.find("MsgSignature").text))
        assert response.status_code == 200
    answer = ET.fromstring(response.content)
    plain = crypto.decrypt_message(response.content, answer.find("MsgSignature").text, answer.find("TimeStamp").text,
                                   answer.find("Nonce").text)
    assert Case.objects.get(external_ref="wechat:6400000000000000002").number in plain


def test_safe_mode_refusals(configured):
    configured.WECHAT_ENCODING_AES_KEY = AES_KEY
    before = InboundMessage.objects.count()
    response, _, _ = send_safe(text_xml("报 x", "6500000000000000001"), tamper=True)
    assert response.status_code == 403
    # A plaintext message when safe mode is configured is refused, too.
    assert send(text_xml("报 x", "6500000000000000002")).status_code == 400
    garbage = send("<xml><Encrypt><![CDATA[bm90IGEgcmVhbCBjaXBoZXJ0ZXh0]]></Encrypt></xml>",
                   query(encrypt_type="aes", msg_signature=sign(TOKEN, str(int(time.time())), "1405432012",
                                                                "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0")))
    assert garbage.status_code == 400
    assert InboundMessage.objects.count() == before


@pytest.mark.parametrize("body,status", [
    ("<xml><ToUserName>", 400),
    ("not xml at all", 400),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>', 400),
    ("<xml><MsgType>text</MsgType></xml>", 400),
    ("<xml>" + "x" * (65 * 1024) + "</xml>", 413),
])
def test_malformed_payloads_refused(body, status):
    before = InboundMessage.objects.count()
    assert send(body).status_code == status
    assert InboundMessage.objects.count() == before


def test_bad_signature_and_stale_timestamp_refused():
    before = InboundMessage.objects.count()
    params = {**query(), "signature": "f" * 40}
    assert send(text_xml("报 x", "6600000000000000001"), params).status_code == 403
    assert send(text_xml("报 x", "6600000000000000002"), query(int(time.time()) - 301)).status_code == 403
    assert InboundMessage.objects.count() == before
    assert AuditEntry.objects.filter(action="intake.wechat.refused", message="403 bad_signature").exists()


def test_binding_then_good_deed_becomes_claim(registered):
    reply = reply_of(send(text_xml(f"绑定 {registered.phone}", "6700000000000000001")))
    assert "验证码已发送" in reply["Content"]
    sms = OutboundSms.objects.filter(purpose="intake.wechat.bind").latest("id")
    assert sms.phone == registered.phone
    code = sms.text.split("验证码 ")[1][:6]
    wrong = "000000" if code != "000000" else "111111"
    assert "不正确" in reply_of(send(text_xml(f"绑定 {wrong}", "6700000000000000002")))["Content"]
    assert "绑定成功" in reply_of(send(text_xml(f"绑定 {code}", "6700000000000000003")))["Content"]
    assert WechatBinding.objects.get().verified_at is not None
    answer = reply_of(send(text_xml("好人好事 帮五保户修屋顶", "6700000000000000004")))
    claim = Claim.objects.get(idempotency_key="wechat:6700000000000000004")
    assert str(claim.pk) in answer["Content"] and claim.channel == ClaimChannel.WECHAT
    assert claim.subject.household_id == registered.household_id


def test_good_deed_without_binding_is_explained():
    before = Claim.objects.count()
    answer = reply_of(send(text_xml("好人好事 扶老人过马路", "6800000000000000001")))
    assert "绑定" in answer["Content"] and Claim.objects.count() == before


def test_binding_unregistered_phone_refused():
    answer = reply_of(send(text_xml("绑定 19900000003", "6900000000000000001")))
    assert "未在社区登记" in answer["Content"] and not WechatBinding.objects.exists()


def test_rate_limited_per_openid(grid_point):
    for i in range(30):
        send(text_xml("你好", f"70000000000000{i:05d}", openid="oRateLimited"))
    before = InboundMessage.objects.count()
    answer = reply_of(send(text_xml("报 x", "7000000000000099999", openid="oRateLimited")))
    assert "频繁" in answer["Content"] and InboundMessage.objects.count() == before


def test_subscribe_event_gets_help():
    xml = (f"<xml><ToUserName><![CDATA[gh_0f3a5b7c9d1e]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
           f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
           "<Event><![CDATA[subscribe]]></Event></xml>")
    assert "反映问题" in reply_of(send(xml))["Content"]


def test_photo_that_is_not_an_image_goes_into_the_description(grid_point):
    _, glon, glat = grid_point
    server = PhotoServer(payload=b"<html>not a photo</html>")
    try:
        send(location_xml(glat, glon, "某处", "7100000000000000001"))
        send(image_xml(server.url, "7100000000000000002"))
        reply_of(send(text_xml("报 窨井盖缺失", "7100000000000000003")))
    finally:
        server.close()
    case = Case.objects.get(external_ref="wechat:7100000000000000003")
    assert server.url in case.description and not CaseAttachment.objects.filter(case=case).exists()


