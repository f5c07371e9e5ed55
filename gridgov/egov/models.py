"""政务网上办: the service catalogue, applications with their timeline, materials, payments and
notifications, and the results of 政策找人 (eligibility matching).

Every application carries `region_code` (the applicant's grid when it was started) and the code
of the responsible department, so the two ways of seeing it — by region and by department — are
both an indexed filter (egov/access.py). The responsible department is a *code* (accounts.Department
.code), not a foreign key: the catalogue is seeded by a migration, before any department exists.
"""

import os
import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from gridgov.core.fields import EncryptedTextField
from gridgov.people.models import region_fk

from .choices import (
    OPEN_STATES,
    AcceptanceLevel,
    Action,
    BenefitKind,
    Category,
    Channel,
    Decision,
    NotificationChannel,
    NotificationStatus,
    PaymentStatus,
    State,
)


class MaterialStorage(FileSystemStorage):
    """Scans of application materials, outside any directory the web server serves.

    The location is `settings.EGOV_MATERIALS_ROOT` (default var/private/egov-materials), read at
    each use so a test can point it elsewhere. Files are served only through views and endpoints
    that check access to the application (egov/selectors.material_open).
    """

    @property
    def base_location(self):
        return getattr(settings, "EGOV_MATERIALS_ROOT", None) or os.path.join(settings.VAR_DIR, "private",
                                                                              "egov-materials")

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @cached_property
    def base_url(self):
        return None

    def deconstruct(self):
        return ("gridgov.egov.models.MaterialStorage", (), {})


