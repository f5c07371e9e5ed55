"""渠道接入 (intake): messages that arrive from outside (SMS, WeChat official account, hotline) and
the SMS the platform sends out, plus the shared rate-limit counters (core/ratelimit.py).

Phones are encrypted at rest with a blind index beside them (core/fields.py); a message from the
same sender with the same protocol id is stored once (the unique constraint is what makes a
sender's retry harmless, even when two retries race).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.fields import EncryptedTextField


class Channel(models.TextChoices):
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信公众号")
    HOTLINE = "hotline", _("热线电话")


class Outcome(models.TextChoices):
    CASE = "case", _("已转案件")
    CLAIM = "claim", _("已转积分申报")
    UNREGISTERED = "unregistered", _("未登记号码")
    REJECTED = "rejected", _("未受理")
    INFO = "info", _("仅答复")


class SmsStatus(models.TextChoices):
    LOGGED = "logged", _("已记录（未外发）")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class RateBucket(models.Model):
    """One counter per key and window (core/ratelimit.py). In the database so that every gunicorn
    process sees the same counts without another server."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)
    expires_at = models.BigIntegerField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="intake_ratebucket_key_window")]

    def __str__(self) -> str:
        return f"{self.key}@{self.window_start}: {self.count}"


class SeenNonce(models.Model):
    """A nonce of a signed webhook call, kept while its timestamp is still inside the window: a
    replayed call within the window finds it and is refused; an older one fails the window."""

    channel = models.CharField(max_length=16, choices=Channel.choices)
    nonce = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "nonce"], name="intake_seennonce_channel_nonce")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.nonce}"


class OutboundSms(models.Model):
    """Every SMS the platform sends (or, with the log backend, would send)."""

    phone = EncryptedTextField(_("手机号"), purpose="intake.sms.phone")
    phone_index = models.CharField(max_length=64, db_index=True, editable=False)
    text = models.TextField(_("内容"))
    purpose = models.CharField(_("用途"), max_length=40)
    backend = models.CharField(_("通道"), max_length=40)
    status = models.CharField(_("状态"), max_length=10, choices=SmsStatus.choices)
    provider_message_id = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("外发短信")

    def __str__(self) -> str:
        return f"{self.purpose} #{self.pk}"


class InboundMessage(models.Model):
    """One message or call received on a channel and what became of it.

    `external_id` is the protocol's own id (the SMS gateway's message id, WeChat's MsgId, the
    hotline's call reference): a retry finds the stored row and gets the same answer again.
    """

    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    external_id = models.CharField(_("消息编号"), max_length=64)
    sender = EncryptedTextField(_("发送方"), purpose="intake.sender")
    sender_index = models.CharField(max_length=64, db_index=True, editable=False)
    sender_name = models.CharField(_("姓名"), max_length=50, blank=True)
    body = models.TextField(_("内容"), blank=True)
    msg_type = models.CharField(_("消息类型"), max_length=16, blank=True)
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices)
    reply = models.TextField(_("答复"), blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    region_code = models.CharField(_("网格"), max_length=15, blank=True, db_index=True)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claim = models.ForeignKey("points.Claim", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("接线员"))
    created_at = models.DateTimeField(_("接收时间"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("接入消息")
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="intake_inbound_channel_external_id"),
        ]
        indexes = [models.Index(fields=["channel", "-id"], name="intake_inbound_channel_id")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"


class WechatSession(models.Model):
    """A WeChat user's pending report: the text, location and image arrive as separate messages, so
    they are gathered per OpenID until the text (or 报 …) completes the report."""

    openid_index = models.CharField(max_length=64, unique=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    label = models.CharField(max_length=200, blank=True)
    image_url = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"wechat session {self.pk}"


class WechatBinding(models.Model):
    """A WeChat OpenID bound to a registered phone: the resident sends 绑定 <手机号>, gets a code by SMS
    on that phone and sends it back; only then do good deeds by WeChat count for their household."""

    openid_index = models.CharField(max_length=64, unique=True)
    phone = EncryptedTextField(purpose="intake.wechat.phone")
    phone_index = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"wechat binding {self.pk}"
