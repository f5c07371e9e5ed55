"""The demo population seeded once per session by conftest.py: residents, tags, visits, the article's people."""

import json
import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from io import StringIO

import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User
from gridgov.core.idcard import parse_id_number
from gridgov.core.models import AuditEntry
from gridgov.demo import people as population
from gridgov.people.models import Address, CareTag, CareTagType, House, Household, Resident
from gridgov.people.validation import identity_fields
from gridgov.regions.geometry import derived_fields
from gridgov.regions.models import Region
from gridgov.visits import rules
from gridgov.visits.models import Need, Visit

pytestmark = pytest.mark.django_db

MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
HUSHAN, YUANTAI, BAIJING, ZHONGYAN = "420881103201", "420881103202", "420881107201", "420881108201"


@pytest.fixture(scope="module")
def residents(django_db_blocker):
    """Every resident as the model reads them (decrypted), once for the module."""
    with django_db_blocker.unblock():
        return list(Resident.objects.only("id", "region", "name", "gender", "birth_date", "id_number", "id_tail",
                                          "id_number_index", "phone", "phone_index", "ethnicity",
                                          "residency_status", "political_status", "household", "relation_to_head")
                    .order_by("id"))


def tag_counts() -> Counter:
    return Counter(CareTag.objects.values_list("tag_type__code", flat=True))


def one(name: str) -> Resident:
    return Resident.objects.select_related("household", "address").get(name=name)


def tags_of(resident: Resident) -> dict[str, dict]:
    return {t.tag_type.code: json.loads(t.attributes) for t in resident.care_tags.select_related("tag_type")}


# --- residents and households ----------------------------------------------------------------


def test_every_grid_has_households_and_residents(residents):
    grids = set(Region.objects.filter(level=4).values_list("code", flat=True))
    assert {r.region_id for r in residents} == grids
    assert set(Household.objects.values_list("region_id", flat=True)) == grids
    # About 12 a grid (docs/demo.md): the county holds some 35,000-40,000.
    assert 30_000 <= len(residents) <= 45_000
    assert AuditEntry.objects.get(action="demo.seed_people").changes["residents"] == len(residents)


def test_every_id_number_is_valid_unique_and_agrees_with_gender_and_birth_date(residents):
    today = timezone.localdate()
    numbers = set()
    for r in residents:
        parsed = parse_id_number(r.id_number, today=today)
        assert parsed.gender == r.gender and parsed.birth_date == r.birth_date, r.pk
        assert r.id_tail == r.id_number[-4:]
        assert r.id_number_index == identity_fields(id_number=r.id_number)["id_number_index"]
        numbers.add(r.id_number)
    assert len(numbers) == len(residents)
    local = sum(n.startswith("420881") for n in numbers)
    assert local / len(numbers) > 0.9  # the rest: floating population and wives married in from nearby


def test_phones_are_valid_mobiles_with_their_index(residents):
    with_phone = [r for r in residents if r.phone]
    assert 0.6 < len(with_phone) / len(residents) < 0.95  # small children have none
    assert all(MOBILE.match(r.phone) for r in with_phone)
    assert all(r.phone_index == identity_fields(phone=r.phone)["phone_index"] for r in with_phone[:2000])
    assert not any(r.phone_index for r in residents if not r.phone)


