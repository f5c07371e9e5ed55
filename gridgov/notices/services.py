"""Writes of 上情下达 and 下情上报: send, read, acknowledge, withdraw a notice; reminders; reports and their
turn into a case. Each write is one transaction with one audit row (CONVENTIONS rule 2)."""

import hashlib
import html
import re
import uuid
from datetime import datetime, timedelta

import nh3
from django.core.files.base import File
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from gridgov.accounts.choices import DEPARTMENT_ROLES, REGION_ROLE_LEVELS, Role
from gridgov.accounts.models import Assignment, Department
from gridgov.accounts.policy import can, get_scope, require
from gridgov.cases import attachments as case_files
from gridgov.core.audit import audit_record
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from gridgov.regions.models import Region

from .choices import NoticeStatus, ReportCategory, ReportStatus
from .models import Notice, NoticeAttachment, Receipt, Reminder, Report

MAX_TITLE = 120
MAX_BODY = 50_000
MAX_COMMENT = 500
MAX_REPORT = 2000
# Roles a notice may be addressed to (the auditor and the system administrator receive no notices).
TARGET_ROLES = [*REGION_ROLE_LEVELS, *sorted(DEPARTMENT_ROLES)]
# The rich text a notice may hold: structure and emphasis, links, tables; no scripts, styles, images
# from elsewhere (the private network has no internet; files go in as checked attachments).
ALLOWED_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "s", "h2", "h3", "h4", "ul", "ol", "li", "blockquote",
                "a", "table", "thead", "tbody", "tr", "th", "td", "hr", "span", "sub", "sup"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


class Conflict(ApplicationError):
    status = 409


