from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class ResidencyStatus(models.TextChoices):
    REGISTERED = "registered", _("户籍")
    PERMANENT = "permanent", _("常住")
    FLOATING = "floating", _("流动")
    AWAY = "away", _("外出务工")


class PoliticalStatus(models.TextChoices):
    MASSES = "masses", _("群众")
    PARTY_MEMBER = "party_member", _("中共党员")
    PROBATIONARY = "probationary", _("中共预备党员")
    LEAGUE_MEMBER = "league_member", _("共青团员")
    OTHER_PARTY = "other_party", _("民主党派")


class RelationToHead(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    GRANDPARENT = "grandparent", _("祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
    OTHER = "other", _("其他")


class ResidentState(models.TextChoices):
    ACTIVE = "active", _("在册")
    MOVED_OUT = "moved_out", _("迁出")
    DECEASED = "deceased", _("死亡")


class HouseUse(models.TextChoices):
    RESIDENTIAL = "residential", _("自住")
    RENTAL = "rental", _("出租")
    BUSINESS = "business", _("经营")
    MIXED = "mixed", _("商住两用")
    VACANT = "vacant", _("空置")
    OTHER = "other", _("其他")


class Occupancy(models.TextChoices):
    OWNER = "owner", _("业主自住")
    TENANT = "tenant", _("租户居住")
    BORROWED = "borrowed", _("借住")
    VACANT = "vacant", _("空置")


class OrganisationKind(models.TextChoices):
    SHOP = "shop", _("商铺")
    FIRM = "firm", _("企业")
    SCHOOL = "school", _("学校")
    CLINIC = "clinic", _("医疗机构")
    GOVERNMENT = "government", _("机关事业单位")
    SOCIAL = "social", _("社会组织")
    RELIGIOUS = "religious", _("宗教场所")
    OTHER = "other", _("其他")


class Sensitivity(models.IntegerChoices):
    """How narrowly a care tag is shown (least sight)."""

    NORMAL = 1, _("一般")
    SENSITIVE = 2, _("敏感")
    RESTRICTED = 3, _("高度敏感")


class TagCategory(models.TextChoices):
    LEFT_BEHIND = "left_behind", _("三留守")
    ELDERLY_FRAIL = "elderly_frail", _("老弱病残")
    ASSISTANCE = "assistance", _("社会救助")
    SPECIAL_POPULATION = "special_population", _("特殊人群")
    OTHER = "other", _("其他")
