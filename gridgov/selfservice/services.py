"""Writes of resident self-service: one-time codes, resident sessions, and a resident's reports.

Residents are not platform users. What they submit enters the platform's own workflows through
channel accounts (machine users with an unusable password): one county-wide reporting account for
problems (cases), and one per village for good deeds (points claims, which the village's cadres
verify as any other). The resident is named on the case or claim and in the audit row.
"""

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.cases.choices import Source
from gridgov.core import ratelimit
from gridgov.core.audit import audit_record
from gridgov.core.crypto import blind_index
from gridgov.core.errors import ApplicationError, ValidationFailed
from gridgov.intake.sms import normalise_phone, send_sms
from gridgov.people.choices import ResidentState
from gridgov.people.models import Resident
from gridgov.regions.models import Region

from .models import OtpChallenge, ResidentSession

CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
IDLE_TIMEOUT = timedelta(minutes=30)
MAX_SESSION = timedelta(hours=12)
# (limit, window seconds): codes per phone, codes per address, code checks per address.
SEND_PER_PHONE = ((1, 60), (5, 3600))
SEND_PER_ADDRESS = (20, 3600)
VERIFY_PER_ADDRESS = (30, 3600)
PHONE_PURPOSE = "resident.phone"  # the people registry's blind-index purpose for phones
CASE_SOURCE = Source.SELF_SERVICE  # 居民自助: the resident's own report from /my/


class RateLimited(ApplicationError):
    status = 429

    def __init__(self, retry_after: int, message: str = "操作过于频繁，请稍后再试"):
        super().__init__("rate_limited", f"{message}（约 {retry_after} 秒后）", {"retry_after": retry_after})


def _limit(key: str, limit: int, window: int, message: str = "操作过于频繁，请稍后再试") -> None:
    decision = ratelimit.hit(key, limit=limit, window=window)
    if not decision.allowed:
        raise RateLimited(decision.retry_after, message)


def _phone(value: str) -> str:
    number = normalise_phone(value)
    if not number:
        raise ValidationFailed("请输入 11 位手机号码", code="invalid_phone", extra={"field": "phone"})
    return number


def _code_hash(challenge_salt: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"selfservice-otp\x00{challenge_salt}\x00{code}".encode(),
                    hashlib.sha256).hexdigest()


def _salt(phone_index: str, at) -> str:
    return f"{phone_index}:{at.isoformat()}"


def resident_for_phone(number: str) -> Resident | None:
    """The registered, living resident with this phone; None when there is none, or when the phone is
    registered for people of different households (the grid worker must sort that out first)."""
    found = list(Resident.objects.filter(phone_index=blind_index(number, PHONE_PURPOSE), state=ResidentState.ACTIVE)
                 .order_by("id")[:10])
    if not found or len({r.household_id for r in found}) > 1:
        return None
    return found[0]


def otp_request(*, phone: str, address: str | None) -> OtpChallenge | None:
    """Sends a 6-digit code by SMS to a registered phone.

    Guarantees: at most one code a minute and five an hour per phone, twenty an hour per address
    (429 otherwise); earlier codes of the phone stop working; the answer does not reveal whether the
    phone is registered (None is returned, and nothing is sent, for an unknown phone)."""
    number = _phone(phone)
    index = blind_index(number, PHONE_PURPOSE)
    for limit, window in SEND_PER_PHONE:
        _limit(f"my:send:phone:{index}:{window}", limit, window, "验证码发送过于频繁，请稍后再试")
    _limit(f"my:send:addr:{address or '-'}", *SEND_PER_ADDRESS, "验证码发送过于频繁，请稍后再试")
    resident = resident_for_phone(number)
    if resident is None:
        audit_record(actor=None, action="selfservice.otp.unknown_phone", object_type="selfservice.otp",
                     outcome="failure", message="未登记或多户共用的手机号")
        return None
    at = timezone.now()
    code = f"{secrets.randbelow(10 ** 6):06d}"
    with transaction.atomic():
        OtpChallenge.objects.filter(phone_index=index, used_at__isnull=True, expires_at__gt=at).update(expires_at=at)
        challenge = OtpChallenge.objects.create(phone_index=index, resident=resident, code_hash=_code_hash(
            _salt(index, at), code), created_at=at, expires_at=at + CODE_TTL, address=address or None)
        audit_record(actor=None, action="selfservice.otp.send", obj=challenge, region_code=resident.region_id,
                     changes={"resident": resident.pk})
    send_sms(number, f"【钟祥网格】您的居民自助登录验证码为 {code}，5 分钟内有效。如非本人操作请忽略。",
             purpose="selfservice.login", secret=True)
    return challenge


