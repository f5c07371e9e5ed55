"""How the scheme's rows are shown: the same dictionaries for the API and the pages' JSON, and
names by the one rule (people.names shows full names, others see 李*艳)."""

from django.urls import reverse

from gridgov.core.masking import mask_name
from gridgov.people.presenters import display_name

from .choices import SubjectKind
from .services.certificates import code_of


def person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.full_name or user.username}


def named(obj_id: int, name: str, full: bool) -> dict:
    return {"id": obj_id, "name": display_name(name, full=full)}


def item_dict(item) -> dict:
    return {
        "id": item.pk, "code": item.code, "category": item.category, "category_label": item.get_category_display(),
        "name": item.name, "description": item.description, "points_min": item.points_min,
        "points_max": item.points_max, "is_deduction": item.is_deduction, "subject_kinds": item.subject_kinds,
        "evidence_required": item.evidence_required, "evidence_hint": item.evidence_hint,
        "cap_period": item.cap_period, "cap_times": item.cap_times, "cap_points": item.cap_points,
        "cap_text": item.cap_text,
    }


def subject_dict(subject, full: bool) -> dict:
    b = subject.balance
    return {
        "id": subject.pk, "kind": subject.kind, "kind_label": subject.get_kind_display(),
        "name": display_name(subject.name, full=full), "region_code": subject.region_id,
        "resident_id": subject.resident_id, "household_id": subject.household_id,
        "organisation_id": subject.organisation_id, "user_id": subject.user_id,
        "balance": {"earned": b.earned, "spent": b.spent, "spendable": b.spendable}, "created_at": subject.created_at,
    }


def claim_dict(claim, full: bool) -> dict:
    return {
        "id": claim.pk, "region_code": claim.region_id, "subject": named(claim.subject_id, claim.subject.name, full),
        "subject_kind": claim.subject.kind, "item": claim.item.code, "item_name": claim.item.name,
        "points": claim.points, "signed_points": claim.signed_points, "occurred_on": claim.occurred_on,
        "public_reason": claim.public_reason, "channel": claim.channel, "source": claim.source,
        "reporter_name": display_name(claim.reporter_name, full=full) if claim.reporter_name else "",
        "evidence": claim.evidence, "has_evidence_file": bool(claim.evidence_file), "status": claim.status,
        "status_label": claim.get_status_display(), "needs_collective": claim.needs_collective,
        "quorum": claim.quorum, "approvals": getattr(claim, "approvals", None) or 0,
        "entered_by": person(claim.entered_by), "created_at": claim.created_at, "decided_at": claim.decided_at,
        "reject_reason": claim.reject_reason,
    }


def claim_detail_dict(detail, full: bool) -> dict:
    claim = detail.claim
    return {
        **claim_dict(claim, full), "approvals": detail.approvals, "description": claim.description,
        "votes": [{"member": person(v.member), "decision": v.decision, "reason": v.reason,
                   "created_at": v.created_at} for v in detail.votes],
        "events": [{"action": e.action, "action_label": e.get_action_display(), "from_status": e.from_status,
                    "to_status": e.to_status, "actor": person(e.actor), "note": e.note, "created_at": e.created_at}
                   for e in detail.events],
        "committee_size": detail.committee_size, "entries": [e.pk for e in detail.entries],
    }


def entry_dict(entry, full: bool) -> dict:
    return {
        "id": entry.pk, "subject": named(entry.subject_id, entry.subject.name, full),
        "subject_kind": entry.subject.kind, "region_code": entry.region_id, "kind": entry.kind,
        "kind_label": entry.get_kind_display(), "delta": entry.delta, "score_delta": entry.score_delta,
        "item": entry.item.code if entry.item_id else None, "item_name": entry.item.name if entry.item_id else None,
        "claim_id": entry.claim_id, "order_id": entry.order_id, "reverses_id": entry.reverses_id,
        "reversed": bool(getattr(entry, "is_reversed", False)), "reference": entry.reference,
        "occurred_on": entry.occurred_on, "posted_at": entry.posted_at, "actor": person(entry.actor),
    }


def shop_dict(shop) -> dict:
    return {"id": shop.pk, "region_code": shop.region_id, "region_name": shop.region.name, "name": shop.name,
            "address": shop.address, "opening_hours": shop.opening_hours, "is_active": shop.is_active,
            "goods_count": getattr(shop, "goods_count", 0) or 0}


def goods_dict(goods) -> dict:
    return {"id": goods.pk, "shop_id": goods.shop_id, "name": goods.name, "unit": goods.unit, "cost": goods.cost,
            "stock": goods.stock, "is_active": goods.is_active}


def order_dict(order, full: bool) -> dict:
    return {
        "id": order.pk, "region_code": order.region_id, "subject": named(order.subject_id, order.subject.name, full),
        "goods": {"id": order.goods_id, "name": order.goods.name}, "shop": {"id": order.shop_id,
                                                                            "name": order.shop.name},
        "quantity": order.quantity, "unit_cost": order.unit_cost, "total_cost": order.total_cost,
        "status": order.status, "status_label": order.get_status_display(), "placed_by": person(order.placed_by),
        "placed_at": order.placed_at, "fulfilled_at": order.fulfilled_at, "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
    }


def certificate_dict(cert, full: bool) -> dict:
    code = code_of(cert)
    return {
        "id": cert.pk, "code": code, "subject": named(cert.subject_id, cert.subject_name, full),
        "purpose": cert.purpose, "earned": cert.earned, "spendable": cert.spendable, "year_earned": cert.year_earned,
        "issued_on": cert.issued_on, "issued_by": person(cert.issued_by), "revoked_at": cert.revoked_at,
        "pdf_url": reverse("points:certificate_pdf", kwargs={"pk": cert.pk}),
        "verify_url": reverse("points:verify_code", kwargs={"code": code}),
    }


def village_name(code: str) -> str:
    """胡集镇湖山村: the town and village of a grid or village code."""
    from gridgov.regions.models import Region

    names = dict(Region.objects.filter(code__in=[code[:9], code[:12]]).values_list("code", "name"))
    return names.get(code[:9], "") + names.get(code[:12], "")


VERIFY_MESSAGES = {
    "valid": "证明真实有效",
    "revoked": "该证明已作废",
    "invalid": "未找到该证明，或编号与证明内容不符（可能系伪造或被篡改）",
}


def verification_dict(result) -> dict:
    """What the public check shows: no full name, ID or phone — enough to match the paper in hand."""
    body = {"status": result.status, "message": VERIFY_MESSAGES[result.status]}
    cert = result.certificate
    if cert is not None:
        body |= {"name": mask_name(cert.subject_name), "kind": str(SubjectKind(cert.subject.kind).label),
                 "village": village_name(cert.region_id), "earned": cert.earned,
                 "year_earned": cert.year_earned, "issued_on": cert.issued_on}
    return body
