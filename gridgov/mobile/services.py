"""Push: applying a batch of items a grid worker recorded on the phone, possibly offline.

Guarantees of `sync_push`:
- Items are applied one by one, in the order sent, each in its own transaction through the
  owning module's service (visits, cases, points, egov, notices): a refused or malformed item
  changes nothing and does not stop the items after it.
- Every item carries a client-generated UUID. The first success writes a receipt in the same
  transaction; the same id again answers `duplicate` with the same record (never a second one).
  Creating services also get the id natively (visit/case client_id, claim and application
  idempotency keys), so two racing pushes of one item still create one record.
- An item acting on something that moved on while the phone was offline names the state the
  phone saw (`base_state`); if the server's state differs the item is refused with
  `case_moved_on` / `application_moved_on` and the current state, and nothing is done
  (docs/mobile.md, conflict rules). The worker decides again on fresh data.
- Scope is the services' own: a resident, case or place outside the worker's grid is refused
  (404 not_found / 403 outside_scope) like any other request.
"""

import base64
import binascii
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound, ValidationFailed

from .models import PushReceipt

log = logging.getLogger("gridgov.mobile")

MAX_ITEMS = 50
MAX_PHOTO_BYTES = 3 * 1024 * 1024
DATA_URL = re.compile(r"^data:image/(jpeg|png|webp);base64,(?P<data>[A-Za-z0-9+/=\s]+)$")


class Refused(ApplicationError):
    status = 409


@dataclass
class ItemResult:
    index: int
    client_id: str
    kind: str
    status: str  # ok | duplicate | refused
    code: str = ""
    message: str = ""
    ref: dict | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "client_id": self.client_id, "kind": self.kind, "status": self.status,
                "code": self.code, "message": self.message, "ref": self.ref, "extra": self.extra}


@dataclass
class Applied:
    """What a handler did: the record (type, id, label, region) and whether it already existed."""

    ref_type: str
    ref_id: int
    label: str
    region_code: str
    replayed: bool = False
    message: str = ""


# --- parsing helpers ---------------------------------------------------------------------------------

def _malformed(message: str, field_name: str = "") -> ValidationFailed:
    return ValidationFailed(message, code="malformed", extra={"field": field_name} if field_name else None)


