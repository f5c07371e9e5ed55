from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    PUBLIC_SERVICE = "public_service", _("公共服务")
    ADMINISTRATIVE_APPROVAL = "administrative_approval", _("行政审批")
    SOCIAL_SECURITY = "social_security", _("社会保障")


class AcceptanceLevel(models.TextChoices):
    VILLAGE = "village", _("村级受理")
    TOWN = "town", _("镇级受理")


class BenefitKind(models.TextChoices):
    NONE = "none", _("不涉及资金")
    ONE_OFF = "one_off", _("一次性发放")
    MONTHLY = "monthly", _("按月发放")


class QuestionType(models.TextChoices):
    TEXT = "text", _("文本")
    INT = "int", _("整数")
    MONEY = "money", _("金额（元）")
    BOOL = "bool", _("是/否")
    DATE = "date", _("日期")
    CHOICE = "choice", _("单选")


class State(models.TextChoices):
    PENDING = "pending", _("待受理")
    TOWN_REVIEW = "town_review", _("镇审核")
    DEPT_VERIFY = "dept_verify", _("部门核实")
    DEPT_DECIDE = "dept_decide", _("待审批")
    RETURNED = "returned", _("补正中")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("不予批准")
    COMPLETED = "completed", _("已办结")
    WITHDRAWN = "withdrawn", _("已撤回")


# States in which an application is still open: one open application per resident and item.
OPEN_STATES = (State.PENDING, State.TOWN_REVIEW, State.DEPT_VERIFY, State.DEPT_DECIDE, State.RETURNED,
               State.APPROVED)
# States in which the time limit runs (accepted, not returned, not decided).
RUNNING_STATES = (State.TOWN_REVIEW, State.DEPT_VERIFY, State.DEPT_DECIDE)
FINAL_STATES = (State.COMPLETED, State.WITHDRAWN)


class Decision(models.TextChoices):
    APPROVED = "approved", _("批准")
    REFUSED = "refused", _("不予批准")


class Channel(models.TextChoices):
    VILLAGE = "village", _("村级受理")
    GRID_WORKER = "grid_worker", _("网格员代办")


class Action(models.TextChoices):
    CREATE = "create", _("代办申请")
    MATERIAL = "material", _("上传材料")
    ACCEPT = "accept", _("村级受理")
    TOWN_PASS = "town_pass", _("镇审核通过")
    RETURN = "return", _("退回补正")
    RESUBMIT = "resubmit", _("补正提交")
    VERIFY = "verify", _("部门核实")
    APPROVE = "approve", _("批准")
    REFUSE = "refuse", _("不予批准")
    PAY = "pay", _("资金发放")
    COMPLETE = "complete", _("办结")
    WITHDRAW = "withdraw", _("撤回")


class PaymentStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("待发放")
    PAID = "paid", _("已发放")


class NotificationChannel(models.TextChoices):
    SITE = "site", _("站内")
    SMS = "sms", _("短信")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("待发送")  # SMS: waits for the intake module's gateway
    DELIVERED = "delivered", _("已送达")
    READ = "read", _("已读")
