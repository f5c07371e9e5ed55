"""上情下达 notices with their receipts and reminders; 下情上报 reports from the grids.

A notice's recipients are resolved once, at send time, into Receipt rows (one per account): what a
notice reached is a fact in the database, not a query re-run later against a changed roster. Each
receipt carries the region code of the post it reached (a grid, village, town or the county; empty
for department posts), so read and acknowledgement rates per region are prefix groupings on it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.people.models import region_fk

from .choices import NoticeStatus, ReportCategory, ReportStatus


class Notice(models.Model):
    title = models.CharField(_("标题"), max_length=120)
    body_html = models.TextField(_("正文"), blank=True)  # sanitised by services.clean_html before saving
    body_text = models.TextField(_("正文（纯文本）"), blank=True)  # for search and SMS reminders
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notices_sent",
                               verbose_name=_("发布人"))
    author_unit = models.CharField(_("发布单位"), max_length=100, blank=True)
    target_region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+",
                                      db_column="region_code", verbose_name=_("发送范围"))
    target_roles = models.JSONField(_("接收角色"), default=list, blank=True)  # empty: every role
    target_departments = models.ManyToManyField("accounts.Department", blank=True, related_name="+",
                                                verbose_name=_("接收部门"))
    requires_ack = models.BooleanField(_("需要签收"), default=False)
    ack_deadline = models.DateTimeField(_("签收截止"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.SENT)
    recipient_count = models.PositiveIntegerField(_("接收人数"), default=0)
    sent_at = models.DateTimeField(_("发送时间"), db_index=True)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("撤回人"))
    withdraw_reason = models.CharField(_("撤回原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(requires_ack=False) | models.Q(ack_deadline__isnull=False),
                name="notice_ack_needs_deadline", violation_error_message=_("需要签收的通知必须设置签收截止时间"),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def region_code(self) -> str:
        return self.target_region_id


class NoticeAttachment(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="notices/%Y/%m/", max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(_("文件名"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("通知附件")
        verbose_name_plural = _("通知附件")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class Receipt(models.Model):
    """One recipient of one notice: when they opened it and when they acknowledged it."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_receipts")
    role = models.CharField(_("角色"), max_length=32)
    region_code = models.CharField(_("所在区域"), max_length=15, blank=True)  # empty for department posts
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    acked_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    ack_comment = models.CharField(_("签收意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("通知回执")
        verbose_name_plural = _("通知回执")
        constraints = [
            models.UniqueConstraint(fields=["notice", "user"], name="receipt_one_per_user",
                                    violation_error_message=_("该用户已收到此通知")),
            models.CheckConstraint(condition=models.Q(acked_at__isnull=True) | models.Q(read_at__isnull=False),
                                   name="receipt_ack_after_read",
                                   violation_error_message=_("签收前须先阅读")),
        ]
        indexes = [
            models.Index(fields=["user", "notice"], name="receipt_inbox_idx"),
            models.Index(fields=["notice", "region_code"], name="receipt_stats_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} → {self.user_id}"


class Reminder(models.Model):
    """A reminder before the acknowledgement deadline; one per receipt and kind (the command is idempotent)."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("类型"), max_length=16, default="deadline")
    channel = models.CharField(_("渠道"), max_length=16, default="inbox")
    created_at = models.DateTimeField(_("提醒时间"))

    class Meta:
        verbose_name = _("签收提醒")
        verbose_name_plural = _("签收提醒")
        constraints = [models.UniqueConstraint(fields=["receipt", "kind"], name="reminder_once_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.receipt_id}"


class ReportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The author's own reports, and every report from a grid inside a desk role's region scope."""
        from gridgov.accounts.policy import can, region_scope_q

        if not getattr(user, "is_authenticated", False):
            return self.none()
        own = models.Q(author=user)
        if can(user, "reports.view"):
            return self.filter(own | region_scope_q(user, "region__code"))
        return self.filter(own)


class Report(models.Model):
    """民情日志 / 情况报告: a grid worker's report up to their village and town."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_sent",
                               verbose_name=_("报告人"))
    region = region_fk()
    category = models.CharField(_("类别"), max_length=16, choices=ReportCategory.choices)
    text = models.TextField(_("内容"), max_length=2000)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    photo = models.FileField(_("照片"), upload_to="notices/reports/%Y/%m/", max_length=200, blank=True)
    photo_type = models.CharField(max_length=32, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.NEW)
    created_at = models.DateTimeField(_("报告时间"), db_index=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    read_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    handle_note = models.CharField(_("处理意见"), max_length=500, blank=True)
    case = models.OneToOneField("cases.Case", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="source_report", verbose_name=_("转办案件"))
    client_id = models.UUIDField(null=True, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("情况报告")
        verbose_name_plural = _("情况报告")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["author", "client_id"], name="report_client_once",
                                    condition=models.Q(client_id__isnull=False)),
        ]
        indexes = [models.Index(fields=["region", "created_at"], name="report_desk_idx")]

    def __str__(self) -> str:
        return f"{self.get_category_display()} #{self.pk}"
