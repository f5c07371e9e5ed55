import hashlib

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.core.fields import EncryptedTextField

from .choices import ADMIN_ROLES, DEPARTMENT_ROLES, GLOBAL_ROLES, REGION_ROLE_LEVELS, DepartmentKind, Role


class User(AbstractUser):
    """Platform user. Roles are not on the user: they come from Assignments."""

    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    is_demo = models.BooleanField(_("演示账号"), default=False)
    # The desk of a machine channel (SMS, WeChat, an Open311 client, self-service): it files cases and
    # claims, never signs in, and is nobody to address (notices skip it).
    is_machine = models.BooleanField(_("系统接入账号"), default=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username


class Department(models.Model):
    """职能部门 or one of its stations (派出所 under 公安局); jurisdiction is a set of region nodes."""

    code = models.CharField(_("部门代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=DepartmentKind.choices, default=DepartmentKind.BUREAU)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="stations", verbose_name=_("上级部门")
    )
    jurisdiction = models.ManyToManyField(
        "regions.Region", blank=True, related_name="departments", verbose_name=_("管辖区域")
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("职能部门")
        verbose_name_plural = _("职能部门")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """A user holds a role at a region node or in a department. A user may hold several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("用户"))
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    region = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="assignments",
        verbose_name=_("区域"),
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments",
        verbose_name=_("部门"),
    )
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色分配")
        verbose_name_plural = _("角色分配")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "region", "department"], name="assignment_unique",
                violation_error_message=_("该用户已有相同的角色分配"),
            ),
        ]
        indexes = [models.Index(fields=["role", "region"], name="assignment_role_region_idx")]

    def __str__(self) -> str:
        where = self.region or self.department or ""
        return f"{self.user} · {self.get_role_display()} · {where}"

    def clean(self):
        role = self.role
        if role in REGION_ROLE_LEVELS:
            if self.region_id is None:
                raise ValidationError({"region": _("该角色必须指定所属区域")})
            if self.region.level != REGION_ROLE_LEVELS[role]:
                raise ValidationError({"region": _("该角色所属区域的层级不正确")})
            if self.department_id is not None:
                raise ValidationError({"department": _("该角色不属于部门")})
        elif role in DEPARTMENT_ROLES:
            if self.department_id is None:
                raise ValidationError({"department": _("部门角色必须指定部门")})
            if self.region_id is not None:
                raise ValidationError({"region": _("部门角色不指定区域，管辖范围由部门决定")})
        elif role in GLOBAL_ROLES:
            if self.region_id is not None or self.department_id is not None:
                raise ValidationError(_("该角色不绑定区域或部门"))
        if role in ADMIN_ROLES and self.user_id is not None:
            others = (Assignment.objects.filter(user_id=self.user_id, is_active=True, role__in=ADMIN_ROLES)
                      .exclude(role=role).exclude(pk=self.pk).values_list("role", flat=True))
            if others:
                raise ValidationError(_("系统管理员、安全管理员、审计员须由不同人员担任（三员分立）"))


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the raw value is shown once at issue."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("用户"))
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("令牌前缀"), max_length=12)
    name = models.CharField(_("名称"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now() and self.user.is_active


class TotpDevice(models.Model):
    """A user's confirmed authenticator (RFC 6238, 30 s steps, 6 digits). The secret is encrypted."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device", verbose_name=_("用户"))
    secret = EncryptedTextField(_("密钥"), purpose="accounts.totp")
    # The last accepted time step: a code is good once, so a code seen over a shoulder cannot be replayed.
    last_step = models.BigIntegerField(default=0)
    confirmed_at = models.DateTimeField(_("启用时间"), default=timezone.now)

    class Meta:
        verbose_name = _("双因素认证设备")
        verbose_name_plural = _("双因素认证设备")

    def __str__(self) -> str:
        return f"TOTP · {self.user}"


class RecoveryCode(models.Model):
    """One-time codes for a lost phone; only their SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes", verbose_name=_("用户"))
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("恢复码")
        verbose_name_plural = _("恢复码")
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique")]

    def __str__(self) -> str:
        return f"recovery code · {self.user}"
