"""Households: who lives together (kinds, ages, relations), who works away, and the rest of each
person (name, ID number, phone, work, guardian) and of the house (road, number, coordinates)."""

import random
from datetime import date

from gridgov.people.choices import Occupancy, PoliticalStatus

from .. import names
from .base import (
    AWAY,
    CHILD,
    CHILD_IN_LAW,
    FEMALE,
    FLOATING,
    GRANDCHILD,
    HEAD,
    JIULI,
    MALE,
    PARENT,
    PERMANENT,
    SPOUSE,
    GridInfo,
    HouseholdPlan,
    IdNumbers,
    PersonPlan,
    Phones,
    Weighted,
    birth_for_age,
    full_name,
    pick,
    surname,
    triangular,
)

RURAL_KINDS = Weighted({"alone_elderly": 10, "elderly_couple": 16, "three_gen": 28, "nuclear": 26, "nuclear_parent": 10,
               "couple": 6, "single": 4})
URBAN_KINDS = Weighted({"alone_elderly": 8, "elderly_couple": 14, "three_gen": 14, "nuclear": 40, "nuclear_parent": 8,
               "couple": 8, "single": 8})
FLOATING_KINDS = Weighted({"nuclear": 50, "couple": 25, "single": 25})
# Who of a working-age couple works away: both, the husband, the wife, or neither. Both go only
# when someone stays with the children under 16 (they become left-behind children); in the city
# far fewer go (URBAN_AWAY_RATE of the village odds).
URBAN_AWAY_RATE = 0.25
_COUPLES = {"young_cared": {"both": 21, "husband": 16, "wife": 3, "none": 60},
            "young": {"both": 0, "husband": 16, "wife": 3, "none": 81},
            "grown": {"both": 20, "husband": 10, "wife": 3, "none": 67}}
COUPLE_CHOICES = {
    (situation, urban): Weighted({k: v * (URBAN_AWAY_RATE if urban and k != "none" else 1) for k, v in w.items()})
    for situation, w in _COUPLES.items() for urban in (False, True)
}


def _spouse_age(rng: random.Random, husband_age: int) -> int:
    return max(20, husband_age - rng.choice([-2, -1, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6]))


def _children(rng: random.Random, mother_age: int, gen: int, relation: str, max_count: int) -> list[PersonPlan]:
    count = min(max_count, rng.choices([1, 2, 3], weights=[38, 50, 12])[0])
    kids = []
    for _ in range(count):
        age = mother_age - rng.randint(21, 36)
        if age >= 0:
            kids.append(PersonPlan(relation, rng.choice([MALE, FEMALE]), age, gen))
    return sorted(kids, key=lambda p: -p.age)


def _couple(members: list[PersonPlan], a: PersonPlan, b: PersonPlan) -> None:
    members += [a, b]
    a.spouse, b.spouse = len(members) - 1, len(members) - 2


