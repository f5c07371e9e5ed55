"""Applications: started on a resident's behalf, accepted at the village, reviewed, decided, closed.

One service per transition (workflow.py holds the table of source states and permissions). Each
runs in one transaction, appends one timeline event, writes a notification for the applicant and
the agent, and one audit row; a refused step writes nothing. With an `idempotency_key`, a retried
step answers with the application as it is instead of failing or acting twice.

The clock (承诺时限): it starts at acceptance — due = accepted date + the item's promised working
days — and stops while the application waits for 补正: at resubmission the working days in
(returned date, resubmitted date] are added, and the due date moves by as many working days.
"""

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.accounts.policy import has_role, require
from gridgov.core import workcal
from gridgov.core.errors import NotFound
from gridgov.core.uploads import real_type
from gridgov.people import access as people_access
from gridgov.people.choices import ResidentState
from gridgov.people.models import Resident

from ..answers import clean_answers, yuan
from ..choices import OPEN_STATES, Action, BenefitKind, Channel, Decision, PaymentStatus, State
from ..models import Application, ApplicationEvent, ApplicationMaterial, Payment, ServiceItem
from ._common import (
    Conflict,
    audit,
    begin,
    check_key,
    ensure_visible,
    full_clean,
    invalid,
    last_step_at,
    moment,
    notify,
    reason_text,
    record_event,
)

MAX_MATERIAL_BYTES = 10 * 1024 * 1024
MAX_MATERIALS = 40
MAX_AMOUNT_FEN = 100_000_00  # 100,000 yuan: above this a figure is a typo, not a benefit
PAYMENT_DAYS = 5  # a one-off payment is due this many working days after approval
MONTHLY_PAY_DAY = 10
_ACCOUNT = re.compile(r"^[0-9]{8,30}$")
FILE_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}


# --- helpers -------------------------------------------------------------------------------------------------

def _names(app: Application) -> tuple[str, str]:
    applicant = Resident.objects.filter(pk=app.applicant_id).values_list("name", flat=True).first() or ""
    department = Department.objects.filter(code=app.department_code).values_list("name", flat=True).first()
    return applicant, department or app.department_code


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _clean_account(value: Any) -> str:
    text = re.sub(r"[\s-]", "", str(value or ""))
    if not _ACCOUNT.match(text):
        raise invalid({"payee_account": "收款账号应为 8-30 位数字（银行卡号或惠民惠农一卡通账号）"}, "invalid_account")
    return text


def _clean_payee_name(value: Any, default: str) -> str:
    text = str(value or "").strip() or default
    if len(text) > 50:
        raise invalid({"payee_name": "收款人姓名不能超过 50 字"})
    return text


def _clean_amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, bool) or float(str(value)) != int(float(str(value))):
                raise ValueError
            value = int(float(str(value)))
        except (TypeError, ValueError):
            raise invalid({"amount_fen": "核定金额应为整数（单位：分）"}, "invalid_amount") from None
    if not 0 < value <= MAX_AMOUNT_FEN:
        raise invalid({"amount_fen": f"核定金额应在 0.01 到 {MAX_AMOUNT_FEN // 100:,} 元之间"}, "invalid_amount")
    return value


def _sniff(upload) -> str:
    """The file's real type from its first bytes (the name and the declared type are not trusted)."""
    size = getattr(upload, "size", None)
    if not size:
        raise invalid({"file": "文件为空"}, "invalid_file")
    if size > MAX_MATERIAL_BYTES:
        raise invalid({"file": "单个文件不能超过 10 MB"}, "file_too_large")
    kind = real_type(upload)
    if kind in {"pdf", "jpg", "png"}:
        return kind
    raise invalid({"file": "文件格式不支持，只接受 PDF、JPEG 或 PNG（按文件内容识别）"}, "invalid_file_type")


def _missing_required(app: Application, since: datetime | None = None, codes: Iterable[str] | None = None):
    wanted = list(codes) if codes is not None else [m["code"] for m in app.item.required_materials]
    qs = ApplicationMaterial.objects.filter(application=app)
    if since is not None:
        qs = qs.filter(uploaded_at__gte=since)
    present = set(qs.values_list("material_code", flat=True))
    return [c for c in wanted if c not in present]


