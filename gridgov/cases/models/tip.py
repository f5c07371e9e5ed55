"""助警信息 / 助警奖励: police tips from grid workers and administrators, and informant rewards.

A tip is sent by a grid worker or administrator about something in their area and is routed to
the 派出所 whose jurisdiction covers the tip's town (公安局 when no station does). The station
marks it useful or not and decides a reward; the reward is paid from a reward fund.

Money is integer fen (分). A fund's balance is changed only by the services in
gridgov.cases.tips.services, with the fund row locked and an F() update, and every change is one
row of the append-only FundEntry ledger; a CHECK keeps the balance from going negative, and the
balance can always be recomputed from the ledger (`fund_verify`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.core.fields import EncryptedTextField


class TipState(models.TextChoices):
    SENT = "sent", _("已推送")
    USEFUL = "useful", _("有价值")
    NOT_USEFUL = "not_useful", _("无价值")
    REWARDED = "rewarded", _("奖励已核定")
    PAID = "paid", _("奖励已发放")


class RecipientKind(models.TextChoices):
    SENDER = "sender", _("报送人（网格员/网管员）")
    INFORMANT = "informant", _("信息提供人")
    OTHER = "other", _("其他人员")


class FundEntryKind(models.TextChoices):
    DEPOSIT = "deposit", _("拨入")
    PAYMENT = "payment", _("奖励支出")
    REVERSAL = "reversal", _("冲正退回")


class AppendOnlyError(Exception):
    pass


def yuan(fen: int | None) -> str:
    """12345 → "123.45" (for display; amounts are integer fen everywhere else)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


class TipQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Senders see their own tips, stations what is routed to them (their bureau too), operators
        their region; nobody else anything."""
        from gridgov.cases.tips.scope import tip_scope_q

        return self.filter(tip_scope_q(user))


class Tip(models.Model):
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, db_column="region_code", related_name="+",
        verbose_name=_("所在区域"),
    )
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tips_sent",
                               verbose_name=_("报送人"))
    station = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="tips",
                                verbose_name=_("接收派出所"))
    content = models.TextField(_("信息内容"))
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="tips",
                             verbose_name=_("关联案件"))
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    # The person who gave the information: a registered resident, or a name and phone (encrypted).
    informant_resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+", verbose_name=_("信息提供人(登记人员)"))
    informant_name = EncryptedTextField(_("信息提供人姓名"), purpose="tip.informant_name")
    informant_phone = EncryptedTextField(_("信息提供人电话"), purpose="tip.informant_phone")
    state = models.CharField(_("状态"), max_length=16, choices=TipState.choices, default=TipState.SENT)
    sent_at = models.DateTimeField(_("推送时间"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("研判人"))
    decided_at = models.DateTimeField(_("研判时间"), null=True, blank=True)
    decision_note = models.CharField(_("研判意见"), max_length=500, blank=True)
    reward_fen = models.BigIntegerField(_("奖励金额(分)"), null=True, blank=True)
    recipient_kind = models.CharField(_("受奖人类型"), max_length=16, choices=RecipientKind.choices, blank=True)
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", verbose_name=_("受奖人(用户)"))
    recipient_resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+", verbose_name=_("受奖人(登记人员)"))
    recipient_name = EncryptedTextField(_("受奖人姓名"), purpose="tip.recipient_name")
    recipient_phone = EncryptedTextField(_("受奖人电话"), purpose="tip.recipient_phone")
    # One person, however they were named: "user:12", "resident:34" or "person:<blind index>".
    # "People rewarded" in the totals counts distinct keys.
    recipient_key = models.CharField(max_length=80, blank=True, editable=False)
    reward_decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+", verbose_name=_("奖励核定人"))
    reward_decided_at = models.DateTimeField(_("奖励核定时间"), null=True, blank=True)
    reward_note = models.CharField(_("奖励说明"), max_length=500, blank=True)
    paid_at = models.DateTimeField(_("发放时间"), null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("发放人"))
    client_id = models.UUIDField(_("客户端标识"), null=True, blank=True, unique=True,
                                 help_text=_("手机端离线重传时用于去重"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = TipQuerySet.as_manager()

    class Meta:
        app_label = "cases"
        verbose_name = _("助警信息")
        verbose_name_plural = _("助警信息")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(reward_fen__isnull=True) | Q(reward_fen__gt=0),
                                   name="tip_reward_positive", violation_error_message=_("奖励金额应大于 0")),
            models.CheckConstraint(
                condition=~Q(state__in=["rewarded", "paid"]) | Q(reward_fen__isnull=False, recipient_key__gt=""),
                name="tip_reward_decided", violation_error_message=_("核定奖励须有金额和受奖人"),
            ),
            models.CheckConstraint(condition=~Q(state="paid") | Q(paid_at__isnull=False),
                                   name="tip_paid_has_time", violation_error_message=_("已发放的奖励须有发放时间")),
        ]
        indexes = [
            models.Index(fields=["station", "state", "sent_at"], name="tip_station_state_idx"),
            models.Index(fields=["region", "sent_at"], name="tip_region_sent_idx"),
            models.Index(fields=["sender", "sent_at"], name="tip_sender_sent_idx"),
            models.Index(fields=["paid_at"], name="tip_paid_at_idx"),
        ]

    def __str__(self) -> str:
        return f"助警信息 #{self.pk}"

    @property
    def reward_yuan(self) -> str:
        return yuan(self.reward_fen)

    @property
    def region_code(self) -> str:
        return self.region_id


class TipEvent(models.Model):
    """The timeline of a tip: one row per transition, never changed."""

    tip = models.ForeignKey(Tip, on_delete=models.PROTECT, related_name="events", verbose_name=_("助警信息"))
    from_state = models.CharField(_("原状态"), max_length=16, choices=TipState.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=16, choices=TipState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("操作人"))
    note = models.CharField(_("说明"), max_length=500, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        app_label = "cases"
        verbose_name = _("助警信息流转记录")
        verbose_name_plural = _("助警信息流转记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '—'} → {self.to_state}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("tip events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("tip events are append-only")


class RewardFund(models.Model):
    """助警奖励资金: one per department, or one for the county (department empty)."""

    name = models.CharField(_("名称"), max_length=100)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, db_column="region_code", related_name="+",
        verbose_name=_("所属区划"),
    )
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="reward_funds", verbose_name=_("所属部门"))
    balance_fen = models.BigIntegerField(_("余额(分)"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        app_label = "cases"
        verbose_name = _("助警奖励资金")
        verbose_name_plural = _("助警奖励资金")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_fen__gte=0), name="rewardfund_balance_not_negative",
                                   violation_error_message=_("奖励资金余额不足")),
            models.UniqueConstraint(fields=["department"], condition=Q(department__isnull=False),
                                    name="rewardfund_one_per_department",
                                    violation_error_message=_("该部门已有奖励资金")),
            models.UniqueConstraint(fields=["region"], condition=Q(department__isnull=True),
                                    name="rewardfund_one_per_county",
                                    violation_error_message=_("该县市已有奖励资金")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def region_code(self) -> str:
        return self.region_id

    @property
    def balance_yuan(self) -> str:
        return yuan(self.balance_fen)


class FundEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("the fund ledger is append-only")

    def delete(self):
        raise AppendOnlyError("the fund ledger is append-only")


class FundEntry(models.Model):
    """One change of a fund's balance. Append-only: corrections are new rows (kind reversal)."""

    fund = models.ForeignKey(RewardFund, on_delete=models.PROTECT, related_name="entries", verbose_name=_("资金"))
    delta_fen = models.BigIntegerField(_("变动金额(分)"))
    balance_after_fen = models.BigIntegerField(_("变动后余额(分)"))
    kind = models.CharField(_("类型"), max_length=16, choices=FundEntryKind.choices)
    tip = models.ForeignKey(Tip, null=True, blank=True, on_delete=models.PROTECT, related_name="fund_entries",
                            verbose_name=_("助警信息"))
    reference = models.CharField(_("凭证号"), max_length=100, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("经办人"))
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    idempotency_key = models.CharField(_("幂等键"), max_length=64, unique=True)

    objects = FundEntryQuerySet.as_manager()

    class Meta:
        app_label = "cases"
        verbose_name = _("奖励资金流水")
        verbose_name_plural = _("奖励资金流水")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="deposit", delta_fen__gt=0)
                           | Q(kind="payment", delta_fen__lt=0, tip__isnull=False)
                           | Q(kind="reversal", delta_fen__gt=0, tip__isnull=False)),
                name="fundentry_kind_sign", violation_error_message=_("流水类型与金额方向不一致"),
            ),
            models.CheckConstraint(condition=Q(balance_after_fen__gte=0), name="fundentry_balance_not_negative",
                                   violation_error_message=_("奖励资金余额不足")),
        ]
        indexes = [
            models.Index(fields=["fund", "id"], name="fundentry_fund_id_idx"),
            models.Index(fields=["tip", "kind"], name="fundentry_tip_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.delta_fen}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("the fund ledger is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the fund ledger is append-only")

    @property
    def delta_yuan(self) -> str:
        return yuan(self.delta_fen)

    @property
    def balance_yuan(self) -> str:
        return yuan(self.balance_after_fen)