def compose(rng: random.Random, kind: str) -> tuple[list[PersonPlan], int]:
    """The members of a household of `kind` (relation, gender, age, generation) and how many grown
    children live elsewhere."""
    m: list[PersonPlan] = []
    elsewhere = 0
    if kind == "alone_elderly":
        m.append(PersonPlan(HEAD, FEMALE if rng.random() < 0.62 else MALE, triangular(rng, 62, 94, 74), 0))
        elsewhere = rng.choices([0, 1, 2, 3, 4], weights=[12, 25, 33, 20, 10])[0]
    elif kind == "elderly_couple":
        age = triangular(rng, 60, 90, 69)
        _couple(m, PersonPlan(HEAD, MALE, age, 0), PersonPlan(SPOUSE, FEMALE, _spouse_age(rng, age), 0))
        elsewhere = rng.choices([0, 1, 2, 3, 4], weights=[5, 25, 35, 25, 10])[0]
    elif kind == "three_gen":
        age = triangular(rng, 50, 78, 60)
        head = PersonPlan(HEAD, MALE, age, 0)
        if rng.random() < 0.22:  # widowed
            head.gender = rng.choice([MALE, FEMALE, FEMALE])
            m.append(head)
        else:
            _couple(m, head, PersonPlan(SPOUSE, FEMALE, _spouse_age(rng, age), 0))
        mother = m[-1].age
        son_age = rng.randint(max(22, mother - 36), max(22, mother - 21))
        if rng.random() < 0.82:  # a son and his wife
            _couple(m, PersonPlan(CHILD, MALE, son_age, 1),
                    PersonPlan(CHILD_IN_LAW, FEMALE, _spouse_age(rng, son_age), 1))
        else:  # a daughter and her husband (上门女婿)
            _couple(m, PersonPlan(CHILD, FEMALE, son_age, 1),
                    PersonPlan(CHILD_IN_LAW, MALE, son_age + rng.randint(0, 4), 1))
        young_mother = min(m[-1].age, m[-2].age)
        m += _children(rng, young_mother, 2, GRANDCHILD, 6 - len(m))
    elif kind in ("nuclear", "nuclear_parent"):
        age = triangular(rng, 26, 58, 40)
        if rng.random() < 0.88:
            _couple(m, PersonPlan(HEAD, MALE, age, 0), PersonPlan(SPOUSE, FEMALE, _spouse_age(rng, age), 0))
        else:
            _couple(m, PersonPlan(HEAD, FEMALE, age, 0), PersonPlan(SPOUSE, MALE, age + rng.randint(0, 4), 0))
        mother = m[0].age if m[0].gender == FEMALE else m[1].age
        room = 6 - len(m) - (1 if kind == "nuclear_parent" else 0)
        m += _children(rng, mother, 1, CHILD, room)
        if kind == "nuclear_parent":
            parent_age = min(96, max(m[0].age, m[1].age) + rng.randint(22, 34))
            m.append(PersonPlan(PARENT, FEMALE if rng.random() < 0.62 else MALE, parent_age, -1))
    elif kind == "couple":
        age = triangular(rng, 24, 66, 52)
        _couple(m, PersonPlan(HEAD, MALE, age, 0), PersonPlan(SPOUSE, FEMALE, _spouse_age(rng, age), 0))
        if age >= 48:
            elsewhere = rng.choice([1, 1, 2, 2, 3])
    else:  # single
        m.append(PersonPlan(HEAD, MALE if rng.random() < 0.68 else FEMALE, triangular(rng, 20, 60, 32), 0))
    return m, elsewhere


def decide_residency(rng: random.Random, hh: HouseholdPlan, urban: bool) -> None:
    """Who works away (外出务工). A couple with children under 16 leaves both only when someone else
    stays to look after them; those children are the left-behind children."""
    m = hh.members
    if hh.floating:
        for p in m:
            p.residency = FLOATING
        return
    rate = URBAN_AWAY_RATE if urban else 1.0
    decided: set[int] = set()
    for i, p in enumerate(m):
        if i in decided:
            continue
        decided.add(i)
        if p.spouse is not None:
            decided.add(p.spouse)
        if not 18 <= p.age <= 55 or (p.spouse is not None and not 18 <= m[p.spouse].age <= 55):
            continue
        if p.gen == 0 and any(q.gen == 2 and q.age < 16 for q in m):
            continue  # grandparents in charge of the little ones stay
        if p.spouse is None:
            if p.gen >= 1 and 18 <= p.age <= 22 and rng.random() < 0.35:
                p.occupation = "大学在读"
            elif rng.random() < 0.42 * rate:
                p.residency = AWAY
            continue
        husband, wife = (p, m[p.spouse]) if p.gender == MALE else (m[p.spouse], p)
        young = [q for q in m if q.gen == p.gen + 1 and q.age < 16]
        carers = [q for q in m if q.gen < p.gen and 18 <= q.age <= 85]
        situation = "young_cared" if young and carers else "young" if young else "grown"
        weights = COUPLE_CHOICES[situation, urban]
        choice = pick(rng, weights)
        if choice in ("both", "husband"):
            husband.residency = AWAY
        if choice in ("both", "wife"):
            wife.residency = AWAY


