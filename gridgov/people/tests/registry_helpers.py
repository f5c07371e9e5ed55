"""Shared set-up for the people tests: two neighbouring grids of 湖山村 (胡集镇) and the seeded users
who work there, and residents created through the services (never by hand)."""

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta

from gridgov.accounts.choices import Role
from gridgov.core.idcard import make_id_number
from gridgov.core.testing import user_with_role
from gridgov.people import services
from gridgov.regions.models import Region

COUNTY = "420881"
HUJI = "420881103"
# Test people are "from" 北京市东城区 so their numbers cannot clash with the demo population.
ID_REGION = "110101"
_counter = itertools.count(random.Random().randrange(0, 5000))
_names = itertools.count(1)
DIGITS = "零一二三四五六七八九"


def new_id(birth: date | None = None, male: bool = True) -> str:
    n = next(_counter)
    birth = birth or date(1950, 1, 1) + timedelta(days=n % 20000)
    sequence = (n * 2 + (1 if male else 0)) % 1000
    return make_id_number(ID_REGION, birth, sequence)


def unique_name(prefix: str = "测") -> str:
    """A name no demo resident has (Chinese digits keep it valid for the name rule)."""
    return prefix + "".join(DIGITS[int(d)] for d in str(next(_names) + 10_000 * random.randrange(1, 99)))


@dataclass
class Place:
    village: Region
    grid: Region
    other_grid: Region
    far_grid: Region  # in another town

    @property
    def worker(self):
        return user_with_role(Role.GRID_WORKER, self.grid.code)

    @property
    def other_worker(self):
        return user_with_role(Role.GRID_WORKER, self.other_grid.code)

    @property
    def admin(self):
        return user_with_role(Role.GRID_ADMIN, self.village.code)

    @property
    def cadre(self):
        return user_with_role(Role.VILLAGE_CADRE, self.village.code)

    @property
    def town(self):
        return user_with_role(Role.TOWN_OPERATOR, HUJI)

    @property
    def city(self):
        return user_with_role(Role.CITY_OPERATOR, COUNTY)

    @property
    def auditor(self):
        return user_with_role(Role.AUDITOR)


def place() -> Place:
    village = Region.objects.get(name="湖山村", parent_id=HUJI)
    grids = list(Region.objects.filter(parent=village).order_by("code"))
    far = Region.objects.filter(level=4).exclude(code__startswith=HUJI).order_by("code").first()
    return Place(village=village, grid=grids[0], other_grid=grids[1], far_grid=far)


def make_resident(user, grid: Region, **data):
    """A resident registered by `user` through resident_create (valid ID and phone by default)."""
    fields = {"name": unique_name(), "id_number": new_id(), "phone": "13807241234"}
    fields.update(data)
    return services.resident_create(acting_user=user, region_code=grid.code, data=fields)
