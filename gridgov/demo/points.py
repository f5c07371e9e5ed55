"""A year of the points scheme (积分制) in every village and community, and the article's story.

For each village: points accounts for some of its residents, their households, party members, its
organisations and its cadres; claims from every channel and source, entered by the grid worker and
verified by a cadre (three cadres for awards above 100 points); a few still waiting, a few
rejected; the ledger with household roll-ups; a shop in every town (and in the article's villages)
whose goods the villagers exchanged points for, some orders handed out, some cancelled.

The story (shared/reference): 冷水镇百井村 吴正宪 takes the 姚宣立 family's two children to school
every day and buys their breakfast; the committee collectively awards him 500 points — three
cadre approvals on record — and a points certificate is issued to him.

Everything is planned in Python and written with bulk inserts, in time order, so every balance
equals its ledger and every stock its movements (`gridgov verify_points_ledger` agrees). People are
taken from the registry by name: without the demo population only cadres get accounts, and the
story is skipped (the result says so).
"""

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Max
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User
from gridgov.core.audit import audit_record
from gridgov.people.models import Household, Organisation, Resident
from gridgov.points.choices import (
    CapPeriod,
    ClaimAction,
    ClaimChannel,
    ClaimSource,
    ClaimStatus,
    EntryKind,
    OrderStatus,
    StockReason,
    SubjectKind,
    Vote,
)
from gridgov.points.models import (
    Balance,
    Certificate,
    Claim,
    ClaimEvent,
    ClaimVote,
    Goods,
    Item,
    LedgerEntry,
    Order,
    Shop,
    StockMovement,
    Subject,
)
from gridgov.points.services.certificates import ALPHABET, TOKEN_LENGTH
from gridgov.regions.models import Region

COUNTY_CODE = "420881"
BAIJING = "420881107201"
DAYS = 365
CLAIMS_PER_VILLAGE = (8, 14)
ORDERS_PER_VILLAGE = (3, 8)
RESIDENTS_PER_VILLAGE = 6
THRESHOLD = 100
BATCH = 2000
ARTICLE_SHOP_VILLAGES = ("420881103201", "420881103202", "420881107201", "420881108201")
GOODS = [  # name, unit, cost, initial stock
    ("洗衣粉", "袋", 20, 300), ("香皂", "块", 5, 500), ("牙膏", "支", 8, 400), ("毛巾", "条", 10, 400),
    ("洗洁精", "瓶", 10, 300), ("酱油", "瓶", 8, 300), ("挂面", "把", 8, 300), ("食用油（5升）", "桶", 80, 120),
    ("大米（10公斤）", "袋", 60, 150), ("保温杯", "个", 40, 80), ("雨伞", "把", 30, 80), ("书包", "个", 50, 60),
    ("文具套装", "套", 15, 200), ("电饭煲", "台", 300, 10),
]
KIND_WEIGHTS = {SubjectKind.RESIDENT: 50, SubjectKind.HOUSEHOLD: 25, SubjectKind.PARTY_MEMBER: 10,
                SubjectKind.CADRE: 8, SubjectKind.ORGANISATION: 7}
SOURCES = [(ClaimSource.GRID_WORKER, 40), (ClaimSource.SELF, 25), (ClaimSource.NEIGHBOUR, 20), (ClaimSource.CADRE, 15)]
CHANNELS = [(ClaimChannel.IN_PERSON, 35), (ClaimChannel.PHONE, 25), (ClaimChannel.WECHAT, 25),
            (ClaimChannel.SMS, 10), (ClaimChannel.APP, 5)]