def clean_html(raw: str) -> tuple[str, str]:
    """(safe HTML, plain text). Everything outside the allow-list is dropped, links only http(s)/mailto."""
    safe = nh3.clean(raw or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer").strip()
    text = html.unescape(re.sub(r"<[^>]+>", " ", safe))
    return safe, re.sub(r"\s+", " ", text).strip()


def _text(value, *, field: str, what: str, limit: int, required: bool = False) -> str:
    value = (value or "").strip() if isinstance(value, str) else ("" if value is None else str(value).strip())
    if required and not value:
        raise ValidationFailed(f"请填写{what}", code="required", extra={"field": field})
    if len(value) > limit:
        raise ValidationFailed(f"{what}不能超过 {limit} 个字", code="too_long", extra={"field": field})
    return value


# --- notices: sending -------------------------------------------------------------------------------


def _target_region(acting_user, region) -> Region:
    code = getattr(region, "code", region)
    found = Region.objects.filter(code=str(code or "")).first()
    # Outside the author's own scope looks the same as missing: nothing about other areas leaks.
    if found is None or not get_scope(acting_user).covers(found.code):
        raise ValidationFailed("发送范围不存在或不在您的管辖范围内", code="invalid_region", extra={"field": "region"})
    return found


def _target_roles(roles) -> list[str]:
    roles = list(dict.fromkeys(roles or []))
    bad = [r for r in roles if r not in TARGET_ROLES]
    if bad:
        raise ValidationFailed(f"接收角色不正确：{'、'.join(map(str, bad))}", code="invalid_roles",
                               extra={"field": "roles"})
    return roles


def _allowed_departments(acting_user) -> set[int]:
    """Departments an author may address: their own (and its stations), and those whose jurisdiction lies
    inside the author's region posts (a town addresses the police station of the town, the city every one)."""
    own = set(get_scope(acting_user).department_ids)
    allowed = own | set(Department.objects.filter(parent_id__in=own).values_list("id", flat=True))
    nodes = list(Assignment.objects.filter(user=acting_user, is_active=True, role__in=REGION_ROLE_LEVELS)
                 .values_list("region_id", flat=True))
    if nodes:
        from django.db.models import Q

        q = Q()
        for code in nodes:
            q |= Q(region__code__startswith=code)
        allowed |= set(Department.jurisdiction.through.objects.filter(q).values_list("department_id", flat=True))
    return allowed


def _target_departments(acting_user, departments) -> list[Department]:
    ids = []
    for value in departments or []:
        try:
            ids.append(int(getattr(value, "pk", value)))
        except (TypeError, ValueError):
            raise ValidationFailed("接收部门不正确", code="invalid_departments",
                                   extra={"field": "departments"}) from None
    ids = list(dict.fromkeys(ids))
    found = list(Department.objects.filter(pk__in=ids, is_active=True))
    allowed = _allowed_departments(acting_user)
    if len(found) != len(ids) or any(d.pk not in allowed for d in found):
        raise ValidationFailed("接收部门不存在或不在您可发送的范围内", code="invalid_departments",
                               extra={"field": "departments"})
    return found


def resolve_recipients(region: Region, roles: list[str], departments: list[Department],
                       exclude_user_id: int | None = None) -> list[tuple[int, str, str, int | None]]:
    """(user id, role, region code, department id) per account the scope reaches, one row per account.

    The rules: region posts (grid worker … city operator) inside the region subtree whose role is among
    `roles` (all when empty). Department posts: of the listed departments and their stations, or, with
    none listed, of every department with a jurisdiction node inside the subtree. Listing departments
    without roles addresses those departments only. An account with several posts is reached once, at
    its most local region post. Machine accounts (`User.is_machine`: the desks of SMS, WeChat,
    Open311 clients and self-service) read nothing and are never recipients.
    """
    region_roles = [r for r in (roles or REGION_ROLE_LEVELS) if r in REGION_ROLE_LEVELS]
    dept_roles = [r for r in (roles or DEPARTMENT_ROLES) if r in DEPARTMENT_ROLES]
    if departments and not roles:
        region_roles = []
    rows: dict[int, tuple[int, str, str, int | None]] = {}
    if dept_roles:
        if departments:
            ids = [d.pk for d in departments]
            dept_ids = set(ids) | set(Department.objects.filter(parent_id__in=ids, is_active=True)
                                      .values_list("id", flat=True))
        else:
            dept_ids = set(Department.jurisdiction.through.objects.filter(
                region__code__startswith=region.code, department__is_active=True)
                .values_list("department_id", flat=True))
        for user_id, role, dept_id in (Assignment.objects.filter(
                is_active=True, user__is_active=True, role__in=dept_roles, department_id__in=dept_ids)
                .exclude(user__is_machine=True)
                .order_by("id").values_list("user_id", "role", "department_id")):
            rows.setdefault(user_id, (user_id, role, "", dept_id))
    if region_roles:
        found = (Assignment.objects.filter(is_active=True, user__is_active=True, role__in=region_roles,
                                           region__code__startswith=region.code)
                 .exclude(user__is_machine=True)
                 .order_by("id").values_list("user_id", "role", "region_id"))
        for user_id, role, code in found:
            current = rows.get(user_id)
            if current is None or len(code) > len(current[2]):
                rows[user_id] = (user_id, role, code, None)
    rows.pop(exclude_user_id, None)
    return list(rows.values())


def notice_preview(*, acting_user, region, roles=(), departments=()) -> dict:
    """How many accounts a scope would reach, per role, before sending (same checks as notice_send)."""
    require(acting_user, "notices.send")
    target = _target_region(acting_user, region)
    rows = resolve_recipients(target, _target_roles(roles), _target_departments(acting_user, departments),
                              exclude_user_id=acting_user.pk)
    by_role: dict[str, int] = {}
    for _u, role, _c, _d in rows:
        by_role[role] = by_role.get(role, 0) + 1
    return {"recipients": len(rows), "by_role": by_role}


def _author_unit(acting_user) -> str:
    a = (Assignment.objects.filter(user=acting_user, is_active=True).select_related("region", "department")
         .order_by("id").first())
    if a is None:
        return ""
    return (a.department.name if a.department_id else a.region.name)[:100]


@transaction.atomic
def notice_send(*, acting_user, title: str, body_html: str = "", region, roles=(), departments=(),
                requires_ack: bool = False, ack_deadline: datetime | None = None, files=None) -> Notice:
    """Sends a notice: validates it, resolves the recipients once into receipts (bulk), stores the checked
    attachments, one audit row.

    Guarantees: the author holds notices.send (else 403); the target region lies inside the author's scope
    and listed departments are ones the author may address (else 400, nothing written); the body is
    sanitised; a notice asking for acknowledgement has a deadline in the future; a scope that reaches
    nobody is refused.
    """
    require(acting_user, "notices.send")
    title = _text(title, field="title", what="标题", limit=MAX_TITLE, required=True)
    if len(body_html or "") > MAX_BODY:
        raise ValidationFailed(f"正文不能超过 {MAX_BODY} 个字符", code="too_long", extra={"field": "body_html"})
    safe, text = clean_html(body_html)
    target = _target_region(acting_user, region)
    roles = _target_roles(roles)
    depts = _target_departments(acting_user, departments)
    now = timezone.now()
    if requires_ack:
        if ack_deadline is None:
            raise ValidationFailed("需要签收的通知请设置签收截止时间", code="deadline_required",
                                   extra={"field": "ack_deadline"})
        if timezone.is_naive(ack_deadline):
            ack_deadline = timezone.make_aware(ack_deadline)
        if ack_deadline <= now:
            raise ValidationFailed("签收截止时间应晚于当前时间", code="deadline_past", extra={"field": "ack_deadline"})
    else:
        ack_deadline = None
    checked = case_files.check_all(files)
    recipients = resolve_recipients(target, roles, depts, exclude_user_id=acting_user.pk)
    if not recipients:
        raise ValidationFailed("该发送范围内没有接收人，请调整范围、角色或部门", code="no_recipients",
                               extra={"field": "region"})
    notice = Notice(title=title, body_html=safe, body_text=text, author=acting_user,
                    author_unit=_author_unit(acting_user), target_region=target, target_roles=roles,
                    requires_ack=bool(requires_ack), ack_deadline=ack_deadline, status=NoticeStatus.SENT,
                    recipient_count=len(recipients), sent_at=now)
    notice.full_clean(exclude=["author", "target_region"])
    notice.save()
    if depts:
        notice.target_departments.set(depts)
    _insert_receipts(notice.pk, recipients)
    for upload, ext in checked:
        _store_attachment(notice, upload, ext)
    audit_record(actor=acting_user, action="notice.send", obj=notice,
                 changes={"title": title, "region": target.code, "roles": roles, "departments": [d.pk for d in depts],
                          "requires_ack": notice.requires_ack, "ack_deadline": ack_deadline,
                          "recipients": len(recipients), "attachments": len(checked)})
    return notice


def _insert_receipts(notice_id: int, recipients) -> None:
    """All receipts of a notice in one statement where the database allows it.

    A city-wide notice writes ~5,300 receipts. Model instances for bulk_create cost several times the
    insert itself; on PostgreSQL one INSERT … SELECT FROM unnest(arrays) is a single round trip (Django's
    client-side-binding cursor runs executemany row by row, ~5x slower); SQLite, in process, takes a
    plain executemany."""
    meta = Receipt._meta
    qn = connection.ops.quote_name
    cols = [meta.get_field(f).column for f in ("notice", "user", "role", "region_code", "department", "ack_comment")]
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(c) for c in cols)}) "
    rows = [(notice_id, u, r, c, d, "") for u, r, c, d in recipients]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(head + "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], "
                                  "%s::bigint[], %s::varchar[])", [list(col) for col in zip(*rows, strict=True)])
        else:
            cursor.executemany(head + f"VALUES ({', '.join(['%s'] * len(cols))})", rows)


