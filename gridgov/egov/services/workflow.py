"""The workflow of an application, written once: each transition, its source states and who may take it.

    待受理 pending ──accept──▶ 镇审核 town_review ──town_pass──▶ 部门核实 dept_verify ──verify──▶
    待审批 dept_decide ──approve──▶ 已批准 approved ──complete──▶ 已办结 completed
                       └─refuse──▶ 不予批准 refused ──complete──▶ 已办结 completed
    (accept goes straight to dept_verify when the item needs no town review)

    补正: return from town_review / dept_verify / dept_decide → returned; resubmit → back where it was.
    撤回: withdraw from pending / returned.

Every service checks, in this order: the application is visible (404), the role holds the
permission (403), the state allows the step (409 wrong_state). Nothing is written before all three.
"""

from dataclasses import dataclass

from gridgov.accounts.policy import can

from ..choices import Action, State


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    permission: str


TRANSITIONS: dict[str, Transition] = {
    Action.ACCEPT: Transition(Action.ACCEPT, (State.PENDING,), "egov.accept"),
    Action.TOWN_PASS: Transition(Action.TOWN_PASS, (State.TOWN_REVIEW,), "egov.town_review"),
    Action.VERIFY: Transition(Action.VERIFY, (State.DEPT_VERIFY,), "egov.verify"),
    Action.APPROVE: Transition(Action.APPROVE, (State.DEPT_DECIDE,), "egov.decide"),
    Action.REFUSE: Transition(Action.REFUSE, (State.DEPT_DECIDE,), "egov.decide"),
    Action.COMPLETE: Transition(Action.COMPLETE, (State.APPROVED, State.REFUSED), "egov.verify"),
    Action.RESUBMIT: Transition(Action.RESUBMIT, (State.RETURNED,), "egov.apply"),
    Action.WITHDRAW: Transition(Action.WITHDRAW, (State.PENDING, State.RETURNED), "egov.apply"),
    Action.MATERIAL: Transition(Action.MATERIAL, (State.PENDING, State.RETURNED), "egov.apply"),
}

# 补正 may be asked at any review step, by whoever reviews at that step.
RETURN_PERMISSIONS: dict[str, str] = {
    State.TOWN_REVIEW: "egov.town_review",
    State.DEPT_VERIFY: "egov.verify",
    State.DEPT_DECIDE: "egov.decide",
}


def permission_for(action: str, state: str) -> str | None:
    """The permission the step needs from this state (None: the step is not possible from it)."""
    if action == Action.RETURN:
        return RETURN_PERMISSIONS.get(state)
    transition = TRANSITIONS.get(action)
    if transition is None or state not in transition.sources:
        return None
    return transition.permission


def may_try(user, action: str) -> bool:
    """Whether the user's roles could take this step from some state at all (else 403)."""
    if action == Action.RETURN:
        return any(can(user, p) for p in RETURN_PERMISSIONS.values())
    transition = TRANSITIONS.get(action)
    return transition is not None and can(user, transition.permission)


def available_actions(user, application) -> list[str]:
    """The steps `user` may take on the application now (for pages and the API's detail)."""
    out = []
    for action in (Action.ACCEPT, Action.TOWN_PASS, Action.VERIFY, Action.APPROVE, Action.REFUSE, Action.RETURN,
                   Action.RESUBMIT, Action.COMPLETE, Action.WITHDRAW, Action.MATERIAL):
        permission = permission_for(action, application.state)
        if permission and can(user, permission):
            out.append(str(action))
    return out