REJECT_REASONS = ["经核实与事实不符", "证明材料不足，请补充后重新申报", "同一事项已记分", "不属于积分项目范围"]
DESCRIPTIONS = {
    "S04": "{name}主动上门调解邻居之间因宅基地边界引起的纠纷，双方达成和解。",
    "S06": "{name}参加村夜间治安巡逻，时长约两个半小时。",
    "M01": "{name}多年悉心照料瘫痪在床的老人，邻里称赞。",
    "M04": "{name}参加新时代文明实践站组织的敬老志愿服务活动。",
    "M10": "{name}帮助邻居抢收晚稻。",
    "V01": "{name}门前卫生、秩序、绿化“三包”落实到位，月度检查合格。",
    "V02": "{name}生活垃圾分类投放规范，月度检查合格。",
    "V03": "{name}庭院内外干净整洁，月度评比合格。",
}
WU_DESCRIPTION = ("本学期以来，吴正宪在每天接送自家孙子吴浩宇上下学的同时，坚持接送从云南投亲迁入的困难户姚宣立家"
                  "两个孩子上下学，并每天为他们买早餐，风雨无阻。姚家收入少、人口多，两个孩子上学无人照管。"
                  "经网格员走访、邻里反映和村委会核实属实。")
WU_REASON = "坚持每天接送困难家庭两个孩子上下学并为他们买早餐"


@dataclass
class SubjectRow:
    kind: str
    region_id: str
    name: str
    resident_id: int | None = None
    household_id: int | None = None
    organisation_id: int | None = None
    user_id: int | None = None
    pk: int | None = None
    household: "SubjectRow | None" = None  # where a resident's points roll up to
    earned: int = 0
    spent: int = 0
    spendable: int = 0


@dataclass
class Plan:
    subjects: list[SubjectRow] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _at(day: date, rng: random.Random, now: datetime) -> datetime:
    moment = timezone.make_aware(datetime.combine(day, time(rng.randint(8, 18), rng.randint(0, 59))))
    return min(moment, now - timedelta(minutes=rng.randint(5, 600)))


def _points(rng: random.Random, item: Item) -> int:
    if item.is_fixed:
        return item.points_min
    value = item.points_min + int((item.points_max - item.points_min) * rng.random() ** 3)
    if value > THRESHOLD and rng.random() < 0.7:
        value = max(item.points_min, THRESHOLD)
    return value - value % 5 if item.points_max - item.points_min >= 20 and value % 5 and value > 10 else value


def _period(item: Item, day: date):
    if item.cap_period == CapPeriod.MONTH:
        return (day.year, day.month)
    if item.cap_period == CapPeriod.YEAR:
        return day.year
    return 0


