"""Test data for points: a village of our own inside the seeded demo (or, for transactional tests,
inside an empty database), its committee, a grid worker, residents and households.

Our own village keeps every number asserted on it ours, whatever the demo seed put elsewhere.
"""

import itertools
from datetime import date

from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User
from gridgov.core.idcard import make_id_number
from gridgov.people.models import Household, Organisation, Resident
from gridgov.people.validation import identity_fields
from gridgov.points import services
from gridgov.points.choices import SubjectKind
from gridgov.points.models import Goods, Item, Shop
from gridgov.regions.models import Region

LENGSHUI = "420881107"
HUJI = "420881103"
_seq = itertools.count(1)


class Village:
    """A village with `grids` grids, a grid worker in the first, a grid administrator and a committee."""

    def __init__(self, town: str = LENGSHUI, name: str = "积分测试村", cadres: int = 3, grids: int = 2):
        ensure_tree(town)
        self.code = _free_village_code(town)
        self.region = Region.objects.create(code=self.code, name=name, kind="village", level=3, parent_id=town)
        self.grids = [Region.objects.create(code=f"{self.code}{i + 1:03d}", name=f"{name}第{i + 1}网格",
                                            kind="grid", level=4, parent=self.region) for i in range(grids)]
        self.grid = self.grids[0]
        self.worker = make_user(Role.GRID_WORKER, self.grid, "张网格")
        self.admin = make_user(Role.GRID_ADMIN, self.region, "李网管")
        self.cadres = [make_user(Role.VILLAGE_CADRE, self.region, f"村委{i + 1}") for i in range(cadres)]

    def resident(self, name: str = "", **kwargs) -> Resident:
        return make_resident(self.grid, name=name, **kwargs)

    def subject(self, name: str = "", kind: str = SubjectKind.RESIDENT, **kwargs):
        person = self.resident(name, **kwargs)
        return services.subject_open(acting_user=self.worker, kind=kind, resident=person.pk)


def ensure_tree(town: str) -> None:
    """The county and the town, when a transactional test starts from an empty database."""
    Region.objects.get_or_create(code=town[:6], defaults={"name": "钟祥市", "kind": "county", "level": 1})
    Region.objects.get_or_create(code=town, defaults={"name": "测试镇", "kind": "town", "level": 2,
                                                      "parent_id": town[:6]})


def _free_village_code(town: str) -> str:
    used = set(Region.objects.filter(parent_id=town).values_list("code", flat=True))
    for segment in range(399, 199, -1):
        code = f"{town}{segment:03d}"
        if code not in used:
            return code
    raise RuntimeError("no free village code")


def make_user(role: str, region: Region | None = None, name: str = "") -> User:
    n = next(_seq)
    user = User.objects.create_user(username=f"pt_{role}_{n}", password=None, full_name=name or f"测试{n}")
    Assignment.objects.create(user=user, role=role, region=region)
    return user


def make_resident(grid: Region, *, name: str = "", birth: date = date(1960, 5, 1), household: Household | None = None,
                  political_status: str = "masses", phone: str = "") -> Resident:
    n = next(_seq)
    male = n % 2 == 1
    id_number = make_id_number("420881", birth, (n % 500) * 2 + (1 if male else 0))
    return Resident.objects.create(
        region=grid, name=name or f"村民{n}", gender="male" if male else "female", birth_date=birth,
        id_number=id_number, phone=phone, household=household, political_status=political_status,
        **identity_fields(id_number=id_number, phone=phone),
    )


def make_household(grid: Region, head_name: str = "") -> Household:
    n = next(_seq)
    home = Household.objects.create(region=grid, number=f"PT{n:06d}")
    head = make_resident(grid, name=head_name or f"户主{n}", household=home)
    home.head = head
    home.save(update_fields=["head"])
    return home


def make_organisation(grid: Region, name: str = "") -> Organisation:
    return Organisation.objects.create(region=grid, name=name or f"测试单位{next(_seq)}", kind="shop")


def item(code: str) -> Item:
    return Item.objects.get(code=code)


CREDIT_ITEM = "M02"  # 帮扶困难群众: 10-500 points, no cap, evidence required


def submit(village: Village, subject, code: str = CREDIT_ITEM, points: int | None = None, *, by=None, **kwargs):
    data = {"occurred_on": timezone.localdate(), "description": "事实经过", "channel": "in_person",
            "source": "grid_worker", "evidence": "村委会调查记录"} | kwargs
    # A cadre's account lives at the village: the grid administrator enters its claims.
    by = by or (village.admin if subject.region_id == village.code else village.worker)
    return services.claim_submit(acting_user=by, subject=subject.pk, item=code, points=points, **data)


def credit(village: Village, subject, points: int, code: str = CREDIT_ITEM, **kwargs):
    """Posts `points` to the subject through the real workflow (every committee member approves)."""
    claim = submit(village, subject, code, points, **kwargs)
    for cadre in village.cadres[: claim.quorum]:
        claim = services.claim_approve(acting_user=cadre, claim=claim.pk)
    assert claim.status == "posted", claim.status
    return claim


def make_shop(village: Village, *, level: str = "village", goods: tuple[tuple[str, int, int], ...] = ()) -> Shop:
    region = village.region if level == "village" else village.region.parent
    manager = village.admin if level == "village" else make_user(Role.TOWN_OPERATOR, region, "镇综治")
    shop = services.shop_create(acting_user=manager, region=region.code, name=f"{region.name}积分超市")
    for name, cost, stock in goods:
        services.goods_create(acting_user=manager, shop=shop.pk, name=name, cost=cost, stock=stock)
    return shop


def goods(shop: Shop, name: str) -> Goods:
    return Goods.objects.get(shop=shop, name=name)
