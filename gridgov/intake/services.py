"""Writes of the intake channels: a message or call becomes a case report or a points claim.

Every channel goes through `receive()`: the message is claimed by its protocol id first (the
unique (channel, external_id) row), then turned into a case or a claim in the same transaction; a
retry of the same id returns the stored outcome and creates nothing. Two retries racing each other
meet at the unique constraint: the loser rolls back and returns the winner's row.

Who acts. Cases from SMS and WeChat are reported by the channel's desk account (`intake-sms`,
`intake-wechat`: a city-centre post with no password, created on first use), so they appear on the
centre's accept queue like any hotline case. Claims are a grid role (points.claim): a resident's
good deed is entered on the desk of the grid worker of the resident's grid (source 村民自报, the
channel kept), where the village cadres verify it like any other claim. The hotline operator
reports cases in person; a hotline claim goes to the grid worker the same way.
"""

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.accounts.policy import get_scope, require
from gridgov.cases.choices import Source
from gridgov.cases.services.report import case_report
from gridgov.core.audit import audit_record
from gridgov.core.crypto import blind_index
from gridgov.core.errors import ApplicationError, NotFound, ValidationFailed
from gridgov.core.masking import mask_phone
from gridgov.people.choices import ResidentState
from gridgov.people.models import Resident
from gridgov.people.validation import PHONE_PURPOSE as RESIDENT_PHONE_PURPOSE
from gridgov.points.choices import ClaimChannel, ClaimSource
from gridgov.points.models import Item
from gridgov.points.services.claims import claim_submit
from gridgov.points.services.subjects import household_subject_for

from .models import Channel, InboundMessage, Outcome, WechatBinding
from .sms import normalise_phone, send_sms

log = logging.getLogger("gridgov.intake")

DEFAULT_CATEGORY = "G1101"  # 其他社会治理事项 · 其他: the centre reclassifies when it registers the case
CLAIM_ITEM = "M32"  # 其他好人好事: entered at the item's lowest score, the cadres settle the rest
MAX_TEXT = 500
SENDER_PURPOSE = "intake.sender"
CASE_WORDS = ("举报", "投诉", "反映", "报")
CLAIM_WORDS = ("好人好事", "积分")
DESK_ACCOUNTS = {Channel.SMS: ("intake-sms", "短信接入"), Channel.WECHAT: ("intake-wechat", "微信公众号接入")}
CLAIM_CHANNELS = {Channel.SMS: ClaimChannel.SMS, Channel.WECHAT: ClaimChannel.WECHAT,
                  Channel.HOTLINE: ClaimChannel.PHONE}
CASE_SOURCES = {Channel.SMS: Source.SMS, Channel.WECHAT: Source.WECHAT, Channel.HOTLINE: Source.HOTLINE}


class Conflict(ApplicationError):
    status = 409


def sender_index(channel: str, sender: str) -> str:
    return blind_index(f"{channel}:{sender}", SENDER_PURPOSE)


def parse_intent(text: str) -> tuple[str, str]:
    """("claim" | "case", the text without its keyword). Anything without a keyword is a report."""
    body = (text or "").strip()
    for word in CLAIM_WORDS:
        if body.startswith(word):
            rest = body[len(word):].lstrip(" :：,，、")
            return "claim", (body if word == "好人好事" else rest) or body
    for word in CASE_WORDS:
        if body.startswith(word):
            return "case", body[len(word):].lstrip(" :：,，、") or body
    return "case", body


def resident_by_phone(phone: str) -> Resident | None:
    """The registered resident with this phone (blind index), preferring one in a household."""
    number = normalise_phone(phone)
    if not number:
        return None
    return (Resident.objects.filter(phone_index=blind_index(number, RESIDENT_PHONE_PURPOSE),
                                    state=ResidentState.ACTIVE)
            .order_by(F("household_id").asc(nulls_last=True), "id").first())


def desk_account(channel: str):
    """The channel's desk account: a city-centre post without a password (it cannot log in)."""
    username, name = DESK_ACCOUNTS[channel]
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user
    from gridgov.regions.models import Region

    try:
        with transaction.atomic():
            user = User(username=username, full_name=name, is_active=True, is_machine=True)
            user.set_unusable_password()
            user.save()
            county = Region.objects.filter(level=1).order_by("code").first()
            Assignment.objects.create(user=user, role=Role.CITY_OPERATOR, region=county)
    except IntegrityError:  # another process created it a moment ago
        user = User.objects.get(username=username)
    return user


