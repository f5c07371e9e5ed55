"""积分证明: issue, the PDF with its QR, and the public check that detects forged and altered codes."""

import pytest
from django.test import Client

from gridgov.core.errors import PermissionDenied
from gridgov.points import services
from gridgov.points.models import Certificate
from gridgov.points.services.certificates import ALPHABET, normalise_code

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def cert(village):
    subject = village.subject("吴正宪")
    f.credit(village, subject, 80)
    f.credit(village, subject, 3, "M04")
    return services.certificate_issue(acting_user=village.admin, subject=subject.pk, purpose="school")


def test_issue_and_verify(village, cert):
    assert (cert.earned, cert.year_earned, cert.spendable, cert.subject_name) == (83, 83, 83, "吴正宪")
    code = services.code_of(cert)
    assert len(code) == 24 and code.count("-") == 4
    result = services.certificate_verify(code)
    assert result.valid and result.certificate.pk == cert.pk
    # read back the way people type it: lower case, no dashes, O for 0
    assert services.certificate_verify(code.lower().replace("-", "").replace("0", "o")).valid


def test_a_forged_or_altered_code_is_detected(cert):
    code = normalise_code(services.code_of(cert))
    assert services.certificate_verify("ABCD-EFGH-JKMN-PQRS-TVWX").status == "invalid"  # made up
    last = code[-1]
    altered = code[:-1] + next(ch for ch in ALPHABET if ch != last)  # right token, wrong signature
    assert services.certificate_verify(altered).status == "invalid"
    token_changed = next(ch for ch in ALPHABET if ch != code[0]) + code[1:]
    assert services.certificate_verify(token_changed).status == "invalid"
    assert services.certificate_verify("").status == "invalid"
    assert services.certificate_verify("x" * 500).status == "invalid"


def test_a_row_altered_after_issue_fails_its_signature(cert):
    code = services.code_of(cert)
    Certificate.objects.filter(pk=cert.pk).update(earned=9999)
    assert services.certificate_verify(code).status == "invalid"


def test_a_revoked_certificate_says_so(village, cert):
    code = services.code_of(cert)
    services.certificate_revoke(acting_user=village.cadres[0], certificate=cert.pk, reason="信息有误，重新出具")
    assert services.certificate_verify(code).status == "revoked"


def test_only_the_scheme_roles_issue(village):
    subject = village.subject()
    with pytest.raises(PermissionDenied):
        services.certificate_issue(acting_user=village.worker, subject=subject.pk, purpose="job")


def test_the_public_page_needs_no_login_and_shows_no_personal_data(cert):
    client = Client()
    code = services.code_of(cert)
    response = client.get(f"/points/verify/{code}")
    assert response.status_code == 200
    text = response.content.decode()
    assert "证明真实有效" in text and "吴*宪" in text and "吴正宪" not in text and "83 分" in text
    forged = client.get("/points/verify/ABCD-EFGH-JKMN-PQRS-TVWX")
    assert forged.status_code == 404 and "伪造" in forged.content.decode()
    assert client.get("/points/verify/").status_code == 200
    assert client.get(f"/points/verify/?code={code}").status_code == 302
    status = client.get(f"/api/v1/points/verify/{code}")
    assert status.status_code == 200 and status.json()["status"] == "valid"
    assert status.json()["name"] == "吴*宪" and status.json()["earned"] == 83
    assert client.get("/api/v1/points/verify/NOPE").json()["status"] == "invalid"


def test_the_pdf(village, cert):
    client = Client()
    client.force_login(village.admin)
    response = client.get(f"/points/certificates/{cert.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    body = response.content
    assert body.startswith(b"%PDF-") and b"STSong-Light" in body
    outsider = Client()
    outsider.force_login(f.Village(town=f.HUJI, name="远村").admin)
    assert outsider.get(f"/points/certificates/{cert.pk}/pdf/").status_code == 404
