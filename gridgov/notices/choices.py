from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeStatus(models.TextChoices):
    SENT = "sent", _("已发送")
    WITHDRAWN = "withdrawn", _("已撤回")


class ReportCategory(models.TextChoices):
    DAILY_LOG = "daily_log", _("民情日志")
    SITUATION = "situation", _("情况报告")
    DISPUTE = "dispute", _("矛盾纠纷")
    HAZARD = "hazard", _("安全隐患")
    OPINION = "opinion", _("群众意见建议")
    OTHER = "other", _("其他")


class ReportStatus(models.TextChoices):
    NEW = "new", _("未读")
    READ = "read", _("已阅")
    HANDLED = "handled", _("已处理")
    CASE = "case", _("已转案件")
