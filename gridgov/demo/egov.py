"""Demo 政务网上办: the article's two stories and some months of applications across villages.

The catalogue itself (93 items, 3 categories) is seeded by the egov migration. This module needs
the demo population (demo/people.py): it finds the article's residents by name and village, and
if they are not there it writes nothing and says so.

- 石牌镇钟堰村 王必俊: stomach cancer, twice in hospital; in March the village's administrator
  applies for 临时救助 on the platform; 民政局 verifies and pays 3,000 yuan.
- 胡集镇湖山村 李春艳: in hospital with a mental disorder (risk level 3); her family did not know
  of 以奖代补. 政策找人 finds her, the grid worker applies (turning the need he recorded on a visit
  into the application), and the family receives 200 yuan a month.
- Some 90 applications over the last five months in 30 villages, in every state: pending,
  under review, returned for missing materials, overdue, approved and paid, refused, closed.

Every step goes through the egov services (timeline, notifications, audit, money rules); only the
scans are bulk-written, all pointing at one sample file, so the demo writes no file per application.
"""

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gridgov.accounts.models import User
from gridgov.core import workcal
from gridgov.core.errors import ApplicationError
from gridgov.egov import services
from gridgov.egov.models import Application, ApplicationMaterial, MaterialStorage, ServiceItem
from gridgov.people.models import CareTag, Resident

SAMPLE_NAME = "demo/sample-scan.pdf"
SAMPLE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
              b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
              b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
ZHONGYAN = "420881108201"
HUSHAN = "420881103201"
BACKGROUND = 90
BACKGROUND_VILLAGES = 30
BACKGROUND_DAYS = 150
ACCOUNT = "62179952{:011d}"


def _at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


_USERS: dict[str, User] = {}


def _user(username: str) -> User:
    """Demo users by name, kept for the run (each keeps its computed scope)."""
    if username not in _USERS:
        _USERS[username] = User.objects.get(username=username)
    return _USERS[username]


def _sample_file() -> str:
    storage = MaterialStorage()
    if not storage.exists(SAMPLE_NAME):
        storage.save(SAMPLE_NAME, ContentFile(SAMPLE_PDF))
    return SAMPLE_NAME


def _attach(app: Application, agent: User, when: datetime, codes: list[str] | None = None) -> None:
    """The scans a village keeps on file, as rows pointing at the sample file (bulk, no file each)."""
    item = ServiceItem.objects.get(pk=app.item_id)
    wanted = codes or [m["code"] for m in item.required_materials]
    ApplicationMaterial.objects.bulk_create([
        ApplicationMaterial(application=app, material_code=code, file=_sample_file(), original_name=f"{code}.pdf",
                            content_type="application/pdf", size=len(SAMPLE_PDF), sha256="demo",
                            uploaded_by=agent, uploaded_at=when)
        for code in wanted
    ])


def _department_users(code: str, town: str) -> tuple[User, User]:
    """Staff and head handling an item of `code` in `town` (a 派出所 for 公安局's items)."""
    if code == "GAJ":
        code = f"GAJ-{town}"
    return _user(f"{code.lower()}-staff"), _user(f"{code.lower()}-head")


def _workday(day: date) -> date:
    return day if workcal.is_workday(day) else workcal.next_workday(day)


# --- the stories ---------------------------------------------------------------------------------------------

def story_wang_bijun(today: date) -> Application | None:
    wang = Resident.objects.filter(name="王必俊", region__code__startswith=ZHONGYAN).first()
    if wang is None:
        return None
    year = today.year if today >= date(today.year, 4, 15) else today.year - 1
    admin, town = _user(f"ga{ZHONGYAN}"), _user(f"to{ZHONGYAN[:9]}-1")
    staff, head = _department_users("MZJ", ZHONGYAN[:9])
    day = _workday(date(year, 3, 9))
    app = services.application_create(
        acting_user=admin, item_code="SB001", applicant_id=wang.pk, at=_at(day, 9, 20),
        answers={"reason": "因病", "family_size": 2, "monthly_income": "600", "requested_amount": "3000",
                 "situation": "胃癌，先后两次住院治疗，夫妻务农，医药费负担重，基本生活出现严重困难"},
        payee_name="王必俊", payee_account=ACCOUNT.format(108201001))
    _attach(app, admin, _at(day, 9, 40), ["id_card", "hukou", "application", "bank", "medical", "hospital_bill"])
    services.application_accept(acting_user=admin, application_id=app.pk, at=_at(day, 10), note="材料齐全，村级受理")
    day = workcal.next_workday(day)
    services.application_town_pass(acting_user=town, application_id=app.pk, at=_at(day, 15),
                                   note="情况属实，同意上报民政局")
    day = workcal.add_working_days(day, 2)
    services.application_verify(acting_user=staff, application_id=app.pk, at=_at(day, 16),
                                note="入户调查：胃癌术后，两次住院自付费用较高，家庭收入低，符合临时救助条件",
                                proposed_amount_fen=300000)
    day = workcal.next_workday(day)
    services.application_approve(acting_user=head, application_id=app.pk, amount_fen=300000, at=_at(day, 10),
                                 note="同意给予临时救助 3000 元")
    payment = Application.objects.get(pk=app.pk).payments.get()
    day = workcal.add_working_days(day, 2)
    services.payment_record(acting_user=staff, payment_id=payment.pk, reference=f"MZLSJZ{day:%Y%m%d}0001",
                            paid_on=day, at=_at(day, 11))
    return services.application_complete(acting_user=staff, application_id=app.pk, at=_at(day, 11, 30),
                                         note="救助金已拨付")