def _finish(acting_user, app: Application, *, action: str, permission: str, from_state: str, at: datetime,
            fields: list[str], text: str, note: str = "", data: dict | None = None, key: str | None = None,
            changes: dict | None = None) -> Application:
    # Field and row rules; the table's constraints (one open application per item, amounts, reasons)
    # are the database's to enforce on save, one statement instead of a query per constraint.
    full_clean(app, ["agent", "accepted_by", "item", "applicant", "region"], constraints=False)
    try:
        with transaction.atomic():
            app.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise Conflict("conflict", "该申请的状态已被他人更新，请刷新后重试") from None
    event = record_event(app, action=action, actor=acting_user, permission=permission, from_state=from_state,
                         to_state=app.state, at=at, note=note, data=data, idempotency_key=key)
    notify(app, event, text)
    ensure_visible(acting_user, app)
    audit(acting_user, action, app, {"state": [from_state, app.state], **(changes or {})}, message=note)
    return app


# --- start ---------------------------------------------------------------------------------------------------

@transaction.atomic
def application_create(*, acting_user, item_code: str, applicant_id: int, answers: Mapping[str, Any] | None = None,
                       payee_name: str = "", payee_account: str = "", found_by_match: bool = False,
                       need_id: int | None = None, idempotency_key: str | None = None,
                       at: datetime | None = None) -> Application:
    """Starts an application for a resident of the actor's area (全程代理), state 待受理.

    The grid administrator's are marked 村级受理, a grid worker's 网格员代办. Answers are checked
    against the item's form; a resident who already has an open application for the item gets a 409
    naming it. With `need_id`, the visit need it came from is marked forwarded to this application.
    """
    require(acting_user, "egov.apply")
    key = check_key(idempotency_key)
    if key:
        event = ApplicationEvent.objects.filter(idempotency_key=key).select_related("application").first()
        if event is not None:
            original = event.application
            if (event.action == Action.CREATE and event.actor_id == acting_user.pk
                    and str(original.applicant_id) == str(applicant_id)
                    and original.item.code == str(item_code or "").strip()):
                original.replayed = True
                return original
            raise Conflict("idempotency_conflict", "该幂等键已用于其他办理操作，请为新的操作生成新的幂等键")
    item = ServiceItem.objects.filter(code=str(item_code or "").strip()[:16], is_active=True).first()
    if item is None:
        raise invalid({"item": f"服务事项“{str(item_code)[:16]}”不存在或已停用"}, "invalid_item")
    try:
        applicant = people_access.access_resident(acting_user, applicant_id)
    except NotFound:
        raise NotFound("申请人不存在或不在您的管辖范围内") from None
    errors: dict[str, str] = {}
    if applicant.state != ResidentState.ACTIVE:
        errors["applicant"] = f"申请人状态为“{applicant.get_state_display()}”，不能申请"
    clean, answer_errors = clean_answers(item.questions, answers)
    errors.update(answer_errors)
    if errors:
        raise invalid(errors, "invalid_answers" if answer_errors else "invalid")
    account = _clean_account(payee_account) if payee_account else ""
    name = _clean_payee_name(payee_name, applicant.name) if (payee_account or payee_name) else ""
    existing = (Application.objects.filter(item=item, applicant=applicant, state__in=OPEN_STATES)
                .values_list("pk", "number").first())
    if existing:
        raise Conflict("duplicate_application", f"该居民已有“{item.name}”的申请正在办理（{existing[1]}）",
                       extra={"application": existing[0], "number": existing[1]})
    at = moment(at)
    app = Application(
        item=item, department_code=item.department_code, applicant=applicant, region_id=applicant.region_id,
        agent=acting_user, channel=Channel.VILLAGE if has_role(acting_user, Role.GRID_ADMIN) else Channel.GRID_WORKER,
        found_by_match=bool(found_by_match), state=State.PENDING, answers=clean, payee_name=name,
        payee_account=account, created_at=at, promised_days=item.promised_days,
    )
    full_clean(app, ["number", "agent", "applicant", "region", "item"])
    try:
        with transaction.atomic():
            app.save()
    except IntegrityError:
        raise Conflict("duplicate_application", f"该居民已有“{item.name}”的申请正在办理") from None
    app.number = f"ZW{timezone.localdate(at):%Y%m%d}{app.pk:06d}"
    app.save(update_fields=["number"])
    event = record_event(app, action=Action.CREATE, actor=acting_user, permission="egov.apply", from_state="",
                         to_state=State.PENDING, at=at, data={"channel": app.channel, "found_by_match": found_by_match},
                         idempotency_key=key)
    notify(app, event, f"{applicant.name}，您的“{item.name}”申请已由{acting_user.full_name or '网格员'}代为提交"
                       f"（{app.number}），等待村级受理。")
    if need_id:
        from gridgov.visits.services import need_forward

        need_forward(acting_user=acting_user, need=need_id, forwarded_ref=app.number)
    ensure_visible(acting_user, app)
    audit(acting_user, Action.CREATE, app, {"item": item.code, "applicant": applicant.pk, "channel": app.channel,
                                            "payee_account": "已填写" if account else "",
                                            "found_by_match": found_by_match, "need": need_id})
    app.item = item
    app.applicant = applicant
    app.replayed = False
    return app


