"""积分证明: certificates of a subject's points, and their public verification.

A certificate's code is its random token followed by an HMAC-SHA256 (keyed with SECRET_KEY,
salted for this purpose) over the token and everything the certificate states. Checking a code
recomputes the signature from the stored row: a made-up code finds no row, an altered code or a
row edited after issue fails the signature, a revoked certificate says so.
"""

import secrets
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from gridgov.core.audit import audit_record
from gridgov.core.errors import ValidationFailed

from ..access import access_certificate, access_subject
from ..choices import SCORE_KINDS, CertificatePurpose
from ..models import Certificate, LedgerEntry
from ._common import Conflict

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
TOKEN_LENGTH = 10
SIGNATURE_LENGTH = 10
CODE_LENGTH = TOKEN_LENGTH + SIGNATURE_LENGTH
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def _base32(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        number, rest = divmod(number, 32)
        out.append(ALPHABET[rest])
    return "".join(out)


def sign(cert: Certificate) -> str:
    message = "|".join([
        cert.token, str(cert.subject_id), cert.subject_name, str(cert.earned), str(cert.spendable),
        str(cert.year_earned), cert.issued_on.isoformat(), cert.purpose, cert.region_id,
    ])
    digest = salted_hmac("gridgov.points.certificate", message, algorithm="sha256").digest()
    return _base32(digest, SIGNATURE_LENGTH)


def code_of(cert: Certificate) -> str:
    """The code printed on the certificate, in groups of four: 7K3M-Q9XA-2BCD-…"""
    raw = cert.token + sign(cert)
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum()).translate(_READ_AS)


@transaction.atomic
def certificate_issue(*, acting_user, subject, purpose: str) -> Certificate:
    """Issues a certificate of the subject's points as of today (points.certificate, in scope)."""
    subject_obj = access_subject(acting_user, subject, permission="points.certificate")
    if purpose not in CertificatePurpose.values:
        raise ValidationFailed("请选择证明用途", code="invalid_purpose", extra={"field": "purpose"})
    today = timezone.localdate()
    balance = subject_obj.balance
    year = LedgerEntry.objects.filter(subject=subject_obj, kind__in=SCORE_KINDS,
                                      occurred_on__gte=date(today.year, 1, 1)).aggregate(s=Sum("score_delta"))["s"]
    cert = Certificate(region_id=subject_obj.region_id, subject=subject_obj, subject_name=subject_obj.name,
                       token="".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH)), purpose=purpose,
                       earned=balance.earned, spendable=balance.spendable, year_earned=year or 0, issued_on=today,
                       issued_by=acting_user)
    cert.save(force_insert=True)
    audit_record(actor=acting_user, action="points.certificate.issue", obj=cert, changes={
        "subject": subject_obj.pk, "purpose": purpose, "earned": cert.earned,
    })
    return cert


@transaction.atomic
def certificate_revoke(*, acting_user, certificate, reason: str) -> Certificate:
    """Revokes a certificate (issued in error, superseded); the public check then says so."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ValidationFailed("请填写作废原因（200 字以内）", code="reason_required", extra={"field": "reason"})
    found = access_certificate(acting_user, certificate, permission="points.certificate")
    cert = Certificate.objects.select_for_update().get(pk=found.pk)
    if cert.revoked_at is not None:
        raise Conflict("already_revoked", "该证明已作废")
    cert.revoked_at = timezone.now()
    cert.revoked_by = acting_user
    cert.revoke_reason = reason
    cert.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_record(actor=acting_user, action="points.certificate.revoke", obj=cert, changes={"reason": reason})
    return cert


@dataclass(frozen=True)
class Verification:
    status: str  # valid, revoked, invalid
    certificate: Certificate | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"


def certificate_verify(code: str) -> Verification:
    """Checks a code as anyone may (no login). Only a genuine, unaltered code finds its certificate."""
    raw = normalise_code(code)
    if len(raw) != CODE_LENGTH or any(ch not in ALPHABET for ch in raw):
        return Verification("invalid")
    token, signature = raw[:TOKEN_LENGTH], raw[TOKEN_LENGTH:]
    cert = Certificate.objects.filter(token=token).select_related("subject", "region").defer(
        "region__geom_wkb").first()
    if cert is None or not constant_time_compare(sign(cert), signature):
        return Verification("invalid")
    if cert.revoked_at is not None:
        return Verification("revoked", cert)
    return Verification("valid", cert)
