"""Resident self-service (居民自助): one-time SMS codes and resident sessions.

A resident session is not a staff login: it lives in its own cookie and its own table, holds a
resident id, and nothing in the staff permission system (accounts.policy) ever reads it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OtpChallenge(models.Model):
    """A one-time code sent to a phone. Only an HMAC of the code is stored; a challenge dies when it
    is used, expires (5 minutes) or has taken MAX_ATTEMPTS wrong codes."""

    phone_index = models.CharField(max_length=64, db_index=True)
    resident = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("居民"))
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("发送时间"))
    expires_at = models.DateTimeField(_("过期时间"))
    attempts = models.PositiveSmallIntegerField(_("错误次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)
    address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.created_at:%Y-%m-%d %H:%M}"


class ResidentSession(models.Model):
    """A signed-in resident. The cookie holds a random key; only its SHA-256 is stored here."""

    key_hash = models.CharField(max_length=64, unique=True)
    resident = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("居民"))
    created_at = models.DateTimeField(_("登录时间"))
    last_seen_at = models.DateTimeField(_("最近访问"))
    ended_at = models.DateTimeField(_("退出时间"), null=True, blank=True)
    address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("居民会话")
        verbose_name_plural = _("居民会话")

    def __str__(self) -> str:
        return f"{self.resident_id} {self.created_at:%Y-%m-%d %H:%M}"