def seed_points(*, seed: int, now: datetime | None = None,
                progress: Callable[[str], None] = lambda s: None) -> dict[str, int]:
    """Writes a year of points activity in every village; call inside a transaction, after the people."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    rng = random.Random(f"points-{seed}")
    items = list(Item.objects.filter(is_active=True).order_by("code"))
    if not items:
        return {"points_skipped": 1}
    staff = _staff()
    villages = list(Region.objects.filter(level=3).order_by("code").values_list("code", "name"))
    people = _people()
    plan = Plan()
    story = {}
    for code, _name in villages:
        _plan_village(rng, plan, code, people.get(code, {}), staff, items, today, now, story)
    ids = Ids()
    shops = _write_shops(rng, ids, villages, now)
    _write_subjects(ids, plan)
    counts = _write_activity(rng, ids, plan, shops, staff, today, now)
    counts["points_story"] = int(bool(story.get("claim")))
    if story.get("claim"):
        _certificate_for_wu(story, staff, now)
    _reset_sequences(ids.next)
    progress(f"积分制已写入：{counts['points_subjects']:,} 个积分账户、{counts['points_claims']:,} 条申报、"
             f"{counts['points_entries']:,} 条台账、{counts['points_orders']:,} 笔兑换"
             + ("；百井村吴正宪 500 分集体审议已记录" if story.get("claim")
                else "；未找到吴正宪（演示人口未生成），跳过其事迹"))
    audit_record(actor=None, action="demo.seed_points", object_type="points.ledgerentry", object_id=COUNTY_CODE,
                 region_code=COUNTY_CODE, changes={"seed": seed, **counts},
                 message=f"生成演示积分数据：{counts['points_claims']:,} 条申报、{counts['points_entries']:,} 条台账")
    return counts


# --- reading what the demo already holds --------------------------------------------------------------


@dataclass
class Staff:
    workers: dict[str, int]  # grid → user
    admins: dict[str, int]  # village → user
    cadres: dict[str, list[int]]  # village → users
    names: dict[int, str]


def _staff() -> Staff:
    workers, admins, cadres = {}, {}, defaultdict(list)
    for role, region, user in (Assignment.objects.filter(is_active=True, role__in=[
            Role.GRID_WORKER, Role.GRID_ADMIN, Role.VILLAGE_CADRE]).order_by("region_id", "id")
            .values_list("role", "region_id", "user_id")):
        if role == Role.GRID_WORKER:
            workers.setdefault(region, user)
        elif role == Role.GRID_ADMIN:
            admins.setdefault(region, user)
        else:
            cadres[region].append(user)
    ids = set(workers.values()) | set(admins.values()) | {u for us in cadres.values() for u in us}
    names = dict(User.objects.filter(pk__in=ids).values_list("pk", "full_name"))
    return Staff(workers, admins, dict(cadres), names)


def _people() -> dict[str, dict]:
    """village → residents (adults first, by id), households with head names, organisations."""
    out: dict[str, dict] = defaultdict(lambda: {"residents": [], "households": {}, "organisations": []})
    for row in (Resident.objects.filter(state="active").order_by("id")
                .values("id", "name", "region_id", "household_id", "political_status", "birth_date")):
        out[row["region_id"][:12]]["residents"].append(row)
    for row in Household.objects.order_by("id").values("id", "region_id", "number", "head__name"):
        out[row["region_id"][:12]]["households"][row["id"]] = row
    for row in Organisation.objects.order_by("id").values("id", "region_id", "name"):
        out[row["region_id"][:12]]["organisations"].append(row)
    return out


# --- planning ---------------------------------------------------------------------------------------


def _adult(row, today: date) -> bool:
    born = row["birth_date"]
    return born is None or (today - born).days >= 18 * 365


def _plan_village(rng, plan: Plan, code: str, people: dict, staff: Staff, items, today, now, story) -> None:
    residents = [r for r in people.get("residents", []) if _adult(r, today)]
    households = people.get("households", {})
    chosen = rng.sample(residents, min(RESIDENTS_PER_VILLAGE, len(residents)))
    wu = next((r for r in residents if r["name"] == "吴正宪"), None) if code == BAIJING else None
    if wu and wu not in chosen:
        chosen.append(wu)
    by_kind: dict[str, list[SubjectRow]] = defaultdict(list)
    household_rows: dict[int, SubjectRow] = {}

    def household_subject(household_id: int) -> SubjectRow | None:
        if household_id not in households:
            return None
        if household_id not in household_rows:
            h = households[household_id]
            row = SubjectRow(SubjectKind.HOUSEHOLD, h["region_id"], f"{h['head__name']}户" if h["head__name"]
                             else f"{h['number']}号户", household_id=household_id)
            household_rows[household_id] = row
            plan.subjects.append(row)
            by_kind[SubjectKind.HOUSEHOLD].append(row)
        return household_rows[household_id]

    for r in chosen:
        row = SubjectRow(SubjectKind.RESIDENT, r["region_id"], r["name"], resident_id=r["id"])
        row.household = household_subject(r["household_id"]) if r["household_id"] else None
        plan.subjects.append(row)
        by_kind[SubjectKind.RESIDENT].append(row)
        if r is wu:
            story["subject"] = row
    if code == BAIJING:
        yao = next((r for r in residents if r["name"] == "姚宣立"), None)
        if yao and yao["household_id"]:
            story["yao"] = household_subject(yao["household_id"])
            story["yao_name"] = yao["name"]
    for r in [r for r in chosen if r["political_status"] in ("party_member", "probationary")][:2]:
        row = SubjectRow(SubjectKind.PARTY_MEMBER, r["region_id"], r["name"], resident_id=r["id"])
        plan.subjects.append(row)
        by_kind[SubjectKind.PARTY_MEMBER].append(row)
    for o in people.get("organisations", [])[:2]:
        row = SubjectRow(SubjectKind.ORGANISATION, o["region_id"], o["name"], organisation_id=o["id"])
        plan.subjects.append(row)
        by_kind[SubjectKind.ORGANISATION].append(row)
    for user in staff.cadres.get(code, []):
        row = SubjectRow(SubjectKind.CADRE, code, staff.names.get(user) or "村干部", user_id=user)
        plan.subjects.append(row)
        by_kind[SubjectKind.CADRE].append(row)
    applicable = {kind: [i for i in items if kind in i.subject_kinds] for kind in SubjectKind.values}
    used: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    kinds = [(k, w) for k, w in KIND_WEIGHTS.items() if by_kind.get(k)]
    busy = 3 if code in ARTICLE_SHOP_VILLAGES else 1  # the article's villages are the demo's showcase
    for _ in range(rng.randint(*CLAIMS_PER_VILLAGE) * busy if kinds else 0):
        kind = _weighted(rng, kinds)
        subject = rng.choice(by_kind[kind])
        pool = [i for i in applicable[kind] if not i.is_deduction] if rng.random() < 0.93 else \
            [i for i in applicable[kind] if i.is_deduction]
        item = rng.choice(pool or applicable[kind])
        day = today - timedelta(days=int(DAYS * rng.random() ** 0.8))
        points = _points(rng, item)
        key = (id(subject), item.code, _period(item, day))
        if item.cap_period != CapPeriod.NONE and (
                (item.cap_times and used[key][0] + 1 > item.cap_times)
                or (item.cap_points and used[key][1] + points > item.cap_points)):
            continue
        used[key][0] += 1
        used[key][1] += points
        plan.claims.append(_claim(rng, subject, item, points, day, code, staff, chosen, now, today))
    if story.get("subject") is not None and "claim" not in story:
        story["claim"] = _wu_claim(rng, story, items, code, staff, today, now)
        plan.claims.append(story["claim"])
    for _ in range(rng.randint(*ORDERS_PER_VILLAGE)):
        candidates = by_kind.get(SubjectKind.RESIDENT) or by_kind.get(SubjectKind.CADRE) or []
        if candidates:
            day = today - timedelta(days=int(DAYS * rng.random() ** 0.6))
            plan.orders.append({"subject": rng.choice(candidates), "village": code, "placed_at": _at(day, rng, now),
                                "quantity": 1 if rng.random() < 0.8 else 2, "roll": rng.random()})


def _claim(rng, subject: SubjectRow, item: Item, points: int, day: date, village: str, staff: Staff, chosen, now,
           today) -> dict:
    grid = subject.region_id
    entered_by = staff.workers.get(grid) or staff.admins.get(village)
    if subject.kind == SubjectKind.CADRE:
        entered_by = staff.admins.get(village) or entered_by
    source = _weighted(rng, SOURCES)
    reporter = ""
    if source == ClaimSource.NEIGHBOUR:
        others = [r["name"] for r in chosen if r["name"] != subject.name]
        reporter = rng.choice(others) if others else "邻居"
    created = _at(day + timedelta(days=rng.randint(0, 3)), rng, now)
    recent = (today - day).days < 10
    roll = rng.random()
    if recent and roll < 0.5:
        status = ClaimStatus.PENDING
    elif roll > 0.96:
        status = ClaimStatus.REJECTED
    else:
        status = ClaimStatus.POSTED
    collective = points > THRESHOLD
    text = DESCRIPTIONS.get(item.code, "{name}：" + item.description + "。").format(name=subject.name)
    return {
        "subject": subject, "item": item, "points": points, "occurred_on": day, "description": text,
        "public_reason": item.name, "channel": _weighted(rng, CHANNELS), "source": source, "reporter_name": reporter,
        "evidence": item.evidence_hint and f"已提供：{item.evidence_hint}", "status": status,
        "needs_collective": collective, "quorum": 3 if collective else 1, "entered_by": entered_by,
        "created_at": created, "cadres": staff.cadres.get(village, []), "notes": [],
    }


def _wu_claim(rng, story, items, village, staff: Staff, today, now) -> dict:
    item = next(i for i in items if i.code == "M02")  # 帮扶困难群众
    day = today - timedelta(days=21)  # inside the notice board's 30 days
    claim = {
        "subject": story["subject"], "item": item, "points": 500, "occurred_on": day,
        "description": WU_DESCRIPTION, "public_reason": WU_REASON, "channel": ClaimChannel.IN_PERSON,
        "source": ClaimSource.NEIGHBOUR, "reporter_name": story.get("yao_name", "姚宣立"),
        "evidence": "网格员走访记录；姚宣立家属书面证明；村委会调查核实", "status": ClaimStatus.POSTED,
        "needs_collective": True, "quorum": 3, "entered_by": staff.workers.get(story["subject"].region_id),
        "created_at": _at(day + timedelta(days=1), rng, now), "cadres": staff.cadres.get(village, [])[:3],
        "notes": ["事迹属实，同意奖励", "同意，建议在村民大会上表扬", "同意，号召全体村民向吴正宪学习"],
    }
    return claim


# --- writing ----------------------------------------------------------------------------------------
#
# Plain INSERTs through executemany with ids allocated here: building a model instance per row is
# most of bulk_create's cost, and the seed writes some 60,000 rows. PostgreSQL's sequences are moved
# past the ids used at the end (_reset_sequences).


class Ids:
    """Allocates primary keys above what each table already holds."""

    def __init__(self):
        self.next: dict[type, int] = {}

    def __call__(self, model) -> int:
        if model not in self.next:
            self.next[model] = (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        value = self.next[model]
        self.next[model] = value + 1
        return value


def _insert(model, fields: list[str], rows: list[tuple]) -> int:
    """INSERT … VALUES for `rows` (values in `fields` order; foreign keys as ids), in batches."""
    if not rows:
        return 0
    db = connections[DEFAULT_DB_ALIAS]
    opts = model._meta
    fs = [opts.get_field(name) for name in fields]
    qn = db.ops.quote_name
    sql = (f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(f.column) for f in fs)}) "
           f"VALUES ({', '.join(['%s'] * len(fs))})")
    # Dates and times need the backend's adaptation (SQLite stores text in UTC); the rest goes as is.
    adapt = [db.ops.adapt_datetimefield_value if isinstance(f, models.DateTimeField)
             else db.ops.adapt_datefield_value if isinstance(f, models.DateField)
             else (lambda v, f=f: f.get_db_prep_save(v, db)) if isinstance(f, models.JSONField) else None
             for f in fs]
    with db.cursor() as cursor:
        for i in range(0, len(rows), BATCH):
            cursor.executemany(sql, [[a(v) if a is not None and v is not None else v for a, v in zip(adapt, row,
                                                                                                  strict=True)]
                                     for row in rows[i:i + BATCH]])
    return len(rows)


def _reset_sequences(models_used) -> None:
    db = connections[DEFAULT_DB_ALIAS]
    statements = db.ops.sequence_reset_sql(no_style(), list(models_used))
    if statements:
        with db.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


@dataclass
class GoodsRow:
    pk: int
    shop_id: int
    shop_name: str
    region_id: str
    name: str
    cost: int
    stock: int


def _write_shops(rng, ids: Ids, villages, now) -> dict[str, list[GoodsRow]]:
    """A shop in every town and in the article's villages; region code → its goods."""
    towns = list(Region.objects.filter(level=2).order_by("code").values_list("code", "name"))
    names = dict(villages)
    opened = now - timedelta(days=DAYS + 30)
    shops = [(ids(Shop), code, f"{name}积分超市", f"{name}综治中心一楼", "周一至周五 9:00-17:00")
             for code, name in towns]
    shops += [(ids(Shop), code, f"{names[code]}积分超市", f"{names[code]}党群服务中心", "每周三、周六 9:00-11:30")
              for code in ARTICLE_SHOP_VILLAGES if code in names]
    _insert(Shop, ["id", "region", "name", "address", "opening_hours", "is_active", "created_at"],
            [(*row, True, opened) for row in shops])
    by_region: dict[str, list[GoodsRow]] = defaultdict(list)
    for shop_id, code, shop_name, _address, _hours in shops:
        picks = GOODS if len(code) == 9 else rng.sample(GOODS, 6)
        by_region[code] += [GoodsRow(ids(Goods), shop_id, shop_name, code, n, c, s) for n, _u, c, s in picks]
    units = {n: u for n, u, _c, _s in GOODS}
    _insert(Goods, ["id", "shop", "name", "unit", "cost", "stock", "is_active", "sort_order"],
            [(g.pk, g.shop_id, g.name, units[g.name], g.cost, g.stock, True, i)
             for goods in by_region.values() for i, g in enumerate(goods)])
    return by_region