@transaction.atomic
def application_material_add(*, acting_user, application_id: int, material_code: str, upload,
                             at: datetime | None = None) -> ApplicationMaterial:
    """Adds a scan of one of the item's materials while the application is with the village (待受理 or
    补正中). The type is read from the file's first bytes (PDF, JPEG, PNG), at most 10 MB; the file is
    stored outside the web root under a random name and served only after an access check."""
    app, _ = begin(acting_user, application_id, Action.MATERIAL, None)
    codes = {m["code"]: m["name"] for m in app.item.materials}
    code = str(material_code or "").strip()
    if code not in codes:
        allowed = "、".join(f"{c}（{n}）" for c, n in codes.items()) or "无"
        raise invalid({"material_code": f"“{code[:32]}”不是“{app.item.name}”的申请材料，可上传：{allowed}"},
                      "invalid_material")
    if ApplicationMaterial.objects.filter(application=app).count() >= MAX_MATERIALS:
        raise invalid({"file": f"每件申请最多上传 {MAX_MATERIALS} 个文件"}, "too_many_files")
    ext = _sniff(upload)
    at = moment(at, not_before=last_step_at(app))
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(64 * 1024), b""):
        digest.update(chunk)
    upload.seek(0)
    original = str(getattr(upload, "name", "") or "")[-120:]
    material = ApplicationMaterial(application=app, material_code=code, original_name=original,
                                   content_type=FILE_TYPES[ext], size=upload.size, sha256=digest.hexdigest(),
                                   uploaded_by=acting_user, uploaded_at=at)
    material.file.save(f"x.{ext}", upload, save=False)
    try:
        material.save()
        record_event(app, action=Action.MATERIAL, actor=acting_user, permission="egov.apply", from_state=app.state,
                     to_state=app.state, at=at, data={"material": code, "name": codes[code], "size": upload.size})
        audit(acting_user, Action.MATERIAL, app, {"material": code, "size": upload.size, "type": ext,
                                                  "sha256": material.sha256})
    except Exception:
        material.file.delete(save=False)
        raise
    return material


@transaction.atomic
def application_submit(*, acting_user, item_code: str, applicant_id: int, answers: Mapping[str, Any] | None = None,
                       files: Iterable[tuple[str, Any]] = (), accept: bool = False, payee_name: str = "",
                       payee_account: str = "", found_by_match: bool = False, need_id: int | None = None,
                       idempotency_key: str | None = None, at: datetime | None = None) -> Application:
    """The application form in one go: start, attach the scans, and — for the grid administrator who
    ticks 立即受理 — accept. All or nothing."""
    app = application_create(acting_user=acting_user, item_code=item_code, applicant_id=applicant_id,
                             answers=answers, payee_name=payee_name, payee_account=payee_account,
                             found_by_match=found_by_match, need_id=need_id, idempotency_key=idempotency_key, at=at)
    if getattr(app, "replayed", False):
        return app
    for code, upload in files:
        application_material_add(acting_user=acting_user, application_id=app.pk, material_code=code, upload=upload,
                                 at=at)
    if accept:
        app = application_accept(acting_user=acting_user, application_id=app.pk, at=at)
    return app