def _store_attachment(notice: Notice, upload, ext: str) -> NoticeAttachment:
    content_type, _kind = case_files.TYPES[ext]
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1 << 16), b""):
        digest.update(chunk)
    upload.seek(0)
    row = NoticeAttachment(notice=notice, content_type=content_type, size=upload.size, sha256=digest.hexdigest(),
                           original_name=(getattr(upload, "name", "") or "")[-200:])
    name = f"{uuid.uuid4().hex}.{ext}"
    row.file.save(name, File(upload, name=name), save=False)
    row.save()
    return row


# --- notices: reading, acknowledging, withdrawing ---------------------------------------------------


def _receipt(user, notice_id) -> Receipt:
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    try:
        pk = int(getattr(notice_id, "pk", notice_id))
    except (TypeError, ValueError):
        raise NotFound() from None
    found = Receipt.objects.select_related("notice").filter(notice_id=pk, user=user).first()
    if found is None:
        raise NotFound()
    return found


@transaction.atomic
def notice_read(*, acting_user, notice) -> Receipt | None:
    """Records the first opening of a notice by one of its recipients (later openings change nothing).
    Returns None for a reader who is not a recipient (an author or a supervisor looking at it)."""
    try:
        receipt = _receipt(acting_user, notice)
    except NotFound:
        return None
    if receipt.read_at is None:
        # A conditional UPDATE: two tabs opening at once record one time, the first.
        Receipt.objects.filter(pk=receipt.pk, read_at__isnull=True).update(read_at=timezone.now())
        receipt.refresh_from_db(fields=["read_at"])
    return receipt