def claim_desk(grid_code: str):
    """The grid worker of the grid (else the village's grid administrator) who enters a resident's claim."""
    found = (Assignment.objects.filter(role=Role.GRID_WORKER, region_id=grid_code, is_active=True, user__is_active=True)
             .select_related("user").order_by("id").first()
             or Assignment.objects.filter(role=Role.GRID_ADMIN, region_id=grid_code[:12], is_active=True,
                                          user__is_active=True).select_related("user").order_by("id").first())
    if found is None:
        raise Conflict("no_grid_worker", "该网格暂无网格员，无法登记积分申报")
    return found.user


@dataclass
class Report:
    """What a channel hands to `receive`, already parsed and authenticated."""

    channel: str
    external_id: str
    sender: str  # phone number, or WeChat OpenID
    text: str
    phone: str = ""  # the registered phone the sender speaks for ("" if unknown)
    msg_type: str = "text"
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str = ""
    grid: str = ""
    category: str = ""
    intent: str = ""  # "" = from the keywords
    sender_name: str = ""
    files: list | None = None
    operator: object = None
    image_note: str = ""


def _reply_case(case) -> str:
    return f"【钟祥网格】您反映的问题已受理，案件编号 {case.number}，我们将尽快处理。可凭编号查询进度。"


def _reply_claim(claim) -> str:
    return (f"【钟祥网格】您申报的好人好事已登记（申报号 {claim.pk}），村委核实后计入您家的积分。")


def receive(report: Report) -> tuple[InboundMessage, bool]:
    """(the stored message, replayed). Never creates a second case or claim for the same protocol id.

    Refused with ValidationFailed (and nothing stored) when the text is empty or too long; a message
    that cannot become a case or claim (unknown sender with no location, no grid worker …) is stored
    with outcome `unregistered`/`rejected` and a reply saying why, so its retry gets the same reply.
    """
    text = (report.text or "").strip()
    if not text and not report.files:
        raise ValidationFailed("内容不能为空", code="empty_text", extra={"field": "text"})
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"内容不能超过 {MAX_TEXT} 字", code="text_too_long", extra={"field": "text"})
    existing = InboundMessage.objects.filter(channel=report.channel, external_id=report.external_id).first()
    if existing is not None:
        return existing, True
    try:
        with transaction.atomic():
            return _receive(report, text), False
    except IntegrityError:
        existing = InboundMessage.objects.filter(channel=report.channel, external_id=report.external_id).first()
        if existing is None:
            raise
        return existing, True


def _receive(report: Report, text: str) -> InboundMessage:
    parsed, stripped = parse_intent(text)
    intent = report.intent or parsed
    body = stripped if parsed == intent else text
    msg = InboundMessage.objects.create(
        channel=report.channel, external_id=report.external_id, sender=report.sender,
        sender_index=sender_index(report.channel, report.sender), sender_name=report.sender_name[:50],
        body=text, msg_type=report.msg_type, outcome=Outcome.REJECTED, operator=report.operator,
    )
    resident = resident_by_phone(report.phone) if report.phone else None
    try:
        with transaction.atomic():
            if intent == "claim":
                _to_claim(msg, report, body, resident)
            else:
                _to_case(msg, report, body, resident)
    except ApplicationError as exc:
        if report.operator is not None:
            raise  # the operator sees the error on the form and corrects it; nothing is stored
        msg.outcome = Outcome.REJECTED if msg.outcome != Outcome.UNREGISTERED else msg.outcome
        msg.error_code = exc.code[:40]
        msg.reply = msg.reply or f"【钟祥网格】很抱歉，您的消息未能受理：{exc.message}。请拨打 12345 反映。"
    msg.save(update_fields=["outcome", "reply", "error_code", "region_code", "case", "claim"])
    audit_record(actor=report.operator, action=f"intake.{report.channel}.receive", obj=msg,
                 username=f"{report.channel}:{mask_phone(report.phone) if report.phone else 'anonymous'}",
                 changes={"outcome": msg.outcome, "case": msg.case.number if msg.case_id else None,
                          "claim": msg.claim_id, "error": msg.error_code or None})
    return msg