# --- the steps -----------------------------------------------------------------------------------------------

@transaction.atomic
def application_accept(*, acting_user, application_id: int, note: str = "", idempotency_key: str | None = None,
                       at: datetime | None = None) -> Application:
    """村级受理 (grid administrator): every required material present and the form complete; the clock
    starts — due = accepted date + promised working days. Goes to 镇审核 when the item needs it, else
    straight to the department."""
    app, replayed = begin(acting_user, application_id, Action.ACCEPT, idempotency_key)
    if replayed:
        return app
    missing = _missing_required(app)
    if missing:
        names = "、".join(app.item.material_name(c) for c in missing)
        raise invalid({"materials": f"缺少必备材料：{names}"}, "missing_materials")
    _, errors = clean_answers(app.item.questions, app.answers)
    if errors:
        raise invalid(errors, "invalid_answers")
    note = reason_text(note, "受理意见", "note", required=False)
    at = moment(at, not_before=last_step_at(app))
    from_state = app.state
    day = timezone.localdate(at)
    app.state = State.TOWN_REVIEW if app.item.needs_town_review else State.DEPT_VERIFY
    app.accepted_by = acting_user
    app.accepted_at = at
    app.accepted_on = day
    app.promised_days = app.item.promised_days
    app.paused_days = 0
    app.due_on = workcal.add_working_days(day, app.promised_days)
    name, department = _names(app)
    next_step = "转镇（街道）审核" if app.state == State.TOWN_REVIEW else f"转{department}核实"
    return _finish(acting_user, app, action=Action.ACCEPT, permission="egov.accept", from_state=from_state, at=at,
                   fields=["state", "accepted_by", "accepted_at", "accepted_on", "promised_days", "paused_days",
                           "due_on"],
                   note=note, key=idempotency_key,
                   data={"due_on": app.due_on.isoformat(), "promised_days": app.promised_days},
                   changes={"due_on": app.due_on},
                   text=f"{name}，您的“{app.item.name}”申请（{app.number}）已受理，{next_step}，"
                        f"承诺 {app.promised_days} 个工作日内（{_cn_date(app.due_on)}前）办结。")


@transaction.atomic
def application_town_pass(*, acting_user, application_id: int, note: str = "", idempotency_key: str | None = None,
                          at: datetime | None = None) -> Application:
    """镇审核通过 (town operator): on to the responsible department for verification."""
    app, replayed = begin(acting_user, application_id, Action.TOWN_PASS, idempotency_key)
    if replayed:
        return app
    note = reason_text(note, "审核意见", "note", required=False)
    at = moment(at, not_before=last_step_at(app))
    from_state = app.state
    app.state = State.DEPT_VERIFY
    name, department = _names(app)
    return _finish(acting_user, app, action=Action.TOWN_PASS, permission="egov.town_review", from_state=from_state,
                   at=at, fields=["state"], note=note, key=idempotency_key,
                   text=f"{name}，您的“{app.item.name}”申请（{app.number}）已通过镇（街道）审核，转{department}核实。")