@transaction.atomic
def acknowledge(user, notice_id, comment: str = "") -> Receipt:
    """签收: the recipient confirms a notice that asks for it, with an optional comment.

    Guarantees: only the notice's own recipient (404 for anyone else, the notice's existence is not
    disclosed); not on a withdrawn notice or one that asks for no acknowledgement (409); a second
    acknowledgement is refused (409) and changes nothing; acknowledging also records the reading. Late
    acknowledgements (after the deadline) are accepted and show as late in the statistics.
    """
    require(user, "notices.view")
    comment = _text(comment, field="comment", what="签收意见", limit=MAX_COMMENT)
    receipt = _receipt(user, notice_id)
    notice = receipt.notice
    if notice.status == NoticeStatus.WITHDRAWN:
        raise Conflict("notice_withdrawn", "该通知已撤回，无需签收")
    if not notice.requires_ack:
        raise Conflict("ack_not_required", "该通知不需要签收")
    if receipt.acked_at is not None:
        raise Conflict("already_acknowledged", f"您已于 {timezone.localtime(receipt.acked_at):%Y-%m-%d %H:%M} 签收")
    now = timezone.now()
    # Conditional UPDATE: of two acknowledgements racing in (phone outbox and a page), exactly one lands.
    done = Receipt.objects.filter(pk=receipt.pk, acked_at__isnull=True).update(
        read_at=Coalesce("read_at", Value(now)), acked_at=now, ack_comment=comment)
    if not done:
        raise Conflict("already_acknowledged", "您已签收该通知")
    receipt.refresh_from_db(fields=["read_at", "acked_at", "ack_comment"])
    audit_record(actor=user, action="notice.acknowledge", obj=notice,
                 changes={"receipt": receipt.pk, "comment": comment[:100],
                          "late": bool(notice.ack_deadline and now > notice.ack_deadline)})
    return receipt


notice_acknowledge = acknowledge


@transaction.atomic
def notice_withdraw(*, acting_user, notice, reason: str) -> Notice:
    """撤回: the author (or the city centre) takes a sent notice back. Receipts stay as the record of what
    was sent; the notice leaves the inboxes and acknowledgements stop. A withdrawn notice stays withdrawn."""
    from .access import access_notice

    found = access_notice(acting_user, notice)
    found = Notice.objects.select_for_update().get(pk=found.pk)
    if found.author_id != acting_user.pk and not (
            can(acting_user, "notices.send") and Role.CITY_OPERATOR in get_scope(acting_user).roles):
        raise PermissionDenied("只有发布人或市网格化管理中心可以撤回通知")
    reason = _text(reason, field="reason", what="撤回原因", limit=200, required=True)
    if found.status == NoticeStatus.WITHDRAWN:
        raise Conflict("already_withdrawn", "该通知已撤回")
    found.status = NoticeStatus.WITHDRAWN
    found.withdrawn_at = timezone.now()
    found.withdrawn_by = acting_user
    found.withdraw_reason = reason
    found.save(update_fields=["status", "withdrawn_at", "withdrawn_by", "withdraw_reason"])
    audit_record(actor=acting_user, action="notice.withdraw", obj=found,
                 changes={"status": [NoticeStatus.SENT, NoticeStatus.WITHDRAWN], "reason": reason})
    return found


# --- reminders --------------------------------------------------------------------------------------


def reminders_create(*, now: datetime | None = None, within: timedelta = timedelta(hours=24)) -> dict:
    """One reminder per unacknowledged receipt of every live notice whose deadline falls in (now, now+within].

    Idempotent: the unique (receipt, kind) constraint and ignore_conflicts make a rerun, or two runs at
    once, create nothing twice. When gridgov.intake offers an SMS sender, reminders are passed to it
    after commit; without it they are inbox reminders only.
    """
    now = now or timezone.now()
    due = (Receipt.objects.filter(notice__status=NoticeStatus.SENT, notice__requires_ack=True,
                                  notice__ack_deadline__gt=now, notice__ack_deadline__lte=now + within,
                                  acked_at__isnull=True)
           .exclude(reminders__kind="deadline").values_list("id", flat=True))
    ids = list(due)
    with transaction.atomic():
        before = Reminder.objects.filter(receipt_id__in=ids).count()
        Reminder.objects.bulk_create([Reminder(receipt_id=i, kind="deadline", created_at=now) for i in ids],
                                     batch_size=2000, ignore_conflicts=True)
        created = Reminder.objects.filter(receipt_id__in=ids).count() - before
    sms = _sms_sender()
    sent = 0
    if sms is not None and created:
        for receipt in (Receipt.objects.filter(pk__in=ids, reminders__created_at=now)
                        .select_related("notice", "user").iterator(chunk_size=500)):
            try:
                sms(receipt.user, f"【通知签收提醒】《{receipt.notice.title[:30]}》将于"
                                  f"{timezone.localtime(receipt.notice.ack_deadline):%m月%d日%H:%M}截止签收")
                sent += 1
            except Exception:  # noqa: BLE001 - no phone, or an SMS outage: the inbox reminder stands
                continue
    return {"due": len(ids), "created": created, "sms": sent}