def _to_case(msg: InboundMessage, report: Report, body: str, resident) -> None:
    acting = report.operator or desk_account(report.channel)
    grid = report.grid or None
    if report.lon is None and not grid:
        if resident is None and report.operator is not None:
            raise ValidationFailed("来电号码未登记住址，请填写事件发生地的网格代码或经纬度", code="location_required",
                                   extra={"field": "grid"})
        if resident is None:
            msg.outcome = Outcome.UNREGISTERED
            msg.reply = ("【钟祥网格】未能确定问题发生的位置：您的号码未在社区登记。"
                         "请通过微信公众号发送位置后再描述问题，或拨打 12345。")
            raise ValidationFailed("无法确定位置", code="location_required")
        grid = resident.region_id
    description = body + (f"\n{report.image_note}" if report.image_note else "")
    case = case_report(
        acting_user=acting, category=report.category or DEFAULT_CATEGORY, description=description,
        lon=report.lon, lat=report.lat, crs=report.crs, grid=grid, address=report.address,
        source=CASE_SOURCES[report.channel], reporter_name=report.sender_name or (resident.name if resident else ""),
        reporter_phone=report.phone, external_ref=f"{report.channel}:{report.external_id}"[:64], files=report.files,
    )
    msg.outcome, msg.case, msg.region_code = Outcome.CASE, case, case.region_id
    msg.reply = _reply_case(case)


def _to_claim(msg: InboundMessage, report: Report, body: str, resident) -> None:
    if (resident is None or resident.household_id is None) and report.operator is not None:
        raise ValidationFailed("来电号码未在人口库登记到户，无法转为积分申报", code="unregistered_sender",
                               extra={"field": "caller_phone"})
    if resident is None or resident.household_id is None:
        msg.outcome = Outcome.UNREGISTERED
        msg.reply = "【钟祥网格】好人好事申报需使用在社区登记的手机号码（微信需先发送“绑定 手机号”）。"
        raise ValidationFailed("号码未登记", code="unregistered_sender")
    if report.operator is not None:
        # The operator must be able to see the resident: a town desk takes calls for its own town.
        if not get_scope(report.operator).covers(resident.region_id):
            raise NotFound("该来电号码登记的住户不在您的管辖范围内")
    subject = household_subject_for(resident.pk)
    item = Item.objects.get(code=CLAIM_ITEM)
    claim = claim_submit(
        acting_user=claim_desk(resident.region_id), subject=subject.pk, item=item.pk,
        occurred_on=timezone.localdate(), description=body, channel=CLAIM_CHANNELS[report.channel],
        source=ClaimSource.SELF, points=item.points_min, reporter_name=resident.name,
        evidence=report.image_note[:500], idempotency_key_value=f"{report.channel}:{report.external_id}"[:64],
    )
    msg.outcome, msg.claim, msg.region_code = Outcome.CLAIM, claim, claim.region_id
    msg.reply = _reply_claim(claim)


def confirm_by_sms(msg: InboundMessage, phone: str) -> None:
    """Sends the stored reply to the sender's phone, once per message (a retry sends nothing)."""
    if msg.reply and normalise_phone(phone):
        send_sms(phone, msg.reply, purpose=f"intake.{msg.channel}.reply")


# --- hotline ---------------------------------------------------------------------------------------


def hotline_call_record(*, acting_user, call_ref: str, caller_phone: str, caller_name: str = "", kind: str,
                        description: str, category: str = "", grid: str = "", lon=None, lat=None,
                        address: str = "", notify: bool = True) -> tuple[InboundMessage, bool]:
    """A 12345-style call taken by an operator: a case (reported by the operator) or a claim for the
    caller's registered household. Idempotent per call reference: the same reference returns the first
    record (replayed) and creates nothing. The caller's number is stored encrypted; a mobile caller
    gets the case number by SMS."""
    require(acting_user, "intake.hotline")
    call_ref = (call_ref or "").strip()
    if not call_ref or len(call_ref) > 40 or not all(c.isalnum() or c in "-_." for c in call_ref):
        raise ValidationFailed("来电编号应为 1-40 位字母、数字或 - _ .", code="invalid_call_ref",
                               extra={"field": "call_ref"})
    phone = "".join(ch for ch in (caller_phone or "") if ch.isdigit() or ch == "-")
    if not (7 <= len(phone.replace("-", "")) <= 13):
        raise ValidationFailed("来电号码格式不正确", code="invalid_phone", extra={"field": "caller_phone"})
    if kind not in ("case", "claim"):
        raise ValidationFailed("请选择受理类型：事件上报或好人好事", code="invalid_kind", extra={"field": "kind"})
    existing = InboundMessage.objects.filter(channel=Channel.HOTLINE, external_id=call_ref).first()
    if existing is not None:
        return existing, True
    report = Report(channel=Channel.HOTLINE, external_id=call_ref, sender=phone, text=description,
                    phone=normalise_phone(phone) or phone, sender_name=(caller_name or "").strip()[:50],
                    intent=kind, category=category, grid=grid, lon=None if lon in (None, "") else lon,
                    lat=None if lat in (None, "") else lat, address=address, operator=acting_user, msg_type="call")
    msg, replayed = receive(report)
    if notify and not replayed:
        transaction.on_commit(lambda: _notify_safely(msg, phone))
    return msg, replayed


