from django.db import models
from django.utils.translation import gettext_lazy as _


class CameraKind(models.TextChoices):
    DOME = "dome", _("半球")
    BULLET = "bullet", _("枪机")
    PTZ = "ptz", _("球机(云台)")
    PANORAMIC = "panoramic", _("全景")


class CameraStatus(models.TextChoices):
    ONLINE = "online", _("在线")
    OFFLINE = "offline", _("离线")
    FAULT = "fault", _("故障")


class Funding(models.TextChoices):
    VILLAGE_SUBSIDY = "village_subsidy", _("村级补贴")
    CITY = "city", _("市级财政")
    TOWN = "town", _("镇级财政")
    POLICE = "police", _("公安投入")
    OTHER = "other", _("其他")


class MaintenanceKind(models.TextChoices):
    INSPECTION = "inspection", _("巡检")
    REPAIR = "repair", _("维修")
    REPLACEMENT = "replacement", _("更换")
    RELOCATION = "relocation", _("移位")


class Protocol(models.TextChoices):
    RTMP = "rtmp", "RTMP"
    HLS = "hls", "HLS"


class ViewEnd(models.TextChoices):
    STOPPED = "stopped", _("播放结束")
    IDLE = "idle", _("播放器已关闭")
    TOKEN_EXPIRED = "token_expired", _("令牌过期")
    GRANT_LAPSED = "grant_lapsed", _("授权失效")


class ReviewOutcome(models.TextChoices):
    HELPFUL = "helpful", _("提供了线索或证据")
    NOT_HELPFUL = "not_helpful", _("画面无有效信息")
    NO_FOOTAGE = "no_footage", _("无录像")