def _sms_sender():
    """A user-addressed SMS sender from gridgov.intake, if present (notices never depend on it).

    Prefers `gridgov.intake.sms.send_to_user(user, text)`; otherwise wraps `send_sms(phone, text,
    purpose=...)` for accounts that carry a phone number. Returns None when neither exists."""
    try:
        from gridgov.intake import sms
    except ImportError:
        return None
    to_user = getattr(sms, "send_to_user", None)
    if to_user is not None:
        return to_user
    send = getattr(sms, "send_sms", None)
    if send is None:
        return None

    def by_phone(user, text):
        phone = getattr(user, "phone", "") or getattr(user, "mobile", "")
        if not phone:
            raise LookupError("no phone on the account")
        return send(phone, text, purpose="notice_reminder")

    return by_phone


# --- reports up (下情上报) ----------------------------------------------------------------------------


def _own_grid(acting_user) -> Region:
    codes = list(Assignment.objects.filter(user=acting_user, is_active=True, role=Role.GRID_WORKER)
                 .values_list("region_id", flat=True))
    if not codes:
        raise PermissionDenied("只有网格员可以上报民情日志和情况报告")
    return Region.objects.get(code=sorted(codes)[0])


@transaction.atomic
def report_send(*, acting_user, category: str, text: str, lon=None, lat=None, grid: str | None = None,
                photo=None, client_id=None) -> Report:
    """A grid worker's 民情日志 / 情况报告 to their village and town. Lands in the worker's own grid (or the
    named one among their grids); an optional position must be a pair of finite numbers inside range; an
    optional photo is checked by content (JPEG/PNG/WebP). A retry with the same client_id returns the first
    report (`replayed`)."""
    require(acting_user, "reports.send")
    cid = None
    if client_id not in (None, ""):
        try:
            cid = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
        except ValueError:
            raise ValidationFailed("client_id 应为 UUID", code="invalid_client_id", extra={"field": "client_id"}) \
                from None
        existing = Report.objects.filter(author=acting_user, client_id=cid).first()
        if existing is not None:
            existing.replayed = True
            return existing
    if category not in ReportCategory.values:
        raise ValidationFailed("报告类别不正确", code="invalid_category", extra={"field": "category"})
    text = _text(text, field="text", what="报告内容", limit=MAX_REPORT, required=True)
    if grid:
        if not Assignment.objects.filter(user=acting_user, is_active=True, role=Role.GRID_WORKER,
                                         region_id=str(grid)).exists():
            raise ValidationFailed("只能上报本人负责的网格", code="invalid_grid", extra={"field": "grid"})
        region = Region.objects.get(code=str(grid))
    else:
        region = _own_grid(acting_user)
    x = y = None
    if lon not in (None, "") or lat not in (None, ""):
        try:
            x, y = float(lon), float(lat)
        except (TypeError, ValueError):
            raise ValidationFailed("经纬度应为数字且须同时提供", code="invalid_position", extra={"field": "lon"}) \
                from None
        if not (-180 <= x <= 180 and -90 <= y <= 90):  # also rejects NaN
            raise ValidationFailed("经纬度超出范围", code="invalid_position", extra={"field": "lon"})
    photo_type = ""
    if photo is not None:
        ext = case_files.sniff(photo)
        content_type, kind = case_files.TYPES[ext]
        if kind != "photo":
            raise ValidationFailed("照片只接受 JPEG、PNG、WebP 图片", code="invalid_attachment",
                                   extra={"field": "photo"})
        photo_type = content_type
    report = Report(author=acting_user, region=region, category=category, text=text, lon=x, lat=y,
                    photo_type=photo_type, created_at=timezone.now(), client_id=cid)
    if photo is not None:
        name = f"{uuid.uuid4().hex}.{case_files.sniff(photo)}"
        report.photo.save(name, File(photo, name=name), save=False)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        # The same client_id raced in from a second request: the first one stands.
        existing = Report.objects.get(author=acting_user, client_id=cid)
        existing.replayed = True
        return existing
    audit_record(actor=acting_user, action="report.send", obj=report,
                 changes={"category": category, "grid": region.code, "photo": bool(photo_type)})
    report.replayed = False
    return report


