import pytest

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, Department, User
from gridgov.accounts.policy import can, get_scope, region_scope_q
from gridgov.core.testing import user_with_role
from gridgov.regions.models import Region

pytestmark = pytest.mark.django_db

COUNTY = "420881"
HUJI = "420881103"


def village(name: str) -> Region:
    return Region.objects.get(name=name, level=3)


def test_grid_worker_sees_only_their_grid():
    grid = Region.objects.filter(level=4, code__startswith=village("湖山村").code).order_by("code").first()
    user = user_with_role(Role.GRID_WORKER, grid.code)
    visible = list(Region.objects.visible_to(user).values_list("code", flat=True))
    assert visible == [grid.code]


def test_village_admin_sees_the_village_and_its_grids_only():
    hushan = village("湖山村")
    user = user_with_role(Role.GRID_ADMIN, hushan.code)
    visible = set(Region.objects.visible_to(user).values_list("code", flat=True))
    grids = set(Region.objects.filter(parent=hushan).values_list("code", flat=True))
    assert visible == {hushan.code} | grids


def test_town_operator_sees_their_town_subtree():
    user = user_with_role(Role.TOWN_OPERATOR, HUJI)
    qs = Region.objects.visible_to(user)
    assert qs.count() == Region.objects.filter(code__startswith=HUJI).count()
    assert not qs.exclude(code__startswith=HUJI).exists()


def test_city_operator_and_sysadmin_see_everything():
    total = Region.objects.count()
    assert Region.objects.visible_to(user_with_role(Role.CITY_OPERATOR, COUNTY)).count() == total
    assert Region.objects.visible_to(user_with_role(Role.SYSADMIN)).count() == total


def test_police_station_sees_its_town_only():
    station = Department.objects.filter(parent__isnull=False, jurisdiction__code=HUJI).first()
    assert station is not None, "every town has its police station"
    user = user_with_role(Role.DEPT_STAFF, department_code=station.code)
    assert get_scope(user).region_prefixes == (HUJI,)
    assert not Region.objects.visible_to(user).exclude(code__startswith=HUJI).exists()


def test_auditor_sees_no_region_and_may_read_the_audit_log():
    user = user_with_role(Role.AUDITOR)
    assert not Region.objects.visible_to(user).exists()
    assert can(user, "audit.view")
    assert not can(user, "regions.view")


def test_grid_worker_may_not_read_audit_or_import():
    user = Assignment.objects.filter(role=Role.GRID_WORKER).first().user
    assert not can(user, "audit.view")
    assert not can(user, "regions.import")


def test_user_with_two_assignments_sees_both_without_duplicates():
    user = User.objects.create(username="two-posts")
    a, b = Region.objects.filter(level=3).order_by("code")[:2]
    Assignment.objects.create(user=user, role=Role.GRID_ADMIN, region=a)
    Assignment.objects.create(user=user, role=Role.VILLAGE_CADRE, region=b)
    Assignment.objects.create(user=user, role=Role.VILLAGE_CADRE, region=a)
    scope = get_scope(user)
    assert scope.region_prefixes == tuple(sorted([a.code, b.code]))
    assert Region.objects.filter(region_scope_q(user, "code")).count() == (
        Region.objects.filter(code__startswith=a.code).count() + Region.objects.filter(code__startswith=b.code).count()
    )


def test_inactive_user_and_inactive_assignment_see_nothing():
    user = user_with_role(Role.TOWN_OPERATOR, HUJI)
    Assignment.objects.filter(user=user).update(is_active=False)
    fresh = User.objects.get(pk=user.pk)
    assert not Region.objects.visible_to(fresh).exists()
    user.is_active = False
    assert get_scope(user).region_prefixes == ()


def test_anonymous_sees_nothing():
    from django.contrib.auth.models import AnonymousUser

    assert not Region.objects.visible_to(AnonymousUser()).exists()