def test_no_plaintext_id_number_or_phone_in_the_database(residents):
    sample = residents[:: max(1, len(residents) // 20)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone, health_note FROM people_resident")
        rows = cursor.fetchall()
        for column in (0, 1):
            stored = [row[column] for row in rows if row[column]]
            assert stored and all(value.startswith("g1$") for value in stored)
        for r in sample:
            for table, col in (("people_resident", "id_number"), ("people_resident", "phone"),
                               ("people_resident", "occupation"), ("people_household", "registered_address"),
                               ("people_caretag", "attributes"), ("core_auditentry", "changes")):
                cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE CAST({col} AS TEXT) LIKE %s", [f"%{r.id_number}%"])
                assert cursor.fetchone()[0] == 0, (table, col)
            if r.phone:
                cursor.execute("SELECT COUNT(*) FROM people_resident WHERE phone LIKE %s", [f"%{r.phone}%"])
                assert cursor.fetchone()[0] == 0


def test_households_have_one_head_and_relations_that_fit_the_ages(residents):
    by_household = defaultdict(list)
    for r in residents:
        by_household[r.household_id].append(r)
    heads = dict(Household.objects.values_list("pk", "head_id"))
    assert set(by_household) == set(heads)
    for pk, members in by_household.items():
        assert 1 <= len(members) <= 6
        head = [m for m in members if m.relation_to_head == "head"]
        assert len(head) == 1 and heads[pk] == head[0].pk
        age = population.age_on(head[0].birth_date, timezone.localdate())
        for m in members:
            other = population.age_on(m.birth_date, timezone.localdate())
            if m.relation_to_head == "spouse":
                assert other >= 20 and m.gender != head[0].gender
            elif m.relation_to_head == "child":
                assert other <= age - 18
            elif m.relation_to_head == "grandchild":
                assert other <= age - 38
            elif m.relation_to_head == "parent":
                assert other >= age + 18


def test_household_numbers_and_addresses(residents):
    numbers = Counter(Household.objects.values_list("region_id", "number"))
    assert max(numbers.values()) == 1
    assert not Household.objects.filter(address__isnull=True).exists()
    assert not Household.objects.exclude(region_id=F("address__region_id")).exists()
    assert not Address.objects.filter(road="").exists() and not Address.objects.filter(house_number="").exists()
    assert House.objects.count() == Address.objects.count()
    # Rural addresses are 村民小组 and house numbers; urban ones streets with building, unit and room.
    rural = Address.objects.filter(region_id__in=["420881103201001"]).values_list("road", flat=True)
    assert all(road.endswith("组") for road in rural)
    urban = Address.objects.filter(region_id="420881001001001").first()
    assert urban.building and urban.unit and urban.room and not urban.road.endswith("组")


def test_household_coordinates_lie_inside_their_grid():
    points = defaultdict(list)
    for region, lon, lat in Address.objects.values_list("region_id", "lon", "lat"):
        points[region].append((lon, lat))
    for region in Region.objects.filter(level=4).only("code", "geom_wkb"):
        xy = points[region.code]
        inside = shapely.contains_xy(region.geometry, [p[0] for p in xy], [p[1] for p in xy])
        assert inside.all(), region.code


def test_ethnicity_residency_and_party_membership(residents):
    n = len(residents)
    jiuli = [r for r in residents if r.region_id.startswith("420881200")]
    elsewhere = [r for r in residents if not r.region_id.startswith("420881200")]
    assert sum(r.ethnicity == "回族" for r in jiuli) / len(jiuli) > 0.2
    assert sum(r.ethnicity == "回族" for r in elsewhere) / len(elsewhere) < 0.02
    assert sum(r.ethnicity == "汉族" for r in residents) / n > 0.95
    status = Counter(r.residency_status for r in residents)
    assert set(status) == {"registered", "permanent", "floating", "away"}
    assert 0.05 < status["away"] / n < 0.2 and status["floating"] / n < 0.1
    party = sum(r.political_status == "party_member" for r in residents) / n
    assert 0.02 < party < 0.06


# --- care tags ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code,low,high", [
    ("left_behind_child", 1.0, 3.0), ("left_behind_elderly", 3.5, 7.0), ("left_behind_woman", 1.0, 5.0),
    ("disabled", 4.0, 8.0), ("severe_mental_disorder", 0.2, 0.8), ("dibao", 2.0, 4.0),
    ("dibao_marginal", 0.8, 2.5), ("advanced_age", 1.5, 5.0), ("living_alone_elderly", 1.0, 5.0),
    ("serious_illness", 0.3, 2.0), ("extreme_poverty", 0.05, 0.8), ("entitled_group", 0.1, 1.0),
])
def test_tag_rates_are_realistic(code, low, high):
    share = 100 * tag_counts()[code] / Resident.objects.count()
    assert low <= share <= high, f"{code}: {share:.2f} %"


def test_special_populations_are_present_but_rare():
    counts = tag_counts()
    total = Resident.objects.count()
    for code in ("released_prisoner", "community_correction", "drug_user", "key_youth"):
        assert 0 < counts[code] < total * 0.005, code