def story_li_chunyan(today: date) -> Application | None:
    li = Resident.objects.filter(name="李春艳", region__code__startswith=HUSHAN).first()
    if li is None:
        return None
    grid = li.region_id
    worker, admin = _user(f"gw{grid}"), _user(f"ga{HUSHAN}")
    town = _user(f"to{HUSHAN[:9]}-1")
    staff, head = _department_users("MZJ", HUSHAN[:9])
    services.eligibility_scan_grid(grid_code=grid)
    guardian = li.household.head if li.household_id and li.household.head_id else None
    from gridgov.visits.models import Need

    need = Need.objects.filter(visit__resident=li, status="recorded", text__contains="以奖代补").order_by("id").first()
    day = _workday(today - timedelta(days=170))
    app = services.application_create(
        acting_user=worker, item_code="SB006", applicant_id=li.pk, found_by_match=True,
        need_id=need.pk if need else None, at=_at(day, 9),
        answers={"guardian_name": guardian.name if guardian else "周国平", "guardian_relation": "配偶",
                 "risk_level": 3},
        payee_name=guardian.name if guardian else "周国平", payee_account=ACCOUNT.format(103201001))
    _attach(app, worker, _at(day, 9, 30), ["id_card", "hukou", "guardian", "medical", "bank", "assessment"])
    day = workcal.next_workday(day)
    services.application_accept(acting_user=admin, application_id=app.pk, at=_at(day, 9, 30),
                                note="网格员代办，材料齐全")
    day = workcal.next_workday(day)
    services.application_town_pass(acting_user=town, application_id=app.pk, at=_at(day, 14),
                                   note="经镇综治中心核对，危险性评估三级，监护人落实看护责任")
    day = workcal.add_working_days(day, 3)
    services.application_verify(acting_user=staff, application_id=app.pk, at=_at(day, 10),
                                note="核实：患者住院治疗，监护人履责，符合以奖代补条件", proposed_amount_fen=20000)
    day = workcal.next_workday(day)
    app = services.application_approve(acting_user=head, application_id=app.pk, at=_at(day, 15),
                                       note="同意，每月 200 元")
    services.application_complete(acting_user=staff, application_id=app.pk, at=_at(day, 16))
    for payment in app.payments.filter(due_on__lte=today).order_by("due_on"):
        services.payment_record(acting_user=staff, payment_id=payment.pk, paid_on=payment.due_on,
                                reference=f"MZYJDB{payment.period.replace('-', '')}{li.pk:06d}",
                                at=_at(payment.due_on, 10))
    return app


# --- months of applications ----------------------------------------------------------------------------------

def _answers(code: str, person: Resident, rng: random.Random) -> dict:
    match code:
        case "GG001":
            return {"purpose": rng.choice(["亲属关系证明", "户口迁出注销证明", "曾用名证明"])}
        case "SB017":
            return {"category": rng.choice(["一般居民", "一般居民", "在校学生", "新生儿"])}
        case "GG009":
            return {"child_order": rng.choice(["一孩", "二孩", "三孩"])}
        case "SB001":
            return {"reason": rng.choice(["因病", "因灾", "因意外事故"]), "family_size": rng.randint(1, 6),
                    "monthly_income": str(rng.randrange(300, 1800, 50)),
                    "situation": rng.choice(["突发重病住院，自付医疗费用高", "房屋失火，生活用品损毁",
                                             "家庭主要劳动力意外受伤"])}
        case "SB002":
            return {"family_size": rng.randint(1, 5), "monthly_income": str(rng.randrange(200, 900, 50)),
                    "situation": "家庭成员年老多病，无稳定收入"}
        case "XZ001":
            return {"kind": rng.choice(["新建", "原址翻建", "改建扩建"]), "floor_area": rng.randrange(90, 260, 10),
                    "floors": rng.choice([1, 2, 2, 3])}
        case "GG013":
            return {"package": rng.choice(["基础包", "老年人服务包", "慢病服务包"])}
        case "SB013":
            return {"grade": rng.choice(["200", "300", "500", "1000"])}
        case "SB005":
            return {"subsidy": rng.choice(["困难残疾人生活补贴", "重度残疾人护理补贴", "两项均申请"])}
    return {}


