"""Open311 GeoReport v2: the API clients (one key each, scoped to a jurisdiction) and the service
requests they submitted (one row per accepted POST, pointing at the case it became)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiClient(models.Model):
    """An Open311 client. The key is random, shown once, stored as SHA-256; `user` is the client's
    machine account (unusable password) holding a reporting role at the jurisdiction, so the case
    services apply the same scope rules to it as to staff."""

    name = models.CharField(_("客户端名称"), max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(_("密钥前缀"), max_length=12, editable=False)
    jurisdiction = models.ForeignKey("regions.Region", on_delete=models.PROTECT, db_column="region_code",
                                     related_name="+", verbose_name=_("管辖区域"))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="open311_client",
                                verbose_name=_("接口账号"))
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 客户端")
        verbose_name_plural = _("Open311 客户端")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @property
    def region_code(self) -> str:
        return self.jurisdiction_id


class ServiceRequest(models.Model):
    """One accepted POST /requests. `payload_hash` (SHA-256 of the canonical parameters without the
    key) makes a client's retry within the replay window return this row instead of a new case."""

    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="requests", verbose_name=_("客户端"))
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="open311_request",
                                verbose_name=_("案件"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, db_column="region_code", related_name="+",
                               db_index=False, verbose_name=_("所属网格"))
    token = models.CharField(_("令牌"), max_length=36, unique=True)
    payload_hash = models.CharField(max_length=64)
    device_id = models.CharField(_("设备标识"), max_length=64, blank=True)
    account_id = models.CharField(_("客户端账号"), max_length=64, blank=True)
    email = models.CharField(_("邮箱"), max_length=100, blank=True)
    media_url = models.URLField(_("媒体链接"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("提交时间"))

    class Meta:
        verbose_name = _("Open311 服务请求")
        verbose_name_plural = _("Open311 服务请求")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["client", "payload_hash", "created_at"], name="open311_replay_idx"),
            models.Index(fields=["region", "created_at"], name="open311_region_created_idx"),
        ]

    def __str__(self) -> str:
        return self.token
