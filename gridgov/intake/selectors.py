"""Reads of the intake log, starting from the user's scope.

An operator sees the messages that became something in their area (region_code under their scope)
and the calls they took themselves; messages that never reached a grid (unknown sender, refused)
belong to the county, so only a county-wide scope sees them.
"""

from datetime import date, datetime, time

from django.db.models import Q, QuerySet
from django.utils import timezone

from gridgov.accounts.policy import get_scope, region_scope_q, require
from gridgov.core.errors import NotFound, ValidationFailed

from .models import Channel, InboundMessage, Outcome


def _scoped(user) -> QuerySet:
    q = region_scope_q(user) | Q(operator=user)
    if any(len(p) <= 6 for p in get_scope(user).region_prefixes):
        q |= Q(region_code="")
    return InboundMessage.objects.filter(q)


def message_list(*, user, channel: str = "", outcome: str = "", q: str = "", date_from: date | None = None,
                 date_to: date | None = None) -> QuerySet:
    """Messages in the user's scope, newest first, with their case and operator (no N+1)."""
    require(user, "intake.view")
    if channel and channel not in Channel.values:
        raise ValidationFailed("渠道不正确", code="invalid_channel", extra={"field": "channel"})
    if outcome and outcome not in Outcome.values:
        raise ValidationFailed("结果不正确", code="invalid_outcome", extra={"field": "outcome"})
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("开始日期不能晚于结束日期", code="invalid_range", extra={"field": "date_from"})
    qs = (_scoped(user).select_related("case", "operator")
          .defer("case__description", "case__reporter_name", "case__reporter_phone"))
    if channel:
        qs = qs.filter(channel=channel)
    if outcome:
        qs = qs.filter(outcome=outcome)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(external_id=q) | Q(case__number=q) | Q(body__contains=q))
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        qs = qs.filter(created_at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
    return qs.order_by("-id")


def message_get(*, user, message_id) -> InboundMessage:
    """One message in scope; missing and out of scope are the same 404."""
    require(user, "intake.view")
    try:
        pk = int(message_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    found = _scoped(user).select_related("case", "claim", "operator").filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found