def _candidates(villages: list[str], today: date) -> dict[str, list[Resident]]:
    """Residents of the villages suited to each item (by age, gender, care tags), without decrypting."""
    where = Q()
    for village in villages:
        where |= Q(region__code__startswith=village)
    people = list(Resident.objects.filter(where, state="active")
                  .only("id", "name", "gender", "birth_date", "region_id").order_by("id"))
    tags: dict[int, set[str]] = {}
    for resident_id, code in CareTag.objects.filter(resident__in=[p.pk for p in people], ended_on__isnull=True) \
            .values_list("resident_id", "tag_type__code"):
        tags.setdefault(resident_id, set()).add(code)

    def age(p):
        return (today - p.birth_date).days // 365 if p.birth_date else 0

    return {
        "GG001": [p for p in people if age(p) >= 18],
        "SB017": list(people),
        "GG009": [p for p in people if p.gender == "female" and 22 <= age(p) <= 40],
        "SB007": [p for p in people if age(p) >= 80],
        "SB001": [p for p in people if tags.get(p.pk, set()) & {"serious_illness", "dibao", "dibao_marginal"}],
        "SB002": [p for p in people if "dibao_marginal" in tags.get(p.pk, set())],
        "XZ001": [p for p in people if 30 <= age(p) <= 65],
        "GG013": [p for p in people if age(p) >= 65],
        "SB013": [p for p in people if 18 <= age(p) <= 59],
        "SB005": [p for p in people if "disabled" in tags.get(p.pk, set())],
    }


WEIGHTS = {"GG001": 16, "SB017": 14, "GG009": 6, "SB007": 12, "SB001": 10, "SB002": 8, "XZ001": 8, "GG013": 10,
           "SB013": 8, "SB005": 8}


def _background(rng: random.Random, today: date, villages: list[str]) -> int:
    pools = _candidates(villages, today)
    items = {i.code: i for i in ServiceItem.objects.filter(code__in=WEIGHTS)}
    codes = [c for c in WEIGHTS if pools.get(c)]
    made, used = 0, set()
    for _ in range(BACKGROUND * 3):
        if made >= BACKGROUND or not codes:
            break
        code = rng.choices(codes, weights=[WEIGHTS[c] for c in codes])[0]
        person = rng.choice(pools[code])
        if (code, person.pk) in used:
            continue
        used.add((code, person.pk))
        try:
            with transaction.atomic():
                _one(rng, today, items[code], person)
        except ApplicationError:
            continue
        made += 1
    return made


