"""Every transition, from every state, by every kind of actor: allowed exactly where the spec below
says, refused otherwise (404 when the actor cannot see the case, 403 for a role that may not take the
action here, 409 invalid_transition when no one may take it from this state) — and a refusal
changes nothing: state, timeline, dispatches, requests, attachments and the audit log stay as they were.

The spec here is written independently of workflow.TABLE, so a change to the table that is not also
a change of the spec fails.
"""

import pytest

from gridgov.cases import services
from gridgov.cases.choices import CaseState as S
from gridgov.cases.models import (
    Case,
    CaseAttachment,
    CaseDispatch,
    CaseEvent,
    Evaluation,
    ExtensionRequest,
    Supervision,
    Suspension,
)
from gridgov.core.errors import ApplicationError
from gridgov.core.models import AuditEntry

from . import factories as f

pytestmark = pytest.mark.django_db

CATEGORY = "G0401"  # 消防通道堵塞: self-resolvable, 应急管理局 (county-wide jurisdiction)
DEPT = "YJGLJ"

DESK = {"town_op", "city_op"}
LEAD = {"lead", "lead_head"}
ALL_STATES = list(S.values)

# (action, state) → the actors who may take it. Everything else is refused.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("accept", S.REPORTED): DESK,
    ("reject", S.REPORTED): DESK,
    ("register", S.ACCEPTED): DESK,
    **{("dispatch", s): DESK for s in (S.REGISTERED, S.RETURNED, S.REOPENED)},
    ("handle", S.DISPATCHED): LEAD,
    **{("feedback", s): LEAD for s in (S.DISPATCHED, S.HANDLING)},
    **{("return", s): LEAD for s in (S.DISPATCHED, S.HANDLING)},
    ("verify", S.AWAITING_VERIFICATION): DESK | {"worker"},
    ("verify", S.SELF_RESOLVED): DESK,
    ("close", S.VERIFIED): DESK,
    ("evaluate", S.CLOSED): DESK | {"worker"},  # the worker reported it
    ("evaluate", S.EVALUATED): {"worker"},  # the centre has evaluated already
    **{("extend_request", s): LEAD for s in (S.DISPATCHED, S.HANDLING)},
    **{("extend_decide", s): DESK for s in (S.DISPATCHED, S.HANDLING)},
    **{("suspend", s): DESK for s in (S.REGISTERED, S.RETURNED, S.REOPENED, S.DISPATCHED, S.HANDLING)},
    ("resume", S.SUSPENDED): DESK,
    **{("void", s): DESK for s in (S.REPORTED, S.ACCEPTED, S.REGISTERED, S.RETURNED, S.REOPENED, S.SUSPENDED)},
    ("self_resolve", S.REPORTED): {"worker"},
    **{("supervise", s): DESK for s in (S.ACCEPTED, S.REGISTERED, S.RETURNED, S.REOPENED, S.DISPATCHED, S.HANDLING,
                                        S.AWAITING_VERIFICATION, S.VERIFIED, S.SUSPENDED)},
    **{("merge", s): DESK for s in (S.REPORTED, S.ACCEPTED, S.REGISTERED)},
}
ACTIONS = sorted({a for a, _ in ALLOWED})
TARGET = {
    "accept": S.ACCEPTED, "reject": S.REJECTED, "register": S.REGISTERED, "dispatch": S.DISPATCHED,
    "handle": S.HANDLING, "feedback": S.AWAITING_VERIFICATION, "return": S.RETURNED, "close": S.CLOSED,
    "evaluate": S.EVALUATED, "suspend": S.SUSPENDED, "void": S.VOIDED, "self_resolve": S.SELF_RESOLVED,
    "merge": S.MERGED,
}
# States in which YJGLJ holds an active dispatch of the case (and so can see it).
DISPATCHED_STATES = {S.DISPATCHED, S.HANDLING, S.AWAITING_VERIFICATION, S.REOPENED, S.VERIFIED, S.CLOSED,
                     S.EVALUATED}
ACTORS = ["worker", "worker2", "grid_admin", "town_op", "far_town_op", "city_op", "lead", "lead_head",
          "other_dept", "auditor"]


def actor(world, key):
    return {
        "worker": world.worker, "worker2": world.worker2, "grid_admin": world.grid_admin,
        "town_op": world.town_op, "far_town_op": world.far_town_op, "city_op": world.city_op,
        "lead": f.dept_user(DEPT), "lead_head": f.dept_user(DEPT, "dept_head"), "other_dept": world.mzj_staff,
        "auditor": world.auditor,
    }[key]


def visible(key: str, state: str) -> bool:
    if key in {"worker", "grid_admin", "town_op", "city_op"}:
        return True
    if key in LEAD:
        return state in DISPATCHED_STATES
    return False


def holders(action: str) -> set[str]:
    return set().union(*(who for (a, _), who in ALLOWED.items() if a == action))


def expected(key: str, action: str, state: str) -> int | str:
    if key == "auditor":
        return 403
    if not visible(key, state):
        return 404
    if key in ALLOWED.get((action, state), set()):
        return "ok"
    if key not in holders(action):
        return 403
    if not ALLOWED.get((action, state)):
        return 409
    return 403