def _write_subjects(ids: Ids, plan: Plan) -> None:
    opened = timezone.now() - timedelta(days=DAYS + 30)
    for s in plan.subjects:
        s.pk = ids(Subject)
    _insert(Subject, ["id", "kind", "region", "name", "resident", "household", "organisation", "user", "created_at"],
            [(s.pk, s.kind, s.region_id, s.name[:100], s.resident_id, s.household_id, s.organisation_id, s.user_id,
              opened) for s in plan.subjects])


def _decide(rng, c: dict, now: datetime) -> None:
    """The votes and the outcome of a planned claim, before it is written."""
    c["votes"], c["decided_at"], c["reject_reason"] = [], None, ""
    posted = c["status"] == ClaimStatus.POSTED
    if c["status"] == ClaimStatus.PENDING or not c["cadres"] or (posted and len(c["cadres"]) < c["quorum"]):
        c["status"] = ClaimStatus.PENDING
        return
    voters = c["cadres"][: c["quorum"]] if posted else [rng.choice(c["cadres"])]
    at = c["created_at"]
    for n, voter in enumerate(voters, 1):
        at = min(at + timedelta(hours=rng.randint(3, 40)), now - timedelta(minutes=1))
        if posted:
            reason = c["notes"][n - 1] if n <= len(c["notes"]) else ""
            c["votes"].append((voter, Vote.APPROVE, reason, at))
        else:
            reason = rng.choice(REJECT_REASONS)
            c["votes"].append((voter, Vote.REJECT, reason, at))
            c["reject_reason"] = reason
    c["decided_at"] = at


