"""egov disbursements under parallel HTTP requests (PostgreSQL): an approval sent N times with one
idempotency key schedules the money once; a payment recorded N times at once is paid once.
"""

from datetime import date

import pytest
from django.db import connection

from gridgov.accounts.choices import Role
from gridgov.egov import services
from gridgov.egov.choices import Action
from gridgov.egov.models import Application, ApplicationEvent, Payment
from gridgov.egov.tests import factories as ef

from .concurrency_support import (
    N,
    department,
    free_village,
    key,
    post_parallel,
    reference_data,
    tally,
    token_for,
    user,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="SQLite serialises every writer (BEGIN IMMEDIATE): a race needs PostgreSQL's row locks"),
]


@pytest.fixture
def decided(settings, tmp_path):
    """A 高龄津贴 application (monthly, 50 yuan, no town review) waiting for 民政局's head, in a village of
    our own; returns (application, head, staff)."""
    settings.EGOV_MATERIALS_ROOT = str(tmp_path / "materials")
    reference_data()
    village, grid = free_village("420881108", "并发政务村")
    mzj = department("MZJ", "民政局", jurisdiction="420881")
    admin = user(Role.GRID_ADMIN, region_code=village.code)
    staff, head = user(Role.DEPT_STAFF, department=mzj), user(Role.DEPT_HEAD, department=mzj)
    person = ef.resident(grid.code, birth=date(1940, 3, 1))
    app = services.application_create(acting_user=admin, item_code=ef.OLD_AGE, applicant_id=person.pk, answers={},
                                      payee_account="6217995200012345678")
    ef.attach_required(admin, app)
    services.application_accept(acting_user=admin, application_id=app.pk)
    app = services.application_verify(acting_user=staff, application_id=app.pk, note="入户核实，情况属实")
    assert app.state == "dept_decide", app.state
    return app, head, staff


def test_money_is_scheduled_once_and_each_payment_paid_once(decided):
    app, head, staff = decided
    same = key()

    outcomes = post_parallel(token_for(head), [(f"egov/applications/{app.pk}/approve", {"note": "同意"},
                                                {"HTTP_IDEMPOTENCY_KEY": same})] * N)

    assert tally(outcomes) == {200: N}, tally(outcomes)
    assert {b["state"] for _, b in outcomes} == {"approved"}
    assert ApplicationEvent.objects.filter(application=app, action=Action.APPROVE).count() == 1
    payments = Payment.objects.filter(application=app)
    assert payments.count() == 12 and {p.amount_fen for p in payments} == {5000}
    assert len({p.period for p in payments}) == 12

    # Then each payment recorded N times at once is paid once.
    first, second, *rest = Payment.objects.filter(application=app).order_by("period")
    clerk = token_for(staff)

    # Retries with one key and one bank reference: all answer the one recording.
    same = key()
    outcomes = post_parallel(clerk, [(f"egov/payments/{first.pk}/pay", {"reference": "BANK-0001"},
                                      {"HTTP_IDEMPOTENCY_KEY": same})] * N)
    assert tally(outcomes) == {200: N}, tally(outcomes)

    # Clerks recording the same payment with their own keys and references: one wins.
    outcomes = post_parallel(clerk, [(f"egov/payments/{second.pk}/pay", {"reference": f"BANK-1{i:03d}"},
                                      {"HTTP_IDEMPOTENCY_KEY": key()}) for i in range(N)])
    assert tally(outcomes) == {200: 1, "409 already_paid": N - 1}, tally(outcomes)

    # One bank transfer recorded against several months at once: the reference is used once.
    dup, rest = rest[:4], rest[4:]
    outcomes = post_parallel(clerk, [(f"egov/payments/{p.pk}/pay", {"reference": "BANK-DUP1"},
                                      {"HTTP_IDEMPOTENCY_KEY": key()}) for p in dup])
    assert tally(outcomes) == {200: 1, "409 duplicate_reference": 3}, tally(outcomes)

    # The other months of the schedule at once: each paid, none lost.
    outcomes = post_parallel(clerk, [(f"egov/payments/{p.pk}/pay", {"reference": f"BANK-2{i:03d}"},
                                      {"HTTP_IDEMPOTENCY_KEY": key()}) for i, p in enumerate(rest)])
    assert tally(outcomes) == {200: len(rest)}, tally(outcomes)

    paid = Payment.objects.filter(application=app, status="paid")
    assert paid.count() == 3 + len(rest) and len(set(paid.values_list("reference", flat=True))) == paid.count()
    assert Payment.objects.filter(application=app, status="scheduled").count() == 3
    assert Payment.objects.get(pk=first.pk).reference == "BANK-0001"
    assert ApplicationEvent.objects.filter(application=app, action=Action.PAY).count() == paid.count()
    assert Application.objects.get(pk=app.pk).state == "approved"