def kwargs_for(world, action: str, case: Case) -> dict:
    if action == "dispatch":
        return {"department": DEPT}
    if action == "merge":
        other = f.report(world.grid, category=CATEGORY, description="另一起", lon=world.grid.centroid_lon + 0.0002)
        return {"into": other.pk}
    return {
        "reject": {"reason": "不属于受理范围"}, "feedback": {"note": "已清理通道"},
        "return": {"reason": "非本部门职责"},
        "verify": {"passed": True, "note": "现场已整改"}, "evaluate": {"score": 4},
        "extend_request": {"hours": 8, "reason": "需协调物业"}, "extend_decide": {"grant": True},
        "suspend": {"reason": "需列入改造计划"}, "void": {"reason": "误报"},
        "self_resolve": {"note": "已现场清理", "files": [f.upload()]}, "supervise": {"note": "请加快处置"},
    }.get(action, {})


def snapshot(case: Case) -> tuple:
    case.refresh_from_db()
    return (
        case.state, case.stage, case.stage_deadline, case.lead_department_id, case.duplicate_of_id, case.updated_at,
        CaseEvent.objects.filter(case=case).count(), CaseDispatch.objects.filter(case=case, is_active=True).count(),
        ExtensionRequest.objects.filter(case=case).count(),
        list(ExtensionRequest.objects.filter(case=case).values_list("status", flat=True)),
        Supervision.objects.filter(case=case).count(), Evaluation.objects.filter(case=case).count(),
        Suspension.objects.filter(case=case).count(), CaseAttachment.objects.filter(case=case).count(),
        AuditEntry.objects.count(), Case.objects.count(),
    )


def make(world, state: str) -> Case:
    case = world.case_in(state, category=CATEGORY, department=DEPT)
    if state in (S.DISPATCHED, S.HANDLING):
        services.case_extend_request(acting_user=f.dept_user(DEPT), case=case, hours=8, reason="需协调")
    return case


def call(world, key: str, action: str, case: Case, kwargs: dict | None = None):
    kwargs = kwargs if kwargs is not None else kwargs_for(world, action, case)
    return getattr(services, f"case_{action}")(acting_user=actor(world, key), case=case.pk, **kwargs)


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_refusals_change_nothing(world, action, state):
    case = make(world, state)
    refused = [k for k in ACTORS if expected(k, action, state) != "ok"]
    kwargs = kwargs_for(world, action, case)
    for key in refused:
        if "files" in kwargs:
            kwargs["files"] = [f.upload()]
        before = snapshot(case)
        want = expected(key, action, state)
        if action == "extend_request" and want == 403 and key in LEAD:
            want = 409  # the pending request made by make(): one at a time
        with pytest.raises(ApplicationError) as caught:
            call(world, key, action, case, kwargs)
        status = caught.value.status
        if action == "evaluate" and state == S.EVALUATED and key in DESK:
            assert (status, caught.value.code) == (409, "already_evaluated")
        elif action == "extend_request" and key in LEAD and state in (S.DISPATCHED, S.HANDLING):
            assert (status, caught.value.code) == (409, "extension_pending")
        else:
            assert status == want, (key, action, state, caught.value.code, caught.value.message)
            if want == 409:
                assert caught.value.code == "invalid_transition"
        assert snapshot(case) == before, (key, action, state)


SUCCESSES = sorted((a, s, k) for (a, s), who in ALLOWED.items() for k in who
                   if not (a == "extend_request"))  # extend_request: its own test (one pending at a time)


@pytest.mark.parametrize("action,state,key", SUCCESSES)
def test_allowed_transitions(world, action, state, key):
    case = make(world, state)
    events, audits = CaseEvent.objects.filter(case=case).count(), AuditEntry.objects.count()
    call(world, key, action, case)
    case.refresh_from_db()
    if action == "verify":
        assert case.state == (S.CLOSED if state == S.SELF_RESOLVED else S.VERIFIED)
    elif action == "resume":
        assert case.state == S.REGISTERED  # make() suspends from registered
    elif action in TARGET:
        assert case.state == TARGET[action]
    else:
        assert case.state == state
    new = list(CaseEvent.objects.filter(case=case).order_by("-id")[:1])[0]
    assert CaseEvent.objects.filter(case=case).count() == events + 1
    assert new.action.startswith(action.split("_")[0]) and new.actor is not None
    assert new.from_state == state
    assert AuditEntry.objects.count() > audits


@pytest.mark.parametrize("state", [S.DISPATCHED, S.HANDLING])
@pytest.mark.parametrize("key", sorted(LEAD))
def test_extension_request_by_the_lead(world, state, key):
    case = world.case_in(state, category=CATEGORY, department=DEPT)
    request = services.case_extend_request(acting_user=actor(world, key), case=case, hours=16, reason="雨天无法施工")
    assert request.status == "pending" and request.old_deadline == Case.objects.get(pk=case.pk).stage_deadline