def _uuid(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise _malformed("client_id 缺失或不是 UUID", "client_id") from None


def _int(data: dict, key: str, label: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or value in (None, ""):
        raise _malformed(f"缺少{label}", key)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _malformed(f"{label}应为数字", key) from None


def _moment(value, label: str, default: datetime | None = None) -> datetime:
    if value in (None, ""):
        if default is None:
            raise _malformed(f"缺少{label}", label)
        return default
    parsed = parse_datetime(str(value)) if isinstance(value, str) else None
    if parsed is None:
        raise _malformed(f"{label}格式不正确（应为 ISO 8601 时间）", label)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _day(value, label: str) -> date:
    parsed = parse_date(str(value)) if isinstance(value, str) else None
    if parsed is None:
        raise _malformed(f"{label}格式不正确（应为 YYYY-MM-DD）", label)
    return parsed


def _text(data: dict, key: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(f"{key} 应为文字", key)
    return value


def _photo(value, name: str = "photo") -> SimpleUploadedFile | None:
    """A photo the phone compressed and sent as a data URL (JPEG/PNG/WebP); its content is checked
    again by the owning service (magic bytes)."""
    if value in (None, ""):
        return None
    match = DATA_URL.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationFailed("照片格式不正确（应为 JPEG、PNG 或 WebP 图片）", code="invalid_photo",
                               extra={"field": name})
    try:
        raw = base64.b64decode(match.group("data"), validate=False)
    except (binascii.Error, ValueError):
        raise ValidationFailed("照片数据已损坏", code="invalid_photo", extra={"field": name}) from None
    if len(raw) > MAX_PHOTO_BYTES:
        raise ValidationFailed("照片压缩后仍超过 3 MB，请重新拍摄", code="photo_too_large", extra={"field": name})
    ext = {"jpeg": "jpg", "png": "png", "webp": "webp"}[match.group(1)]
    return SimpleUploadedFile(f"{name}.{ext}", raw, content_type=f"image/{match.group(1)}")


def _position(data: dict) -> dict:
    crs = data.get("crs") or "wgs84"
    if crs not in ("wgs84", "gcj02"):
        raise ValidationFailed("坐标系只能是 wgs84 或 gcj02", code="invalid_crs", extra={"field": "crs"})
    return {"lon": data.get("lon"), "lat": data.get("lat"), "crs": crs}


# --- handlers: one per item kind -----------------------------------------------------------------------

def _visit(user, cid: uuid.UUID, data: dict, recorded_at: datetime | None) -> Applied:
    from gridgov.visits.services import visit_record

    checklist = data.get("checklist") or []
    needs = data.get("needs") or []
    if not isinstance(checklist, list | dict) or not isinstance(needs, list):
        raise _malformed("检查项或诉求格式不正确", "checklist")
    visit = visit_record(
        acting_user=user, resident=_int(data, "resident", "走访对象"),
        visited_at=_moment(data.get("visited_at"), "走访时间", recorded_at), **_position(data),
        accuracy_m=data.get("accuracy_m"), findings=_text(data, "findings"), needs=needs, checklist=checklist,
        photo=_photo(data.get("photo")), client_id=cid,
    )
    return Applied("visits.visit", visit.pk, f"走访 {timezone.localtime(visit.visited_at):%m-%d %H:%M}",
                   visit.region_id, replayed=visit.replayed)


def _case_report(user, cid: uuid.UUID, data: dict, recorded_at: datetime | None) -> Applied:
    from gridgov.cases.services import case_report

    photo = _photo(data.get("photo"))
    self_resolved = bool(data.get("self_resolved"))
    case = case_report(
        acting_user=user, category=data.get("category"), description=_text(data, "description"), **_position(data),
        address=_text(data, "address"), urgency=data.get("urgency") or None, client_id=cid,
        files=[photo] if photo else None, self_resolved=self_resolved,
        resolution_note=_text(data, "resolution_note"),
    )
    return Applied("cases.case", case.pk, case.number, case.region_id, replayed=case.replayed,
                   message="已上报并自行处置，等待核查" if self_resolved else "已上报，等待受理")


def _locked_case(user, data: dict):
    from gridgov.cases.choices import CaseState
    from gridgov.cases.models import Case

    case_id = _int(data, "case", "案件")
    base = data.get("base_state")
    if base not in CaseState.values:
        raise _malformed("缺少 base_state（手机上看到的案件状态）", "base_state")
    case = Case.objects.visible_to(user).select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFound("案件不存在或不在您的网格内")
    if case.state != base:
        # The rule: an action decided on an old state is not applied to a new one.
        raise Refused("case_moved_on",
                      f"案件 {case.number} 已由“{CaseState(base).label}”变为“{case.get_state_display()}”，"
                      "您离线时的操作未执行，请刷新后重新处理",
                      extra={"case": case.pk, "number": case.number, "base_state": base,
                             "current_state": case.state, "current_state_label": case.get_state_display()})
    return case


def _case_self_resolve(user, cid: uuid.UUID, data: dict, recorded_at: datetime | None) -> Applied:
    from gridgov.cases.services import case_self_resolve

    case = _locked_case(user, data)
    photo = _photo(data.get("photo"))
    case = case_self_resolve(acting_user=user, case=case.pk, note=_text(data, "note"),
                             files=[photo] if photo else None)
    return Applied("cases.case", case.pk, case.number, case.region_id, message="已自行处置，等待核查")


def _case_verify(user, cid: uuid.UUID, data: dict, recorded_at: datetime | None) -> Applied:
    from gridgov.cases.services import case_verify

    case = _locked_case(user, data)
    if not isinstance(data.get("passed"), bool):
        raise _malformed("缺少核查结论（passed: true/false）", "passed")
    photo = _photo(data.get("photo"))
    case = case_verify(acting_user=user, case=case.pk, passed=data["passed"], note=_text(data, "note"),
                       files=[photo] if photo else None)
    return Applied("cases.case", case.pk, case.number, case.region_id,
                   message="核查通过" if data["passed"] else "核查不通过，已退回重新派遣")


def _points_claim(user, cid: uuid.UUID, data: dict, recorded_at: datetime | None) -> Applied:
    from gridgov.points.choices import ClaimChannel, ClaimSource
    from gridgov.points.services.claims import claim_submit

    points = data.get("points")
    claim = claim_submit(
        acting_user=user, subject=_int(data, "subject", "积分对象"), item=data.get("item"),
        occurred_on=_day(data.get("occurred_on"), "发生日期"), description=_text(data, "description"),
        channel=data.get("channel") or ClaimChannel.IN_PERSON, source=ClaimSource.GRID_WORKER,
        points=int(points) if isinstance(points, int | str) and str(points).strip().isdigit() else None,
        public_reason=_text(data, "public_reason"), evidence=_text(data, "evidence"),
        evidence_file=_photo(data.get("photo"), "evidence"), idempotency_key_value=f"m:{cid}",
    )
    return Applied("points.claim", claim.pk, f"积分申报 {claim.pk}", claim.region_id,
                   replayed=getattr(claim, "replayed", False), message=claim.get_status_display())


def _egov_apply(user, cid: uuid.UUID, data: dict, recorded_at: datetime | None) -> Applied:
    from gridgov.egov.services.applications import application_create

    answers = data.get("answers") or {}
    if not isinstance(answers, dict):
        raise _malformed("申请表内容应为对象", "answers")
    app = application_create(acting_user=user, item_code=str(data.get("item_code") or ""),
                             applicant_id=_int(data, "applicant", "申请人"), answers=answers,
                             idempotency_key=f"m:{cid}")
    return Applied("egov.application", app.pk, app.number, app.region_id, replayed=getattr(app, "replayed", False),
                   message="已提交，等待村级受理")


def _egov_resubmit(user, cid: uuid.UUID, data: dict, recorded_at: datetime | None) -> Applied:
    """补正: the returned application's missing materials photographed on the phone, then resubmitted."""
    from gridgov.egov.access import access_application
    from gridgov.egov.choices import State
    from gridgov.egov.services.applications import application_material_add, application_resubmit

    app = access_application(user, _int(data, "application", "申请"), for_update=True)
    base = data.get("base_state") or State.RETURNED
    if app.state != base:
        raise Refused("application_moved_on",
                      f"申请 {app.number} 已变为“{app.get_state_display()}”，您离线时的补正未提交，请刷新后查看",
                      extra={"application": app.pk, "current_state": app.state,
                             "current_state_label": app.get_state_display()})
    materials = data.get("materials") or []
    if not isinstance(materials, list) or not all(isinstance(m, dict) for m in materials):
        raise _malformed("补正材料格式不正确", "materials")
    for i, material in enumerate(materials):
        upload = _photo(material.get("photo"), f"material{i}")
        if upload is None:
            raise ValidationFailed("补正材料缺少照片", code="invalid_photo", extra={"field": "materials"})
        application_material_add(acting_user=user, application_id=app.pk,
                                 material_code=str(material.get("code") or ""), upload=upload)
    app = application_resubmit(acting_user=user, application_id=app.pk, note=_text(data, "note"),
                               idempotency_key=f"m:{cid}")
    return Applied("egov.application", app.pk, app.number, app.region_id, message="补正材料已提交")


def _patrol(user, cid: uuid.UUID, data: dict, recorded_at: datetime | None) -> Applied:
    """A whole patrol recorded on the phone (start, track, end) sent as one item."""
    from gridgov.visits.services import patrol_end, patrol_points_add, patrol_start

    points = data.get("points") or []
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise _malformed("轨迹点格式不正确", "points")
    # The phone sends ISO times; the visits service takes datetimes or unix seconds.
    points = [{**p, "t": _moment(p["t"], "轨迹点时间")} if isinstance(p.get("t"), str) else p for p in points]
    patrol = patrol_start(acting_user=user, started_at=_moment(data.get("started_at"), "开始时间"), client_id=cid)
    if getattr(patrol, "replayed", False) and not patrol.is_open:
        return Applied("visits.patrol", patrol.pk, "巡查", patrol.region_id, replayed=True)
    if points:
        patrol = patrol_points_add(acting_user=user, patrol=patrol.pk, points=points,
                                   crs=data.get("crs") or "wgs84", batch_id=cid)
    patrol = patrol_end(acting_user=user, patrol=patrol.pk, ended_at=_moment(data.get("ended_at"), "结束时间"),
                        findings=_text(data, "findings"))
    return Applied("visits.patrol", patrol.pk, f"巡查 {patrol.distance_m:.0f} 米", patrol.region_id)


def _notice_ack(user, cid: uuid.UUID, data: dict, recorded_at: datetime | None) -> Applied:
    """签收 a notice. Already acknowledged elsewhere (on the PC while the phone was offline) counts as
    done: the worker's intent holds, so the item is answered `duplicate`, not refused."""
    from gridgov.notices.services import acknowledge

    notice_id = _int(data, "notice", "通知")
    try:
        receipt = acknowledge(user, notice_id, comment=_text(data, "comment"))
    except ApplicationError as exc:
        if exc.code != "already_acknowledged":
            raise
        return Applied("notices.notice", notice_id, f"通知 {notice_id}", "", replayed=True, message=exc.message)
    return Applied("notices.notice", notice_id, f"通知 {notice_id}", receipt.region_code or "", message="已签收")


HANDLERS = {
    "visit": _visit,
    "case_report": _case_report,
    "case_self_resolve": _case_self_resolve,
    "case_verify": _case_verify,
    "points_claim": _points_claim,
    "egov_apply": _egov_apply,
    "egov_resubmit": _egov_resubmit,
    "patrol": _patrol,
    "notice_ack": _notice_ack,
}
KIND_LABELS = {
    "visit": "走访", "case_report": "事件上报", "case_self_resolve": "自行处置", "case_verify": "案件核查",
    "points_claim": "积分代报", "egov_apply": "代办申请", "egov_resubmit": "申请补正", "patrol": "巡查",
    "notice_ack": "通知确认",
}


# --- the batch --------------------------------------------------------------------------------------------

def _duplicate(index: int, kind: str, receipt: PushReceipt, user) -> ItemResult:
    if receipt.user_id != user.pk:
        return ItemResult(index, str(receipt.client_id), kind, "refused", "client_id_conflict",
                          "该 client_id 已被其他账号使用")
    return ItemResult(index, str(receipt.client_id), receipt.kind, "duplicate", "duplicate", "已接收过，未重复创建",
                      ref={"type": receipt.ref_type, "id": receipt.ref_id, "label": receipt.ref_label})


def _push_one(user, index: int, raw: Any) -> ItemResult:
    if not isinstance(raw, dict):
        return ItemResult(index, "", "", "refused", "malformed", "该条记录格式不正确（应为对象）")
    kind = raw.get("kind") if isinstance(raw.get("kind"), str) else ""
    client_id = str(raw.get("client_id") or "")[:64]
    try:
        cid = _uuid(raw.get("client_id"))
        if kind not in HANDLERS:
            raise ValidationFailed(f"不支持的记录类型“{kind[:32]}”", code="malformed", extra={"field": "kind"})
        data = raw.get("data")
        if not isinstance(data, dict):
            raise _malformed("缺少 data 对象", "data")
        recorded_at = _moment(raw["recorded_at"], "记录时间") if raw.get("recorded_at") else None
        receipt = PushReceipt.objects.filter(client_id=cid).first()
        if receipt is not None:
            return _duplicate(index, kind, receipt, user)
        with transaction.atomic():
            applied = HANDLERS[kind](user, cid, data, recorded_at)
            PushReceipt.objects.create(client_id=cid, user=user, kind=kind, region_code=applied.region_code[:15],
                                       ref_type=applied.ref_type, ref_id=applied.ref_id,
                                       ref_label=applied.label[:64], recorded_at=recorded_at)
    except IntegrityError:
        # A concurrent push of the same item won the receipt: answer as its duplicate.
        receipt = PushReceipt.objects.filter(client_id=cid).first()
        if receipt is None:
            raise
        return _duplicate(index, kind, receipt, user)
    except ApplicationError as exc:
        return ItemResult(index, client_id, kind, "refused", exc.code, exc.message, extra=exc.extra)
    except DjangoValidationError as exc:
        messages = "；".join(exc.messages[:3]) or "数据不正确"
        return ItemResult(index, client_id, kind, "refused", "invalid", messages)
    ref = {"type": applied.ref_type, "id": applied.ref_id, "label": applied.label}
    if applied.replayed:
        return ItemResult(index, client_id, kind, "duplicate", "duplicate", "已接收过，未重复创建", ref=ref)
    return ItemResult(index, client_id, kind, "ok", "ok", applied.message or "已接收", ref=ref)


def sync_push(*, acting_user, items: list) -> list[ItemResult]:
    """Applies the items in order and answers one result per item (see the module docstring).

    At most 50 items per batch (the phone sends its outbox in batches). The batch itself is
    audited once with its counts; each record is audited by its own service.
    """
    require(acting_user, "mobile.sync")
    if not isinstance(items, list):
        raise ValidationFailed("items 应为列表", code="malformed")
    if len(items) > MAX_ITEMS:
        raise ValidationFailed(f"每批最多 {MAX_ITEMS} 条，请分批发送", code="batch_too_large")
    results = [_push_one(acting_user, i, raw) for i, raw in enumerate(items)]
    counts = {s: sum(1 for r in results if r.status == s) for s in ("ok", "duplicate", "refused")}
    if results:
        audit_record(actor=acting_user, action="mobile.push", object_type="mobile.batch",
                     changes={"items": len(results), **counts,
                              "refused_codes": sorted({r.code for r in results if r.status == "refused"})})
    return results
