"""Care tags: those that follow from the household (the three left-behind groups, living alone,
advanced age), those drawn at rates by age and sex, and the household ones (低保, 低保边缘, 特困)."""

import random
from datetime import date, timedelta

from gridgov.regions import codes

from .. import names
from .base import FEMALE, MALE, GridInfo, HouseholdPlan, PersonPlan, TagPlan, Weighted, pick, years_before

DISABILITY_TYPES = Weighted({"视力": 12, "听力": 14, "言语": 2, "肢体": 46, "智力": 9, "精神": 9, "多重": 8})
DISABILITY_CODES = {"视力": 1, "听力": 2, "言语": 3, "肢体": 4, "智力": 5, "精神": 6, "多重": 7}
DISABILITY_GRADES = Weighted({"一级": 10, "二级": 20, "三级": 30, "四级": 40})
DIAGNOSES = Weighted({"精神分裂症": 60, "双相情感障碍": 12, "分裂情感性障碍": 8, "偏执性精神病": 5,
                     "癫痫所致精神障碍": 8,
             "精神发育迟滞伴发精神障碍": 7})
RISK_LEVELS = Weighted({0: 42, 1: 31, 2: 18, 3: 6, 4: 2, 5: 1})
ILLNESSES = ["胃癌", "肺癌", "肝癌", "食管癌", "乳腺癌", "结直肠癌", "尿毒症", "脑梗塞后遗症", "白血病", "重症肌无力",
             "冠心病", "慢性肾衰竭"]
ENTITLED_KINDS = Weighted({"在乡老复员军人": 30, "带病回乡退伍军人": 30, "残疾军人": 15, "烈士遗属": 10, "其他": 15})


def _since(rng: random.Random, today: date, earliest: date, mean_days: float = 900) -> date:
    """When the person was recognised as one of the group: mostly years ago, some this season."""
    back = min(int(rng.expovariate(1 / mean_days)) + 1, 4000)
    return max(today - timedelta(days=back), earliest, date(2014, 1, 1)) if earliest <= today else today


def _add(p: PersonPlan, code: str, attributes: dict, since: date) -> None:
    if p.tag(code) is None:
        p.tags.append(TagPlan(code, attributes, since))


def derived_tags(rng: random.Random, hh: HouseholdPlan, grid: GridInfo, today: date) -> None:
    """Tags that follow from the household: the three left-behind groups, alone, advanced age."""
    m = hh.members
    for p in m:
        if not p.home:
            continue
        parents = [q for q in m if q.gen == p.gen - 1 and q.age >= 18]
        if p.age < 16 and parents and all(not q.home for q in parents):
            guardian = m[p.guardian] if p.guardian is not None else None
            if guardian and guardian.gen <= p.gen - 2:
                kind = "祖父母"
            else:
                kind = "其他亲属" if guardian and guardian.home else "无人监护"
            attrs = {"guardian_kind": kind}
            if 6 <= p.age <= 11:
                school = "中心小学" if rng.random() < 0.6 else "第二小学"
                attrs["school"] = f"{names.short_town_name(grid.town)}{school}"
            elif 12 <= p.age <= 15:
                attrs["school"] = f"{names.short_town_name(grid.town)}初级中学"
            _add(p, "left_behind_child", attrs, _since(rng, today, p.birth + timedelta(days=200), 500))
        if p.gender == FEMALE and 20 <= p.age <= 59 and p.spouse is not None and not m[p.spouse].home:
            _add(p, "left_behind_woman", {"spouse_workplace": m[p.spouse].workplace},
                 _since(rng, today, p.birth + timedelta(days=365 * 20), 600))
        if p.age >= 60:
            children = [q for q in m if q.gen == p.gen + 1 and 18 <= q.age <= 60]
            away = sum(not q.home for q in children)
            if (children and away == len(children)) or (not children and hh.children_elsewhere_away):
                _add(p, "left_behind_elderly", {"children_away": away or hh.children_elsewhere},
                     _since(rng, today, p.birth + timedelta(days=365 * 60), 800))
            if len(m) == 1:
                care = rng.choices(["完全自理", "部分自理", "不能自理"], weights=[62, 30, 8])[0]
                _add(p, "living_alone_elderly", {"self_care": care},
                     _since(rng, today, p.birth + timedelta(days=365 * 60), 800))
        if p.age >= 80:
            eightieth = years_before(p.birth, -80)
            _add(p, "advanced_age", {"allowance": rng.random() < 0.95},
                 min(today, eightieth + timedelta(days=rng.randint(10, 60))))