def _fill_ordinary(rng: random.Random, hh: HouseholdPlan, grid: GridInfo, today: date, ids: IdNumbers,
                 phones: Phones) -> None:
    """Names, birth dates, ID numbers, phones, ethnicity, work, health and guardians."""
    m = hh.members
    family = surname(rng)
    if grid.code.startswith(JIULI):
        ethnicity = "回族" if rng.random() < 0.38 else "汉族"
    else:
        r = rng.random()
        ethnicity = "回族" if r < 0.005 else "土家族" if r < 0.008 else "满族" if r < 0.009 else "汉族"
    # A wife keeps her own surname; children take their father's (a son-in-law who married in
    # leaves the children his wife's family name).
    for p in m:
        p.birth = birth_for_age(rng, today, p.age)
        if p.relation == HEAD:
            line = family
        elif p.relation == CHILD:
            line = m[m[0].spouse].name[0] if m[0].gender == FEMALE and m[0].spouse is not None else family
        elif p.relation == GRANDCHILD:
            line = next((q.name[0] for q in m if q.relation == CHILD and q.gen == 1), family)
        elif p.relation == PARENT and p.gender == MALE:
            line = family
        else:
            line = surname(rng)
        p.name = full_name(rng, line, p.gender, p.birth.year)
        region = hh.id_region
        if p.relation in (SPOUSE, CHILD_IN_LAW) and not hh.floating and rng.random() < 0.1:
            region = rng.choice(names.ORIGINS)[0]  # married in from a neighbouring county
        p.id_number = ids.make(rng, region, p.birth, p.gender)
        p.ethnicity = ethnicity if p.relation not in (SPOUSE, CHILD_IN_LAW) or rng.random() < 0.7 else "汉族"
        if p.age >= 14 and rng.random() < (0.6 if p.age >= 80 else 0.96):
            p.phone = phones.make(rng)
        _occupation(rng, p, grid.urban)
        _politics(rng, p)
        if p.age >= 60 and rng.random() < 0.3:
            p.health_note = rng.choice(["高血压", "糖尿病", "慢性支气管炎", "冠心病", "腰椎间盘突出", "关节炎",
                                        "高血压、糖尿病", "白内障"])
    for p in m:
        if p.age < 18:
            _guardian(m, p)


def _occupation(rng: random.Random, p: PersonPlan, urban: bool) -> None:
    if p.occupation:
        return
    if p.residency == AWAY:
        p.workplace = rng.choices(names.WORKPLACES, weights=names.WORKPLACE_WEIGHTS)[0]
        p.occupation = f"{p.workplace}务工"
    elif p.age < 3:
        p.occupation = ""
    elif p.age < 6:
        p.occupation = "学龄前儿童"
    elif p.age < 18:
        p.occupation = "在校学生"
    elif p.age >= 60:
        p.occupation = "退休" if urban and rng.random() < 0.6 else ("务农" if p.age < 72 and not urban else "无")
    else:
        p.occupation = rng.choice(names.URBAN_JOBS if urban else names.RURAL_JOBS)


def _politics(rng: random.Random, p: PersonPlan) -> None:
    r = rng.random()
    if p.age >= 22:
        share = (0.09 if p.age >= 55 else 0.06) if p.gender == MALE else 0.03
        if r < share:
            p.political = PoliticalStatus.PARTY_MEMBER.value
        elif r < share + 0.002:
            p.political = PoliticalStatus.PROBATIONARY.value
    if 14 <= p.age <= 28 and p.political == PoliticalStatus.MASSES.value and r > 0.7:
        p.political = PoliticalStatus.LEAGUE_MEMBER.value


