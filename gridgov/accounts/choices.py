from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员")
    GRID_ADMIN = "grid_admin", _("网管员")
    VILLAGE_CADRE = "village_cadre", _("村干部")
    TOWN_OPERATOR = "town_operator", _("镇综治中心")
    CITY_OPERATOR = "city_operator", _("市网格化管理中心")
    DEPT_STAFF = "dept_staff", _("部门工作人员")
    DEPT_HEAD = "dept_head", _("部门负责人")
    AUDITOR = "auditor", _("审计员")
    SYSADMIN = "sysadmin", _("系统管理员")
    SECURITY_ADMIN = "secadmin", _("安全管理员")


# Roles held at a region node, and the level of node each must be attached to.
REGION_ROLE_LEVELS = {
    Role.GRID_WORKER: 4,
    Role.GRID_ADMIN: 3,
    Role.VILLAGE_CADRE: 3,
    Role.TOWN_OPERATOR: 2,
    Role.CITY_OPERATOR: 1,
}
DEPARTMENT_ROLES = {Role.DEPT_STAFF, Role.DEPT_HEAD}
GLOBAL_ROLES = {Role.AUDITOR, Role.SYSADMIN, Role.SECURITY_ADMIN}
# 三员分立 (MLPS level 3): system, security and audit administration are held by different people.
# No account holds two of them; only the security administrator grants them, never to itself.
ADMIN_ROLES = {Role.SYSADMIN, Role.SECURITY_ADMIN, Role.AUDITOR}


class DepartmentKind(models.TextChoices):
    BUREAU = "bureau", _("市直部门")
    STATION = "station", _("派出机构")
    CENTRE = "centre", _("管理中心")
