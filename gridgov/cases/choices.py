from django.db import models
from django.utils.translation import gettext_lazy as _


class CategoryKind(models.TextChoices):
    COMPONENT = "component", _("部件")
    EVENT = "event", _("事件")
    SOCIAL = "social", _("社会治理")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    EMERGENCY = "emergency", _("特急")


class Source(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员上报")
    PATROL = "patrol", _("巡查发现")
    VISIT = "visit", _("走访发现")
    HOTLINE = "hotline", _("热线电话")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信公众号")
    OPEN311 = "open311", _("Open311 接口")
    VIDEO = "video", _("视频巡查")
    SELF_SERVICE = "selfservice", _("居民自助")
    SELF_RESOLVED = "self_resolved", _("自行处置")


class CaseState(models.TextChoices):
    REPORTED = "reported", _("待受理")
    REJECTED = "rejected", _("不予受理")
    ACCEPTED = "accepted", _("待立案")
    REGISTERED = "registered", _("待派遣")
    RETURNED = "returned", _("已退回")
    REOPENED = "reopened", _("核查未通过")
    DISPATCHED = "dispatched", _("待处置")
    HANDLING = "handling", _("处置中")
    AWAITING_VERIFICATION = "awaiting_verification", _("待核查")
    SELF_RESOLVED = "self_resolved", _("自行处置待核查")
    VERIFIED = "verified", _("待结案")
    CLOSED = "closed", _("已结案")
    EVALUATED = "evaluated", _("已评价")
    SUSPENDED = "suspended", _("挂账")
    VOIDED = "voided", _("已作废")
    MERGED = "merged", _("已合并")


# States in which no clock runs and nothing more happens except reading (evaluated cases too).
FINAL_STATES = frozenset({CaseState.REJECTED, CaseState.CLOSED, CaseState.EVALUATED, CaseState.VOIDED,
                          CaseState.MERGED})
OPEN_STATES = frozenset(set(CaseState.values) - FINAL_STATES - {CaseState.SUSPENDED})


class Stage(models.TextChoices):
    """The stage whose time limit runs in a state (阶段时限)."""

    ACCEPT = "accept", _("受理")
    REGISTER = "register", _("立案")
    DISPATCH = "dispatch", _("派遣")
    HANDLE = "handle", _("处置")
    VERIFY = "verify", _("核查")
    CLOSE = "close", _("结案")


STAGE_OF_STATE = {
    CaseState.REPORTED: Stage.ACCEPT,
    CaseState.ACCEPTED: Stage.REGISTER,
    CaseState.REGISTERED: Stage.DISPATCH,
    CaseState.RETURNED: Stage.DISPATCH,
    CaseState.REOPENED: Stage.DISPATCH,
    CaseState.DISPATCHED: Stage.HANDLE,
    CaseState.HANDLING: Stage.HANDLE,
    CaseState.AWAITING_VERIFICATION: Stage.VERIFY,
    CaseState.SELF_RESOLVED: Stage.VERIFY,
    CaseState.VERIFIED: Stage.CLOSE,
}


class DispatchRole(models.TextChoices):
    LEAD = "lead", _("主办")
    HELPER = "helper", _("协办")


class DispatchEnd(models.TextChoices):
    RETURNED = "returned", _("被退回")
    REDISPATCHED = "redispatched", _("改派")
    VOIDED = "voided", _("作废")


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    GRANTED = "granted", _("已同意")
    REFUSED = "refused", _("未同意")


class EvaluatorKind(models.TextChoices):
    REPORTER = "reporter", _("上报人")
    CENTRE = "centre", _("指挥中心")


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("照片")
    DOCUMENT = "document", _("文档")


# Escalation ladder (region levels): a case escalates to its town's desk, then to the city's.
class EscalationLevel(models.IntegerChoices):
    CITY = 1, _("市网格化管理中心")
    TOWN = 2, _("镇综治中心")