@transaction.atomic
def application_return(*, acting_user, application_id: int, missing_materials: Iterable[str], reason: str,
                       idempotency_key: str | None = None, at: datetime | None = None) -> Application:
    """退回补正 at a review step (by whoever reviews there): names the materials to add; the clock stops."""
    app, replayed = begin(acting_user, application_id, Action.RETURN, idempotency_key)
    if replayed:
        return app
    reason = reason_text(reason, "补正说明")
    codes = [str(c).strip() for c in (missing_materials or []) if str(c).strip()]
    known = {m["code"]: m["name"] for m in app.item.materials}
    unknown = [c for c in codes if c not in known]
    if not codes or unknown:
        allowed = "、".join(f"{c}（{n}）" for c, n in known.items())
        bad = f"无效：{'、'.join(unknown)}；" if unknown else ""
        raise invalid({"missing_materials": f"请选择需补正的材料（{bad}可选：{allowed}）"}, "invalid_material")
    codes = list(dict.fromkeys(codes))
    at = moment(at, not_before=last_step_at(app))
    from_state = app.state
    permission = {State.TOWN_REVIEW: "egov.town_review", State.DEPT_VERIFY: "egov.verify",
                  State.DEPT_DECIDE: "egov.decide"}[from_state]
    app.state = State.RETURNED
    app.returned_from = from_state
    app.returned_on = timezone.localdate(at)
    app.return_reason = reason
    app.missing_materials = codes
    name, _ = _names(app)
    names = "、".join(known[c] for c in codes)
    return _finish(acting_user, app, action=Action.RETURN, permission=permission, from_state=from_state, at=at,
                   fields=["state", "returned_from", "returned_on", "return_reason", "missing_materials"],
                   note=reason, key=idempotency_key, data={"missing_materials": codes},
                   changes={"missing_materials": codes},
                   text=f"{name}，您的“{app.item.name}”申请（{app.number}）需补正材料：{names}。{reason}。"
                        "请联系网格员补交，补正期间不计入办理时限。")


@transaction.atomic
def application_resubmit(*, acting_user, application_id: int, note: str = "", idempotency_key: str | None = None,
                         at: datetime | None = None) -> Application:
    """补正提交 (the village side): every material asked for has a new scan since the return; the
    application goes back to the step that returned it, and the due date moves by the working days
    spent waiting."""
    app, replayed = begin(acting_user, application_id, Action.RESUBMIT, idempotency_key)
    if replayed:
        return app
    returned_at = (ApplicationEvent.objects.filter(application=app, action=Action.RETURN)
                   .order_by("-at", "-id").values_list("at", flat=True).first())
    missing = _missing_required(app, since=returned_at, codes=app.missing_materials)
    if missing:
        names = "、".join(app.item.material_name(c) for c in missing)
        raise invalid({"materials": f"尚未补交：{names}"}, "missing_materials")
    note = reason_text(note, "补正说明", "note", required=False)
    at = moment(at, not_before=last_step_at(app))
    day = timezone.localdate(at)
    paused = workcal.working_days_between(app.returned_on, day)
    from_state = app.state
    old_due = app.due_on
    app.paused_days += paused
    app.due_on = workcal.add_working_days(app.accepted_on, app.promised_days + app.paused_days)
    app.state = app.returned_from
    app.returned_on = None
    app.returned_from = ""
    app.missing_materials = []
    name, _ = _names(app)
    return _finish(acting_user, app, action=Action.RESUBMIT, permission="egov.apply", from_state=from_state, at=at,
                   fields=["state", "paused_days", "due_on", "returned_on", "returned_from", "missing_materials"],
                   note=note, key=idempotency_key,
                   data={"paused_days": paused, "due_on": app.due_on.isoformat()},
                   changes={"due_on": [old_due.isoformat() if old_due else None, app.due_on.isoformat()],
                            "paused_days": paused},
                   text=f"{name}，您的“{app.item.name}”申请（{app.number}）补正材料已提交，继续办理，"
                        f"办结期限顺延至 {_cn_date(app.due_on)}。")


