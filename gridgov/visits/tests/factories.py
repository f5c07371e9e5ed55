"""Test data for visits: a village and grids of our own inside the seeded demo, with residents and tags.

Our own village keeps the tests independent of whatever population the demo seed puts in its
grids: every number asserted on it is ours.
"""

import itertools
import json
from datetime import date, datetime, time, timedelta

import shapely
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User
from gridgov.core.idcard import make_id_number
from gridgov.people.models import Address, CareTag, CareTagType, Resident
from gridgov.people.validation import identity_fields
from gridgov.regions.geometry import derived_fields
from gridgov.regions.models import Region
from gridgov.visits.choices import LocationCheck
from gridgov.visits.models import Visit

HUJI = "420881103"
SHIPAI = "420881108"
# Our grids are 0.01° squares (about 950 m × 1,110 m) in a row, west to east, from this corner.
ORIGIN = (112.50, 31.40)
SIDE = 0.01

_seq = itertools.count(1)


def _free_village_code(town: str) -> str:
    used = set(Region.objects.filter(parent_id=town).values_list("code", flat=True))
    for segment in range(399, 199, -1):
        code = f"{town}{segment:03d}"
        if code not in used:
            return code
    raise RuntimeError("no free village code")


def square(lon: float, lat: float, side: float = SIDE):
    return shapely.box(lon, lat, lon + side, lat + side)


def make_village(town: str = HUJI, name: str = "测试村", grids: int = 2) -> tuple[Region, list[Region]]:
    """A new village under `town` with `grids` square grids side by side."""
    code = _free_village_code(town)
    village = Region.objects.create(code=code, name=name, kind="village", level=3, parent_id=town,
                                    **derived_fields(square(ORIGIN[0], ORIGIN[1], SIDE * grids)))
    made = []
    for i in range(grids):
        geom = square(ORIGIN[0] + i * SIDE, ORIGIN[1])
        made.append(Region.objects.create(code=f"{code}{i + 1:03d}", name=f"{name}第{i + 1}网格", kind="grid",
                                          level=4, parent=village, **derived_fields(geom)))
    return village, made


def make_user(role: str, region: Region | None = None, name: str = "") -> User:
    n = next(_seq)
    user = User.objects.create_user(username=f"vt_{role}_{n}", password=None, full_name=name or f"测试{n}")
    Assignment.objects.create(user=user, role=role, region=region)
    return user


def make_worker(grid: Region, name: str = "") -> User:
    return make_user(Role.GRID_WORKER, grid, name)


def make_resident(grid: Region, *, name: str = "", lon: float | None = None, lat: float | None = None,
                  birth: date = date(1950, 3, 1), state: str = "active") -> Resident:
    n = next(_seq)
    male = n % 2 == 1
    id_number = make_id_number("420881", birth, (n % 500) * 2 + (1 if male else 0))
    address = None
    if lon is not None:
        address = Address.objects.create(region=grid, road="测试组", house_number=str(n), lon=lon, lat=lat)
    return Resident.objects.create(
        region=grid, name=name or f"居民{n}", gender="male" if male else "female", birth_date=birth,
        id_number=id_number, address=address, state=state, **identity_fields(id_number=id_number, phone=""),
    )


def make_tag(resident: Resident, code: str, *, since: date | None = None, ended_on: date | None = None,
             **attributes) -> CareTag:
    tag_type = CareTagType.objects.get(code=code)
    return CareTag.objects.create(
        resident=resident, tag_type=tag_type, region_id=resident.region_id, attributes=json.dumps(attributes),
        visit_every_days=tag_type.frequency_for(attributes), sensitivity=tag_type.sensitivity,
        since=since or date(2025, 1, 1), ended_on=ended_on,
    )


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def make_visit(resident: Resident, worker: User, day: date, hour: int = 10) -> Visit:
    """A visit written straight to the table (the service refuses visits older than 7 days)."""
    return Visit.objects.create(region_id=resident.region_id, resident=resident, worker=worker,
                                visited_at=at(day, hour), visit_date=day, location_check=LocationCheck.NO_GPS)


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


# The smallest valid images of each type (headers are what the service sniffs).
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
