"""雪亮工程: cameras, who may watch them (grants), every view (the view log) and footage reviews.

A camera's stream source (the RTSP/RTMP address the relay pulls) is encrypted at rest and never
leaves the platform: no schema, page or export has a field for it. Viewers get a short-lived token
instead; the media server asks the platform about the token on every play and during play.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.core.fields import EncryptedTextField

from .choices import CameraKind, CameraStatus, Funding, MaintenanceKind, Protocol, ReviewOutcome, ViewEnd

# The code is the stream name in RTMP and the HLS file name: letters, digits, '_' and '-' only.
CAMERA_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")
camera_code_validator = RegexValidator(CAMERA_CODE_RE, _("摄像机编码只能由字母、数字、“_”和“-”组成，2 到 32 位"))


class CameraQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Cameras in the user's region scope, plus those a grant that holds now lets the user watch."""
        from .access import camera_scope_q

        return self.filter(camera_scope_q(user))


class Camera(models.Model):
    code = models.CharField(_("摄像机编码"), max_length=32, unique=True, validators=[camera_code_validator])
    name = models.CharField(_("名称"), max_length=100)
    grid = models.ForeignKey("regions.Region", on_delete=models.PROTECT, db_column="region_code",
                             related_name="cameras", verbose_name=_("所属网格"))
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    kind = models.CharField(_("类型"), max_length=16, choices=CameraKind.choices, default=CameraKind.BULLET)
    owner = models.CharField(_("产权单位"), max_length=100, blank=True)
    stream_source = EncryptedTextField(_("视频源地址"), purpose="video.camera.stream_source")
    installed_on = models.DateField(_("安装日期"), null=True, blank=True)
    funding = models.CharField(_("资金来源"), max_length=20, choices=Funding.choices, default=Funding.VILLAGE_SUBSIDY)
    funding_yuan = models.PositiveIntegerField(_("投入金额(元)"), default=0)
    status = models.CharField(_("状态"), max_length=8, choices=CameraStatus.choices, default=CameraStatus.OFFLINE)
    last_seen_at = models.DateTimeField(_("最近在线"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = CameraQuerySet.as_manager()

    class Meta:
        verbose_name = _("摄像机")
        verbose_name_plural = _("摄像机")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["grid", "code"], name="camera_region_code_idx"),
            models.Index(fields=["status", "grid"], name="camera_status_region_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(lon__gte=-180, lon__lte=180, lat__gte=-90, lat__lte=90),
                                   name="camera_position_range", violation_error_message=_("经纬度超出范围")),
        ]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"

    @property
    def region_code(self) -> str:
        return self.grid_id