def _desk_report(acting_user, report, permission: str) -> Report:
    require(acting_user, permission)
    try:
        pk = int(getattr(report, "pk", report))
    except (TypeError, ValueError):
        raise NotFound() from None
    # The desk acts only on reports inside its region scope (its own reports as a grid worker do not count).
    from gridgov.accounts.policy import region_scope_q

    found = Report.objects.select_for_update().filter(region_scope_q(acting_user, "region__code"), pk=pk).first()
    if found is None:
        raise NotFound()
    return found


@transaction.atomic
def report_mark_read(*, acting_user, report) -> Report:
    """已阅 at the village or town desk; reading an already read or handled report changes nothing."""
    found = _desk_report(acting_user, report, "reports.view")
    if found.status == ReportStatus.NEW:
        found.status, found.read_at, found.read_by = ReportStatus.READ, timezone.now(), acting_user
        found.save(update_fields=["status", "read_at", "read_by"])
        audit_record(actor=acting_user, action="report.read", obj=found,
                     changes={"status": [ReportStatus.NEW, ReportStatus.READ]})
    return found


@transaction.atomic
def report_handle(*, acting_user, report, note: str) -> Report:
    """已处理 with a note (handled in the village, answered, nothing further needed). Not after a case."""
    found = _desk_report(acting_user, report, "reports.handle")
    note = _text(note, field="note", what="处理意见", limit=500, required=True)
    if found.status in (ReportStatus.HANDLED, ReportStatus.CASE):
        raise Conflict("report_closed", "该报告已处理或已转为案件")
    before = found.status
    now = timezone.now()
    found.status, found.handled_at, found.handled_by, found.handle_note = ReportStatus.HANDLED, now, acting_user, note
    found.read_at, found.read_by = found.read_at or now, found.read_by or acting_user
    found.save(update_fields=["status", "handled_at", "handled_by", "handle_note", "read_at", "read_by"])
    audit_record(actor=acting_user, action="report.handle", obj=found,
                 changes={"status": [before, ReportStatus.HANDLED], "note": note[:100]})
    return found


@transaction.atomic
def report_to_case(*, acting_user, report, category, urgency: str | None = None, description: str = ""):
    """转案件 in one step: a case through gridgov.cases.services.case_report (its own checks: cases.report,
    category, place inside the actor's scope), at the report's position or grid, with its photo, linked
    both ways (case.external_ref `report:<id>`, report.case). A report becomes at most one case (409)."""
    from gridgov.cases.choices import Source
    from gridgov.cases.services import case_report

    found = _desk_report(acting_user, report, "reports.handle")
    if found.status in (ReportStatus.CASE, ReportStatus.HANDLED):
        raise Conflict("report_closed", "该报告已处理或已转为案件")
    files = []
    if found.photo:
        found.photo.open("rb")
        files = [found.photo.file]
        files[0].size = found.photo.size
        files[0].name = found.photo.name
    try:
        case = case_report(acting_user=acting_user, category=category,
                           description=(description or found.text)[:2000],
                           lon=found.lon, lat=found.lat, grid=found.region_id, source=Source.GRID_WORKER,
                           urgency=urgency or None, external_ref=f"report:{found.pk}", files=files)
    finally:
        if found.photo:
            found.photo.close()
    before = found.status
    now = timezone.now()
    found.status, found.case = ReportStatus.CASE, case
    found.handled_at, found.handled_by = now, acting_user
    found.handle_note = f"已转为案件 {case.number}"
    found.read_at, found.read_by = found.read_at or now, found.read_by or acting_user
    found.save(update_fields=["status", "case", "handled_at", "handled_by", "handle_note", "read_at", "read_by"])
    audit_record(actor=acting_user, action="report.to_case", obj=found,
                 changes={"status": [before, ReportStatus.CASE], "case": case.number})
    return case
