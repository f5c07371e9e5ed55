"""One service per transition. Each locks the case, checks workflow.TABLE for the actor's roles on
the case and its state (403 / 409 invalid_transition, nothing written), validates its input, then
changes the state, appends one timeline event and one audit row in the same transaction.

Every service: `case_<verb>(*, acting_user, case, ...)` where `case` is a Case or its id; missing and
out-of-scope cases are 404.
"""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.core.errors import ValidationFailed

from .. import attachments, deadlines, routing
from ..access import REPORTER, access_case
from ..choices import (
    STAGE_OF_STATE,
    AttachmentKind,
    CaseState,
    DispatchEnd,
    DispatchRole,
    EscalationLevel,
    EvaluatorKind,
    ExtensionStatus,
)
from ..models import Case, CaseAttachment, CaseDispatch, Evaluation, ExtensionRequest, Supervision, Suspension
from . import common
from .common import Conflict, begin, transition

MAX_EXTENSION_HOURS = 400
MAX_HELPERS = 5


def _attach(acting_user, case: Case, checked, event) -> None:
    for upload, ext in checked:
        attachments.store(case=case, upload=upload, ext=ext, uploaded_by=acting_user, event=event)


def _department(value, active: list[Department], *, field: str = "department") -> Department:
    """An active department by id, code or object, from `active` (routing.active_departments())."""
    if isinstance(value, Department):
        value = value.pk
    key = int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None
    found = next((d for d in active if (d.pk == key if key is not None else d.code == str(value or ""))), None)
    if found is None:
        raise ValidationFailed("部门不存在或已停用", code="invalid_department", extra={"field": field})
    return found


def _end_dispatches(case: Case, at: datetime, reason: str) -> int:
    return CaseDispatch.objects.filter(case=case, is_active=True).update(is_active=False, ended_at=at,
                                                                          end_reason=reason)


def _refuse_pending_extensions(case: Case, acting_user, at: datetime, note: str) -> None:
    ExtensionRequest.objects.filter(case=case, status=ExtensionStatus.PENDING).update(
        status=ExtensionStatus.REFUSED, decided_by=acting_user, decided_at=at, decision_note=note)


# --- the desk: accept, reject, register, dispatch ---------------------------------------------------------

@transaction.atomic
def case_accept(*, acting_user, case, note: str = "") -> Case:
    """受理: the desk takes the report in; the register stage's clock starts."""
    case, row, roles = begin(acting_user, case, "accept")
    note = common.text(note, field="note")
    at = common.now()
    case.accepted_at = at
    return transition(acting_user, case, row, roles, at=at, note=note, extra_fields=["accepted_at"])


@transaction.atomic
def case_reject(*, acting_user, case, reason: str) -> Case:
    """不予受理 with a reason (not a matter for the platform, no substance, …). Final."""
    case, row, roles = begin(acting_user, case, "reject")
    reason = common.text(reason, field="reason", required=True, what="不予受理理由")
    return transition(acting_user, case, row, roles, at=common.now(), note=reason)


@transaction.atomic
def case_register(*, acting_user, case, category=None, urgency: str | None = None, note: str = "") -> Case:
    """立案: the desk confirms the case, and may correct its category and urgency (the clock of the
    dispatch stage then follows the corrected ones)."""
    from .report import resolve_category

    case, row, roles = begin(acting_user, case, "register")
    note = common.text(note, field="note")
    data, fields = {}, []
    if category is not None:
        cat = resolve_category(category)
        if cat.pk != case.category_id:
            data["category"] = [case.category.code, cat.code]
            case.category, fields = cat, fields + ["category"]
    if urgency is not None and urgency != case.urgency:
        data["urgency"] = [case.urgency, urgency]
        case.urgency, fields = urgency, fields + ["urgency"]
    if case.urgency not in (case.category.urgency_levels or []):
        raise ValidationFailed("该分类不适用此紧急程度", code="invalid_urgency", extra={"field": "urgency"})
    return transition(acting_user, case, row, roles, at=common.now(), note=note, data=data, extra_fields=fields)


