"""Cases (事件/案件) and everything that hangs off one: the timeline, dispatches, attachments,
supervision notes, evaluations, extension requests and the suspension register.

`Case.region` is the grid the case happened in (column region_code), so scope filters are the same
prefix match as everywhere else. Stage deadlines are computed in working time (deadlines.py) when a
stage starts; `stage_due_soon_at` and `stage_deadline` let the desk filter due and overdue cases in
SQL, and the sweep (services.sweep_overdue) keeps the `due_soon`/`overdue` flags and escalations.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.core.fields import EncryptedTextField

from ..choices import (
    AttachmentKind,
    CaseState,
    DispatchEnd,
    DispatchRole,
    EscalationLevel,
    EvaluatorKind,
    ExtensionStatus,
    Source,
    Stage,
    Urgency,
)


class CaseQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The cases `user` may see: region roles by grid-code prefix, departments only what is
        dispatched to them inside their jurisdiction, the auditor nothing (access.case_scope_q)."""
        from ..access import case_scope_q

        return self.filter(case_scope_q(user))


class Case(models.Model):
    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    # No single-column indexes on region and category: the composite indexes below lead with them, and
    # a lone region index tempts SQLite's planner into fetching every row of a town.
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, db_column="region_code",
                               related_name="+", verbose_name=_("所属网格"), db_index=False)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    category = models.ForeignKey("cases.CaseCategory", on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("分类"), db_index=False)
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    description = models.TextField(_("问题描述"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="reported_cases", verbose_name=_("上报人"))
    # A resident reporting by hotline, SMS or WeChat: name and phone encrypted, the phone also as a blind index.
    reporter_name = EncryptedTextField(_("来电/反映人"), purpose="case.reporter_name")
    reporter_phone = EncryptedTextField(_("联系电话"), purpose="case.reporter_phone")
    reporter_phone_index = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    external_ref = models.CharField(_("外部编号"), max_length=64, blank=True,
                                    help_text=_("热线工单号、Open311 编号、走访记录等"))
    client_id = models.UUIDField(_("客户端标识"), null=True, blank=True, unique=True,
                                 help_text=_("手机端离线重传时用于去重"))

    state = models.CharField(_("状态"), max_length=24, choices=CaseState.choices, default=CaseState.REPORTED)
    stage = models.CharField(_("当前阶段"), max_length=16, choices=Stage.choices, blank=True)
    stage_started_at = models.DateTimeField(_("阶段开始"), null=True, blank=True)
    stage_limit_minutes = models.PositiveIntegerField(_("阶段时限(工作分钟)"), null=True, blank=True)
    stage_due_soon_at = models.DateTimeField(_("临期时间"), null=True, blank=True)
    stage_deadline = models.DateTimeField(_("阶段截止"), null=True, blank=True)
    due_soon = models.BooleanField(_("临期"), default=False)
    overdue = models.BooleanField(_("超期"), default=False)
    escalated_to_level = models.PositiveSmallIntegerField(_("已升级至"), null=True, blank=True,
                                                          choices=EscalationLevel.choices)
    escalated_at = models.DateTimeField(_("升级时间"), null=True, blank=True)

    component = models.ForeignKey("cases.Component", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="cases", verbose_name=_("关联部件"))  # 部件普查 (components)
    lead_department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name=_("主办部门"))
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="duplicates", verbose_name=_("疑似重复/合并至"))
    self_resolved = models.BooleanField(_("网格员自行处置"), default=False)

    created_at = models.DateTimeField(_("上报时间"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    feedback_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lon__isnull=True, lat__isnull=True)
                | Q(lon__gte=-180, lon__lte=180, lat__gte=-90, lat__lte=90),
                name="case_position_range", violation_error_message=_("经纬度超出范围或不完整"),
            ),
            models.CheckConstraint(condition=~Q(duplicate_of=models.F("id")), name="case_not_duplicate_of_self",
                                   violation_error_message=_("案件不能与自身重复")),
        ]
        indexes = [
            # The desk: a town's (or grid's) cases in a state, newest first.
            # PostgreSQL keeps `id` in the desk indexes (INCLUDE) so the page's ids and the counts are
            # index-only scans; SQLite's indexes carry the rowid anyway (include is ignored there).
            # The desk. A town's (or grid's) cases: the region range, then state and created_at from the
            # index itself (counts per state and the page's ids never touch the rows).
            models.Index(fields=["region", "state", "created_at"], name="case_region_state_created_idx",
                         include=["id"]),
            # One state in a town: equality on state, then the region range; with the category inside,
            # a class filter and the per-state counts are answered from the index too.
            models.Index(fields=["state", "region", "category", "created_at"], name="case_state_region_cat_idx",
                         include=["id"]),
            # The county-wide desk without filters: newest first straight from the index.
            models.Index(fields=["created_at"], name="case_created_idx", include=["id"]),
            # Due-soon and overdue cases of a town.
            models.Index(fields=["region", "stage_deadline", "created_at"], name="case_region_deadline_idx",
                         include=["id"]),
            # Duplicates: same category in the last 24 hours, then a bounding box.
            models.Index(fields=["category", "created_at"], name="case_category_created_idx"),
            # The overdue sweep over the whole table.
            models.Index(fields=["stage_deadline"], name="case_stage_deadline_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def region_code(self) -> str:
        return self.region_id


class CaseCounter(models.Model):
    """One row per day: the last serial handed out, for case numbers YYYYMMDD + 5 digits."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("案件编号计数")
        verbose_name_plural = _("案件编号计数")

    def __str__(self) -> str:
        return f"{self.day:%Y%m%d}:{self.last}"


class CaseEvent(models.Model):
    """The append-only timeline: one row per transition (and per note, attachment or escalation).
    Services only ever insert here; nothing updates or deletes a row."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("案件"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("操作人"))
    actor_name = models.CharField(_("操作人姓名"), max_length=100, blank=True)
    actor_role = models.CharField(_("操作角色"), max_length=32, blank=True)
    action = models.CharField(_("动作"), max_length=32)
    from_state = models.CharField(_("原状态"), max_length=24, blank=True)
    to_state = models.CharField(_("新状态"), max_length=24, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("案件流转记录")
        verbose_name_plural = _("案件流转记录")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_event_case_time_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


class CaseDispatch(models.Model):
    """A department the case is dispatched to, as lead (主办, exactly one while active) or helper (协办).
    A dispatch stays active through handling and closure; return, re-dispatch and void end it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="dispatches", verbose_name=_("案件"))
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="case_dispatches",
                                   verbose_name=_("部门"))
    role = models.CharField(_("角色"), max_length=8, choices=DispatchRole.choices)
    is_active = models.BooleanField(_("有效"), default=True)
    dispatched_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("派遣人"))
    dispatched_at = models.DateTimeField(_("派遣时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    end_reason = models.CharField(_("结束原因"), max_length=16, choices=DispatchEnd.choices, blank=True)

    class Meta:
        verbose_name = _("派遣")
        verbose_name_plural = _("派遣")
        ordering = ["case", "role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(role=DispatchRole.LEAD, is_active=True),
                                    name="case_dispatch_one_active_lead",
                                    violation_error_message=_("一个案件只能有一个主办部门")),
            models.UniqueConstraint(fields=["case", "department"], condition=Q(is_active=True),
                                    name="case_dispatch_department_once",
                                    violation_error_message=_("同一部门不能重复派遣")),
        ]
        indexes = [models.Index(fields=["department", "is_active", "case"], name="case_dispatch_dept_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department_id} ({self.role})"


class CaseAttachment(models.Model):
    """A photo or document, stored under MEDIA_ROOT/cases/ (never served directly) and read only
    through the permission-checked download endpoint. The type is the one sniffed from the content."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("案件"))
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments",
                              verbose_name=_("流转记录"))
    kind = models.CharField(_("类型"), max_length=16, choices=AttachmentKind.choices)
    file = models.FileField(_("文件"), upload_to="cases/%Y/%m/", max_length=200)
    content_type = models.CharField(_("内容类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小(字节)"))
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("上传人"))
    created_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("案件附件")
        verbose_name_plural = _("案件附件")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_attachment_case_idx")]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class Supervision(models.Model):
    """督办: a note from a higher level pressing for progress; it does not change the state."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervisions", verbose_name=_("案件"))
    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("督办人"))
    level = models.PositiveSmallIntegerField(_("督办层级"), choices=EscalationLevel.choices)
    note = models.TextField(_("督办意见"))
    respond_by = models.DateTimeField(_("要求答复时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("督办时间"))

    class Meta:
        verbose_name = _("督办")
        verbose_name_plural = _("督办")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} 督办"


class Evaluation(models.Model):
    """评价 of a closed case: one by the reporter and one by the centre at most."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evaluations", verbose_name=_("案件"))
    evaluator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("评价人"))
    evaluator_kind = models.CharField(_("评价方"), max_length=16, choices=EvaluatorKind.choices)
    score = models.PositiveSmallIntegerField(_("评分"))
    comment = models.TextField(_("评价意见"), blank=True)
    created_at = models.DateTimeField(_("评价时间"))

    class Meta:
        verbose_name = _("评价")
        verbose_name_plural = _("评价")
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="case_evaluation_score_range",
                                   violation_error_message=_("评分应为 1-5")),
            models.UniqueConstraint(fields=["case", "evaluator_kind"], name="case_evaluation_once_per_kind",
                                    violation_error_message=_("该案件已评价")),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.score}"


