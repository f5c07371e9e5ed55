"""部件 (components): the registry of city furniture — manhole covers, street lamps, bins, signs …

A component's code follows GB/T 30428.2 (部件标识码), 16 digits:

    county division code (6) + major class (2) + subclass (2) + serial (6)
    420881                     01                01              000123

The class part is the four-digit code of the component's CaseCategory (kind "component"); the
serial counts up per county and class. The grid the component stands in is its `region`
(region_code column), found by the locator from its WGS84 position, so scope filters are the
same prefix match as everywhere else.
"""

import re

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

CODE_LENGTH = 16
CODE_PATTERN = re.compile(r"[0-9]{16}")


class ComponentState(models.TextChoices):
    INTACT = "intact", _("完好")
    DAMAGED = "damaged", _("损坏")
    MISSING = "missing", _("丢失")
    OCCUPIED = "occupied", _("占用")
    ABANDONED = "abandoned", _("废弃")


def component_code(county: str, class_code: str, serial: int) -> str:
    return f"{county}{class_code}{serial:06d}"


def split_code(code: str) -> tuple[str, str, int]:
    """(county, four-digit class, serial) of a well-formed code."""
    return code[:6], code[6:10], int(code[10:])


class ComponentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Region roles see the components standing in their area; departments see those they own."""
        from gridgov.cases.components.scope import component_scope_q

        return self.filter(component_scope_q(user))


class Component(models.Model):
    code = models.CharField(_("部件编码"), max_length=CODE_LENGTH, unique=True)
    category = models.ForeignKey(
        "cases.CaseCategory", on_delete=models.PROTECT, related_name="components", verbose_name=_("部件类别"),
    )
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, db_column="region_code", related_name="+",
        verbose_name=_("所在网格"),
    )
    name = models.CharField(_("名称"), max_length=100, blank=True)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    owner_department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="components",
        verbose_name=_("权属部门"),
    )
    state = models.CharField(_("状态"), max_length=16, choices=ComponentState.choices, default=ComponentState.INTACT)
    installed_on = models.DateField(_("设置日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ComponentQuerySet.as_manager()

    class Meta:
        app_label = "cases"
        verbose_name = _("部件")
        verbose_name_plural = _("部件")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lon__gte=-180, lon__lte=180, lat__gte=-90, lat__lte=90),
                name="component_position_range", violation_error_message=_("经纬度超出范围"),
            ),
        ]
        indexes = [
            models.Index(fields=["region", "code"], name="component_region_code_idx"),
            models.Index(fields=["owner_department", "code"], name="component_owner_code_idx"),
            models.Index(fields=["category", "code"], name="component_category_code_idx"),
            models.Index(fields=["lon", "lat"], name="component_lon_lat_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.category_id}({self.code})"

    @property
    def region_code(self) -> str:
        return self.region_id
