"""Visits (走访) and patrols (巡查): what a grid worker did, where and when.

Every row carries `region_code` (the resident's grid for a visit, the patrolled grid for a patrol)
through the `region` foreign key, so scope filters are the same prefix match as everywhere else
(accounts.policy.region_scope_q). Positions are stored in WGS84 whatever the phone sent.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.people.models import region_fk

from .choices import Crs, LocationCheck, NeedKind, NeedStatus


def scope_q(user, path: str = "region") -> Q:
    """Rows whose region (reached through `path`) lies in the user's scope. Filtering on `<fk>__code`
    lets Django compare the region_code column itself, without a join."""
    from gridgov.accounts.policy import region_scope_q

    return region_scope_q(user, f"{path}__code")


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(scope_q(user))


class Visit(models.Model):
    """One home visit to one resident. Never edited after it is recorded: a visit is evidence."""

    region = region_fk()
    resident = models.ForeignKey("people.Resident", on_delete=models.PROTECT, related_name="visits",
                                 verbose_name=_("走访对象"))
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visits",
                               verbose_name=_("网格员"))
    visited_at = models.DateTimeField(_("走访时间"))
    # The local (Asia/Shanghai) calendar day of visited_at: frequencies, coverage and the month view
    # count in days, and an indexed date compares the same way on SQLite and PostgreSQL.
    visit_date = models.DateField(_("走访日期"))
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    accuracy_m = models.FloatField(_("定位精度(米)"), null=True, blank=True)
    crs = models.CharField(_("上报坐标系"), max_length=8, choices=Crs.choices, default=Crs.WGS84)
    location_check = models.CharField(_("位置核验"), max_length=16, choices=LocationCheck.choices)
    distance_to_grid_m = models.FloatField(_("距网格距离(米)"), null=True, blank=True)
    photo = models.FileField(_("现场照片"), upload_to="visits/%Y/%m/", blank=True, max_length=200)
    findings = models.TextField(_("走访情况"), blank=True)
    # [{"item": "服药情况", "checked": true, "tag": "severe_mental_disorder"}]: the tag lets pages hide
    # the items of tags a viewer may not see (least sight).
    checklist = models.JSONField(_("检查项"), default=list, blank=True)
    client_id = models.UUIDField(_("客户端标识"), null=True, blank=True, unique=True,
                                 help_text=_("手机端离线重传时用于去重"))
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-visited_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(lon__isnull=True, lat__isnull=True, location_check=LocationCheck.NO_GPS)
                           | (Q(lon__isnull=False, lat__isnull=False) & ~Q(location_check=LocationCheck.NO_GPS))),
                name="visit_position_consistent", violation_error_message=_("经纬度与位置核验结果不一致"),
            ),
            models.CheckConstraint(
                condition=Q(lon__isnull=True) | Q(lon__gte=-180, lon__lte=180, lat__gte=-90, lat__lte=90),
                name="visit_position_range", violation_error_message=_("经纬度超出范围"),
            ),
            models.CheckConstraint(condition=Q(accuracy_m__isnull=True) | Q(accuracy_m__gte=0),
                                   name="visit_accuracy_positive", violation_error_message=_("定位精度不能为负")),
            models.CheckConstraint(condition=Q(distance_to_grid_m__isnull=True) | Q(distance_to_grid_m__gte=0),
                                   name="visit_distance_positive", violation_error_message=_("距离不能为负")),
        ]
        indexes = [
            models.Index(fields=["region", "visit_date"], name="visit_region_date_idx"),
            models.Index(fields=["resident", "visit_date"], name="visit_resident_date_idx"),
            models.Index(fields=["worker", "visit_date"], name="visit_worker_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} @ {self.visited_at:%Y-%m-%d %H:%M}"

    @property
    def region_code(self) -> str:
        return self.region_id


class Need(models.Model):
    """A need raised on a visit: the seed of a case or a service application.

    Until the cases and egov modules exist the need is only recorded; forwarding it sets
    `forwarded_ref` to the case or application number.
    """

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="needs", verbose_name=_("走访"))
    region = region_fk()
    kind = models.CharField(_("类型"), max_length=16, choices=NeedKind.choices)
    text = models.CharField(_("内容"), max_length=500)
    status = models.CharField(_("状态"), max_length=16, choices=NeedStatus.choices, default=NeedStatus.RECORDED)
    forwarded_ref = models.CharField(_("转办编号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("走访诉求")
        verbose_name_plural = _("走访诉求")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=NeedStatus.RECORDED, forwarded_ref="") | (Q(status=NeedStatus.FORWARDED)
                                                                             & ~Q(forwarded_ref="")),
                name="need_forwarded_has_ref", violation_error_message=_("已转办的诉求必须有转办编号"),
            ),
        ]
        indexes = [models.Index(fields=["region", "status"], name="need_region_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:30]}"

    @property
    def region_code(self) -> str:
        return self.region_id


class Patrol(models.Model):
    """A grid worker's round of the grid (巡查): from start to end, with its GPS track."""

    region = region_fk()
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patrols",
                               verbose_name=_("网格员"))
    started_at = models.DateTimeField(_("开始时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    distance_m = models.FloatField(_("巡查里程(米)"), default=0)
    point_count = models.PositiveIntegerField(_("轨迹点数"), default=0)
    findings = models.TextField(_("巡查发现"), blank=True)
    client_id = models.UUIDField(_("客户端标识"), null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("巡查")
        verbose_name_plural = _("巡查")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                                   name="patrol_end_after_start",
                                   violation_error_message=_("结束时间不能早于开始时间")),
            models.CheckConstraint(condition=Q(distance_m__gte=0), name="patrol_distance_positive",
                                   violation_error_message=_("里程不能为负")),
            models.UniqueConstraint(fields=["worker"], condition=Q(ended_at__isnull=True),
                                    name="patrol_one_open_per_worker",
                                    violation_error_message=_("已有一次未结束的巡查")),
        ]
        indexes = [
            models.Index(fields=["region", "started_at"], name="patrol_region_started_idx"),
            models.Index(fields=["worker", "started_at"], name="patrol_worker_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} @ {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def region_code(self) -> str:
        return self.region_id

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class PatrolTrackBatch(models.Model):
    """One upload of track points, kept as sent: [[unix seconds, lon, lat, accuracy_m|null], …].

    A batch per upload rather than a row per point: a phone sends a point every 10-30 s, so a
    county produces hundreds of thousands of points a day; batches keep the table some fifty
    times smaller, stay append-only (no read-modify-write of a growing track), and a re-sent
    batch is recognised by its `batch_id` (docs/visits.md).
    """

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="batches", verbose_name=_("巡查"))
    batch_id = models.UUIDField(_("批次标识"), null=True, blank=True)
    points = models.JSONField(_("轨迹点"), default=list)
    n = models.PositiveIntegerField(_("点数"))
    first_t = models.DateTimeField(_("首点时间"))
    last_t = models.DateTimeField(_("末点时间"))
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("巡查轨迹批次")
        verbose_name_plural = _("巡查轨迹批次")
        ordering = ["first_t", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patrol", "batch_id"], condition=Q(batch_id__isnull=False),
                                    name="patrol_batch_unique", violation_error_message=_("该批次已上传")),
            models.CheckConstraint(condition=Q(last_t__gte=models.F("first_t")), name="patrol_batch_time_order",
                                   violation_error_message=_("末点时间不能早于首点时间")),
        ]

    def __str__(self) -> str:
        return f"{self.patrol_id}: {self.n} points"
