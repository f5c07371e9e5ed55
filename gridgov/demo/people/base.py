"""What the demo population is made of, and the small tools every part of it uses.

Constants, the plan's data classes (grid, household, person, tag), ages and birth dates, unique ID
numbers and phones, names from Faker's zh_CN tables, the grids with their polygons, and seeded
points inside a polygon.
"""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

import shapely
from faker.providers.person.zh_CN import Provider as FakerPerson
from faker.providers.phone_number.zh_CN import Provider as FakerPhone

from gridgov.core.idcard import make_id_number
from gridgov.people.choices import Gender, Occupancy, PoliticalStatus, RelationToHead, ResidencyStatus
from gridgov.people.validation import identity_fields
from gridgov.regions import codes
from gridgov.regions.models import Region
from gridgov.visits import geo as visit_geo

from .. import names

COUNTY_CODE = "420881"
JIULI = "420881200"  # 九里回族乡
DEFAULT_PER_GRID = 12
DEFAULT_VISIT_DAYS = 90
# Towns whose grid workers get their whole visit history; elsewhere each tagged resident gets only
# their latest visit (same schedule, so who is due or overdue today is the same as with the full
# history). Keeps the seed inside its time budget: see docs/demo.md.
HISTORY_TOWNS = {"420881103": "胡集镇", "420881107": "冷水镇", "420881108": "石牌镇", "420881001": "郢中街道"}
BATCH = 2000
# The grids whose stories the article tells get three times the people, so the demo logins
# (湖山村第1网格's worker first) open on a full day's list.
ARTICLE_VILLAGES = {"420881103201": "湖山村", "420881103202": "袁台村", "420881107201": "百井村",
                    "420881108201": "钟堰村"}
ARTICLE_GRID_FACTOR = 3
HOSPITAL_GRID = "420881001001001"  # 郢中街道: the county's hospitals are in the city proper

MALE, FEMALE = Gender.MALE.value, Gender.FEMALE.value
HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, CHILD_IN_LAW = (
    RelationToHead.HEAD.value, RelationToHead.SPOUSE.value, RelationToHead.CHILD.value, RelationToHead.PARENT.value,
    RelationToHead.GRANDCHILD.value, RelationToHead.CHILD_IN_LAW.value,
)
REGISTERED, PERMANENT, FLOATING, AWAY = (
    ResidencyStatus.REGISTERED.value, ResidencyStatus.PERMANENT.value, ResidencyStatus.FLOATING.value,
    ResidencyStatus.AWAY.value,
)

_SURNAMES = list(FakerPerson.last_names)
_SURNAME_CUM = list(accumulate(FakerPerson.last_names.values()))
_GIVEN = {MALE: FakerPerson.first_names_male, FEMALE: FakerPerson.first_names_female}
_MIDDLE = {MALE: "志建国文明永德家海俊晓子宇春长正", FEMALE: "秀美丽晓春玉小雪佳思慧文海红桂金"}
_PHONE_PREFIXES = [str(p) for p in FakerPhone.phonenumber_prefixes]


# --- what the plan is made of ------------------------------------------------------------------


@dataclass(frozen=True)
class GridInfo:
    code: str
    name: str
    village: str
    town: str
    geom: object  # shapely Polygon, WGS84

    @property
    def urban(self) -> bool:
        return codes.is_urban(self.code)

    @property
    def seq(self) -> int:
        return int(self.code[-3:])


@dataclass
class TagPlan:
    code: str
    attributes: dict
    since: date


@dataclass
class PersonPlan:
    relation: str
    gender: str
    age: int
    gen: int  # generation: 0 the head's, -1 their parents', 1 their children's, 2 grandchildren
    spouse: int | None = None  # index in the household
    birth: date | None = None
    name: str = ""
    id_number: str = ""
    phone: str = ""
    ethnicity: str = "汉族"
    residency: str = REGISTERED
    political: str = PoliticalStatus.MASSES.value
    occupation: str = ""
    workplace: str = ""
    health_note: str = ""
    guardian: int | None = None  # index in the household
    guardian_note: str = ""
    tags: list[TagPlan] = field(default_factory=list)
    index: str = ""  # the ID number's blind index, set when written
    pk: int | None = None  # set once written

    @property
    def home(self) -> bool:
        return self.residency != AWAY

    def tag(self, code: str) -> TagPlan | None:
        return next((t for t in self.tags if t.code == code), None)


@dataclass
class HouseholdPlan:
    grid: str
    number: str
    members: list[PersonPlan]
    road: str = ""
    house_number: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    lon: float = 0.0
    lat: float = 0.0
    registered_address: str = ""
    occupancy: str = Occupancy.OWNER.value
    house_note: str = ""
    floating: bool = False
    id_region: str = COUNTY_CODE  # where the members' numbers were issued
    children_elsewhere: int = 0  # grown children living elsewhere (elderly households)
    children_elsewhere_away: bool = False
    article: bool = False
    pk: int | None = None
    address_pk: int | None = None

    @property
    def address_text(self) -> str:
        parts = [self.road, self.house_number and f"{self.house_number}号", self.building and f"{self.building}栋",
                 self.unit and f"{self.unit}单元", self.room and f"{self.room}室"]
        return "".join(p for p in parts if p)


