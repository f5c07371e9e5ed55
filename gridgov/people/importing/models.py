"""ImportJob: one run of the resident importer (from the web page or the command), with its progress.

The web page polls this row while a background thread works; the command records its runs
here too, so the import history is in one place. Registered with the people app through an
import at the end of gridgov/people/models.py.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJobStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ImportJobSource(models.TextChoices):
    WEB = "web", _("网页上传")
    COMMAND = "command", _("命令行")


class ImportJob(models.Model):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("导入人"))
    source = models.CharField(_("来源"), max_length=16, choices=ImportJobSource.choices, default=ImportJobSource.WEB)
    file_name = models.CharField(_("文件名"), max_length=255)
    dry_run = models.BooleanField(_("仅校验"), default=False)
    status = models.CharField(_("状态"), max_length=16, choices=ImportJobStatus.choices,
                              default=ImportJobStatus.PENDING)
    total_rows = models.PositiveIntegerField(_("预计行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    created = models.PositiveIntegerField(_("新增"), default=0)
    updated = models.PositiveIntegerField(_("更新"), default=0)
    unchanged = models.PositiveIntegerField(_("未变"), default=0)
    rejected = models.PositiveIntegerField(_("拒绝"), default=0)
    households_created = models.PositiveIntegerField(_("新增户"), default=0)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    # The first rejections (row, sheet, reasons; no personal data) for the result page.
    sample_errors = models.JSONField(_("部分错误"), default=list, blank=True)
    # Paths relative to MEDIA_ROOT; the upload is deleted when the run ends (it holds plain ID numbers).
    upload_name = models.CharField(max_length=255, blank=True, editable=False)
    report_name = models.CharField(max_length=255, blank=True, editable=False)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        app_label = "people"
        verbose_name = _("人口导入任务")
        verbose_name_plural = _("人口导入任务")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="importjob_user_created_idx")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportJobStatus.DONE, ImportJobStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ImportJobStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(self.processed_rows * 100 / self.total_rows))