@transaction.atomic
def case_dispatch(*, acting_user, case, department, helpers=(), note: str = "") -> Case:
    """派遣 to one lead department and optional helpers, each of whose jurisdiction must cover the
    case's grid (else 400 out_of_jurisdiction: it could not see the case). Earlier dispatches still
    standing (after a failed verification) are ended as re-dispatched. The handle stage's clock starts.
    """
    case, row, roles = begin(acting_user, case, "dispatch")
    note = common.text(note, field="note")
    active = routing.active_departments()
    lead = _department(department, active)
    helper_list = []
    for value in helpers or ():
        helper = _department(value, active, field="helpers")
        if helper.pk != lead.pk and helper.pk not in {h.pk for h in helper_list}:
            helper_list.append(helper)
    if len(helper_list) > MAX_HELPERS:
        raise ValidationFailed(f"协办部门最多 {MAX_HELPERS} 个", code="too_many_helpers", extra={"field": "helpers"})
    for dept, field in [(lead, "department")] + [(h, "helpers") for h in helper_list]:
        if not routing.covers(dept, case.region_id, [r.code for r in dept.jurisdiction.all()]):
            raise ValidationFailed(f"{dept.name}的管辖范围不含该案件所在网格", code="out_of_jurisdiction",
                                   extra={"field": field, "department": dept.code})
    at = common.now()
    ended = _end_dispatches(case, at, DispatchEnd.REDISPATCHED)
    CaseDispatch.objects.bulk_create(
        [CaseDispatch(case=case, department=lead, role=DispatchRole.LEAD, dispatched_by=acting_user, dispatched_at=at)]
        + [CaseDispatch(case=case, department=h, role=DispatchRole.HELPER, dispatched_by=acting_user,
                        dispatched_at=at) for h in helper_list]
    )
    suggestion = routing.suggest(category=case.category, grid=case.region, component=case.component,
                                 departments=active)
    case.lead_department, case.dispatched_at = lead, at
    data = {"lead": lead.code, "helpers": [h.code for h in helper_list], "redispatch": bool(ended),
            "suggested": suggestion.department.code if suggestion.department else None}
    data["overridden"] = data["suggested"] != lead.code
    return transition(acting_user, case, row, roles, at=at, note=note, data=data,
                      extra_fields=["lead_department", "dispatched_at"])


# --- the department: handle, feedback, return, extension ----------------------------------------------

@transaction.atomic
def case_handle(*, acting_user, case, note: str = "") -> Case:
    """签收: the lead department starts handling; the handle stage's clock keeps running."""
    case, row, roles = begin(acting_user, case, "handle")
    return transition(acting_user, case, row, roles, at=common.now(), note=common.text(note, field="note"))


@transaction.atomic
def case_feedback(*, acting_user, case, note: str, files=None) -> Case:
    """处置反馈 with what was done (and photos): the case goes to verification."""
    case, row, roles = begin(acting_user, case, "feedback")
    note = common.text(note, field="note", required=True, what="处置情况")
    checked = attachments.check_all(files)
    at = common.now()
    case.feedback_at = at
    case = transition(acting_user, case, row, roles, at=at, note=note, extra_fields=["feedback_at"])
    _attach(acting_user, case, checked, case.last_event)
    return case


@transaction.atomic
def case_return(*, acting_user, case, reason: str) -> Case:
    """退回: the lead department sends the case back to the dispatcher with a reason (not ours, outside
    our jurisdiction …). Every dispatch of the case ends; pending extension requests lapse."""
    case, row, roles = begin(acting_user, case, "return")
    reason = common.text(reason, field="reason", required=True, what="退回理由")
    at = common.now()
    department = case.lead_department
    _end_dispatches(case, at, DispatchEnd.RETURNED)
    _refuse_pending_extensions(case, None, at, "案件已退回")
    case.lead_department = None
    return transition(acting_user, case, row, roles, at=at, note=reason,
                      data={"department": department.code if department else None},
                      extra_fields=["lead_department"])


