from django.db import models
from django.utils.translation import gettext_lazy as _


class LocationCheck(models.TextChoices):
    OK = "ok", _("在网格内")
    OUTSIDE_GRID = "outside_grid", _("不在网格内")
    NO_GPS = "no_gps", _("无定位")


class Crs(models.TextChoices):
    """The coordinate system a phone sent its position in; stored positions are always WGS84."""

    WGS84 = "wgs84", _("WGS84")
    GCJ02 = "gcj02", _("GCJ-02(国测局坐标)")


class NeedKind(models.TextChoices):
    CASE = "case", _("事件上报")
    SERVICE = "service", _("代办服务")
    OTHER = "other", _("其他诉求")


class NeedStatus(models.TextChoices):
    RECORDED = "recorded", _("已记录")
    FORWARDED = "forwarded", _("已转办")


# Photo types accepted on a visit, by the extension the stored file gets after sniffing.
PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
