from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")


class AuditEntry(models.Model):
    """One row per write or security event. Append-only: rows are never updated or deleted here.

    Rows form a hash chain (gridgov/core/security/chain.py): `seq` counts without gaps,
    `prev_hash` is the previous row's `entry_hash`, and `entry_hash` is an HMAC over this row's
    content and `prev_hash`, so an edited, deleted or inserted row breaks the chain.
    """

    # Set before the hash is computed (not auto_now_add, which would overwrite it on insert).
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("操作人"),
    )
    actor_username = models.CharField(_("操作人账号"), max_length=150, blank=True)
    ip = models.CharField(_("来源地址"), max_length=64, blank=True)
    user_agent = models.CharField(_("客户端"), max_length=300, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象标识"), max_length=64, blank=True)
    region_code = models.CharField(_("区划代码"), max_length=15, blank=True, db_index=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    outcome = models.CharField(_("结果"), max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    seq = models.BigIntegerField(_("序号"), null=True, blank=True, unique=True)
    prev_hash = models.CharField(_("前一条摘要"), max_length=64, blank=True)
    entry_hash = models.CharField(_("本条摘要"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["actor", "created_at"], name="audit_actor_time_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit entries are append-only")


class AuditChainHead(models.Model):
    """The single lock row of the audit chain (pk=1).

    Writers lock it with SELECT … FOR UPDATE, so concurrent transactions append one after the
    other and cannot fork the chain. It also remembers the tail (so a deleted last row is
    noticed) and the anchor left by retention (the hash the first kept row links to).
    """

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    anchor_seq = models.BigIntegerField(default=0)
    anchor_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")

    def __str__(self) -> str:
        return f"audit chain head #{self.last_seq}"