class ExtensionRequest(models.Model):
    """延期: the lead department asks for more working hours; the dispatcher grants or refuses."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extension_requests",
                             verbose_name=_("案件"))
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("申请部门"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("申请人"))
    hours = models.PositiveIntegerField(_("申请延长(工作小时)"))
    reason = models.TextField(_("申请理由"))
    status = models.CharField(_("状态"), max_length=16, choices=ExtensionStatus.choices,
                              default=ExtensionStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("审批人"))
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)
    old_deadline = models.DateTimeField(_("原截止时间"), null=True, blank=True)
    new_deadline = models.DateTimeField(_("新截止时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("申请时间"))

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(status=ExtensionStatus.PENDING),
                                    name="case_extension_one_pending",
                                    violation_error_message=_("该案件已有待审批的延期申请")),
            models.CheckConstraint(condition=Q(hours__gte=1), name="case_extension_hours_positive",
                                   violation_error_message=_("延期时长至少 1 个工作小时")),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.hours}h"


class Suspension(models.Model):
    """挂账 register: a case that cannot be solved now (funding, planning, litigation) waits here with
    its clock stopped; resuming restarts the stage with the working time that was left."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="suspensions", verbose_name=_("案件"))
    from_state = models.CharField(_("挂账前状态"), max_length=24, choices=CaseState.choices)
    reason = models.TextField(_("挂账原因"))
    expected_resume_on = models.DateField(_("预计恢复日期"), null=True, blank=True)
    remaining_minutes = models.PositiveIntegerField(_("剩余时限(工作分钟)"), null=True, blank=True)
    suspended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("挂账人"))
    suspended_at = models.DateTimeField(_("挂账时间"))
    resumed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("恢复人"))
    resumed_at = models.DateTimeField(_("恢复时间"), null=True, blank=True)
    resume_note = models.TextField(_("恢复说明"), blank=True)

    class Meta:
        verbose_name = _("挂账登记")
        verbose_name_plural = _("挂账登记")
        ordering = ["-suspended_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(resumed_at__isnull=True),
                                    name="case_suspension_one_open",
                                    violation_error_message=_("该案件已挂账")),
        ]
        indexes = [models.Index(fields=["resumed_at", "suspended_at"], name="case_suspension_open_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} 挂账"