@transaction.atomic
def application_verify(*, acting_user, application_id: int, note: str, proposed_amount_fen: int | None = None,
                       idempotency_key: str | None = None, at: datetime | None = None) -> Application:
    """部门核实 (department staff): the findings of the verification, and for a paying item the amount
    proposed; on to the department head for the decision."""
    app, replayed = begin(acting_user, application_id, Action.VERIFY, idempotency_key)
    if replayed:
        return app
    note = reason_text(note, "核实意见", "note")
    data: dict[str, Any] = {}
    if proposed_amount_fen not in (None, ""):
        if not app.item.pays_money:
            raise invalid({"proposed_amount_fen": "该事项不涉及资金发放"}, "no_money")
        data["proposed_amount_fen"] = _clean_amount(proposed_amount_fen)
    at = moment(at, not_before=last_step_at(app))
    from_state = app.state
    app.state = State.DEPT_DECIDE
    name, department = _names(app)
    return _finish(acting_user, app, action=Action.VERIFY, permission="egov.verify", from_state=from_state, at=at,
                   fields=["state"], note=note, key=idempotency_key, data=data,
                   text=f"{name}，您的“{app.item.name}”申请（{app.number}）{department}已调查核实，等待审批。")


def _schedule(app: Application, amount: int, decided_on: date) -> list[Payment]:
    item = app.item
    if item.benefit_kind == BenefitKind.ONE_OFF:
        return [Payment(application=app, region_id=app.region_id, period="once", amount_fen=amount,
                        due_on=workcal.add_working_days(decided_on, PAYMENT_DAYS))]
    rows = []
    year, month = decided_on.year, decided_on.month
    for _ in range(item.schedule_months):
        month += 1
        if month > 12:
            year, month = year + 1, 1
        rows.append(Payment(application=app, region_id=app.region_id, period=f"{year:04d}-{month:02d}",
                            amount_fen=amount, due_on=date(year, month, MONTHLY_PAY_DAY)))
    return rows


@transaction.atomic
def application_approve(*, acting_user, application_id: int, amount_fen: int | None = None,
                        payee_name: str | None = None, payee_account: str | None = None, note: str = "",
                        idempotency_key: str | None = None, at: datetime | None = None) -> Application:
    """批准 (department head). For a paying item this is the only place money is recorded: the amount
    (fen; the item's standard amount when not given), the payee account (encrypted) and the payment
    schedule — one payment, or one per month for a monthly benefit. `(application, period)` is unique,
    so no retry can schedule a payment twice."""
    app, replayed = begin(acting_user, application_id, Action.APPROVE, idempotency_key)
    if replayed:
        return app
    item = app.item
    note = reason_text(note, "审批意见", "note", required=False)
    fields = ["state", "decision", "decision_reason", "decided_at"]
    changes: dict[str, Any] = {}
    if item.pays_money:
        chosen = amount_fen if amount_fen not in (None, "") else item.standard_amount_fen
        if chosen is None:
            raise invalid({"amount_fen": "请填写核定金额（单位：分）"}, "amount_required")
        amount = _clean_amount(chosen)
        account = _clean_account(payee_account) if payee_account else app.payee_account
        if not account:
            raise invalid({"payee_account": "请填写收款账号"}, "account_required")
        app.amount_fen = amount
        app.payee_account = account
        app.payee_name = _clean_payee_name(payee_name or app.payee_name, _names(app)[0])
        fields += ["amount_fen", "payee_account", "payee_name"]
        changes = {"amount_fen": amount, "payee_account": "已填写", "benefit_kind": item.benefit_kind}
    elif amount_fen not in (None, "") or payee_account:
        raise invalid({"amount_fen": f"“{item.name}”不涉及资金发放，不能填写金额或收款账号"}, "no_money")
    at = moment(at, not_before=last_step_at(app))
    from_state = app.state
    app.state = State.APPROVED
    app.decision = Decision.APPROVED
    app.decision_reason = note
    app.decided_at = at
    payments = []
    if item.pays_money:
        payments = _schedule(app, app.amount_fen, timezone.localdate(at))
        try:
            with transaction.atomic():
                Payment.objects.bulk_create(payments)
        except IntegrityError:
            raise Conflict("already_scheduled", "该申请的资金已经安排，不能重复安排") from None
        changes["payments"] = len(payments)
    name, department = _names(app)
    if item.benefit_kind == BenefitKind.MONTHLY:
        money = f"，每月 {yuan(app.amount_fen)} 元，自 {payments[0].period} 起按月发放"
    elif item.pays_money:
        money = f"，核定金额 {yuan(app.amount_fen)} 元，将发放至尾号 {app.payee_account[-4:]} 的账户"
    else:
        money = ""
    return _finish(acting_user, app, action=Action.APPROVE, permission="egov.decide", from_state=from_state, at=at,
                   fields=fields, note=note, key=idempotency_key, changes=changes,
                   data={"amount_fen": app.amount_fen, "payments": len(payments)} if item.pays_money else {},
                   text=f"{name}，您的“{item.name}”申请（{app.number}）{department}已批准{money}。")