class CameraMaintenance(models.Model):
    """The maintenance log of one camera (append-only)."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="maintenance",
                               verbose_name=_("摄像机"))
    kind = models.CharField(_("类型"), max_length=16, choices=MaintenanceKind.choices)
    performed_on = models.DateField(_("日期"))
    note = models.CharField(_("内容"), max_length=500)
    status_after = models.CharField(_("维护后状态"), max_length=8, choices=CameraStatus.choices, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("记录人"))
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("维护记录")
        verbose_name_plural = _("维护记录")
        ordering = ["-performed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.kind} {self.performed_on}"


class AccessGrant(models.Model):
    """Who may watch which cameras, from when to when, for what. Granted and revoked by the city centre.

    The grantee is a department (all its staff) or a role at a region node (every holder of that
    role at the node or below it). The cameras are a region subtree or an explicit list.
    """

    grantee_department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="video_grants", verbose_name=_("被授权部门"))
    grantee_role = models.CharField(_("被授权角色"), max_length=32, blank=True)
    grantee_region = models.ForeignKey("regions.Region", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", verbose_name=_("被授权角色所在区域"))
    scope_region = models.ForeignKey("regions.Region", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("可查看区域"))
    cameras = models.ManyToManyField(Camera, blank=True, related_name="grants", verbose_name=_("可查看摄像机"))
    valid_from = models.DateTimeField(_("生效时间"))
    valid_until = models.DateTimeField(_("截止时间"))
    purpose = models.CharField(_("授权事由"), max_length=200)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("授权人"))
    granted_at = models.DateTimeField(_("授权时间"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("撤销人"))
    revoke_reason = models.CharField(_("撤销原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("查看授权")
        verbose_name_plural = _("查看授权")
        ordering = ["-granted_at", "-id"]
        indexes = [
            models.Index(fields=["grantee_department", "valid_until"], name="grant_dept_until_idx"),
            models.Index(fields=["grantee_role", "grantee_region"], name="grant_role_region_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gt=models.F("valid_from")), name="grant_period_order",
                                   violation_error_message=_("截止时间必须晚于生效时间")),
            models.CheckConstraint(
                condition=(Q(grantee_department__isnull=False, grantee_role="", grantee_region__isnull=True)
                           | (Q(grantee_department__isnull=True, grantee_region__isnull=False) & ~Q(grantee_role=""))),
                name="grant_one_grantee", violation_error_message=_("被授权对象必须是一个部门，或某区域的一个角色"),
            ),
        ]

    def __str__(self) -> str:
        return f"授权 #{self.pk}"

    @property
    def region_code(self) -> str:
        return self.scope_region_id or ""

    def clean(self):
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": _("截止时间必须晚于生效时间")})

    def grantee_label(self) -> str:
        if self.grantee_department_id:
            return self.grantee_department.name
        from gridgov.accounts.choices import Role

        return f"{self.grantee_region.name} · {Role(self.grantee_role).label}"


class ViewSessionQuerySet(models.QuerySet):
    def visible_to(self, user):
        from .access import view_log_scope_q

        return self.filter(view_log_scope_q(user))


class ViewSession(models.Model):
    """One view: a token issued to a user for a camera, and when the media server started and ended it.

    Only the SHA-256 of the token is stored; the raw token goes once to the viewer's player."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="video_views",
                             verbose_name=_("查看人"))
    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="views", verbose_name=_("摄像机"))
    grant = models.ForeignKey(AccessGrant, on_delete=models.PROTECT, related_name="views", verbose_name=_("依据授权"))
    purpose = models.CharField(_("查看事由"), max_length=200)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("关联案件"))
    token_hash = models.CharField(max_length=64, unique=True)
    token_expires_at = models.DateTimeField(_("令牌过期时间"))
    issued_at = models.DateTimeField(_("申请时间"))
    protocol = models.CharField(_("播放方式"), max_length=8, choices=Protocol.choices, blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    end_reason = models.CharField(_("结束原因"), max_length=16, choices=ViewEnd.choices, blank=True)
    last_checked_at = models.DateTimeField(_("最近校验"), null=True, blank=True)
    client_addr = models.CharField(_("播放端地址"), max_length=64, blank=True)

    objects = ViewSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("视频查看记录")
        verbose_name_plural = _("视频查看记录")
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["camera", "issued_at"], name="view_camera_issued_idx"),
            models.Index(fields=["user", "issued_at"], name="view_user_issued_idx"),
            models.Index(fields=["ended_at", "last_checked_at"], name="view_open_idx"),
        ]

    def __str__(self) -> str:
        return f"查看 #{self.pk}"

    @property
    def region_code(self) -> str:
        return self.camera.grid_id


class FootageReviewQuerySet(models.QuerySet):
    def visible_to(self, user):
        from .access import review_scope_q

        return self.filter(review_scope_q(user))


class FootageReview(models.Model):
    """An operator looked at a camera's footage for a case: the time range and what was found.
    The case timeline gets a `video_review` event for it."""

    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="reviews", verbose_name=_("摄像机"))
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+", verbose_name=_("案件"))
    footage_from = models.DateTimeField(_("录像开始"))
    footage_to = models.DateTimeField(_("录像结束"))
    outcome = models.CharField(_("结果"), max_length=16, choices=ReviewOutcome.choices)
    finding = models.CharField(_("发现情况"), max_length=500)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("查看人"))
    created_at = models.DateTimeField(_("记录时间"))

    objects = FootageReviewQuerySet.as_manager()

    class Meta:
        verbose_name = _("录像查看")
        verbose_name_plural = _("录像查看")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_at", "outcome"], name="review_created_outcome_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(footage_to__gt=models.F("footage_from")), name="review_range_order",
                                   violation_error_message=_("录像结束时间必须晚于开始时间")),
        ]

    def __str__(self) -> str:
        return f"录像查看 #{self.pk}"

    @property
    def region_code(self) -> str:
        return self.camera.grid_id
