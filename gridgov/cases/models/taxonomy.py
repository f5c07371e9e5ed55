"""The case taxonomy (案件分类): 部件 and 事件 after GB/T 30428.2 / CJ/T 214, plus social governance.

A category names its responsible department by code (Department rows are data, created after the
migrations run), the urgency levels it admits and its time limits per stage in working hours.
Limits not given on a category come from its parent, then from deadlines.DEFAULT_LIMITS.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..choices import CategoryKind, Urgency


def _all_urgencies():
    return list(Urgency.values)


class CaseCategory(models.Model):
    code = models.CharField(_("分类代码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    kind = models.CharField(_("类别"), max_length=16, choices=CategoryKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("上级分类"))
    level = models.PositiveSmallIntegerField(_("层级"), default=1, help_text=_("1 大类，2 小类"))
    default_department_code = models.CharField(_("默认责任部门"), max_length=32, blank=True,
                                               help_text=_("职能部门代码，如 CGJ（城管局）、GAJ（公安局）"))
    # When the default department has stations (公安局 → 派出所), route to the station covering the case.
    route_to_station = models.BooleanField(_("优先派往辖区派出机构"), default=True)
    # Allowed urgencies, the first being the default for a new report.
    urgency_levels = models.JSONField(_("紧急程度"), default=_all_urgencies)
    # {"handle": 4} or {"handle": {"normal": 40, "urgent": 8, "emergency": 2}, "verify": 8}: working hours.
    time_limits = models.JSONField(_("各阶段时限(工作小时)"), default=dict, blank=True)
    self_resolvable = models.BooleanField(_("可自行处置"), default=False,
                                          help_text=_("网格员可现场处置后直接上报结案待核查的小问题"))
    standard_ref = models.CharField(_("标准依据"), max_length=50, blank=True)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("案件分类")
        verbose_name_plural = _("案件分类")
        ordering = ["kind", "sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=3), name="case_category_level_range",
                                   violation_error_message=_("分类层级应为 1-3")),
        ]
        indexes = [models.Index(fields=["kind", "is_active", "code"], name="case_category_kind_idx")]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"

    @property
    def default_urgency(self) -> str:
        levels = self.urgency_levels or [Urgency.NORMAL]
        return levels[0]