def _notify_safely(msg: InboundMessage, phone: str) -> None:
    try:
        confirm_by_sms(msg, phone)
    except ApplicationError:  # a landline: nothing to text
        pass


# --- WeChat binding (绑定 手机号 → code by SMS → 绑定 code) ---------------------------------------------

CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5


def _code_hash(openid_index: str, code: str) -> str:
    return hmac.new(openid_index.encode(), code.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def wechat_bind_start(*, openid: str, phone: str) -> str:
    """Sends a 6-digit code to a registered phone; the reply text for the WeChat user."""
    number = normalise_phone(phone)
    if not number:
        return "手机号码格式不正确，请发送“绑定 11位手机号”。"
    if resident_by_phone(number) is None:
        return "该号码未在社区登记，无法绑定。请联系您的网格员登记。"
    index = sender_index(Channel.WECHAT, openid)
    code = f"{secrets.randbelow(10**6):06d}"
    binding, _ = WechatBinding.objects.select_for_update().get_or_create(
        openid_index=index, defaults={"phone": number, "phone_index": blind_index(number, RESIDENT_PHONE_PURPOSE)})
    binding.phone, binding.phone_index = number, blind_index(number, RESIDENT_PHONE_PURPOSE)
    binding.code_hash, binding.code_expires_at, binding.attempts = _code_hash(index, code), timezone.now() + CODE_TTL, 0
    binding.verified_at = None
    binding.save()
    send_sms(number, f"【钟祥网格】您正在绑定微信公众号，验证码 {code}，10 分钟内有效。如非本人操作请忽略。",
             purpose="intake.wechat.bind", secret=True)
    audit_record(actor=None, action="intake.wechat.bind_start", obj=binding, username=f"wechat:{mask_phone(number)}")
    return f"验证码已发送至 {mask_phone(number)}，请在 10 分钟内回复“绑定 验证码”。"


@transaction.atomic
def wechat_bind_confirm(*, openid: str, code: str) -> str:
    index = sender_index(Channel.WECHAT, openid)
    binding = WechatBinding.objects.select_for_update().filter(openid_index=index).first()
    if binding is None or not binding.code_hash or binding.code_expires_at is None:
        return "请先发送“绑定 手机号”获取验证码。"
    if binding.code_expires_at < timezone.now() or binding.attempts >= CODE_ATTEMPTS:
        return "验证码已失效，请重新发送“绑定 手机号”。"
    if not hmac.compare_digest(binding.code_hash, _code_hash(index, code)):
        binding.attempts += 1
        binding.save(update_fields=["attempts"])
        return f"验证码不正确，还可尝试 {CODE_ATTEMPTS - binding.attempts} 次。"
    binding.verified_at, binding.code_hash, binding.code_expires_at = timezone.now(), "", None
    binding.save(update_fields=["verified_at", "code_hash", "code_expires_at"])
    audit_record(actor=None, action="intake.wechat.bind", obj=binding, username=f"wechat:{mask_phone(binding.phone)}")
    return f"绑定成功（{mask_phone(binding.phone)}）。现在可以发送“好人好事 …”申报积分了。"


def wechat_bound_phone(openid: str) -> str:
    binding = WechatBinding.objects.filter(openid_index=sender_index(Channel.WECHAT, openid),
                                           verified_at__isnull=False).first()
    return binding.phone if binding else ""
