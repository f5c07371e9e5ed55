"""The phone's sync receipts: which client-generated ids the server has already applied.

Every item a phone pushes carries a UUID made on the phone. A receipt is written in the same
transaction as the record the item created, so a retry (lost answer, replayed request, two tabs)
finds the receipt and answers `duplicate` with the same record instead of creating a second one.
Refused items leave no receipt: the worker fixes them and sends them again under the same id.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PushReceipt(models.Model):
    client_id = models.UUIDField(_("客户端标识"), unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="push_receipts",
                             verbose_name=_("网格员"))
    kind = models.CharField(_("类型"), max_length=32)
    region_code = models.CharField(_("区划代码"), max_length=15, db_index=True)
    ref_type = models.CharField(_("对象类型"), max_length=32)
    ref_id = models.BigIntegerField(_("对象编号"))
    ref_label = models.CharField(_("对象编号（显示）"), max_length=64, blank=True)
    recorded_at = models.DateTimeField(_("手机记录时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("接收时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("同步回执")
        verbose_name_plural = _("同步回执")
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "created_at"], name="mobile_receipt_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.client_id}"
