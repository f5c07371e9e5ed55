"""Reading the audit log: auditors and the system administrator only."""

from datetime import datetime

from gridgov.accounts.policy import require

from .models import AuditEntry


def audit_entry_list(
    *, user, actor: str | None = None, action: str | None = None, object_type: str | None = None,
    object_id: str | None = None, region: str | None = None, outcome: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
):
    require(user, "audit.view")
    qs = AuditEntry.objects.all()
    if actor:
        qs = qs.filter(actor_username=actor)
    if action:
        qs = qs.filter(action__startswith=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if region:
        qs = qs.filter(region_code__startswith=region)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-created_at", "-id")