def otp_verify(*, phone: str, code: str, address: str | None) -> tuple[ResidentSession, str]:
    """Checks a code and opens a resident session: (session, raw cookie key).

    Guarantees: only the newest code of the phone counts, once, within 5 minutes; five wrong codes kill
    it (a new one must be requested); thirty checks an hour per address (429), so guessing across
    many phones is stopped too; every failure is counted even though the request is refused."""
    number = _phone(phone)
    code = (code or "").strip()
    _limit(f"my:verify:addr:{address or '-'}", *VERIFY_PER_ADDRESS, "尝试次数过多，请稍后再试")
    if not (len(code) == 6 and code.isdigit()):
        raise ValidationFailed("请输入短信中的 6 位数字验证码", code="invalid_code", extra={"field": "code"})
    index = blind_index(number, PHONE_PURPOSE)
    at = timezone.now()
    challenge = OtpChallenge.objects.filter(phone_index=index, used_at__isnull=True).order_by("-created_at",
                                                                                           "-id").first()
    if challenge is None:
        raise ValidationFailed("验证码错误或已失效，请重新获取", code="invalid_code", extra={"field": "code"})
    if challenge.expires_at <= at:
        raise ValidationFailed("验证码已过期，请重新获取", code="code_expired", extra={"field": "code"})
    if challenge.attempts >= MAX_ATTEMPTS:
        raise ApplicationError("too_many_attempts", "验证码错误次数过多，请重新获取", {"field": "code"}, status=429)
    expected = _code_hash(_salt(index, challenge.created_at), code)
    if not hmac.compare_digest(expected, challenge.code_hash):
        # Counted outside any transaction the caller might roll back.
        OtpChallenge.objects.filter(pk=challenge.pk).update(attempts=F("attempts") + 1)
        left = MAX_ATTEMPTS - challenge.attempts - 1
        audit_record(actor=None, action="selfservice.login", obj=challenge, outcome="failure",
                     region_code=challenge.resident.region_id, message="验证码错误")
        if left <= 0:
            raise ApplicationError("too_many_attempts", "验证码错误次数过多，请重新获取", {"field": "code"}, status=429)
        raise ValidationFailed(f"验证码错误，还可尝试 {left} 次", code="wrong_code", extra={"field": "code"})
    with transaction.atomic():
        # A conditional update: of two requests with the right code, only one gets a session.
        if not OtpChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(used_at=at):
            raise ValidationFailed("验证码已使用，请重新获取", code="invalid_code", extra={"field": "code"})
        raw = secrets.token_urlsafe(32)
        session = ResidentSession.objects.create(key_hash=hashlib.sha256(raw.encode()).hexdigest(),
                                                 resident=challenge.resident, created_at=at, last_seen_at=at,
                                                 address=address or None)
        audit_record(actor=None, action="selfservice.login", obj=session, region_code=challenge.resident.region_id,
                     changes={"resident": challenge.resident_id})
    return session, raw


def session_for_key(raw: str | None) -> ResidentSession | None:
    """The live session for a cookie key (idle 30 minutes or 12 hours old ends it); touches it."""
    if not raw or len(raw) > 100:
        return None
    session = (ResidentSession.objects.select_related("resident", "resident__household", "resident__region")
               .filter(key_hash=hashlib.sha256(raw.encode()).hexdigest(), ended_at__isnull=True).first())
    now = timezone.now()
    if session is None or session.last_seen_at < now - IDLE_TIMEOUT or session.created_at < now - MAX_SESSION:
        return None
    if session.resident.state != ResidentState.ACTIVE:
        return None
    if session.last_seen_at < now - timedelta(seconds=60):
        ResidentSession.objects.filter(pk=session.pk).update(last_seen_at=now)
    return session


