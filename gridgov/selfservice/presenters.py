"""Plain dicts for the API and the pages: only what a resident may read about their own things."""

from gridgov.cases.choices import CaseState
from gridgov.core.masking import mask_phone

from .selectors import report_timeline

# What the resident is told about their report, in plain words.
RESIDENT_STATE = {
    CaseState.REPORTED: "已提交，等待受理",
    CaseState.ACCEPTED: "已受理",
    CaseState.REGISTERED: "已立案，等待派遣",
    CaseState.RETURNED: "重新派遣中",
    CaseState.REOPENED: "重新派遣中",
    CaseState.DISPATCHED: "已派给责任部门",
    CaseState.HANDLING: "正在处理",
    CaseState.AWAITING_VERIFICATION: "已处理，等待核查",
    CaseState.SELF_RESOLVED: "已处理，等待核查",
    CaseState.VERIFIED: "核查通过，等待结案",
    CaseState.CLOSED: "已办结",
    CaseState.EVALUATED: "已办结",
    CaseState.SUSPENDED: "暂缓处理",
    CaseState.REJECTED: "不予受理",
    CaseState.VOIDED: "已撤销",
    CaseState.MERGED: "已与其他反映合并处理",
}


def resident_out(resident) -> dict:
    return {"name": resident.name, "phone": mask_phone(resident.phone or ""),
            "household": resident.household.number if resident.household_id else "",
            "grid": resident.region_id}


def case_out(case, *, detail: bool = False) -> dict:
    body = {"number": case.number, "category": case.category.name, "state": case.state,
            "state_label": RESIDENT_STATE.get(case.state, case.get_state_display()),
            "description": case.description, "address": case.address, "created_at": case.created_at,
            "closed_at": case.closed_at}
    if detail:
        body["timeline"] = [{"action": e["action"], "state": e["to_state"],
                             "state_label": RESIDENT_STATE.get(e["to_state"], ""), "at": e["created_at"]}
                            for e in report_timeline(case)]
    return body


def application_out(app) -> dict:
    return {"id": app.pk, "number": app.number, "item": app.item.name, "applicant": app.applicant.name,
            "state": app.state, "state_label": app.get_state_display(), "created_at": app.created_at,
            "due_on": app.due_on, "completed_at": app.completed_at,
            "decision": app.get_decision_display() if app.decision else ""}


def points_out(points) -> dict:
    return {
        "household": points.household.pk if points.household else None,
        "earned": points.earned, "spendable": points.spendable, "rank": points.rank, "ranked": points.ranked,
        "accounts": [{"subject": s.pk, "kind": s.kind, "kind_label": s.get_kind_display(),
                      "name": s.resident.name if s.resident_id else "本户",
                      "earned": b.earned if b else 0, "spendable": b.spendable if b else 0}
                     for s, b in points.accounts],
        "entries": [{"kind": e.kind, "kind_label": e.get_kind_display(), "item": e.item.name if e.item_id else "",
                     "points": e.score_delta, "delta": e.delta, "occurred_on": e.occurred_on,
                     "reference": e.reference} for e in points.entries],
        "pending": [{"id": c.pk, "item": c.item.name, "points": c.points, "status": c.status,
                     "status_label": c.get_status_display(), "occurred_on": c.occurred_on} for c in points.pending],
    }
