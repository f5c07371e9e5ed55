"""Rollup tables: what the dashboards read instead of raw rows (docs/dashboard.md).

`Rollup` holds one number per (region node, day, KPI, dimension) for every level of the tree:
grid rows are computed from the modules' tables, and village, town and county rows are sums of
the level below, so a city page reads a few hundred rows whatever the size of the city.
`Snapshot` holds state figures that have no day (residents and special groups now).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Rollup(models.Model):
    day = models.DateField(_("日期"))
    code = models.CharField(_("区划代码"), max_length=15)
    level = models.PositiveSmallIntegerField(_("层级"))
    kpi = models.CharField(_("指标"), max_length=32)
    dim = models.CharField(_("维度"), max_length=40, blank=True, default="")
    value = models.BigIntegerField(_("数值"), default=0)

    class Meta:
        verbose_name = _("日汇总")
        verbose_name_plural = _("日汇总")
        constraints = [
            models.UniqueConstraint(fields=["code", "day", "kpi", "dim"], name="dashboard_rollup_unique"),
        ]
        indexes = [
            models.Index(fields=["level", "code", "day"], name="dashboard_rollup_level_idx"),
            models.Index(fields=["level", "day", "kpi"], name="dashboard_rollup_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.day} {self.kpi}[{self.dim}]={self.value}"


class Snapshot(models.Model):
    code = models.CharField(_("区划代码"), max_length=15)
    level = models.PositiveSmallIntegerField(_("层级"))
    kpi = models.CharField(_("指标"), max_length=32)
    dim = models.CharField(_("维度"), max_length=40, blank=True, default="")
    value = models.BigIntegerField(_("数值"), default=0)
    as_of = models.DateTimeField(_("统计时间"))

    class Meta:
        verbose_name = _("现状汇总")
        verbose_name_plural = _("现状汇总")
        constraints = [
            models.UniqueConstraint(fields=["code", "kpi", "dim"], name="dashboard_snapshot_unique"),
        ]
        indexes = [models.Index(fields=["level", "code"], name="dashboard_snapshot_level_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.kpi}[{self.dim}]={self.value}"


class PendingRefresh(models.Model):
    """A grid-day (or a grid's current figures, day null) whose rollups a write has made stale.

    Writers only note these after their commit (one small insert); `refresh_rollups` — the worker,
    run every minute — recomputes them, so a case or a payment never waits for the dashboards."""

    grid = models.CharField(_("网格代码"), max_length=15)
    day = models.DateField(_("日期"), null=True, blank=True)
    noted_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("待刷新汇总")
        verbose_name_plural = _("待刷新汇总")
        constraints = [
            models.UniqueConstraint(fields=["grid", "day"], name="dashboard_pending_grid_day"),
            models.UniqueConstraint(fields=["grid"], condition=models.Q(day__isnull=True),
                                    name="dashboard_pending_grid_snapshot"),
        ]

    def __str__(self) -> str:
        return f"{self.grid} {self.day or '现状'}"