@transaction.atomic
def case_extend_request(*, acting_user, case, hours: int, reason: str) -> ExtensionRequest:
    """延期申请 by the lead department: more working hours for the handle stage. One pending at a time."""
    case, row, roles = begin(acting_user, case, "extend_request")
    reason = common.text(reason, field="reason", required=True, what="延期理由")
    try:
        hours = int(hours)
    except (TypeError, ValueError):
        hours = 0
    if not 1 <= hours <= MAX_EXTENSION_HOURS:
        raise ValidationFailed(f"延期时长应为 1-{MAX_EXTENSION_HOURS} 个工作小时", code="invalid_hours",
                               extra={"field": "hours"})
    if ExtensionRequest.objects.filter(case=case, status=ExtensionStatus.PENDING).exists():
        raise Conflict("extension_pending", "该案件已有待审批的延期申请")
    at = common.now()
    request = ExtensionRequest.objects.create(case=case, department=case.lead_department, requested_by=acting_user,
                                              hours=hours, reason=reason, created_at=at,
                                              old_deadline=case.stage_deadline)
    common.event(case, actor=acting_user, action=row.action, from_state=case.state, to_state=case.state, at=at,
                 role=common.main_role(roles, row.roles), note=reason, data={"request": request.pk, "hours": hours})
    common.audit(acting_user, case, row.action, {"hours": hours, "request": request.pk})
    return request


@transaction.atomic
def case_extend_decide(*, acting_user, case, grant: bool, note: str = "") -> ExtensionRequest:
    """延期审批 by the dispatcher: granting moves the handle deadline by the requested working hours."""
    case, row, roles = begin(acting_user, case, "extend_decide")
    note = common.text(note, field="note")
    request = ExtensionRequest.objects.select_for_update().filter(case=case, status=ExtensionStatus.PENDING).first()
    if request is None:
        raise Conflict("no_pending_extension", "该案件没有待审批的延期申请")
    at = common.now()
    request.status = ExtensionStatus.GRANTED if grant else ExtensionStatus.REFUSED
    request.decided_by, request.decided_at, request.decision_note = acting_user, at, note
    data = {"request": request.pk, "granted": bool(grant), "hours": request.hours}
    if grant:
        due_soon_at, deadline = deadlines.extended(case, request.hours)
        request.old_deadline, request.new_deadline = case.stage_deadline, deadline
        case.stage_due_soon_at, case.stage_deadline = due_soon_at, deadline
        case.stage_limit_minutes = (case.stage_limit_minutes or 0) + request.hours * 60
        case.overdue = deadline <= at
        case.due_soon = not case.overdue and due_soon_at <= at
        common.save(case, ["stage_due_soon_at", "stage_deadline", "stage_limit_minutes", "overdue", "due_soon"])
        data["deadline"] = deadline.isoformat()
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "old_deadline", "new_deadline"])
    common.event(case, actor=acting_user, action=row.action, from_state=case.state, to_state=case.state, at=at,
                 role=common.main_role(roles, row.roles), note=note, data=data)
    common.audit(acting_user, case, row.action, data)
    return request


# --- verification, closure, evaluation ----------------------------------------------------------------------

@transaction.atomic
def case_verify(*, acting_user, case, passed: bool, note: str = "", files=None) -> Case:
    """核查: passed → awaiting closure (or closed, for a case resolved on the spot); failed → reopened,
    back on the dispatcher's desk for re-dispatch. A failed verification needs a reason."""
    case, row, roles = begin(acting_user, case, "verify_pass" if passed else "verify_fail")
    note = common.text(note, field="note", required=not passed, what="核查意见")
    checked = attachments.check_all(files)
    at = common.now()
    fields = []
    if row.target == CaseState.CLOSED:
        case.closed_at, fields = at, ["closed_at"]
    case = transition(acting_user, case, row, roles, at=at, note=note, data={"passed": bool(passed)},
                      extra_fields=fields)
    _attach(acting_user, case, checked, case.last_event)
    return case


@transaction.atomic
def case_close(*, acting_user, case, note: str = "") -> Case:
    """结案 after a passed verification."""
    case, row, roles = begin(acting_user, case, "close")
    at = common.now()
    case.closed_at = at
    return transition(acting_user, case, row, roles, at=at, note=common.text(note, field="note"),
                      extra_fields=["closed_at"])