@dataclass
class Books:
    """The rows being written, in time order."""

    entries: list[tuple] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)
    movements: list[tuple] = field(default_factory=list)


ENTRY_FIELDS = ["id", "region", "subject", "kind", "delta", "score_delta", "item", "claim", "order", "reverses",
                "reference", "occurred_on", "actor", "posted_at", "idempotency_key"]


def _write_activity(rng, ids: Ids, plan: Plan, shops, staff: Staff, today, now) -> dict[str, int]:
    claims, votes, events, timeline = [], [], [], []
    for c in plan.claims:
        _decide(rng, c, now)
        c["pk"] = claim_id = ids(Claim)
        claims.append((claim_id, c["subject"].region_id, c["subject"].pk, c["item"].pk, c["points"], c["occurred_on"],
                       c["description"], c["public_reason"], c["channel"], c["source"], c["reporter_name"],
                       c["evidence"] or "", "", c["status"], c["needs_collective"], c["quorum"], c["entered_by"],
                       c["created_at"], c["decided_at"], c["reject_reason"], None))
        events.append((ids(ClaimEvent), claim_id, ClaimAction.SUBMIT, "", ClaimStatus.PENDING, c["entered_by"],
                       f"{ClaimSource(c['source']).label}·{ClaimChannel(c['channel']).label}", c["created_at"]))
        status = ClaimStatus.PENDING
        for n, (voter, decision, reason, at) in enumerate(c["votes"], 1):
            votes.append((ids(ClaimVote), claim_id, voter, decision, reason, at))
            before = status
            if decision == Vote.REJECT:
                status = ClaimStatus.REJECTED
                events.append((ids(ClaimEvent), claim_id, ClaimAction.REFUSE, before, status, voter, reason, at))
                continue
            status = ClaimStatus.COLLECTIVE if c["needs_collective"] else before
            note = f"同意（{n}/{c['quorum']}）" + (f"：{reason}" if reason else "")
            events.append((ids(ClaimEvent), claim_id, ClaimAction.APPROVE, before, status, voter, note, at))
        if c["status"] == ClaimStatus.POSTED:
            voter, at = c["votes"][-1][0], c["decided_at"]
            signed = -c["points"] if c["item"].is_deduction else c["points"]
            events.append((ids(ClaimEvent), claim_id, ClaimAction.POST, status, ClaimStatus.POSTED, voter,
                           f"{signed:+d} 分入账", at))
            timeline.append((at, 0, len(timeline), "claim", c, voter))
    _insert(Claim, ["id", "region", "subject", "item", "points", "occurred_on", "description", "public_reason",
                    "channel", "source", "reporter_name", "evidence", "evidence_file", "status", "needs_collective",
                    "quorum", "entered_by", "created_at", "decided_at", "reject_reason", "idempotency_key"], claims)
    _insert(ClaimVote, ["id", "claim", "member", "decision", "reason", "created_at"], votes)
    _insert(ClaimEvent, ["id", "claim", "action", "from_status", "to_status", "actor", "note", "created_at"], events)

    # Awards and orders in time order: an order goes through only if the points and the stock allow.
    for o in plan.orders:
        timeline.append((o["placed_at"], 1, len(timeline), "order", o, None))
    timeline.sort(key=lambda t: t[:3])
    books = Books()
    opened = now - timedelta(days=DAYS + 30)
    for goods in shops.values():
        books.movements += [(ids(StockMovement), g.pk, g.stock, StockReason.INITIAL, None, None, "", opened)
                            for g in goods]
    for at, _, _, what, obj, actor in timeline:
        if what == "claim":
            _post_claim(ids, obj, at, actor, books)
        else:
            _place_order(rng, ids, obj, at, shops, staff, now, books)
    _insert(Order, ["id", "region", "subject", "goods", "shop", "quantity", "unit_cost", "total_cost", "status",
                    "idempotency_key", "placed_by", "placed_at", "fulfilled_at", "fulfilled_by", "cancelled_at",
                    "cancelled_by", "cancel_reason"], books.orders)
    _insert(LedgerEntry, ENTRY_FIELDS, books.entries)
    _insert(StockMovement, ["id", "goods", "delta", "reason", "order", "actor", "note", "created_at"],
            books.movements)
    for goods in shops.values():
        for g in goods:
            Goods.objects.filter(pk=g.pk).update(stock=g.stock)
    _insert(Balance, ["subject", "earned", "spent", "spendable", "updated_at"],
            [(s.pk, s.earned, s.spent, s.spendable, now) for s in plan.subjects])
    return {"points_subjects": len(plan.subjects), "points_claims": len(claims), "points_entries": len(books.entries),
            "points_orders": len(books.orders), "points_shops": len({g.shop_id for gs in shops.values() for g in gs})}