def _guardian(m: list[PersonPlan], child: PersonPlan) -> None:
    parents = [i for i, q in enumerate(m) if q.gen == child.gen - 1 and q.age >= 18]
    home = [i for i in parents if m[i].home]
    grand = [i for i, q in enumerate(m) if q.gen == child.gen - 2 and q.home and q.age < 90]
    if home:
        child.guardian = min(home, key=lambda i: m[i].gender != FEMALE)
    elif grand:
        child.guardian = min(grand, key=lambda i: m[i].gender != FEMALE)
        workplace = next((m[i].workplace for i in parents if m[i].workplace), "外地")
        who = "祖母" if m[child.guardian].gender == FEMALE else "祖父"
        child.guardian_note = f"父母在{workplace}务工，由{who}照看"
    elif parents:
        child.guardian = parents[0]


def place(hh: HouseholdPlan, grid: GridInfo, index: int, point, rng: random.Random, streets: dict) -> None:
    """Road and number (村民小组 in villages, street and flat in the city), coordinates, 户籍地址."""
    hh.lon, hh.lat = float(point[0]), float(point[1])
    if grid.urban:
        roads = streets.setdefault("roads", rng.sample(names.URBAN_ROADS, 2))
        if not streets.get("building") or streets["flats"] <= 0:
            road = rng.choice(roads)
            number = streets.setdefault(road, rng.randrange(1, 200)) + rng.randint(2, 12)
            streets[road] = number
            streets["building"] = (road, str(number), str(rng.randint(1, 12)), hh.lon, hh.lat)
            streets["flats"] = rng.randint(2, 6)
        road, number, building, lon, lat = streets["building"]
        streets["flats"] -= 1
        hh.road, hh.house_number, hh.building = road, number, building
        hh.unit = str(rng.randint(1, 3))
        hh.room = f"{rng.randint(1, 18)}0{rng.randint(1, 4)}"
        hh.lon, hh.lat = lon, lat
        key = (road, number, building, hh.unit, hh.room)
        while key in streets.setdefault("rooms", set()):
            hh.room = f"{rng.randint(1, 18)}0{rng.randint(1, 4)}"
            key = (road, number, building, hh.unit, hh.room)
        streets["rooms"].add(key)
    else:
        group = (grid.seq - 1) * 2 + 1 + index % 2
        hh.road = f"{names.numeral(group)}组"
        number = streets.get(hh.road, 0) + rng.randint(1, 3)
        streets[hh.road] = number
        hh.house_number = str(number)
    local = f"湖北省钟祥市{grid.town}{grid.village}{hh.address_text}"
    if hh.floating:
        prefix = next(p for code, p in names.ORIGINS if code == hh.id_region)
        village = names.village_names(rng, 1, set())[0]
        hh.registered_address = f"{prefix}{village}{names.numeral(rng.randint(1, 9))}组{rng.randint(1, 60)}号"
        hh.occupancy = Occupancy.TENANT.value
    elif grid.urban and rng.random() < 0.2:  # moved to town for the children's schooling: 常住
        hh.registered_address = f"湖北省钟祥市{streets['elsewhere']}"
        for p in hh.members:
            if p.home:
                p.residency = PERMANENT
    else:
        hh.registered_address = local
    if all(not p.home for p in hh.members):
        hh.occupancy = Occupancy.VACANT.value
        hh.house_note = "全家外出务工，房屋无人居住"


def fill_people(rng: random.Random, hh: HouseholdPlan, grid: GridInfo, today: date, ids: IdNumbers,
                              phones: Phones) -> None:
    if not hh.article:
        _fill_ordinary(rng, hh, grid, today, ids, phones)
        return
    for p in hh.members:  # the article's people keep their names; the rest is filled as for anyone
        p.birth = birth_for_age(rng, today, p.age)
        p.id_number = ids.make(rng, hh.id_region, p.birth, p.gender)
        if p.age >= 14:
            p.phone = phones.make(rng)
        _occupation(rng, p, grid.urban)
    for p in hh.members:
        if p.age < 18:
            _guardian(hh.members, p)