@transaction.atomic
def case_evaluate(*, acting_user, case, score: int, comment: str = "") -> Evaluation:
    """评价 of a closed case, once by its reporter and once by the centre (409 already_evaluated)."""
    case, row, roles = begin(acting_user, case, "evaluate")
    comment = common.text(comment, field="comment", what="评价意见")
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationFailed("评分应为 1-5", code="invalid_score", extra={"field": "score"})
    done = set(Evaluation.objects.filter(case=case).values_list("evaluator_kind", flat=True))
    kinds = []
    if REPORTER in roles:
        kinds.append(EvaluatorKind.REPORTER)
    if roles & {Role.TOWN_OPERATOR, Role.CITY_OPERATOR}:
        kinds.append(EvaluatorKind.CENTRE)
    kind = next((k for k in kinds if k not in done), None)
    if kind is None:
        raise Conflict("already_evaluated", "您已评价过该案件")
    at = common.now()
    evaluation = Evaluation(case=case, evaluator=acting_user, evaluator_kind=kind, score=score, comment=comment,
                            created_at=at)
    evaluation.full_clean(exclude=["case", "evaluator"], validate_constraints=False)
    evaluation.save()
    transition(acting_user, case, row, roles, at=at, note=comment,
               data={"score": score, "evaluator": kind, "evaluation": evaluation.pk})
    return evaluation


# --- side paths: suspension, void, self-resolution, supervision, merge -------------------------------------

@transaction.atomic
def case_suspend(*, acting_user, case, reason: str, expected_resume_on: date | None = None) -> Case:
    """挂账: into the backlog register with its clock stopped (the working time left is kept)."""
    case, row, roles = begin(acting_user, case, "suspend")
    reason = common.text(reason, field="reason", required=True, what="挂账原因")
    at = common.now()
    if expected_resume_on is not None and expected_resume_on < timezone.localdate(at):
        raise ValidationFailed("预计恢复日期不能早于今天", code="invalid_date", extra={"field": "expected_resume_on"})
    Suspension.objects.create(case=case, from_state=case.state, reason=reason, expected_resume_on=expected_resume_on,
                              remaining_minutes=deadlines.remaining_minutes(case, at), suspended_by=acting_user,
                              suspended_at=at)
    return transition(acting_user, case, row, roles, at=at, note=reason,
                      data={"expected_resume_on": expected_resume_on.isoformat() if expected_resume_on else None})


@transaction.atomic
def case_resume(*, acting_user, case, note: str = "") -> Case:
    """恢复 from the register: back to the state it was suspended from, with the working time that was
    left on its stage counted from now."""
    case, row, roles = begin(acting_user, case, "resume")
    note = common.text(note, field="note")
    suspension = Suspension.objects.select_for_update().get(case=case, resumed_at__isnull=True)
    at = common.now()
    suspension.resumed_by, suspension.resumed_at, suspension.resume_note = acting_user, at, note
    suspension.save(update_fields=["resumed_by", "resumed_at", "resume_note"])
    target = suspension.from_state
    before = case.state
    common.enter_stage(case, target, at)
    stage = STAGE_OF_STATE.get(target)
    if stage and suspension.remaining_minutes is not None:
        full = round(deadlines.limit_hours(case.category, stage, case.urgency) * 60)
        c = deadlines.resumed(stage, at, suspension.remaining_minutes, full)
        case.stage_due_soon_at, case.stage_deadline = c.due_soon_at, c.deadline
        case.overdue = c.deadline <= at
    common.save(case, ["state", "stage", "stage_started_at", "stage_limit_minutes", "stage_due_soon_at",
                       "stage_deadline", "due_soon", "overdue"])
    case.last_event = common.event(case, actor=acting_user, action=row.action, from_state=before, to_state=target,
                                   at=at, role=common.main_role(roles, row.roles), note=note,
                                   data={"suspension": suspension.pk})
    common.audit(acting_user, case, row.action, {"state": [before, target]})
    return case