def test_tags_carry_valid_attributes_frequency_and_sensitivity():
    types = {t.code: t for t in CareTagType.objects.all()}
    sample = list(CareTag.objects.order_by("id").values_list("id", flat=True))[::7]
    for tag in CareTag.objects.filter(pk__in=sample).select_related("tag_type", "resident"):
        attributes = json.loads(tag.attributes)
        tt = types[tag.tag_type.code]
        assert set(attributes) <= {a["key"] for a in tt.attribute_schema}, tt.code
        assert tag.visit_every_days == tt.frequency_for(attributes)
        assert tag.sensitivity == tt.sensitivity
        assert tag.region_id == tag.resident.region_id
        assert tag.since and tag.since <= timezone.localdate() and tag.ended_on is None
        assert tag.since >= tag.resident.birth_date
    with connection.cursor() as cursor:
        cursor.execute("SELECT attributes FROM people_caretag")
        assert all(value.startswith("g1$") for (value,) in cursor.fetchall() if value)


def test_risk_levels_are_mostly_low_and_high_ones_are_visited_daily():
    tags = list(CareTag.objects.filter(tag_type__code="severe_mental_disorder"))
    levels = Counter(json.loads(t.attributes)["risk_level"] for t in tags)
    assert sum(levels[k] for k in (0, 1, 2)) / len(tags) > 0.8
    assert set(levels) <= {0, 1, 2, 3, 4, 5}
    assert all(t.visit_every_days == 1 for t in tags if json.loads(t.attributes)["risk_level"] >= 3)


def test_disability_has_type_and_grade():
    for tag in CareTag.objects.filter(tag_type__code="disabled")[:300]:
        a = json.loads(tag.attributes)
        assert a["disability_type"] in {"视力", "听力", "言语", "肢体", "智力", "精神", "多重"}
        assert a["grade"] in {"一级", "二级", "三级", "四级"}
        assert a["certificate"].startswith(tag.resident.id_number)


def test_left_behind_children_follow_from_their_household():
    for tag in CareTag.objects.filter(tag_type__code="left_behind_child").select_related("resident")[:300]:
        child = tag.resident
        assert population.age_on(child.birth_date, timezone.localdate()) < 16
        household = list(Resident.objects.filter(household_id=child.household_id))
        parents = [m for m in household if m.relation_to_head in {
            "child": ("head", "spouse"), "grandchild": ("child", "child_in_law")}[child.relation_to_head]]
        assert parents and all(m.residency_status == "away" for m in parents)
        assert child.guardian_id is not None
    women = CareTag.objects.filter(tag_type__code="left_behind_woman").select_related("resident")[:200]
    assert all(t.resident.gender == "female" and t.resident.residency_status != "away" for t in women)


# --- the article's people ----------------------------------------------------------------------


def test_li_chunyan_and_her_family_in_hushan():
    li = one("李春艳")
    assert li.region_id == f"{HUSHAN}001" and li.gender == "female"
    assert tags_of(li) == {"severe_mental_disorder": {"risk_level": 3, "in_hospital": True, "diagnosis": "精神分裂症",
                                                      "reward_subsidy": False}}
    assert li.care_tags.get().visit_every_days == 1 and li.care_tags.get().sensitivity == 3
    family = {m.relation_to_head: m for m in li.household.members.all()}
    assert set(family) == {"head", "spouse", "child", "parent"} and family["spouse"] == li
    assert family["head"].gender == "male" and li.household.head == family["head"]
    assert parse_id_number(li.id_number).region_code == "420881"
    # The grid worker met the family and recorded the need the article tells of.
    need = Need.objects.get(visit__resident=li)
    assert need.kind == "service" and "以奖代补" in need.text


def test_wang_bijun_in_zhongyan():
    wang = one("王必俊")
    assert wang.region_id.startswith(ZHONGYAN) and wang.gender == "male" and wang.relation_to_head == "head"
    tags = tags_of(wang)
    assert tags["serious_illness"]["illness"] == "胃癌" and "dibao_marginal" in tags
    assert "两次住院" in wang.health_note


def test_wu_zhengxian_and_the_yao_household_in_baijing():
    wu = one("吴正宪")
    assert wu.region_id.startswith(BAIJING) and wu.gender == "male"
    assert population.age_on(wu.birth_date, timezone.localdate()) >= 60
    grandson = wu.household.members.get(relation_to_head="grandchild")
    assert "left_behind_child" in tags_of(grandson) and "left_behind_elderly" in tags_of(wu)
    yao = one("姚宣立")
    assert yao.region_id == wu.region_id and yao.relation_to_head == "head"
    members = list(yao.household.members.all())
    assert len(members) >= 5
    pupils = [m for m in members if 6 <= population.age_on(m.birth_date, timezone.localdate()) <= 15]
    assert len(pupils) == 2
    assert all("dibao_marginal" in tags_of(m) for m in members)
    assert yao.household.registered_address.startswith("云南省")
    assert parse_id_number(yao.id_number).region_code.startswith("53")


