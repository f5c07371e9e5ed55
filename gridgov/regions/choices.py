from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionKind(models.TextChoices):
    COUNTY = "county", _("县级市")
    STREET = "street", _("街道")
    TOWN = "town", _("镇")
    TOWNSHIP = "township", _("乡")
    COMMUNITY = "community", _("社区")
    VILLAGE = "village", _("村")
    GRID = "grid", _("网格")


class RegionLevel(models.IntegerChoices):
    COUNTY = 1, _("市")
    TOWN = 2, _("镇街")
    VILLAGE = 3, _("村社区")
    GRID = 4, _("网格")
