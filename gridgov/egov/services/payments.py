"""Disbursement: the payment of an approved application, recorded once.

A payment row exists only because an approval scheduled it (applications.application_approve).
Recording it paid needs the date and the bank's reference; a retry with the same idempotency key
or the same reference answers with the payment as it is, any other second attempt is a 409 — so a
double click, a resent request or a second clerk cannot pay twice.
"""

from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.people.models import Resident

from .. import access
from ..answers import yuan
from ..choices import Action, PaymentStatus, State
from ..models import Application, Payment
from ._common import Conflict, audit, check_key, full_clean, invalid, moment, notify, record_event


def _paid_on(value: Any, decided: date | None, today: date) -> date:
    if isinstance(value, datetime):
        value = timezone.localdate(value)
    if value in (None, ""):
        value = today
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise invalid({"paid_on": f"发放日期“{str(value)[:20]}”无效（例：2026-03-31）"}, "invalid_date") from None
    if value > today:
        raise invalid({"paid_on": "发放日期不能晚于今天"}, "invalid_date")
    if decided is not None and value < decided:
        raise invalid({"paid_on": f"发放日期不能早于批准日期 {decided:%Y-%m-%d}"}, "invalid_date")
    return value


@transaction.atomic
def payment_record(*, acting_user, payment_id: int, reference: str, paid_on: date | str | None = None,
                   idempotency_key: str | None = None, at: datetime | None = None) -> Payment:
    """Marks one scheduled payment paid (department staff or head), with the bank's reference.

    Refused: the application is not approved (or closed after approval), the payment is already paid
    (409 already_paid, unless this is a retry of the very same recording), the reference was used
    for another payment (409)."""
    require(acting_user, "egov.pay")
    key = check_key(idempotency_key)
    payment = access.access_payment(acting_user, payment_id, for_update=True)
    app = Application.objects.select_related("item").get(pk=payment.application_id)
    reference = str(reference or "").strip()
    if payment.status == PaymentStatus.PAID:
        if (key and key == payment.idempotency_key) or (reference and reference == payment.reference):
            payment.replayed = True
            return payment
        raise Conflict("already_paid", f"该笔资金已于 {payment.paid_on:%Y-%m-%d} 发放（凭证号 {payment.reference}），"
                                       "不能重复发放", extra={"payment": payment.pk})
    if key and Payment.objects.filter(idempotency_key=key).exists():
        raise Conflict("idempotency_conflict", "该幂等键已用于另一笔发放")
    if app.state not in (State.APPROVED, State.COMPLETED) or app.decision != "approved":
        raise Conflict("wrong_state", f"申请当前状态为“{app.get_state_display()}”，不能登记发放")
    if not 4 <= len(reference) <= 64:
        raise invalid({"reference": "请填写发放凭证号（银行流水号，4-64 位）"}, "reference_required")
    at = moment(at)
    decided = timezone.localdate(app.decided_at) if app.decided_at else None
    paid_day = _paid_on(paid_on, decided, timezone.localdate(at))
    payment.status = PaymentStatus.PAID
    payment.paid_on = paid_day
    payment.reference = reference
    payment.paid_by = acting_user
    payment.idempotency_key = key
    if Payment.objects.filter(reference=reference).exclude(pk=payment.pk).exists():
        raise Conflict("duplicate_reference", f"发放凭证号“{reference}”已用于另一笔发放")
    full_clean(payment, ["application", "region", "paid_by"])
    try:
        with transaction.atomic():
            payment.save(update_fields=["status", "paid_on", "reference", "paid_by", "idempotency_key"])
    except IntegrityError:
        raise Conflict("duplicate_reference", "该发放凭证号或幂等键已被使用") from None
    data = {"payment": payment.pk, "period": payment.period, "amount_fen": payment.amount_fen,
            "paid_on": paid_day.isoformat()}
    event = record_event(app, action=Action.PAY, actor=acting_user, permission="egov.pay", from_state=app.state,
                         to_state=app.state, at=at, data=data)
    name = Resident.objects.filter(pk=app.applicant_id).values_list("name", flat=True).first() or ""
    period = "" if payment.period == "once" else f"{payment.period} 月"
    notify(app, event, f"{name}，您的“{app.item.name}”（{app.number}）{period}资金 {yuan(payment.amount_fen)} 元"
                       f"已于 {paid_day:%Y-%m-%d} 发放至尾号 {app.payee_account[-4:]} 的账户。")
    audit(acting_user, Action.PAY, app, {"payment": payment.pk, "period": payment.period,
                                         "amount_fen": payment.amount_fen, "paid_on": paid_day,
                                         "reference": reference})
    payment.replayed = False
    return payment