def material_path(instance, filename: str) -> str:
    """<application id>/<uuid>.<ext>: the uploader's file name is kept in the row, not the path."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"{instance.application_id}/{uuid.uuid4().hex}.{ext}"


class ServiceItem(models.Model):
    """One of the 93 items of 政务网上办: a guide for the resident and the rules for its applications."""

    code = models.CharField(_("事项编码"), max_length=16, unique=True)
    name = models.CharField(_("事项名称"), max_length=100)
    category = models.CharField(_("类别"), max_length=32, choices=Category.choices)
    department_code = models.CharField(_("责任部门"), max_length=32, db_index=True)
    acceptance_level = models.CharField(_("受理层级"), max_length=16, choices=AcceptanceLevel.choices,
                                        default=AcceptanceLevel.VILLAGE)
    summary = models.TextField(_("事项说明"), blank=True)
    # [{"code": "id_card", "name": "申请人居民身份证", "required": true}]
    materials = models.JSONField(_("申请材料"), default=list, blank=True)
    steps = models.JSONField(_("办理流程"), default=list, blank=True)
    promised_days = models.PositiveSmallIntegerField(_("承诺时限（工作日）"))
    fee = models.CharField(_("收费标准"), max_length=200, default="不收费")
    legal_basis = models.TextField(_("设定依据"), blank=True)
    pays_money = models.BooleanField(_("涉及资金发放"), default=False)
    benefit_kind = models.CharField(_("发放方式"), max_length=16, choices=BenefitKind.choices,
                                    default=BenefitKind.NONE)
    standard_amount_fen = models.PositiveIntegerField(_("标准金额（分）"), null=True, blank=True)
    schedule_months = models.PositiveSmallIntegerField(_("按月发放期数"), default=12)
    needs_town_review = models.BooleanField(_("需镇级审核"), default=False)
    # [{"key": "reason", "label": "申请原因", "type": "choice", "required": true, "choices": [...]}]
    questions = models.JSONField(_("申请表字段"), default=list, blank=True)
    eligibility_rule = models.JSONField(_("政策找人规则"), null=True, blank=True)
    # The most sensitive care tag the rule reads (1-3): who may see a match is decided by it.
    rule_sensitivity = models.PositiveSmallIntegerField(_("规则敏感级别"), default=1)
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=100)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("服务事项")
        verbose_name_plural = _("服务事项")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(promised_days__gte=1, promised_days__lte=365),
                                   name="egov_item_promised_days_range",
                                   violation_error_message=_("承诺时限应为 1-365 个工作日")),
            models.CheckConstraint(
                condition=(Q(pays_money=False, benefit_kind=BenefitKind.NONE)
                           | (Q(pays_money=True) & ~Q(benefit_kind=BenefitKind.NONE))),
                name="egov_item_benefit_consistent",
                violation_error_message=_("涉及资金发放的事项须选择发放方式，不涉及的不能选择"),
            ),
            models.CheckConstraint(condition=Q(standard_amount_fen__isnull=True) | Q(standard_amount_fen__gt=0),
                                   name="egov_item_amount_positive", violation_error_message=_("标准金额应大于 0")),
            models.CheckConstraint(condition=Q(schedule_months__gte=1, schedule_months__lte=60),
                                   name="egov_item_schedule_range",
                                   violation_error_message=_("按月发放期数应为 1-60")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def required_materials(self) -> list[dict]:
        return [m for m in self.materials if m.get("required")]

    def material_name(self, code: str) -> str:
        return next((m.get("name", code) for m in self.materials if m.get("code") == code), code)


class ApplicationQuerySet(models.QuerySet):
    def visible_to(self, user):
        from .access import application_scope_q

        return self.filter(application_scope_q(user))


class Application(models.Model):
    """An application for one item by one resident, handled on their behalf (全程代理)."""

    number = models.CharField(_("申请编号"), max_length=24, blank=True)
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="applications",
                             verbose_name=_("事项"))
    department_code = models.CharField(_("责任部门"), max_length=32)
    applicant = models.ForeignKey("people.Resident", on_delete=models.PROTECT, related_name="applications",
                                  verbose_name=_("申请人"))
    region = region_fk()
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("代办人"))
    channel = models.CharField(_("受理渠道"), max_length=16, choices=Channel.choices)
    found_by_match = models.BooleanField(_("政策找人发现"), default=False)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.PENDING)
    answers = models.JSONField(_("申请表"), default=dict, blank=True)
    payee_name = models.CharField(_("收款人"), max_length=50, blank=True)
    payee_account = EncryptedTextField(_("收款账号"), purpose="egov.payee_account")
    amount_fen = models.PositiveIntegerField(_("核定金额（分）"), null=True, blank=True)
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("受理人"))
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    accepted_on = models.DateField(_("受理日期"), null=True, blank=True)
    promised_days = models.PositiveSmallIntegerField(_("承诺时限（工作日）"), default=0)
    paused_days = models.PositiveSmallIntegerField(_("补正暂停（工作日）"), default=0)
    due_on = models.DateField(_("办结期限"), null=True, blank=True)
    returned_on = models.DateField(_("退回补正日期"), null=True, blank=True)
    returned_from = models.CharField(_("退回环节"), max_length=16, choices=State.choices, blank=True)
    return_reason = models.CharField(_("补正说明"), max_length=500, blank=True)
    missing_materials = models.JSONField(_("需补正材料"), default=list, blank=True)
    decision = models.CharField(_("审批结果"), max_length=16, choices=Decision.choices, blank=True)
    decision_reason = models.CharField(_("审批意见"), max_length=500, blank=True)
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    completed_on = models.DateField(_("办结日期"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("服务申请")
        verbose_name_plural = _("服务申请")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "applicant"], condition=Q(state__in=OPEN_STATES),
                                    name="egov_application_one_open_per_item",
                                    violation_error_message=_("该居民已有同一事项的申请正在办理")),
            models.UniqueConstraint(fields=["number"], condition=~Q(number=""), name="egov_application_number_unique",
                                    violation_error_message=_("申请编号重复")),
            models.CheckConstraint(condition=Q(amount_fen__isnull=True) | Q(amount_fen__gt=0),
                                   name="egov_application_amount_positive",
                                   violation_error_message=_("核定金额应大于 0")),
            models.CheckConstraint(condition=~Q(state=State.REFUSED) | ~Q(decision_reason=""),
                                   name="egov_application_refusal_has_reason",
                                   violation_error_message=_("不予批准须说明理由")),
            models.CheckConstraint(condition=~Q(state=State.RETURNED) | Q(returned_on__isnull=False),
                                   name="egov_application_returned_has_date",
                                   violation_error_message=_("退回补正须有退回日期")),
        ]
        indexes = [
            models.Index(fields=["region", "state"], name="egov_app_region_state_idx"),
            models.Index(fields=["department_code", "state"], name="egov_app_dept_state_idx"),
            models.Index(fields=["item", "state"], name="egov_app_item_state_idx"),
            models.Index(fields=["applicant", "item"], name="egov_app_applicant_item_idx"),
            models.Index(fields=["accepted_on"], name="egov_app_accepted_idx"),
        ]

    def __str__(self) -> str:
        return self.number or f"申请 {self.pk}"

    @property
    def region_code(self) -> str:
        return self.region_id

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def clock_running(self) -> bool:
        return self.state in (State.TOWN_REVIEW, State.DEPT_VERIFY, State.DEPT_DECIDE)

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.clock_running and self.due_on is not None and self.due_on < today

    @property
    def on_time(self) -> bool | None:
        if self.completed_on is None or self.due_on is None:
            return None
        return self.completed_on <= self.due_on


class AppendOnly(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError(f"{self._meta.label} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError(f"{self._meta.label} rows are append-only")


class ApplicationEvent(AppendOnly):
    """One step of an application's timeline. Never updated or deleted."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events",
                                    verbose_name=_("申请"))
    action = models.CharField(_("环节"), max_length=16, choices=Action.choices)
    from_state = models.CharField(_("原状态"), max_length=16, choices=State.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=16, choices=State.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("办理人"))
    actor_name = models.CharField(_("办理人姓名"), max_length=150, blank=True)
    actor_role = models.CharField(_("办理人岗位"), max_length=32, blank=True)
    note = models.CharField(_("意见"), max_length=500, blank=True)
    data = models.JSONField(_("内容"), default=dict, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    idempotency_key = models.CharField(_("幂等键"), max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["application", "at"], name="egov_event_app_at_idx")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}"


