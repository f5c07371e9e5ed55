"""Retention of personal data (PIPL art. 19, 47): holds that exempt a person from erasure, and the
record that a person's data was erased.

Both tables live beside the registry rather than in it: the people app stays the one owner of the
resident's fields, and these rows are the retention schedule's own evidence.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PersonalDataHold(models.Model):
    """法定保存 / litigation hold: while open, the person's data is kept past the retention period.

    Released holds stay as history (who lifted it, when, why)."""

    resident = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("人员"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, db_column="region_code",
                               related_name="+", verbose_name=_("所属网格"))
    reason = models.CharField(_("冻结原因"), max_length=200)
    held_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("冻结人"))
    held_at = models.DateTimeField(_("冻结时间"))
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("解除人"))
    released_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    release_reason = models.CharField(_("解除原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("法定保存（冻结）")
        verbose_name_plural = _("法定保存（冻结）")
        ordering = ["-held_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["resident"], condition=Q(released_at__isnull=True),
                                    name="privacy_hold_one_open_per_resident",
                                    violation_error_message=_("该人员已处于冻结状态")),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} · {self.reason}"

    @property
    def region_code(self) -> str:
        return self.region_id


class PersonalDataErasure(models.Model):
    """The person's personal fields were erased on this date by the retention schedule.

    Marks the row as done (the schedule never picks it again) and says when, for the person's
    history; the resident row itself stays for the statistics (visits, cases, care-group counts)."""

    resident = models.OneToOneField("people.Resident", on_delete=models.CASCADE, related_name="+",
                                    verbose_name=_("人员"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, db_column="region_code",
                               related_name="+", verbose_name=_("所属网格"))
    state = models.CharField(_("删除时的状态"), max_length=16)
    inactive_since = models.DateTimeField(_("最后变更时间"))
    erased_at = models.DateTimeField(_("删除时间"))
    photos_deleted = models.PositiveIntegerField(_("删除照片数"), default=0)

    class Meta:
        verbose_name = _("个人信息删除记录")
        verbose_name_plural = _("个人信息删除记录")
        ordering = ["-erased_at", "-id"]

    def __str__(self) -> str:
        return f"{self.resident_id} · {self.erased_at:%Y-%m-%d}"
