"""The certificate PDF for a certificate the user may see: its figures, the category breakdown of
what was earned, and the QR/URL of the public check."""

from django.db.models import Sum
from django.urls import reverse

from .choices import SCORE_KINDS, Category, CertificatePurpose, SubjectKind
from .conf import setting
from .models import Certificate, LedgerEntry
from .pdf import render_certificate
from .presenters import village_name
from .services.certificates import code_of


def verify_url(code: str, base_url: str = "") -> str:
    base = (setting("POINTS_VERIFY_BASE_URL") or base_url or "").rstrip("/")
    return base + reverse("points:verify_code", kwargs={"code": code})


def certificate_pdf(cert: Certificate, *, base_url: str = "") -> tuple[bytes, str]:
    """(PDF bytes, file name). Only entries up to the issue day count in the breakdown."""
    code = code_of(cert)
    sums = (LedgerEntry.objects.filter(subject_id=cert.subject_id, kind__in=SCORE_KINDS,
                                       occurred_on__lte=cert.issued_on, item__isnull=False)
            .values("item__category").annotate(points=Sum("score_delta")))
    by_category = {row["item__category"]: row["points"] or 0 for row in sums}
    categories = [(str(label), by_category[value]) for value, label in Category.choices if by_category.get(value)]
    issuer = cert.issued_by.full_name or cert.issued_by.username
    content = render_certificate(
        cert=cert, code=code, verify_url=verify_url(code, base_url),
        kind_label=str(SubjectKind(cert.subject.kind).label), village=village_name(cert.region_id),
        purpose_label=str(CertificatePurpose(cert.purpose).label), issuer=issuer, categories=categories,
    )
    return content, f"积分证明-{cert.subject_name}-{cert.issued_on:%Y%m%d}.pdf"