def _post_claim(ids: Ids, c: dict, at: datetime, actor: int, books: Books) -> None:
    s: SubjectRow = c["subject"]
    item: Item = c["item"]
    if item.is_deduction:
        kind, score, delta = EntryKind.DEDUCTION, -c["points"], -min(c["points"], s.spendable)
    else:
        kind, score, delta = EntryKind.AWARD, c["points"], c["points"]
    s.earned += score
    s.spendable += delta
    reference = item.name if c["public_reason"] == item.name else f"{item.name}：{c['public_reason']}"
    books.entries.append((ids(LedgerEntry), s.region_id, s.pk, kind, delta, score, item.pk, c["pk"], None, None,
                          reference, c["occurred_on"], actor, at, f"claim:{c['pk']}"))
    household = s.household
    if s.kind == SubjectKind.RESIDENT and household is not None:
        household.earned += score
        books.entries.append((ids(LedgerEntry), household.region_id, household.pk, EntryKind.ROLLUP, 0, score, None,
                              c["pk"], None, None, f"{s.name}：{item.name}", c["occurred_on"], actor, at,
                              f"claim:{c['pk']}:rollup"))


def _place_order(rng, ids: Ids, o: dict, at: datetime, shops, staff: Staff, now, books: Books) -> None:
    s: SubjectRow = o["subject"]
    village = o["village"]
    qty = o["quantity"]
    goods = [g for g in shops.get(village, []) + shops.get(village[:9], [])
             if g.cost * qty <= s.spendable and g.stock >= qty]
    if not goods:
        return
    g = rng.choice(goods)
    cost = g.cost * qty
    clerk = staff.workers.get(s.region_id) or staff.admins.get(village)
    status = (OrderStatus.CANCELLED if o["roll"] > 0.95 else OrderStatus.PLACED if (now - at).days < 7
              else OrderStatus.FULFILLED)
    order_id = ids(Order)
    day = timezone.localdate(at)
    fulfilled_at = at + timedelta(minutes=rng.randint(2, 30)) if status == OrderStatus.FULFILLED else None
    s.spendable -= cost
    s.spent += cost
    g.stock -= qty
    books.entries.append((ids(LedgerEntry), s.region_id, s.pk, EntryKind.REDEMPTION, -cost, 0, None, None, order_id,
                          None, f"兑换 {g.name}×{qty}（{g.shop_name}）", day, clerk, at, f"order:{order_id}"))
    books.movements.append((ids(StockMovement), g.pk, -qty, StockReason.ORDER, order_id, clerk, "", at))
    cancelled_at, reason = None, ""
    if status == OrderStatus.CANCELLED:
        reason = "村民改换其他物品"
        cancelled_at = min(at + timedelta(hours=rng.randint(1, 48)), now - timedelta(minutes=1))
        books.entries.append((ids(LedgerEntry), s.region_id, s.pk, EntryKind.REDEMPTION_CANCEL, cost, 0, None, None,
                              order_id, None, f"撤销兑换 {g.name}×{qty}：{reason}", day, clerk, cancelled_at,
                              f"order:{order_id}:cancel"))
        books.movements.append((ids(StockMovement), g.pk, qty, StockReason.CANCEL, order_id, clerk, reason,
                                cancelled_at))
        s.spendable += cost
        s.spent -= cost
        g.stock += qty
    books.orders.append((order_id, s.region_id, s.pk, g.pk, g.shop_id, qty, g.cost, cost, status, None, clerk, at,
                         fulfilled_at, clerk if fulfilled_at else None, cancelled_at,
                         clerk if cancelled_at else None, reason))


def _certificate_for_wu(story, staff: Staff, now) -> None:
    """A certificate for 吴正宪 after the award, checkable at /points/verify/<code>."""
    s: SubjectRow = story["subject"]
    issuer = staff.admins.get(BAIJING)
    if issuer is None:
        return
    rng = random.Random(f"wu-{s.pk}")
    day = timezone.localdate(now) - timedelta(days=3)
    upto = LedgerEntry.objects.filter(subject_id=s.pk, occurred_on__lte=day)
    score = upto.exclude(kind__in=[EntryKind.REDEMPTION, EntryKind.REDEMPTION_CANCEL])
    earned = sum(score.values_list("score_delta", flat=True))
    year = sum(score.filter(occurred_on__year=day.year).values_list("score_delta", flat=True))
    spendable = sum(upto.values_list("delta", flat=True))
    Certificate.objects.create(
        region_id=s.region_id, subject_id=s.pk, subject_name=s.name,
        token="".join(rng.choice(ALPHABET) for _ in range(TOKEN_LENGTH)), purpose="promotion", earned=earned,
        spendable=spendable, year_earned=year, issued_on=day, issued_by_id=issuer,
        issued_at=timezone.make_aware(datetime.combine(day, time(10, 30))),
    )