def test_hu_household_in_yuantai_stands_empty():
    hu = one("胡某")
    assert hu.region_id.startswith(YUANTAI) and hu.relation_to_head == "head" and hu.residency_status == "away"
    assert all(m.residency_status == "away" for m in hu.household.members.all())
    assert hu.household.address.house.occupancy == "vacant"


def test_the_articles_names_belong_to_nobody_else():
    for name in ("李春艳", "王必俊", "吴正宪", "姚宣立", "胡某"):
        assert Resident.objects.filter(name=name).count() == 1


# --- visits ------------------------------------------------------------------------------------


def test_visits_belong_to_the_residents_grid_and_its_worker():
    assert Visit.objects.count() > 10_000
    assert not Visit.objects.exclude(region_id=F("resident__region_id")).exists()
    workers = dict(Assignment.objects.filter(role=Role.GRID_WORKER).values_list("region_id", "user_id"))
    for region, worker in Visit.objects.values_list("region_id", "worker_id").distinct():
        assert workers[region] == worker
    assert not Visit.objects.filter(resident__care_tags__isnull=True).exists()


def test_visits_are_in_the_window_with_consistent_dates_and_positions():
    now = timezone.now()
    today = timezone.localdate(now)
    first = today - timedelta(days=population.DEFAULT_VISIT_DAYS)  # a day's slack past midnight
    assert not Visit.objects.filter(visited_at__gt=now).exists()
    assert not Visit.objects.filter(visit_date__lt=first).exists()
    sample = list(Visit.objects.order_by("id").values_list("id", flat=True))[::97]
    for v in Visit.objects.filter(pk__in=sample):
        assert v.visit_date == timezone.localdate(v.visited_at)
        assert v.created_at >= v.visited_at
        assert v.checklist and all(set(item) == {"item", "checked", "tag", "sensitivity"} for item in v.checklist)
        if v.location_check == "no_gps":
            assert v.lon is None and v.distance_to_grid_m is None
        else:
            assert v.lon is not None and v.distance_to_grid_m is not None
    checks = Counter(Visit.objects.values_list("location_check", flat=True))
    assert checks["ok"] > 0.9 * sum(checks.values()) and checks["no_gps"] > 0
    geom = Region.objects.get(code=f"{HUSHAN}001").geometry
    rows = list(Visit.objects.filter(region_id=f"{HUSHAN}001", location_check="ok")
                .values_list("lon", "lat", "distance_to_grid_m", "accuracy_m"))
    inside = shapely.contains_xy(geom, [r[0] for r in rows], [r[1] for r in rows])
    for (_lon, _lat, distance, accuracy), within in zip(rows, inside, strict=True):
        assert distance <= 200 + accuracy and within == (distance == 0)


def test_outside_grid_visits_are_hospital_visits_with_a_distance():
    outside = list(Visit.objects.filter(location_check="outside_grid"))
    for v in outside:
        assert v.distance_to_grid_m > 200 and "医院" in v.findings


def test_history_in_the_showcase_towns_and_latest_visits_elsewhere():
    per_resident = Visit.objects.values("resident").annotate(n=Count("id"))
    huji = per_resident.filter(resident__region__code__startswith="420881103")
    assert max(r["n"] for r in huji) > 30  # someone visited (nearly) daily for months
    elsewhere = per_resident.filter(resident__region__code__startswith="420881113")  # 客店镇
    assert elsewhere.exists() and max(r["n"] for r in elsewhere) <= 2
    # Every tagged resident whose tag began before the window was visited at least once somewhere.
    tagged = set(CareTag.objects.filter(since__lt=timezone.localdate() - timedelta(days=30))
                 .values_list("resident_id", flat=True))
    visited = set(Visit.objects.values_list("resident_id", flat=True))
    assert len(tagged - visited) < 0.05 * len(tagged)


