from django.db import models
from django.utils.translation import gettext_lazy as _

from . import codes
from .choices import RegionKind, RegionLevel


class RegionQuerySet(models.QuerySet):
    def visible_to(self, user):
        from gridgov.accounts.policy import region_scope_q

        return self.filter(region_scope_q(user, "code"))

    def subtree(self, code: str):
        return self.filter(code__startswith=code)


class Region(models.Model):
    """A node of the one tree county → town/street → village/community → grid.

    The code is the primary key and the materialized path, so every scoped row elsewhere can
    carry it as `region_code` and a subtree is a prefix match on an indexed column.
    """

    code = models.CharField(_("区划代码"), max_length=15, primary_key=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=RegionKind.choices)
    level = models.PositiveSmallIntegerField(_("层级"), choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("上级")
    )
    # Geometry in WGS84 lon/lat, as WKB; shapely reads it vectorised for the locator.
    geom_wkb = models.BinaryField(_("边界"), null=True, blank=True, editable=False)
    centroid_lon = models.FloatField(_("中心经度"), null=True, blank=True)
    centroid_lat = models.FloatField(_("中心纬度"), null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    area_km2 = models.FloatField(_("面积(平方公里)"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True, db_index=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("行政区划与网格")
        verbose_name_plural = _("行政区划与网格")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"], name="region_level_code_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=4), name="region_level_range",
                violation_error_message=_("层级应为 1-4"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"

    @property
    def region_code(self) -> str:
        return self.code

    @property
    def is_urban(self) -> bool:
        return codes.is_urban(self.code)

    @property
    def ancestor_codes(self) -> list[str]:
        return codes.ancestor_codes(self.code)

    @property
    def bbox(self) -> list[float] | None:
        if self.min_lon is None:
            return None
        return [self.min_lon, self.min_lat, self.max_lon, self.max_lat]

    @property
    def geometry(self):
        import shapely

        return shapely.from_wkb(bytes(self.geom_wkb)) if self.geom_wkb else None
