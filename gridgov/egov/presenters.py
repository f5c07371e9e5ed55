"""How applications, items and matches are shown: one set of dicts for the API, the pages and the
Excel export, so all three show the same thing. Payee accounts and ID numbers leave masked."""

from datetime import date
from typing import Any

from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core import workcal
from gridgov.core.masking import mask_account, mask_id_number

from .answers import answer_rows, yuan
from .choices import Action, BenefitKind, Category, Channel, State


def person(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.full_name or user.username}


def item_row(item, departments: dict[str, str]) -> dict[str, Any]:
    return {
        "code": item.code, "name": item.name, "category": item.category,
        "category_name": str(Category(item.category).label) if item.category in Category.values else item.category,
        "department_code": item.department_code,
        "department_name": departments.get(item.department_code, item.department_code),
        "acceptance_level": item.acceptance_level, "promised_days": item.promised_days, "fee": item.fee,
        "pays_money": item.pays_money, "benefit_kind": item.benefit_kind,
        "standard_amount_fen": item.standard_amount_fen, "needs_town_review": item.needs_town_review,
        "has_rule": item.eligibility_rule is not None, "is_active": item.is_active,
    }


def item_detail(item, departments: dict[str, str]) -> dict[str, Any]:
    return {
        **item_row(item, departments), "summary": item.summary, "materials": item.materials, "steps": item.steps,
        "legal_basis": item.legal_basis, "schedule_months": item.schedule_months, "questions": item.questions,
        "eligibility_rule": item.eligibility_rule, "rule_sensitivity": item.rule_sensitivity,
        "updated_at": item.updated_at,
    }


def clock(app, today: date | None = None) -> dict[str, Any]:
    """The time limit as the desk shows it: running, paused for 补正, met or missed."""
    today = today or timezone.localdate()
    running = app.state in (State.TOWN_REVIEW, State.DEPT_VERIFY, State.DEPT_DECIDE)
    left = None
    if running and app.due_on:
        left = (workcal.working_days_between(today, app.due_on) if app.due_on >= today
                else -workcal.working_days_between(app.due_on, today))
    return {
        "accepted_on": app.accepted_on, "promised_days": app.promised_days, "paused_days": app.paused_days,
        "due_on": app.due_on, "running": running, "paused": app.state == State.RETURNED,
        "overdue": bool(running and app.due_on and app.due_on < today), "working_days_left": left,
        "on_time": app.on_time,
    }


def application_row(app, departments: dict[str, str], today: date | None = None) -> dict[str, Any]:
    today = today or timezone.localdate()
    return {
        "id": app.pk, "number": app.number,
        "item": {"code": app.item.code, "name": app.item.name, "category": app.item.category},
        "department_code": app.department_code,
        "department_name": departments.get(app.department_code, app.department_code),
        "applicant": {"id": app.applicant_id, "name": app.applicant.name},
        "region_code": app.region_id, "grid_name": app.region.name,
        "agent": person(app.agent), "channel": app.channel, "channel_name": str(Channel(app.channel).label),
        "found_by_match": app.found_by_match, "state": app.state, "state_name": str(State(app.state).label),
        "created_at": app.created_at, "accepted_on": app.accepted_on, "due_on": app.due_on,
        "paused_days": app.paused_days, "overdue": app.is_overdue(today), "decision": app.decision,
        "amount_fen": app.amount_fen, "completed_on": app.completed_on, "on_time": app.on_time,
    }


def event_row(event) -> dict[str, Any]:
    return {
        "id": event.pk, "action": event.action, "action_name": str(Action(event.action).label),
        "from_state": event.from_state, "to_state": event.to_state,
        "to_state_name": str(State(event.to_state).label) if event.to_state else "",
        "actor": event.actor_name, "actor_role": event.actor_role,
        "actor_role_name": str(Role(event.actor_role).label) if event.actor_role in Role.values else "",
        "note": event.note, "data": event.data,
        "at": event.at,
    }


def material_row(material, item) -> dict[str, Any]:
    return {
        "id": material.pk, "material_code": material.material_code, "name": item.material_name(material.material_code),
        "original_name": material.original_name, "content_type": material.content_type, "size": material.size,
        "sha256": material.sha256, "uploaded_at": material.uploaded_at,
        "uploaded_by": person(material.uploaded_by) if "uploaded_by" in material._state.fields_cache else None,
    }


def payment_row(payment) -> dict[str, Any]:
    return {
        "id": payment.pk, "application_id": payment.application_id, "period": payment.period,
        "amount_fen": payment.amount_fen, "amount_yuan": yuan(payment.amount_fen), "due_on": payment.due_on,
        "status": payment.status, "paid_on": payment.paid_on, "reference": payment.reference,
    }


def material_checklist(item, materials) -> list[dict[str, Any]]:
    provided: dict[str, int] = {}
    for m in materials:
        provided[m.material_code] = provided.get(m.material_code, 0) + 1
    return [{"code": m["code"], "name": m["name"], "required": bool(m.get("required")),
             "files": provided.get(m["code"], 0)} for m in item.materials]


def application_detail(detail, actions: list[str], today: date | None = None) -> dict[str, Any]:
    app = detail.application
    item = app.item
    departments = {app.department_code: detail.department_name}
    return {
        **application_row(app, departments, today),
        "applicant": {"id": app.applicant_id, "name": app.applicant.name, "gender": app.applicant.gender,
                      "birth_date": app.applicant.birth_date,
                      "id_number_masked": mask_id_number(app.applicant.id_number)},
        "grid_name": app.region.name,
        "answers": app.answers, "answer_rows": answer_rows(item.questions, app.answers),
        "payee_name": app.payee_name, "payee_account_masked": mask_account(app.payee_account),
        "benefit_kind": item.benefit_kind, "amount_yuan": yuan(app.amount_fen),
        "accepted_by": person(app.accepted_by), "missing_materials": app.missing_materials,
        "return_reason": app.return_reason, "returned_from": app.returned_from, "returned_on": app.returned_on,
        "decision_reason": app.decision_reason, "decided_at": app.decided_at, "completed_at": app.completed_at,
        "clock": clock(app, today),
        "materials": [material_row(m, item) for m in detail.materials],
        "material_checklist": material_checklist(item, detail.materials),
        "timeline": [event_row(e) for e in detail.events],
        "payments": [payment_row(p) for p in detail.payments],
        "paid_fen": sum(p.amount_fen for p in detail.payments if p.status == "paid"),
        "is_monthly": item.benefit_kind == BenefitKind.MONTHLY,
        "actions": actions,
    }


def match_row(match) -> dict[str, Any]:
    return {
        "id": match.pk, "item": {"code": match.item.code, "name": match.item.name},
        "resident": {"id": match.resident_id, "name": match.resident.name, "gender": match.resident.gender,
                     "birth_date": match.resident.birth_date},
        "region_code": match.region_id, "grid_name": match.region.name,
        "first_found_at": match.first_found_at, "last_seen_at": match.last_seen_at,
    }