def test_most_tagged_residents_are_up_to_date_and_some_are_overdue_today():
    today = timezone.localdate()
    frequency = defaultdict(lambda: 10_000)
    start = {}
    for resident, days, since in CareTag.objects.values_list("resident_id", "visit_every_days", "since"):
        frequency[resident] = min(frequency[resident], days)
        start[resident] = min(start.get(resident, since), since)
    last_dates = {}
    for resident, day in Visit.objects.filter(visit_date__lt=today).values_list("resident_id", "visit_date"):
        last_dates[resident] = max(last_dates.get(resident, day), day)
    overdue = 0
    for resident, days in frequency.items():
        due = rules.evaluate(day=today, frequency=days, last_before=last_dates.get(resident),
                             first_start=start[resident])
        overdue += due.days_overdue > 0
    assert 0 < overdue < 0.35 * len(frequency)


# --- determinism and the seeding function ------------------------------------------------------


def test_the_plan_is_deterministic():
    grids = population.load_grids([f"{HUSHAN}001", f"{HUSHAN}002", "420881001001001"])
    day = date(2026, 3, 1)

    def snapshot(seed):
        plan = population.plan_population(grids, seed=seed, today=day)
        return [(h.number, h.address_text, h.lon, h.lat, p.name, p.id_number, p.phone, p.residency,
                 [(t.code, t.attributes, t.since) for t in p.tags]) for h, p in plan.people()]

    first = snapshot(7)
    assert first == snapshot(7)
    assert first != snapshot(8)
    assert len({row[5] for row in first}) == len(first)


def test_seed_people_into_new_grids_with_their_worker():
    village = Region.objects.create(code="420881103399", name="演示新村", kind="village", level=3,
                                    parent_id="420881103", **derived_fields(shapely.box(112.50, 31.40, 112.52, 31.41)))
    grids = []
    for i in range(2):
        geom = shapely.box(112.50 + i * 0.01, 31.40, 112.51 + i * 0.01, 31.41)
        grids.append(Region.objects.create(code=f"420881103399{i + 1:03d}", name=f"演示新村第{i + 1}网格", kind="grid",
                                           level=4, parent=village, **derived_fields(geom)))
    worker = User.objects.create_user(username="gw-new", password=None, full_name="新网格员")
    Assignment.objects.create(user=worker, role=Role.GRID_WORKER, region=grids[0])
    before = Resident.objects.count()
    counts = population.seed_people(seed=99, per_grid=20, visit_days=30, grids=[g.code for g in grids])
    new = Resident.objects.filter(region__code__startswith="420881103399")
    assert counts["residents"] == new.count() == Resident.objects.count() - before
    assert 30 <= new.count() <= 60
    visits = Visit.objects.filter(region__code__startswith="420881103399")
    assert counts["visits"] == visits.count()
    assert set(visits.values_list("worker_id", flat=True)) <= {worker.pk}
    assert not visits.filter(region=grids[1]).exists()  # a grid without a worker gets no visits
    if new.filter(care_tags__isnull=False, region=grids[0]).exists():
        assert visits.exists()
    assert AuditEntry.objects.filter(action="demo.seed_people").count() == 2


def test_insert_rows_stores_what_the_orm_would():
    grid = Region.objects.get(code=f"{HUSHAN}001")
    resident = Resident.objects.filter(region=grid, care_tags__isnull=False).first()
    worker = Assignment.objects.get(role=Role.GRID_WORKER, region=grid).user
    at = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    via_orm = Visit.objects.create(region=grid, resident=resident, worker=worker, visited_at=at,
                                   visit_date=timezone.localdate(at), location_check="no_gps",
                                   checklist=[{"item": "服药情况", "checked": True}], findings="对照")
    population.insert_rows(Visit, population.VISIT_FIELDS,
                           [[grid.code, resident.pk, worker.pk, at, timezone.localdate(at), None, None, None, "wgs84",
                             "no_gps", None, "", "快速写入", [{"item": "服药情况", "checked": True}], None, at]])
    fast = Visit.objects.get(findings="快速写入")
    for name in ("visited_at", "visit_date", "checklist", "region_id", "resident_id", "worker_id", "location_check"):
        assert getattr(fast, name) == getattr(via_orm, name), name
    assert Visit.objects.filter(visited_at=at).count() == 2 and Visit.objects.filter(visit_date=via_orm.visit_date,
                                                                                      findings="快速写入").exists()


def test_command_refuses_bad_options_and_writes_nothing():
    before = Resident.objects.count()
    with pytest.raises(CommandError, match="至少为 1"):
        call_command("seed_demo", people_per_grid=0, stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="不能为负"):
        call_command("seed_demo", visit_days=-1, stdout=StringIO(), stderr=StringIO())
    assert Resident.objects.count() == before
