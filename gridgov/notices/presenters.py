"""Rows and objects of the notices module as plain dicts for the API and the pages."""

from django.urls import reverse
from django.utils import timezone

from gridgov.accounts.choices import Role

from .access import sees_whole
from .choices import NoticeStatus

ROLE_LABELS = dict(Role.choices)


def person(user) -> str:
    return (user.full_name or user.username) if user else ""


def notice_dict(n) -> dict:
    return {"id": n.pk, "title": n.title, "author": person(n.author), "author_unit": n.author_unit,
            "region": n.target_region_id, "region_name": n.target_region.name, "roles": list(n.target_roles or []),
            "requires_ack": n.requires_ack, "ack_deadline": n.ack_deadline, "status": n.status, "sent_at": n.sent_at,
            "recipient_count": n.recipient_count, "withdrawn_at": n.withdrawn_at,
            "withdraw_reason": n.withdraw_reason}


def can_withdraw(user, n) -> bool:
    from gridgov.accounts.policy import can, get_scope

    return n.status == NoticeStatus.SENT and (
        n.author_id == user.pk or (can(user, "notices.send") and Role.CITY_OPERATOR in get_scope(user).roles))


def can_stats(user, n) -> bool:
    from gridgov.accounts.policy import can

    return sees_whole(user, n) or can(user, "notices.stats")


def notice_detail(user, n, receipt) -> dict:
    return {**notice_dict(n), "body_html": n.body_html,
            "attachments": [{"id": a.pk, "name": a.original_name or a.file.name.rsplit("/", 1)[-1],
                             "content_type": a.content_type, "size": a.size,
                             "url": reverse("api:notice_attachment", args=[n.pk, a.pk])} for a in n.attachments.all()],
            "departments": [d.name for d in n.target_departments.all()],
            "receipt": None if receipt is None else {"read_at": receipt.read_at, "acked_at": receipt.acked_at,
                                                     "ack_comment": receipt.ack_comment},
            "can_withdraw": can_withdraw(user, n), "can_stats": can_stats(user, n)}


def inbox_dict(r) -> dict:
    n = r.notice
    return {"id": n.pk, "title": n.title, "author_unit": n.author_unit or person(n.author), "sent_at": n.sent_at,
            "requires_ack": n.requires_ack, "ack_deadline": n.ack_deadline, "overdue": is_overdue(r),
            "status": n.status, "read_at": r.read_at, "acked_at": r.acked_at}


def is_overdue(r) -> bool:
    n = r.notice
    return bool(n.requires_ack and r.acked_at is None and n.ack_deadline and n.ack_deadline < timezone.now())


def recipient_dict(r) -> dict:
    return {"name": person(r.user), "role": str(ROLE_LABELS.get(r.role, r.role)), "region_code": r.region_code,
            "department": r.department.name if r.department_id else "", "read_at": r.read_at,
            "acked_at": r.acked_at, "ack_comment": r.ack_comment}


def report_dict(r) -> dict:
    return {"id": r.pk, "category": r.category, "category_label": r.get_category_display(), "text": r.text,
            "grid": r.region_id, "grid_name": r.region.name, "author": person(r.author), "lon": r.lon, "lat": r.lat,
            "photo_url": reverse("api:report_photo", args=[r.pk]) if r.photo else None,
            "status": r.status, "status_label": r.get_status_display(), "created_at": r.created_at,
            "read_at": r.read_at, "handled_at": r.handled_at, "handle_note": r.handle_note,
            "case_number": r.case.number if r.case_id else None}