def session_end(*, session: ResidentSession) -> None:
    if ResidentSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(ended_at=timezone.now()):
        audit_record(actor=None, action="selfservice.logout", obj=session, region_code=session.resident.region_id)


# --- channel accounts ----------------------------------------------------------------------------------


def _machine_user(username: str, full_name: str, role: str, region: Region):
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            user = user_model(username=username, full_name=full_name, is_machine=True)
            user.set_unusable_password()
            user.save()
            Assignment.objects.create(user=user, role=role, region=region)
    except IntegrityError:  # created by a concurrent first request
        user = user_model.objects.get(username=username)
    return user


def reporting_account():
    """The county-wide account that self-service cases are reported through."""
    county = Region.objects.get(level=1)
    return _machine_user("selfservice", "居民自助", Role.CITY_OPERATOR, county)


def village_account(village: Region):
    """The account a village's self-reported good deeds are entered through (verified by its cadres)."""
    return _machine_user(f"selfservice-{village.code}", f"居民自助·{village.name}", Role.GRID_ADMIN, village)


# --- reports ------------------------------------------------------------------------------------------


def problem_report(*, resident: Resident, category: str, description: str, lon=None, lat=None, address: str = "",
                   photo=None, form_id: str | None = None):
    """A resident reports a problem: a case (source CASE_SOURCE) in the grid of the given position, or
    in the resident's own grid without one, with the resident as reporter (name and phone encrypted).
    A resubmitted form (same form_id) returns the first case."""
    from gridgov.cases.services import case_report

    try:
        client_id = uuid.UUID(str(form_id)) if form_id else None
    except ValueError:
        client_id = None
    position = lon not in (None, "") and lat not in (None, "")
    case = case_report(acting_user=reporting_account(), category=category, description=description,
                       lon=lon if position else None, lat=lat if position else None, crs="wgs84",
                       grid=None if position else resident.region_id, address=address, source=CASE_SOURCE,
                       reporter_name=resident.name, reporter_phone=resident.phone,
                       external_ref=f"selfservice:{resident.pk}", client_id=client_id,
                       files=[photo] if photo is not None else None)
    if not case.replayed:
        audit_record(actor=None, action="selfservice.case.report", obj=case, region_code=case.region_id,
                     changes={"resident": resident.pk, "case": case.number})
    return case


def good_deed_report(*, resident: Resident, item: str, occurred_on, description: str, photo=None,
                     form_id: str | None = None):
    """A resident reports a good deed: a points claim (村民自报, channel app) for the resident, or for
    the household when the item is for households, entered through the village's self-service
    account and verified by the village's cadres like any claim. Only fixed-value items."""
    from gridgov.points.choices import ClaimChannel, ClaimSource
    from gridgov.points.services import claim_submit

    from .selectors import item_by_code, subject_for

    found = item_by_code(str(item or ""))
    if found is None:
        raise ValidationFailed("请选择可自报的积分事项", code="invalid_item", extra={"field": "item"})
    subject = subject_for(resident, found)
    if subject is None:
        raise ValidationFailed("您（或您家）尚未开设积分账户，请联系网格员", code="no_subject", extra={"field": "item"})
    village = Region.objects.get(code=resident.region_id[:12])
    key = f"my:{form_id}" if form_id else None
    claim = claim_submit(acting_user=village_account(village), subject=subject.pk, item=found.code,
                         occurred_on=occurred_on, description=description, channel=ClaimChannel.APP,
                         source=ClaimSource.SELF, evidence_file=photo, idempotency_key_value=key,
                         reporter_name=resident.name)
    if not claim.replayed:
        audit_record(actor=None, action="selfservice.points.claim", obj=claim, region_code=claim.region_id,
                     changes={"resident": resident.pk, "subject": subject.pk, "item": found.code})
    return claim