def random_tags(rng: random.Random, hh: HouseholdPlan, today: date) -> None:
    """Tags drawn at rates by age and sex: disability, illness, mental disorder, 优抚, special groups."""
    for p in hh.members:
        adult = p.birth + timedelta(days=365 * 18)
        a = p.age
        disabled = 0.013 if a < 18 else 0.045 if a < 45 else 0.072 if a < 60 else 0.11 if a < 80 else 0.18
        if rng.random() < disabled:
            kind = pick(rng, DISABILITY_TYPES)
            grade = pick(rng, DISABILITY_GRADES)
            certificate = f"{p.id_number}{DISABILITY_CODES[kind]}{'一二三四'.index(grade[0]) + 1}"
            _add(p, "disabled", {"disability_type": kind, "grade": grade, "certificate": certificate},
                 _since(rng, today, p.birth + timedelta(days=400), 1500))
        if rng.random() < (0.002 if a < 40 else 0.012 if a < 60 else 0.022):
            illness = rng.choice(ILLNESSES)
            _add(p, "serious_illness", {"illness": illness, "in_hospital": rng.random() < 0.1},
                 _since(rng, today, adult, 500))
            p.health_note = illness
        if 18 <= a <= 75 and rng.random() < 0.0055:
            level = pick(rng, RISK_LEVELS)
            carers = [q.name for q in hh.members if q is not p and q.home and q.age >= 18]
            attrs = {"risk_level": level, "diagnosis": pick(rng, DIAGNOSES), "in_hospital": rng.random() < 0.08,
                     "reward_subsidy": level >= 3 and rng.random() < 0.6}
            if carers:
                attrs["guardian"] = carers[0]
            _add(p, "severe_mental_disorder", attrs, _since(rng, today, adult, 1200))
        if a >= 62 and rng.random() < (0.03 if p.gender == MALE else 0.006):
            _add(p, "entitled_group", {"kind": pick(rng, ENTITLED_KINDS) if p.gender == MALE else "烈士遗属"},
                 _since(rng, today, adult, 2500))
        if p.gender == MALE and 25 <= a <= 60 and rng.random() < 0.004:
            released = _since(rng, today, adult, 900)
            _add(p, "released_prisoner", {"released_on": released.isoformat()}, released)
        if 18 <= a <= 60 and rng.random() < 0.0012:
            start = _since(rng, today, adult, 300)
            until = start + timedelta(days=rng.choice([365, 540, 730]))
            _add(p, "community_correction", {"until": until.isoformat()}, start)
        if 20 <= a <= 55 and rng.random() < (0.003 if p.gender == MALE else 0.0006):
            _add(p, "drug_user", {"status": rng.choice(["社区戒毒", "社区康复", "戒断三年未复吸"])},
                 _since(rng, today, adult, 900))
        if 14 <= a <= 25 and rng.random() < 0.01:
            _add(p, "key_youth", {"kind": rng.choice(["闲散青少年", "不良行为", "服刑人员未成年子女"])},
                 _since(rng, today, p.birth + timedelta(days=365 * 14), 400))
        if 18 <= a <= 60 and rng.random() < 0.0004:
            _add(p, "aids_risk", {}, _since(rng, today, adult, 900))


def _hardship(hh: HouseholdPlan) -> float:
    """How likely a household is to live on 低保: illness, disability, old age alone, no earner."""
    if hh.floating or hh.article:
        return 0.0
    m = hh.members
    w = 1.0
    for p in m:
        grade = (p.tag("disabled") or TagPlan("", {}, date.min)).attributes.get("grade")
        w += 3.0 * (grade in ("一级", "二级")) + 1.0 * (grade in ("三级", "四级"))
        w += 2.5 * bool(p.tag("serious_illness")) + 2.5 * bool(p.tag("severe_mental_disorder"))
    if len(m) == 1 and m[0].age >= 60:
        w += 2.0
    if all(p.age >= 60 or p.age < 18 for p in m):
        w += 1.5
    if any(not p.home for p in m):
        w *= 0.25
    return w


def household_tags(rng: random.Random, plan: list[HouseholdPlan], today: date, shares: dict[str, float]) -> None:
    """低保, 低保边缘 and 特困: whole households (their members at home), weighted by hardship,
    drawn without replacement until each group reaches its share of the residents."""
    total = sum(len(hh.members) for hh in plan)
    weights = [_hardship(hh) for hh in plan]
    keys = sorted(((rng.random() ** (1 / w), i) for i, w in enumerate(weights) if w > 0), reverse=True)
    order = [plan[i] for _k, i in keys]
    taken: set[int] = set()
    # 特困: people alone with no one to support them (no children), first.
    for hh in plan:
        p = hh.members[0]
        if (not hh.article and len(hh.members) == 1 and p.home and p.age >= 60 and hh.children_elsewhere == 0
                and not hh.floating):
            if rng.random() < 0.6:
                _add(p, "extreme_poverty", {"care_mode": "集中供养" if rng.random() < 0.1 else "分散供养"},
                     _since(rng, today, p.birth + timedelta(days=365 * 60), 1500))
                taken.add(id(hh))
    for code, share in (("dibao", shares["dibao"]), ("dibao_marginal", shares["dibao_marginal"])):
        count = 0
        for hh in order:
            if count >= share * total:
                break
            if id(hh) in taken:
                continue
            taken.add(id(hh))
            since = _since(rng, today, date(2015, 1, 1), 1000)
            for p in hh.members:
                if not p.home:
                    continue
                joined = max(since, p.birth)  # a baby born since is added to the household's 低保
                if code == "dibao":
                    amount = rng.randrange(300, 500, 10) if not codes.is_urban(hh.grid) else rng.randrange(450, 640, 10)
                    _add(p, code, {"monthly_amount": amount, "since": joined.isoformat()}, joined)
                else:
                    _add(p, code, {}, joined)
                count += 1
