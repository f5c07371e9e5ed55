from django.db import models
from django.utils.translation import gettext_lazy as _


class SubjectKind(models.TextChoices):
    """The scheme's five kinds of subject (积分主体)."""

    RESIDENT = "resident", _("居民")
    HOUSEHOLD = "household", _("家庭")
    ORGANISATION = "organisation", _("单位")
    PARTY_MEMBER = "party_member", _("党员")
    CADRE = "cadre", _("干部")


class Category(models.TextChoices):
    SAFETY = "safety", _("平安建设")
    MORALITY = "morality", _("道德建设")
    BEAUTIFUL_VILLAGE = "beautiful_village", _("美丽乡村建设")


class CapPeriod(models.TextChoices):
    NONE = "none", _("不限")
    MONTH = "month", _("每月")
    YEAR = "year", _("每年")
    LIFETIME = "lifetime", _("累计")


class ClaimChannel(models.TextChoices):
    PHONE = "phone", _("电话")
    WECHAT = "wechat", _("微信")
    SMS = "sms", _("短信")
    IN_PERSON = "in_person", _("当面")
    APP = "app", _("手机应用")


class ClaimSource(models.TextChoices):
    SELF = "self", _("村民自报")
    NEIGHBOUR = "neighbour", _("邻里帮报")
    GRID_WORKER = "grid_worker", _("网格员代报")
    CADRE = "cadre", _("干部核报")


class ClaimStatus(models.TextChoices):
    PENDING = "pending", _("待核实")
    COLLECTIVE = "collective", _("待集体审议")
    POSTED = "posted", _("已入账")
    REJECTED = "rejected", _("已驳回")
    REVERSED = "reversed", _("已冲正")


class ClaimAction(models.TextChoices):
    SUBMIT = "submit", _("录入")
    APPROVE = "approve", _("同意")
    REJECT = "reject", _("不同意")
    POST = "post", _("入账")
    REFUSE = "refuse", _("驳回")
    REVERSE = "reverse", _("冲正")


class Vote(models.TextChoices):
    APPROVE = "approve", _("同意")
    REJECT = "reject", _("不同意")


class EntryKind(models.TextChoices):
    AWARD = "award", _("加分")
    DEDUCTION = "deduction", _("扣分")
    ROLLUP = "rollup", _("家庭汇总")
    REDEMPTION = "redemption", _("兑换")
    REDEMPTION_CANCEL = "redemption_cancel", _("兑换撤销")
    CORRECTION = "correction", _("冲正")


# Entries that change what a subject has earned (its score) rather than what it has spent.
SCORE_KINDS = (EntryKind.AWARD, EntryKind.DEDUCTION, EntryKind.ROLLUP, EntryKind.CORRECTION)
SPEND_KINDS = (EntryKind.REDEMPTION, EntryKind.REDEMPTION_CANCEL)


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("待领取")
    FULFILLED = "fulfilled", _("已领取")
    CANCELLED = "cancelled", _("已撤销")


class StockReason(models.TextChoices):
    INITIAL = "initial", _("初始库存")
    RESTOCK = "restock", _("补货")
    ADJUST = "adjust", _("盘点调整")
    ORDER = "order", _("兑换出库")
    CANCEL = "cancel", _("撤销入库")


class CertificatePurpose(models.TextChoices):
    SCHOOL = "school", _("子女入学")
    JOB = "job", _("就业应聘")
    CIVIL_SERVICE = "civil_service", _("报考公务员")
    PROMOTION = "promotion", _("评先评优/晋升")
    OTHER = "other", _("其他")


class RankingPeriod(models.TextChoices):
    MONTH = "month", _("月度")
    YEAR = "year", _("年度")