def _one(rng: random.Random, today: date, item: ServiceItem, person: Resident) -> None:
    """One application carried as far as its age allows: most close within the time limit, some
    stall past it, some are returned once for a missing scan, some are refused."""
    grid, village, town = person.region_id, person.region_id[:12], person.region_id[:9]
    agent = _user(f"gw{grid}") if rng.random() < 0.35 else _user(f"ga{village}")
    admin, town_op = _user(f"ga{village}"), _user(f"to{town}-{rng.randint(1, 2)}")
    staff, head = _department_users(item.department_code, town)
    now = timezone.now()
    start = _workday(today - timedelta(days=int(BACKGROUND_DAYS * rng.random() ** 1.8)))
    if start > today:
        start = today
    cursor = _at(start, rng.randint(8, 10), rng.randint(0, 59))
    if cursor > now:
        cursor = now - timedelta(minutes=30)
    account = ACCOUNT.format(rng.randrange(10**9, 10**10)) if item.pays_money else ""
    app = services.application_create(acting_user=agent, item_code=item.code, applicant_id=person.pk,
                                      answers=_answers(item.code, person, rng), payee_account=account, at=cursor)
    steps = ["accept", *(["town_pass"] if item.needs_town_review else []), "verify", "decide", "pay", "complete"]
    # Working days each step waits: the whole within the promise, or well past it for a stalled one.
    total = rng.randint(0, item.promised_days) if rng.random() > 0.12 else \
        int(item.promised_days * rng.uniform(1.3, 2.5)) + 1
    gaps = [0] * len(steps)
    for _ in range(total):
        gaps[rng.randrange(1, len(steps))] += 1
    gaps[0] = 0 if rng.random() < 0.7 else 1
    returned = rng.random() < 0.2

    def advance(gap: int) -> datetime | None:
        nonlocal cursor
        if gap:
            day = workcal.add_working_days(cursor.date(), gap)
            cursor = max(cursor + timedelta(minutes=5), _at(day, rng.randint(9, 16), rng.randint(0, 59)))
        else:
            cursor = cursor + timedelta(minutes=rng.randint(20, 90))
        return cursor if cursor <= now else None

    _attach(app, agent, cursor + timedelta(minutes=5))
    cursor += timedelta(minutes=5)
    for step, gap in zip(steps, gaps, strict=True):
        when = advance(gap)
        if when is None:
            return
        if returned and step in ("town_pass", "verify"):
            returned = False
            missing = rng.choice([m["code"] for m in item.materials])
            services.application_return(acting_user=town_op if step == "town_pass" else staff,
                                        application_id=app.pk, missing_materials=[missing],
                                        reason="复印件不清晰，请重新扫描上传", at=when)
            when = advance(rng.randint(1, 4))
            if when is None:
                return
            _attach(app, agent, when, [missing])
            services.application_resubmit(acting_user=agent, application_id=app.pk, at=when + timedelta(minutes=5))
            when = advance(0)
            if when is None:
                return
        if step == "accept":
            services.application_accept(acting_user=admin, application_id=app.pk, at=when)
        elif step == "town_pass":
            services.application_town_pass(acting_user=town_op, application_id=app.pk, at=when, note="同意")
        elif step == "verify":
            services.application_verify(acting_user=staff, application_id=app.pk, at=when, note="经核实，情况属实")
        elif step == "decide":
            if rng.random() < 0.12:
                services.application_refuse(acting_user=head, application_id=app.pk, at=when,
                                            reason="经核实，家庭收入高于政策标准，不符合条件")
                when = advance(rng.randint(0, 1))
                if when is not None:
                    services.application_complete(acting_user=staff, application_id=app.pk, at=when)
                return
            amount = None
            if item.pays_money and not item.standard_amount_fen:
                amount = rng.choice([80000, 100000, 150000, 200000, 300000]) if item.code == "SB001" else \
                    rng.choice([38000, 42000, 46000])
            services.application_approve(acting_user=head, application_id=app.pk, amount_fen=amount, at=when)
        elif step == "pay":
            for payment in Application.objects.get(pk=app.pk).payments.filter(
                    Q(period="once") | Q(due_on__lte=when.date())):
                services.payment_record(acting_user=staff, payment_id=payment.pk, at=when,
                                        paid_on=when.date() if payment.period == "once" else payment.due_on,
                                        reference=f"DEMO{app.pk:07d}{payment.period.replace('-', '')}")
            if item.benefit_kind == "one_off":
                if Application.objects.get(pk=app.pk).payments.filter(status="scheduled").exists():
                    return
        elif step == "complete":
            services.application_complete(acting_user=staff, application_id=app.pk, at=when)


def seed_egov(*, seed: int = 2013, progress: Callable[[str], None] = lambda s: None,
              today: date | None = None) -> dict[str, int]:
    """Writes the stories and the background applications (call inside the demo's transaction).
    Returns the counts; writes nothing when the demo population is missing."""
    today = today or timezone.localdate()
    _USERS.clear()
    if not Resident.objects.filter(name__in=["王必俊", "李春艳"]).exists():
        progress("政务网上办演示：未找到演示人口（王必俊、李春艳），跳过；请先生成演示人口。")
        return {"egov_applications": 0}
    wang = story_wang_bijun(today)
    li = story_li_chunyan(today)
    rng = random.Random(seed)
    grids = Resident.objects.order_by().values_list("region_id", flat=True).distinct()
    villages = sorted({code[:12] for code in grids if len(code) == 15 and 200 <= int(code[9:12]) <= 399})
    picked = sorted(set(rng.sample(villages, min(BACKGROUND_VILLAGES, len(villages)))) | {HUSHAN, ZHONGYAN})
    made = _background(rng, today, picked)
    for village in (HUSHAN, ZHONGYAN):
        for grid in sorted({g for g in Resident.objects.filter(region__code__startswith=village)
                            .values_list("region_id", flat=True)}):
            services.eligibility_scan_grid(grid_code=grid, today=today)
    total = Application.objects.count()
    progress(f"政务网上办演示：王必俊临时救助{'已办结' if wang else '（未找到此人）'}，"
             f"李春艳以奖代补{'按月发放中' if li else '（未找到此人）'}，另有 {made} 件申请，合计 {total} 件")
    return {"egov_applications": total}
