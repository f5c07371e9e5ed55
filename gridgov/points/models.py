"""积分制: subjects, the item catalogue, claims and their votes, the append-only ledger with its
balances, the redemption shops, certificates and the per-region scheme settings.

Every scoped row carries `region_code` (the subject's grid or village, a shop's village or town)
through a `region` foreign key, like the people registry: scope filters are a prefix match on it.

Money rules (CONVENTIONS rule 5): points only move by appending a LedgerEntry and changing the
subject's Balance with F() expressions under a row lock, in one transaction; the database keeps
a spendable balance and a stock from going negative. Ledger entries, votes, stock movements and
claim events are never updated or deleted.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.people.models import ScopedQuerySet, region_fk

from .choices import (
    CapPeriod,
    Category,
    CertificatePurpose,
    ClaimAction,
    ClaimChannel,
    ClaimSource,
    ClaimStatus,
    EntryKind,
    OrderStatus,
    StockReason,
    SubjectKind,
    Vote,
)


class AppendOnlyQuerySet(ScopedQuerySet):
    def update(self, **kwargs):
        raise RuntimeError(f"{self.model._meta.label} rows are append-only")

    def delete(self):
        raise RuntimeError(f"{self.model._meta.label} rows are append-only")


class AppendOnly(models.Model):
    """Rows written once. Corrections are new rows (a reversing entry, a new vote is refused)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise RuntimeError(f"{self._meta.label} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError(f"{self._meta.label} rows are append-only")


def user_fk(verbose_name, related_name="+", null=True):
    return models.ForeignKey(settings.AUTH_USER_MODEL, null=null, blank=null, on_delete=models.PROTECT,
                             related_name=related_name, verbose_name=verbose_name)


class PointsScheme(models.Model):
    """The scheme's settings for a town or a village (the nearest row up the tree applies)."""

    region = models.OneToOneField("regions.Region", on_delete=models.PROTECT, db_column="region_code",
                                  related_name="+", verbose_name=_("适用区域"))
    collective_threshold = models.PositiveIntegerField(_("集体审议门槛(分)"))
    committee_quorum = models.PositiveSmallIntegerField(_("集体审议最少同意人数"))
    household_rollup = models.BooleanField(_("个人积分计入家庭"))
    notice_full_names = models.BooleanField(_("公示显示全名"))
    notice_days = models.PositiveSmallIntegerField(_("公示天数"))
    updated_by = user_fk(_("设置人"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("积分制设置")
        verbose_name_plural = _("积分制设置")
        constraints = [
            models.CheckConstraint(condition=models.Q(committee_quorum__gte=1), name="points_scheme_quorum_positive",
                                   violation_error_message=_("集体审议至少需要 1 人同意")),
            models.CheckConstraint(condition=models.Q(notice_days__gte=1), name="points_scheme_notice_days_positive",
                                   violation_error_message=_("公示天数至少为 1 天")),
        ]

    def __str__(self) -> str:
        return f"{self.region_id}: {self.collective_threshold}/{self.committee_quorum}"

    @property
    def region_code(self) -> str:
        return self.region_id


class Item(models.Model):
    """积分项目: one of the 104 items of the catalogue. Points are magnitudes; a deduction subtracts them."""

    code = models.CharField(_("编号"), max_length=8, unique=True)
    category = models.CharField(_("类别"), max_length=24, choices=Category.choices)
    name = models.CharField(_("项目名称"), max_length=60)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    points_min = models.PositiveIntegerField(_("最低分值"))
    points_max = models.PositiveIntegerField(_("最高分值"))
    is_deduction = models.BooleanField(_("扣分项目"), default=False)
    subject_kinds = models.JSONField(_("适用对象"), default=list)
    evidence_required = models.BooleanField(_("须提供证明材料"), default=False)
    evidence_hint = models.CharField(_("证明材料要求"), max_length=200, blank=True)
    cap_period = models.CharField(_("限额周期"), max_length=16, choices=CapPeriod.choices, default=CapPeriod.NONE)
    cap_times = models.PositiveSmallIntegerField(_("周期内最多次数"), null=True, blank=True)
    cap_points = models.PositiveIntegerField(_("周期内最多分值"), null=True, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("积分项目")
        verbose_name_plural = _("积分项目")
        ordering = ["category", "sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(points_min__gte=1, points_max__gte=models.F("points_min")),
                                   name="points_item_range", violation_error_message=_("分值范围不正确")),
            models.CheckConstraint(
                condition=models.Q(cap_period=CapPeriod.NONE) | models.Q(cap_times__isnull=False)
                | models.Q(cap_points__isnull=False),
                name="points_item_cap_has_limit", violation_error_message=_("设置了限额周期就要设置次数或分值上限")),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_fixed(self) -> bool:
        return self.points_min == self.points_max

    @property
    def points_text(self) -> str:
        sign = "-" if self.is_deduction else "+"
        if self.is_fixed:
            return f"{sign}{self.points_min}"
        return f"{sign}{self.points_min}~{self.points_max}"

    @property
    def subject_kind_labels(self) -> str:
        return "、".join(str(SubjectKind(k).label) for k in self.subject_kinds or [] if k in SubjectKind.values)

    @property
    def cap_text(self) -> str:
        if self.cap_period == CapPeriod.NONE:
            return ""
        parts = []
        if self.cap_times:
            parts.append(f"{self.cap_times} 次")
        if self.cap_points:
            parts.append(f"{self.cap_points} 分")
        return f"{self.get_cap_period_display()}最多 " + "、".join(parts)


class Subject(models.Model):
    """积分主体: points accounts of residents, households, organisations, party members and cadres.

    A resident and a party member point at a resident, a household at a household, an organisation
    at an organisation; a cadre at the account of a village cadre (and the resident, when known).
    `name` is kept for the notice board and rankings, which must not join the encrypted registry.
    """

    kind = models.CharField(_("主体类别"), max_length=16, choices=SubjectKind.choices)
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="points_subjects", verbose_name=_("居民"))
    household = models.ForeignKey("people.Household", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="points_subjects", verbose_name=_("家庭"))
    organisation = models.ForeignKey("people.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="points_subjects", verbose_name=_("单位"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="points_subjects", verbose_name=_("干部账号"))
    region = region_fk()
    name = models.CharField(_("名称"), max_length=100)
    created_by = user_fk(_("开户人"))
    created_at = models.DateTimeField(_("开户时间"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("积分主体")
        verbose_name_plural = _("积分主体")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind__in=[SubjectKind.RESIDENT, SubjectKind.PARTY_MEMBER], resident__isnull=False,
                             household__isnull=True, organisation__isnull=True, user__isnull=True)
                    | models.Q(kind=SubjectKind.HOUSEHOLD, household__isnull=False, resident__isnull=True,
                               organisation__isnull=True, user__isnull=True)
                    | models.Q(kind=SubjectKind.ORGANISATION, organisation__isnull=False, resident__isnull=True,
                               household__isnull=True, user__isnull=True)
                    | models.Q(kind=SubjectKind.CADRE, user__isnull=False, household__isnull=True,
                               organisation__isnull=True)
                ),
                name="points_subject_points_at_its_kind", violation_error_message=_("积分主体与其类别不符"),
            ),
            models.UniqueConstraint(fields=["kind", "resident"], condition=models.Q(resident__isnull=False)
                                    & ~models.Q(kind=SubjectKind.CADRE),
                                    name="points_subject_resident_unique",
                                    violation_error_message=_("该居民已有此类积分账户")),
            models.UniqueConstraint(fields=["household"], condition=models.Q(household__isnull=False),
                                    name="points_subject_household_unique",
                                    violation_error_message=_("该家庭已有积分账户")),
            models.UniqueConstraint(fields=["organisation"], condition=models.Q(organisation__isnull=False),
                                    name="points_subject_organisation_unique",
                                    violation_error_message=_("该单位已有积分账户")),
            models.UniqueConstraint(fields=["user"], condition=models.Q(user__isnull=False),
                                    name="points_subject_cadre_unique",
                                    violation_error_message=_("该干部已有积分账户")),
        ]
        indexes = [models.Index(fields=["region", "kind"], name="points_subject_region_kind_idx")]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_kind_display()}）"

    @property
    def region_code(self) -> str:
        return self.region_id


class Balance(models.Model):
    """A subject's balance, changed only together with the ledger entries that explain it.

    earned     the score: awards, deductions, household roll-ups and corrections
    spent      points exchanged in the shop, net of cancelled orders
    spendable  what can still be exchanged; never negative (constraint)
    """

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, primary_key=True, related_name="balance",
                                   verbose_name=_("积分主体"))
    earned = models.IntegerField(_("累计积分"), default=0)
    spent = models.IntegerField(_("已兑换"), default=0)
    spendable = models.IntegerField(_("可兑换积分"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("积分余额")
        verbose_name_plural = _("积分余额")
        constraints = [
            models.CheckConstraint(condition=models.Q(spendable__gte=0), name="points_balance_spendable_nonnegative",
                                   violation_error_message=_("可兑换积分不足")),
            models.CheckConstraint(condition=models.Q(spent__gte=0), name="points_balance_spent_nonnegative",
                                   violation_error_message=_("已兑换积分不能为负")),
        ]

    def __str__(self) -> str:
        return f"{self.subject_id}: {self.earned}/{self.spendable}"


class Claim(models.Model):
    """积分申报: a good deed (or a deduction) reported through some channel and entered by a grid
    worker; verified by a village cadre, or — above the threshold — approved by the committee."""

    region = region_fk()
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="claims", verbose_name=_("积分主体"))
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="claims", verbose_name=_("积分项目"))
    points = models.PositiveIntegerField(_("分值"))
    occurred_on = models.DateField(_("发生日期"))
    description = models.TextField(_("事实经过"), max_length=2000)
    public_reason = models.CharField(_("公示事由"), max_length=200)
    channel = models.CharField(_("反映渠道"), max_length=16, choices=ClaimChannel.choices)
    source = models.CharField(_("申报方式"), max_length=16, choices=ClaimSource.choices)
    reporter_name = models.CharField(_("反映人"), max_length=50, blank=True)
    evidence = models.CharField(_("证明材料"), max_length=500, blank=True)
    evidence_file = models.FileField(_("证明材料附件"), upload_to="points/evidence/%Y/%m/", blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.PENDING)
    needs_collective = models.BooleanField(_("须集体审议"), default=False)
    quorum = models.PositiveSmallIntegerField(_("须同意人数"), default=1)
    entered_by = user_fk(_("录入人"), related_name="points_claims_entered", null=False)
    created_at = models.DateTimeField(_("录入时间"), default=timezone.now)
    decided_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    reject_reason = models.CharField(_("驳回理由"), max_length=300, blank=True)
    idempotency_key = models.CharField(_("幂等键"), max_length=64, null=True, blank=True, unique=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("积分申报")
        verbose_name_plural = _("积分申报")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(points__gte=1), name="points_claim_points_positive",
                                   violation_error_message=_("分值至少为 1")),
            models.CheckConstraint(condition=models.Q(quorum__gte=1), name="points_claim_quorum_positive",
                                   violation_error_message=_("须同意人数至少为 1")),
        ]
        indexes = [
            models.Index(fields=["region", "status", "created_at"], name="points_claim_region_status_idx"),
            models.Index(fields=["subject", "created_at"], name="points_claim_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject.name} {self.item.name}"

    @property
    def region_code(self) -> str:
        return self.region_id

    @property
    def village_code(self) -> str:
        return self.region_id[:12]

    @property
    def signed_points(self) -> int:
        return -self.points if self.item.is_deduction else self.points


class ClaimVote(AppendOnly):
    """One committee member's decision on a claim. One per member: the same member twice counts once."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="votes", verbose_name=_("申报"))
    member = user_fk(_("村委成员"), null=False)
    decision = models.CharField(_("意见"), max_length=8, choices=Vote.choices)
    reason = models.CharField(_("理由"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("审议意见")
        verbose_name_plural = _("审议意见")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "member"], name="points_vote_one_per_member",
                                    violation_error_message=_("每位成员对同一申报只能表决一次")),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.member_id} {self.decision}"


class ClaimEvent(AppendOnly):
    """The claim's timeline: one row per transition (CONVENTIONS rule 4)."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="events", verbose_name=_("申报"))
    action = models.CharField(_("动作"), max_length=16, choices=ClaimAction.choices)
    from_status = models.CharField(_("原状态"), max_length=16, choices=ClaimStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=ClaimStatus.choices)
    actor = user_fk(_("操作人"))
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("申报流转记录")
        verbose_name_plural = _("申报流转记录")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.action}"


class Shop(models.Model):
    """积分超市: a village's or a town's shop. Subjects redeem at their village's and their town's shops."""

    region = region_fk("points_shops")
    name = models.CharField(_("名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    opening_hours = models.CharField(_("开放时间"), max_length=100, blank=True)
    is_active = models.BooleanField(_("营业"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("积分超市")
        verbose_name_plural = _("积分超市")
        ordering = ["region_id", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def region_code(self) -> str:
        return self.region_id


class Goods(models.Model):
    """A good on a shop's shelf: its cost in points and its stock (never negative)."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="goods", verbose_name=_("积分超市"))
    name = models.CharField(_("名称"), max_length=100)
    unit = models.CharField(_("单位"), max_length=10, default="件")
    cost = models.PositiveIntegerField(_("所需积分"))
    stock = models.IntegerField(_("库存"), default=0)
    is_active = models.BooleanField(_("上架"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("兑换物品")
        verbose_name_plural = _("兑换物品")
        ordering = ["shop_id", "sort_order", "cost", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="points_goods_stock_nonnegative",
                                   violation_error_message=_("库存不足")),
            models.CheckConstraint(condition=models.Q(cost__gte=1), name="points_goods_cost_positive",
                                   violation_error_message=_("所需积分至少为 1")),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.cost} 分）"


class Order(models.Model):
    """积分兑换: points exchanged for goods; stock and points move together, and back on cancellation."""

    region = region_fk()
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="orders", verbose_name=_("积分主体"))
    goods = models.ForeignKey(Goods, on_delete=models.PROTECT, related_name="orders", verbose_name=_("物品"))
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="orders", verbose_name=_("积分超市"))
    quantity = models.PositiveSmallIntegerField(_("数量"))
    unit_cost = models.PositiveIntegerField(_("单价(分)"))
    total_cost = models.PositiveIntegerField(_("合计(分)"))
    status = models.CharField(_("状态"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    idempotency_key = models.CharField(_("幂等键"), max_length=64, null=True, blank=True, unique=True)
    placed_by = user_fk(_("经办人"), related_name="points_orders_placed", null=False)
    placed_at = models.DateTimeField(_("兑换时间"), default=timezone.now)
    fulfilled_at = models.DateTimeField(_("领取时间"), null=True, blank=True)
    fulfilled_by = user_fk(_("发放人"))
    cancelled_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    cancelled_by = user_fk(_("撤销人"))
    cancel_reason = models.CharField(_("撤销原因"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("积分兑换")
        verbose_name_plural = _("积分兑换")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="points_order_quantity_positive",
                                   violation_error_message=_("数量至少为 1")),
            models.CheckConstraint(condition=models.Q(total_cost=models.F("unit_cost") * models.F("quantity")),
                                   name="points_order_total", violation_error_message=_("合计积分不正确")),
        ]
        indexes = [models.Index(fields=["region", "placed_at"], name="points_order_region_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.goods.name}×{self.quantity}"

    @property
    def region_code(self) -> str:
        return self.region_id


class StockMovement(AppendOnly):
    """Every change of a good's stock; the stock equals their sum (verify_points_ledger checks it)."""

    goods = models.ForeignKey(Goods, on_delete=models.PROTECT, related_name="movements", verbose_name=_("物品"))
    delta = models.IntegerField(_("数量变化"))
    reason = models.CharField(_("原因"), max_length=16, choices=StockReason.choices)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = user_fk(_("操作人"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("库存变动")
        verbose_name_plural = _("库存变动")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "reason"], condition=models.Q(order__isnull=False),
                                    name="points_stock_once_per_order", violation_error_message=_("重复的库存变动")),
        ]

    def __str__(self) -> str:
        return f"{self.goods_id} {self.delta:+d}"


class LedgerEntry(AppendOnly):
    """积分台账: one line of a subject's passbook. Never edited: a correction is a reversing entry.

    delta        change of the spendable points (what the passbook shows)
    score_delta  change of the earned score (0 for the shop; a roll-up changes only the score)
    A deduction lowers the score by its full amount and the spendable points by as much as there is.
    """

    region = region_fk()
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="entries", verbose_name=_("积分主体"))
    kind = models.CharField(_("类型"), max_length=20, choices=EntryKind.choices)
    delta = models.IntegerField(_("可兑换积分变化"))
    score_delta = models.IntegerField(_("累计积分变化"))
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="entries",
                             verbose_name=_("积分项目"))
    claim = models.ForeignKey(Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="entries",
                              verbose_name=_("申报"))
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="entries",
                              verbose_name=_("兑换"))
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by", verbose_name=_("冲正的记录"))
    reference = models.CharField(_("摘要"), max_length=200, blank=True)
    occurred_on = models.DateField(_("业务日期"))
    actor = user_fk(_("经办人"))
    posted_at = models.DateTimeField(_("入账时间"), default=timezone.now)
    idempotency_key = models.CharField(_("幂等键"), max_length=80, unique=True)

    class Meta:
        verbose_name = _("积分台账")
        verbose_name_plural = _("积分台账")
        ordering = ["-posted_at", "-id"]
        indexes = [
            models.Index(fields=["region", "occurred_on"], name="points_entry_region_day_idx"),
            models.Index(fields=["subject", "posted_at"], name="points_entry_subject_idx"),
            models.Index(fields=["subject", "item", "occurred_on"], name="points_entry_cap_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject_id} {self.kind} {self.delta:+d}/{self.score_delta:+d}"

    @property
    def region_code(self) -> str:
        return self.region_id


class Certificate(models.Model):
    """积分证明: a signed statement of a subject's points on a day, checkable by anyone by its code.

    The code is a random token (the lookup) and an HMAC over the token and what the certificate
    states, keyed with SECRET_KEY: a made-up code finds nothing, an altered one fails the signature,
    and so does a row whose figures were changed after issue.
    """

    region = region_fk()
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="certificates",
                                verbose_name=_("积分主体"))
    token = models.CharField(_("编号"), max_length=16, unique=True)
    subject_name = models.CharField(_("名称"), max_length=100)
    purpose = models.CharField(_("用途"), max_length=16, choices=CertificatePurpose.choices)
    earned = models.IntegerField(_("累计积分"))
    spendable = models.IntegerField(_("可兑换积分"))
    year_earned = models.IntegerField(_("本年度积分"))
    issued_on = models.DateField(_("出具日期"))
    issued_by = user_fk(_("出具人"), null=False)
    issued_at = models.DateTimeField(_("出具时间"), default=timezone.now)
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    revoked_by = user_fk(_("作废人"))
    revoke_reason = models.CharField(_("作废原因"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("积分证明")
        verbose_name_plural = _("积分证明")
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return self.token

    @property
    def region_code(self) -> str:
        return self.region_id