@transaction.atomic
def case_void(*, acting_user, case, reason: str) -> Case:
    """作废 (a test entry, a report entered twice …) with a reason. Final; open dispatches end."""
    case, row, roles = begin(acting_user, case, "void")
    reason = common.text(reason, field="reason", required=True, what="作废理由")
    at = common.now()
    _end_dispatches(case, at, DispatchEnd.VOIDED)
    Suspension.objects.filter(case=case, resumed_at__isnull=True).update(resumed_at=at, resumed_by=acting_user,
                                                                         resume_note="案件作废")
    return transition(acting_user, case, row, roles, at=at, note=reason)


@transaction.atomic
def case_self_resolve(*, acting_user, case, note: str, files=None) -> Case:
    """自行处置: the grid worker of the case's grid fixed a small problem on the spot. Only categories
    marked self-resolvable; at least one photo (uploaded now or before) is the evidence. The case
    waits for verification by the desk (not by the same worker)."""
    from .report import _check_self_resolvable

    case, row, roles = begin(acting_user, case, "self_resolve")
    note = common.text(note, field="note", required=True, what="处置情况")
    checked = attachments.check_all(files)
    existing = CaseAttachment.objects.filter(case=case, kind=AttachmentKind.PHOTO).count()
    _check_self_resolvable(case.category, roles, checked, existing)
    at = common.now()
    case.self_resolved = True
    case = transition(acting_user, case, row, roles, at=at, note=note, extra_fields=["self_resolved"])
    _attach(acting_user, case, checked, case.last_event)
    return case


def _desk_level(roles: set[str]) -> int:
    return EscalationLevel.CITY if Role.CITY_OPERATOR in roles else EscalationLevel.TOWN


@transaction.atomic
def case_supervise(*, acting_user, case, note: str, respond_within_hours: int | None = None) -> Supervision:
    """督办: a note from the town or city desk pressing for progress (optionally with a reply time in
    working hours). The state does not change."""
    case, row, roles = begin(acting_user, case, "supervise")
    note = common.text(note, field="note", required=True, what="督办意见")
    at = common.now()
    respond_by = None
    if respond_within_hours is not None:
        if not 1 <= int(respond_within_hours) <= MAX_EXTENSION_HOURS:
            raise ValidationFailed("答复时限应为 1-400 个工作小时", code="invalid_hours",
                                   extra={"field": "respond_within_hours"})
        from gridgov.core import workcal

        respond_by = workcal.add_working_time(at, timedelta(hours=int(respond_within_hours)))
    supervision = Supervision.objects.create(case=case, supervisor=acting_user, level=_desk_level(roles), note=note,
                                             respond_by=respond_by, created_at=at)
    common.event(case, actor=acting_user, action=row.action, from_state=case.state, to_state=case.state, at=at,
                 role=common.main_role(roles, row.roles), note=note,
                 data={"supervision": supervision.pk, "level": supervision.level,
                       "respond_by": respond_by.isoformat() if respond_by else None})
    common.audit(acting_user, case, row.action, {"supervision": supervision.pk})
    return supervision


@transaction.atomic
def case_merge(*, acting_user, case, into, note: str = "") -> Case:
    """合并 a duplicate into the case it repeats: the duplicate ends as `merged` pointing at the other,
    whose timeline records what was absorbed. The other must be visible to the actor and live."""
    case, row, roles = begin(acting_user, case, "merge")
    note = common.text(note, field="note")
    into_id = into.pk if isinstance(into, Case) else into
    target = access_case(acting_user, into_id, for_update=True)
    if target.pk == case.pk:
        raise ValidationFailed("不能与自身合并", code="invalid_merge", extra={"field": "into"})
    if target.state in (CaseState.VOIDED, CaseState.MERGED, CaseState.REJECTED):
        raise Conflict("invalid_merge", "目标案件已作废、已合并或不予受理，不能合并入")
    at = common.now()
    case.duplicate_of = target
    case = transition(acting_user, case, row, roles, at=at, note=note, data={"into": target.pk,
                                                                               "number": target.number},
                      extra_fields=["duplicate_of"])
    common.event(target, actor=acting_user, action="absorb", from_state=target.state, to_state=target.state, at=at,
                 role=common.main_role(roles, row.roles), note=note,
                 data={"merged": case.pk, "number": case.number})
    return case