class ApplicationMaterial(models.Model):
    """A scan of one of the item's materials. The type is what the file's first bytes say."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="materials",
                                    verbose_name=_("申请"))
    material_code = models.CharField(_("材料"), max_length=32)
    file = models.FileField(_("文件"), storage=MaterialStorage(), upload_to=material_path, max_length=200)
    original_name = models.CharField(_("原文件名"), max_length=120, blank=True)
    content_type = models.CharField(_("文件类型"), max_length=64)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="egov_material_not_empty",
                                   violation_error_message=_("文件为空")),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.material_code}"


class Payment(models.Model):
    """One disbursement of an approved application: the one-off payment, or one month of a schedule.

    `(application, period)` is unique, so an application is never paid twice for the same period,
    whatever retries, double clicks or concurrent requests do.
    """

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payments",
                                    verbose_name=_("申请"))
    region = region_fk()
    period = models.CharField(_("期次"), max_length=7, help_text=_("once，或按月发放的 YYYY-MM"))
    amount_fen = models.PositiveIntegerField(_("金额（分）"))
    due_on = models.DateField(_("应发日期"))
    status = models.CharField(_("状态"), max_length=16, choices=PaymentStatus.choices,
                              default=PaymentStatus.SCHEDULED)
    paid_on = models.DateField(_("发放日期"), null=True, blank=True)
    reference = models.CharField(_("发放凭证号"), max_length=64, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("经办人"))
    idempotency_key = models.CharField(_("幂等键"), max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("资金发放")
        verbose_name_plural = _("资金发放")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "period"], name="egov_payment_once_per_period",
                                    violation_error_message=_("该申请本期资金已安排，不能重复发放")),
            models.UniqueConstraint(fields=["reference"], condition=~Q(reference=""),
                                    name="egov_payment_reference_unique",
                                    violation_error_message=_("发放凭证号已被使用")),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="egov_payment_amount_positive",
                                   violation_error_message=_("金额应大于 0")),
            models.CheckConstraint(
                condition=(Q(status=PaymentStatus.SCHEDULED, paid_on__isnull=True, reference="")
                           | (Q(status=PaymentStatus.PAID, paid_on__isnull=False) & ~Q(reference=""))),
                name="egov_payment_paid_consistent",
                violation_error_message=_("已发放的须有发放日期和凭证号，待发放的不能有"),
            ),
        ]
        indexes = [models.Index(fields=["region", "status"], name="egov_payment_region_status_idx")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.period}"

    @property
    def region_code(self) -> str:
        return self.region_id


class Notification(models.Model):
    """A message to the applicant (SMS, sent when the intake module provides a gateway) or to the
    agent (in the platform) about one step. Written in the step's transaction: an outbox."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notifications",
                                    verbose_name=_("申请"))
    event = models.ForeignKey(ApplicationEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="egov_notifications", verbose_name=_("接收人"))
    recipient_resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.CASCADE,
                                           related_name="+", verbose_name=_("接收居民"))
    channel = models.CharField(_("渠道"), max_length=8, choices=NotificationChannel.choices)
    status = models.CharField(_("状态"), max_length=16, choices=NotificationStatus.choices)
    text = models.CharField(_("内容"), max_length=300)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("办理通知")
        verbose_name_plural = _("办理通知")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(recipient_user__isnull=False, recipient_resident__isnull=True)
                           | Q(recipient_user__isnull=True, recipient_resident__isnull=False)),
                name="egov_notification_one_recipient", violation_error_message=_("通知须有且只有一个接收人"),
            ),
        ]
        indexes = [models.Index(fields=["recipient_user", "read_at"], name="egov_notice_user_read_idx")]

    def __str__(self) -> str:
        return self.text[:30]


class EligibilityMatch(models.Model):
    """政策找人: a resident whose registry data satisfies an item's rule at the last scan of their grid.

    Only the fact of the match is kept, never the attribute values that made it.
    """

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="matches", verbose_name=_("事项"))
    resident = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("居民"))
    region = region_fk()
    first_found_at = models.DateTimeField(_("首次发现"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("最近匹配"), default=timezone.now)

    class Meta:
        verbose_name = _("政策找人结果")
        verbose_name_plural = _("政策找人结果")
        constraints = [
            models.UniqueConstraint(fields=["item", "resident"], name="egov_match_unique",
                                    violation_error_message=_("重复的匹配结果")),
        ]
        indexes = [models.Index(fields=["region", "item"], name="egov_match_region_item_idx")]

    def __str__(self) -> str:
        return f"{self.item_id} {self.resident_id}"

    @property
    def region_code(self) -> str:
        return self.region_id


class EligibilityScan(models.Model):
    """One run of the eligibility rules over one grid (when, how many people, how many matches)."""

    region = region_fk()
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    residents = models.PositiveIntegerField(_("核对人数"), default=0)
    rules = models.PositiveIntegerField(_("规则数"), default=0)
    matches = models.PositiveIntegerField(_("匹配数"), default=0)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("政策找人批次")
        verbose_name_plural = _("政策找人批次")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["region", "started_at"], name="egov_scan_region_time_idx")]

    def __str__(self) -> str:
        return f"{self.region_id} {self.started_at:%Y-%m-%d %H:%M}"
