"""一标三实: standard addresses, actual houses, actual population, actual organisations, care tags.

Every row carries `region_code` (the grid it belongs to) through the `region` foreign key, whose
column is named region_code: scope filters are a prefix match on it (accounts/policy.py).
ID numbers, phones and health/attribute notes are encrypted at rest (core/fields.py); exact
search goes through the blind-index columns beside them.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.fields import EncryptedTextField

from .choices import (
    Gender,
    HouseUse,
    Occupancy,
    OrganisationKind,
    PoliticalStatus,
    RelationToHead,
    ResidencyStatus,
    ResidentState,
    Sensitivity,
    TagCategory,
)


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, user):
        from gridgov.accounts.policy import region_scope_q

        # `region__code` compares the region_code column itself (no join); a ForeignKey's own
        # attname takes no startswith lookup.
        return self.filter(region_scope_q(user, "region__code"))


def region_fk(related_name: str = "+"):
    return models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, db_column="region_code", related_name=related_name,
        verbose_name=_("所属网格"),
    )


class RegionScoped(models.Model):
    region = region_fk()
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def region_code(self) -> str:
        return self.region_id


class Address(RegionScoped):
    """标准地址: a place people live or work at, down to the room."""

    road = models.CharField(_("街路巷/组"), max_length=100, blank=True)
    house_number = models.CharField(_("门牌号"), max_length=30, blank=True)
    building = models.CharField(_("楼栋"), max_length=30, blank=True)
    unit = models.CharField(_("单元"), max_length=30, blank=True)
    room = models.CharField(_("房间"), max_length=30, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)

    class Meta:
        verbose_name = _("标准地址")
        verbose_name_plural = _("标准地址")
        indexes = [models.Index(fields=["region", "road", "house_number"], name="address_region_road_idx")]

    def __str__(self) -> str:
        return self.short_text

    @property
    def short_text(self) -> str:
        parts = [self.road, self.house_number and f"{self.house_number}号", self.building and f"{self.building}栋",
                 self.unit and f"{self.unit}单元", self.room and f"{self.room}室"]
        return "".join(p for p in parts if p)


class House(RegionScoped):
    """实有房屋."""

    address = models.OneToOneField(Address, on_delete=models.PROTECT, related_name="house", verbose_name=_("地址"))
    use = models.CharField(_("房屋用途"), max_length=16, choices=HouseUse.choices, default=HouseUse.RESIDENTIAL)
    occupancy = models.CharField(_("居住情况"), max_length=16, choices=Occupancy.choices, default=Occupancy.OWNER)
    owner = models.ForeignKey("Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="houses_owned",
                              verbose_name=_("产权人"))
    owner_name = models.CharField(_("产权人姓名"), max_length=50, blank=True)
    floor_area = models.DecimalField(_("建筑面积(㎡)"), max_digits=8, decimal_places=1, null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("实有房屋")
        verbose_name_plural = _("实有房屋")

    def __str__(self) -> str:
        return str(self.address)


class Household(RegionScoped):
    """户: members with their relation to the head; registered vs actual residence."""

    number = models.CharField(_("户号"), max_length=32)
    address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.SET_NULL, related_name="households",
                                verbose_name=_("实际居住地址"))
    registered_address = models.CharField(_("户籍地址"), max_length=200, blank=True)
    head = models.ForeignKey("Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("户主"))

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        constraints = [
            models.UniqueConstraint(fields=["region", "number"], name="household_number_unique",
                                    violation_error_message=_("同一网格内户号不能重复")),
        ]

    def __str__(self) -> str:
        return self.number


class Resident(RegionScoped):
    """实有人口. Gender and birth date come from the ID number when there is one."""

    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    gender = models.CharField(_("性别"), max_length=8, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=20, default="汉族")
    id_number = EncryptedTextField(_("公民身份号码"), purpose="resident.id_number")
    id_number_index = models.CharField(max_length=64, blank=True, editable=False)
    id_tail = models.CharField(_("身份证后四位"), max_length=4, blank=True, db_index=True)
    phone = EncryptedTextField(_("联系电话"), purpose="resident.phone")
    phone_index = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    residency_status = models.CharField(_("人口类型"), max_length=16, choices=ResidencyStatus.choices,
                                        default=ResidencyStatus.REGISTERED)
    political_status = models.CharField(_("政治面貌"), max_length=16, choices=PoliticalStatus.choices,
                                        default=PoliticalStatus.MASSES)
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members",
                                  verbose_name=_("所在户"))
    relation_to_head = models.CharField(_("与户主关系"), max_length=16, choices=RelationToHead.choices, blank=True)
    address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.SET_NULL, related_name="residents",
                                verbose_name=_("居住地址"))
    occupation = models.CharField(_("职业/工作单位"), max_length=100, blank=True)
    health_note = EncryptedTextField(_("健康状况"), purpose="resident.health_note")
    guardian = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="wards",
                                 verbose_name=_("监护人"))
    guardian_note = models.CharField(_("监护人说明"), max_length=100, blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=ResidentState.choices, default=ResidentState.ACTIVE)

    class Meta:
        verbose_name = _("实有人口")
        verbose_name_plural = _("实有人口")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_index"], condition=~models.Q(id_number_index=""), name="resident_id_number_unique",
                violation_error_message=_("该身份证号码已登记"),
            ),
        ]
        indexes = [
            models.Index(fields=["region", "id"], name="resident_region_id_idx"),
            models.Index(fields=["id_number_index"], name="resident_id_index_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Organisation(RegionScoped):
    """实有单位: shops, firms, schools, clinics …"""

    name = models.CharField(_("单位名称"), max_length=100, db_index=True)
    kind = models.CharField(_("单位类型"), max_length=16, choices=OrganisationKind.choices)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    legal_person = models.CharField(_("法定代表人/负责人"), max_length=50, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("联系电话"), purpose="organisation.contact_phone")
    address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.SET_NULL, related_name="organisations",
                                verbose_name=_("地址"))
    employees = models.PositiveIntegerField(_("从业人数"), null=True, blank=True)

    class Meta:
        verbose_name = _("实有单位")
        verbose_name_plural = _("实有单位")

    def __str__(self) -> str:
        return self.name


class CareTagType(models.Model):
    """A special group (configurable): its attributes, how often its people must be visited, and
    how sensitive belonging to it is."""

    code = models.CharField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    category = models.CharField(_("类别"), max_length=24, choices=TagCategory.choices)
    sensitivity = models.PositiveSmallIntegerField(_("敏感级别"), choices=Sensitivity.choices,
                                                   default=Sensitivity.NORMAL)
    visit_every_days = models.PositiveSmallIntegerField(_("走访频次(天)"), default=30)
    attribute_schema = models.JSONField(_("属性定义"), default=list, blank=True,
                                        help_text=_('[{"key": "grade", "label": "等级", "type": "choice"}]'))
    # Attribute-dependent frequencies, first match wins: [{"attr": "risk_level", "gte": 3, "days": 1}]
    frequency_rules = models.JSONField(_("频次规则"), default=list, blank=True)
    checklist = models.JSONField(_("走访检查项"), default=list, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("关爱对象类别")
        verbose_name_plural = _("关爱对象类别")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(visit_every_days__gte=1), name="care_tag_type_frequency_positive",
                                   violation_error_message=_("走访频次至少为 1 天")),
        ]

    def __str__(self) -> str:
        return self.name

    def frequency_for(self, attributes: dict) -> int:
        """Days between required visits for a person with these attribute values."""
        for rule in self.frequency_rules:
            value = attributes.get(rule.get("attr"))
            if value is None:
                continue
            try:
                if "gte" in rule and float(value) >= float(rule["gte"]):
                    return int(rule["days"])
                if "eq" in rule and value == rule["eq"]:
                    return int(rule["days"])
            except (TypeError, ValueError):
                continue
        return self.visit_every_days


class CareTag(models.Model):
    """A resident belongs to a special group. Attributes (grade, risk level, diagnosis …) are
    encrypted; `visit_every_days` is resolved at write time (a high risk level can tighten it)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="care_tags", verbose_name=_("人员"))
    tag_type = models.ForeignKey(CareTagType, on_delete=models.PROTECT, related_name="tags", verbose_name=_("类别"))
    region = region_fk()
    attributes = EncryptedTextField(_("属性"), purpose="care_tag.attributes")
    visit_every_days = models.PositiveSmallIntegerField(_("走访频次(天)"))
    sensitivity = models.PositiveSmallIntegerField(_("敏感级别"), choices=Sensitivity.choices)
    since = models.DateField(_("认定日期"), null=True, blank=True)
    ended_on = models.DateField(_("退出日期"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("关爱对象标签")
        verbose_name_plural = _("关爱对象标签")
        constraints = [
            models.UniqueConstraint(fields=["resident", "tag_type"], condition=models.Q(ended_on__isnull=True),
                                    name="care_tag_one_open_per_type",
                                    violation_error_message=_("该人员已有此类标签")),
        ]
        indexes = [models.Index(fields=["region", "tag_type"], name="care_tag_region_type_idx")]

    def __str__(self) -> str:
        return f"{self.resident} · {self.tag_type}"

    @property
    def region_code(self) -> str:
        return self.region_id


# The Excel importer's job table lives with the importer; importing it here registers it with the app.
from .importing.models import ImportJob, ImportJobSource, ImportJobStatus  # noqa: E402, F401