@dataclass
class PopulationPlan:
    households: list[HouseholdPlan]
    today: date
    seed: int

    def people(self) -> Iterator[tuple[HouseholdPlan, PersonPlan]]:
        for hh in self.households:
            for p in hh.members:
                yield hh, p


# --- small helpers -----------------------------------------------------------------------------


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def birth_for_age(rng: random.Random, today: date, age: int) -> date:
    """A birth date on which someone is exactly `age` today."""
    first = years_before(today, age + 1) + timedelta(days=1)
    last = years_before(today, age)
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def triangular(rng: random.Random, lo: float, hi: float, mode: float) -> int:
    return int(round(rng.triangular(lo, hi, mode)))


class IdNumbers:
    """Unique ID numbers: the sequence is drawn per (region, birth date) and never reused.

    The demo uses sequences ≡ 1 (mod 4) for men and ≡ 2 (mod 4) for women, 250 of each per day and
    region: the other half of the space stays free for numbers that tests and imports make up.
    """

    def __init__(self, registered: set[str] | frozenset[str] = frozenset()):
        self.used: set[tuple[str, date, int]] = set()
        self.registered = registered  # blind indexes of numbers already in the database

    def make(self, rng: random.Random, region: str, birth: date, gender: str) -> str:
        parity = 1 if gender == MALE else 2
        start = rng.randrange(250)
        for i in range(250):
            seq = ((start + i) % 250) * 4 + parity
            if (region, birth, seq) in self.used:
                continue
            self.used.add((region, birth, seq))
            number = make_id_number(region, birth, seq)
            if self.registered and identity_fields(id_number=number)["id_number_index"] in self.registered:
                continue
            return number
        raise RuntimeError(f"no free ID sequence for {region} {birth}")


class Phones:
    def __init__(self):
        self.used: set[str] = set()

    def make(self, rng: random.Random) -> str:
        while True:
            phone = f"{rng.choice(_PHONE_PREFIXES)}{rng.randrange(10**8):08d}"
            if phone not in self.used:
                self.used.add(phone)
                return phone


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]


def given_name(rng: random.Random, gender: str, birth_year: int) -> str:
    """Half the time a name of the person's generation, else Faker's zh_CN given names."""
    era = next(lists[gender] for limit, lists in names.GIVEN_BY_ERA if birth_year <= limit)
    if era and rng.random() < 0.5:
        return rng.choice(era)
    given = rng.choice(_GIVEN[gender])
    if len(given) == 1 and rng.random() < 0.75:
        given = rng.choice(_MIDDLE[gender]) + given
    return given


def full_name(rng: random.Random, family: str, gender: str, birth_year: int) -> str:
    while True:
        name = family + given_name(rng, gender, birth_year)
        if name not in names.ARTICLE_RESIDENTS:
            return name


# --- grids and places --------------------------------------------------------------------------


def load_grids(only: list[str] | None = None) -> list[GridInfo]:
    """Every grid (or those in `only`) with its polygon and the names of its village and town."""
    units = dict(Region.objects.filter(level__in=[2, 3]).values_list("code", "name"))
    rows = Region.objects.filter(level=4).order_by("code").values_list("code", "name", "geom_wkb")
    if only is not None:
        rows = rows.filter(code__in=only)
    return [GridInfo(code, name, units.get(code[:12], ""), units.get(code[:9], ""), shapely.from_wkb(bytes(wkb)))
            for code, name, wkb in rows if wkb]


def sample_points(geom, n: int, rng: random.Random, *, clusters: int = 0,
                  spread_m: float = 180.0) -> list[tuple[float, float]]:
    """`n` seeded points inside `geom`: uniform, or scattered around `clusters` hamlet centres
    (a village's houses stand in a few 湾 and along the roads, not evenly over the fields)."""
    if n <= 0:
        return []
    minx, miny, maxx, maxy = geom.bounds
    lat_m = visit_geo.M_PER_DEG
    lon_m = lat_m * math.cos(math.radians((miny + maxy) / 2))
    centres = sample_points(geom, clusters, rng) if clusters else []
    points: list[tuple[float, float]] = []
    for attempt in range(100):
        k = 4 * (n - len(points)) + 4
        if centres and attempt < 10:  # a centre near the edge loses many; then fill uniformly
            picks = [rng.choice(centres) for _ in range(k)]
            candidates = [(x + rng.gauss(0, spread_m / lon_m), y + rng.gauss(0, spread_m / lat_m)) for x, y in picks]
        else:
            candidates = [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(k)]
        inside = shapely.contains_xy(geom, [c[0] for c in candidates], [c[1] for c in candidates])
        points += [c for c, ok in zip(candidates, inside, strict=True) if ok][: n - len(points)]
        if len(points) == n:
            return points
    raise RuntimeError("could not place points inside the grid")


class Weighted:
    """A table of choices with weights, ready for `random.choices` (cumulative weights)."""

    def __init__(self, weights: dict):
        self.keys = list(weights)
        self.cumulative = list(accumulate(weights.values()))


def pick(rng: random.Random, table: "Weighted"):
    return rng.choices(table.keys, cum_weights=table.cumulative)[0]


