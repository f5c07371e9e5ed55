"""The case state machine: every transition, the states it starts from, the roles that may take it
from there and the state it leads to. Services look themselves up here (one service per action);
nothing else decides whether a transition is allowed.

Roles are held *on the case* (access.actor_roles): a region role whose node covers the case's grid,
a department role of the case's active lead department inside its jurisdiction, or `reporter`.

    上报 → 受理 (或 不予受理) → 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案 → 评价
    side paths: 退回, 延期, 挂账/恢复, 作废, 核查不通过 → 重新派遣, 自行处置 → 核查, 督办, 合并;
    工作记录 (a note by anyone working the case, e.g. a camera review) at any live or closed state
"""

from dataclasses import dataclass

from gridgov.accounts.choices import Role
from gridgov.core.errors import ApplicationError, PermissionDenied

from .access import REPORTER
from .choices import CaseState as S

GRID = frozenset({Role.GRID_WORKER})
DESK = frozenset({Role.TOWN_OPERATOR, Role.CITY_OPERATOR})
DEPT = frozenset({Role.DEPT_STAFF, Role.DEPT_HEAD})
REPORTERS = frozenset({Role.GRID_WORKER, Role.GRID_ADMIN, Role.TOWN_OPERATOR, Role.CITY_OPERATOR})

AWAITING_DISPATCH = (S.REGISTERED, S.RETURNED, S.REOPENED)
WITH_DEPARTMENT = (S.DISPATCHED, S.HANDLING)
SUSPENDABLE = (*AWAITING_DISPATCH, *WITH_DEPARTMENT)
VOIDABLE = (S.REPORTED, S.ACCEPTED, *AWAITING_DISPATCH, S.SUSPENDED)
SUPERVISABLE = (S.ACCEPTED, *AWAITING_DISPATCH, *WITH_DEPARTMENT, S.AWAITING_VERIFICATION, S.VERIFIED, S.SUSPENDED)
MERGEABLE = (S.REPORTED, S.ACCEPTED, S.REGISTERED)
NOTABLE = tuple(s for s in S.values if s not in (S.REJECTED, S.VOIDED, S.MERGED))
# Who may add a work note (工作记录, 视频研判 …) to the timeline: everyone working the case.
NOTERS = GRID | {Role.GRID_ADMIN, Role.VILLAGE_CADRE} | DESK | DEPT

SAME = None  # the transition keeps the state (a note, a request, a decision)
PREVIOUS = "previous"  # resume: back to the state before the suspension


@dataclass(frozen=True)
class Row:
    action: str
    sources: tuple[str, ...]
    roles: frozenset[str]
    target: str | None
    label: str


TABLE: tuple[Row, ...] = (
    # action            from                               who                     to
    Row("report",       ("",),                             REPORTERS,              S.REPORTED, "上报"),
    Row("accept",       (S.REPORTED,),                     DESK,                   S.ACCEPTED, "受理"),
    Row("reject",       (S.REPORTED,),                     DESK,                   S.REJECTED, "不予受理"),
    Row("register",     (S.ACCEPTED,),                     DESK,                   S.REGISTERED, "立案"),
    Row("dispatch",     AWAITING_DISPATCH,                 DESK,                   S.DISPATCHED, "派遣"),
    Row("handle",       (S.DISPATCHED,),                   DEPT,                   S.HANDLING, "签收处置"),
    Row("feedback",     WITH_DEPARTMENT,                   DEPT,                   S.AWAITING_VERIFICATION, "处置反馈"),
    Row("return",       WITH_DEPARTMENT,                   DEPT,                   S.RETURNED, "退回"),
    Row("verify_pass",  (S.AWAITING_VERIFICATION,),        GRID | DESK,            S.VERIFIED, "核查通过"),
    Row("verify_fail",  (S.AWAITING_VERIFICATION,),        GRID | DESK,            S.REOPENED, "核查不通过"),
    # Separation of duties: the grid worker who fixed it on the spot does not verify it.
    Row("verify_pass",  (S.SELF_RESOLVED,),                DESK,                   S.CLOSED, "核查通过"),
    Row("verify_fail",  (S.SELF_RESOLVED,),                DESK,                   S.REOPENED, "核查不通过"),
    Row("close",        (S.VERIFIED,),                     DESK,                   S.CLOSED, "结案"),
    Row("evaluate",     (S.CLOSED, S.EVALUATED),           DESK | {REPORTER},      S.EVALUATED, "评价"),
    Row("extend_request", WITH_DEPARTMENT,                 DEPT,                   SAME, "申请延期"),
    Row("extend_decide", WITH_DEPARTMENT,                  DESK,                   SAME, "延期审批"),
    Row("suspend",      SUSPENDABLE,                       DESK,                   S.SUSPENDED, "挂账"),
    Row("resume",       (S.SUSPENDED,),                    DESK,                   PREVIOUS, "恢复"),
    Row("void",         VOIDABLE,                          DESK,                   S.VOIDED, "作废"),
    Row("self_resolve", (S.REPORTED,),                     GRID,                   S.SELF_RESOLVED, "自行处置"),
    Row("supervise",    SUPERVISABLE,                      DESK,                   SAME, "督办"),
    Row("merge",        MERGEABLE,                         DESK,                   S.MERGED, "合并"),
    Row("note",         NOTABLE,                           NOTERS,                 SAME, "工作记录"),
)

ACTIONS = frozenset(r.action for r in TABLE)
LABELS = {r.action: r.label for r in TABLE} | {
    "escalate": "超期升级", "flag_duplicate": "疑似重复", "absorb": "合并入", "attach": "上传附件",
    "category_change": "改分类", "video_review": "视频研判",
}


class InvalidTransition(ApplicationError):
    status = 409

    def __init__(self, action: str, state: str):
        super().__init__("invalid_transition", f"案件当前状态（{S(state).label if state else '新'}）不能执行“"
                         f"{LABELS.get(action, action)}”", {"action": action, "state": state})


def rows_for(action: str) -> list[Row]:
    return [r for r in TABLE if r.action == action]


def find(action: str, state: str) -> Row | None:
    for row in TABLE:
        if row.action == action and state in row.sources:
            return row
    return None


def check(action: str, state: str, roles: set[str]) -> Row:
    """The table row for `action` from `state` if one of `roles` may take it.

    Refusals, in this order: a user who holds none of the action's roles on the case at all gets
    403; the wrong state is 409 invalid_transition (whatever the role); a role that may take the
    action only from other states also gets 409.
    """
    candidates = rows_for(action)
    if not candidates:
        raise KeyError(action)
    if not any(roles & row.roles for row in candidates):
        raise PermissionDenied()
    row = find(action, state)
    if row is None:
        raise InvalidTransition(action, state)
    if not roles & row.roles:
        raise PermissionDenied()
    return row


def allowed_actions(state: str, roles: set[str]) -> list[str]:
    """The actions `roles` may take from `state` (for the case page's buttons)."""
    seen: list[str] = []
    for row in TABLE:
        if state in row.sources and roles & row.roles and row.action not in seen and row.action != "report":
            seen.append(row.action)
    return seen