@transaction.atomic
def application_refuse(*, acting_user, application_id: int, reason: str, idempotency_key: str | None = None,
                       at: datetime | None = None) -> Application:
    """不予批准 (department head), always with the reason, which the applicant is told."""
    app, replayed = begin(acting_user, application_id, Action.REFUSE, idempotency_key)
    if replayed:
        return app
    reason = reason_text(reason, "不予批准的理由")
    at = moment(at, not_before=last_step_at(app))
    from_state = app.state
    app.state = State.REFUSED
    app.decision = Decision.REFUSED
    app.decision_reason = reason
    app.decided_at = at
    name, department = _names(app)
    return _finish(acting_user, app, action=Action.REFUSE, permission="egov.decide", from_state=from_state, at=at,
                   fields=["state", "decision", "decision_reason", "decided_at"], note=reason, key=idempotency_key,
                   text=f"{name}，您的“{app.item.name}”申请（{app.number}）{department}不予批准，理由：{reason}。"
                        "如有异议可联系网格员咨询。")


@transaction.atomic
def application_complete(*, acting_user, application_id: int, note: str = "", idempotency_key: str | None = None,
                         at: datetime | None = None) -> Application:
    """办结 (department): a refusal at once; an approval of a one-off payment once it is paid (a monthly
    benefit's schedule goes on after 办结)."""
    app, replayed = begin(acting_user, application_id, Action.COMPLETE, idempotency_key)
    if replayed:
        return app
    if (app.state == State.APPROVED and app.item.benefit_kind == BenefitKind.ONE_OFF
            and Payment.objects.filter(application=app, status=PaymentStatus.SCHEDULED).exists()):
        raise Conflict("not_paid", "资金尚未发放，登记发放后才能办结")
    note = reason_text(note, "办结说明", "note", required=False)
    at = moment(at, not_before=last_step_at(app))
    from_state = app.state
    app.state = State.COMPLETED
    app.completed_at = at
    app.completed_on = timezone.localdate(at)
    name, _ = _names(app)
    result = "已批准" if app.decision == Decision.APPROVED else "不予批准"
    return _finish(acting_user, app, action=Action.COMPLETE, permission="egov.verify", from_state=from_state, at=at,
                   fields=["state", "completed_at", "completed_on"], note=note, key=idempotency_key,
                   changes={"on_time": app.on_time},
                   data={"on_time": app.on_time, "due_on": app.due_on.isoformat() if app.due_on else None},
                   text=f"{name}，您的“{app.item.name}”申请（{app.number}）已办结（{result}）。")


@transaction.atomic
def application_withdraw(*, acting_user, application_id: int, reason: str, idempotency_key: str | None = None,
                         at: datetime | None = None) -> Application:
    """撤回 at the applicant's wish, while the application is with the village (待受理 or 补正中)."""
    app, replayed = begin(acting_user, application_id, Action.WITHDRAW, idempotency_key)
    if replayed:
        return app
    reason = reason_text(reason, "撤回原因")
    at = moment(at, not_before=last_step_at(app))
    from_state = app.state
    app.state = State.WITHDRAWN
    app.returned_on = None
    app.completed_at = at
    name, _ = _names(app)
    return _finish(acting_user, app, action=Action.WITHDRAW, permission="egov.apply", from_state=from_state, at=at,
                   fields=["state", "returned_on", "completed_at"], note=reason, key=idempotency_key,
                   text=f"{name}，您的“{app.item.name}”申请（{app.number}）已撤回。")
