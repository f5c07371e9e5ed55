"""Some months of visits: each grid's worker to its tagged residents, roughly at the required
frequencies, with the gaps of real work (docs/demo.md)."""

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import numpy as np
import shapely
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from gridgov.people.models import CareTagType
from gridgov.visits import geo as visit_geo
from gridgov.visits.choices import Crs, LocationCheck, NeedKind
from gridgov.visits.models import Need, Visit

from .base import BATCH, HISTORY_TOWNS, HOSPITAL_GRID, GridInfo, PopulationPlan
from .writing import insert_rows, tag_types

FINDINGS = {
    "left_behind_child": ["孩子在校表现正常，祖辈照看到位", "提醒监护人注意防溺水、防交通事故",
                          "孩子每周与在外父母视频通话",
                          "作业完成情况良好，饮食正常", "孩子感冒已好转，叮嘱按时吃药"],
    "left_behind_woman": ["家中生产生活正常", "农忙缺劳力，已联系互助组帮忙", "身体状况良好，家庭和睦"],
    "left_behind_elderly": ["身体状况良好，生活能自理", "检查用火用电安全，无隐患", "子女每周电话联系",
                            "提醒按时服用降压药", "帮助老人缴纳电费"],
    "living_alone_elderly": ["老人精神状态良好，饮食正常", "已更新紧急联系人电话", "检查燃气灶具，无隐患",
                             "天气转凉，提醒添衣保暖", "帮助老人购买生活用品"],
    "advanced_age": ["高龄津贴按月到账", "身体硬朗，家人照护到位", "行动不便，子女轮流照顾"],
    "disabled": ["两项补贴已到账", "康复训练正常", "生活照料到位", "咨询辅具适配，已告知残联政策"],
    "serious_illness": ["病情稳定，按时复查", "住院治疗中，家属陪护", "医疗费用负担重，已告知大病救助政策",
                        "出院后恢复情况良好"],
    "severe_mental_disorder": ["按时服药，病情稳定", "监护人履责到位", "情绪稳定，无肇事肇祸倾向",
                               "患者住院治疗中，走访家属了解情况", "提醒家属按时领药"],
    "dibao": ["家庭收入无明显变化", "保障金按时到账", "家庭成员情况无变化，符合保障条件"],
    "dibao_marginal": ["家庭收入无明显变化", "了解家庭收支，暂不符合低保条件", "已告知临时救助申请渠道"],
    "extreme_poverty": ["供养金按时发放", "居住安全，无隐患", "照料服务到位"],
    "entitled_group": ["优抚金按时发放", "身体状况良好"],
    "released_prisoner": ["就业稳定，思想动态正常", "在村内务工，表现良好"],
    "community_correction": ["按时报到，未离开活动范围", "思想稳定，家庭支持"],
    "drug_user": ["按时尿检报到，结果阴性", "就业帮扶已落实", "家庭监督到位"],
    "aids_risk": ["按时随访治疗", "生活无明显困难"],
    "key_youth": ["在镇上务工，表现正常", "已联系团委开展帮扶", "监护人管教到位"],
}
NEEDS = [
    (NeedKind.SERVICE, "代办高龄津贴资格认证"), (NeedKind.SERVICE, "咨询城乡居民医保缴费，代为办理"),
    (NeedKind.SERVICE, "申请临时救助"), (NeedKind.CASE, "屋后电线老化，存在安全隐患"),
    (NeedKind.CASE, "门前道路积水，需要疏通排水沟"), (NeedKind.OTHER, "希望安排家庭医生上门体检"),
]
HOURS = [8, 9, 9, 10, 10, 10, 11, 11, 14, 15, 15, 16, 16, 17]


@dataclass
class VisitTarget:
    resident: int
    household: int
    lon: float
    lat: float
    frequency: int
    start: date
    items: tuple[tuple[str, str, int], ...]  # the checklist: (item, tag code, sensitivity)
    lead: str  # the tag whose findings the visit writes down
    in_hospital: bool


VISIT_FIELDS = ["region", "resident", "worker", "visited_at", "visit_date", "lon", "lat", "accuracy_m", "crs",
                "location_check", "distance_to_grid_m", "photo", "findings", "checklist", "client_id", "created_at"]


def _targets(plan: PopulationPlan, types: dict[str, CareTagType]) -> dict[str, list[VisitTarget]]:
    """Everyone tagged, by grid, with what a visit to them checks (tags in catalogue order)."""
    out: dict[str, list[VisitTarget]] = {}
    for hh in plan.households:
        for p in hh.members:
            if not p.tags:
                continue
            tags = sorted(((types[t.code], t.attributes) for t in p.tags), key=lambda x: (x[0].sort_order, x[0].code))
            items, seen = [], set()
            for tt, _a in tags:
                for item in tt.checklist or []:
                    if item not in seen:
                        seen.add(item)
                        items.append((item, tt.code, tt.sensitivity))
            out.setdefault(hh.grid, []).append(VisitTarget(
                resident=p.pk, household=hh.pk, lon=hh.lon, lat=hh.lat,
                frequency=min(tt.frequency_for(a) for tt, a in tags), start=min(t.since for t in p.tags),
                items=tuple(items), lead=tags[0][0].code, in_hospital=any(a.get("in_hospital") for _, a in tags)))
    return out


def _schedule(rng: random.Random, frequency: int, start: date, first: date, today: date,
              diligence: float) -> list[date]:
    """The days a worker of this diligence visits someone due every `frequency` days."""
    begin = max(start, first)
    days: list[date] = []
    if frequency == 1:
        for n in range((today - begin).days + 1):
            d = begin + timedelta(days=n)
            if rng.random() < diligence * (0.7 if d.weekday() == 6 else 1.0):
                days.append(d)
    else:
        d = begin + timedelta(days=rng.randrange(frequency) if start < first else rng.randint(0, 1))
        while d <= today:
            days.append(d)
            if rng.random() < diligence:
                delay = frequency - rng.randint(0, max(1, frequency // 4))
            else:
                delay = frequency + rng.randint(1, max(2, frequency // 2))
            d += timedelta(days=max(1, delay))
    if days and rng.random() < (1 - diligence) * 0.4:  # lost track of this person lately: overdue today
        cut = today - timedelta(days=rng.randint(frequency + 1, frequency + 12))
        kept = [x for x in days if x <= cut]
        if not kept and start < first <= cut:  # but not since before the window: once, early on
            kept = [first + timedelta(days=rng.randrange((cut - first).days + 1))]
        days = kept
    return days


def plan_visits(plan: PopulationPlan, workers: dict[str, int], grids: dict[str, GridInfo], *, days: int,
                now: datetime) -> Iterator[tuple[str, list[list], list[tuple[str, str] | None]]]:
    """Per grid: the visits of its worker to its tagged residents over the last `days` days up to
    `now` (rows in VISIT_FIELDS order), and the need each visit raised, if any.

    Residents of one household due at the same frequency are visited together. A diligent worker
    keeps to the frequencies; a lax one misses days and lets a few people fall overdue. Positions
    are the house's, with a phone's jitter; a patient in hospital is sometimes visited there, and
    that visit is flagged as outside the grid, as the visit service would flag it.
    """
    # Everything the database has to say is asked now: the rows are consumed inside a COPY on
    # PostgreSQL, when the connection cannot run another query.
    targets = _targets(plan, tag_types())
    return _grid_visits(plan, targets, workers, grids, days=days, now=now)


def _grid_visits(plan: PopulationPlan, targets_by_grid: dict[str, list[VisitTarget]], workers: dict[str, int],
                 grids: dict[str, GridInfo], *, days: int, now: datetime):
    tz = timezone.get_current_timezone()
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    hospital = grids.get(HOSPITAL_GRID)
    hospital_at = hospital.geom.representative_point() if hospital else None
    for code, targets in sorted(targets_by_grid.items()):
        worker = workers.get(code)
        if worker is None:
            continue
        rng = random.Random(f"{plan.seed}:visits:{code}")
        diligence = 0.45 if rng.random() < 0.06 else min(0.98, rng.betavariate(9, 2))
        groups: dict[tuple[int, int], list[VisitTarget]] = {}
        for t in targets:
            groups.setdefault((t.household, t.frequency), []).append(t)
        rows: list[list] = []
        needs: list[tuple[str, str] | None] = []
        history = code[:9] in HISTORY_TOWNS
        for (_hh, frequency), members in groups.items():
            start = min(t.start for t in members)
            schedule = _schedule(rng, frequency, start, first, today, diligence)
            for day in schedule if history else schedule[-2:]:  # the latest, and one before in case
                at = datetime.combine(day, time(rng.choice(HOURS), rng.randrange(60)), tzinfo=tz)
                for k, t in enumerate(members):
                    visited_at = at + timedelta(minutes=3 * k, seconds=rng.randrange(60))
                    if t.start > day or visited_at > now:
                        continue
                    rows.append(_visit_row(rng, t, code, worker, day, visited_at, hospital_at, now))
                    need = rng.choice(NEEDS) if rng.random() < 0.004 else None
                    if need:
                        rows[-1][14] = uuid.UUID(int=rng.getrandbits(128), version=4)
                    needs.append(need)
        _check_locations(rows, grids[code].geom)
        yield code, rows, needs


def _visit_row(rng: random.Random, t: VisitTarget, grid: str, worker: int, day: date, visited_at: datetime,
               hospital_at, now: datetime) -> list:
    findings = rng.choice(FINDINGS.get(t.lead, ["情况正常"]))
    checklist = _checklist(t.items, tuple(rng.random() < 0.92 for _ in t.items))
    lon = lat = accuracy = None
    r = rng.random()
    if t.in_hospital and hospital_at is not None and r < 0.3:
        lon = round(hospital_at.x + rng.gauss(0, 0.0002), 6)
        lat = round(hospital_at.y + rng.gauss(0, 0.0002), 6)
        accuracy = round(rng.uniform(8, 40), 1)
        findings = "到医院探视，患者住院治疗中，病情平稳"
    elif r < 0.96:  # the rest: no fix (indoors, GPS off)
        metres = visit_geo.M_PER_DEG
        lon = round(t.lon + max(-30.0, min(30.0, rng.gauss(0, 12))) / (metres * math.cos(math.radians(t.lat))), 6)
        lat = round(t.lat + max(-30.0, min(30.0, rng.gauss(0, 12))) / metres, 6)
        accuracy = round(rng.uniform(4, 35), 1)
    entered = min(now, visited_at + timedelta(minutes=rng.randint(1, 25)))
    check = LocationCheck.NO_GPS.value if lon is None else ""
    return [grid, t.resident, worker, visited_at, day, lon, lat, accuracy, Crs.WGS84.value, check, None, "", findings,
            checklist, None, entered]


@lru_cache(maxsize=4096)
def _checklist(items: tuple, ticked: tuple) -> object:
    """The checklist column's database value: [{"item", "checked", "tag", "sensitivity"}, …].

    Prepared once per combination (a few hundred in the county) instead of encoded per visit.
    """
    value = [{"item": item, "checked": checked, "tag": tag, "sensitivity": sensitivity}
             for (item, tag, sensitivity), checked in zip(items, ticked, strict=True)]
    return Visit._meta.get_field("checklist").get_db_prep_save(value, connections[DEFAULT_DB_ALIAS])


def _check_locations(rows: list[list], geom) -> None:
    """The visit service's check: distance to the grid (0 inside), within 200 m + accuracy is ok."""
    located = [r for r in rows if r[5] is not None]
    if not located:
        return
    inside = shapely.contains_xy(geom, np.array([r[5] for r in located]), np.array([r[6] for r in located]))
    for r, ok in zip(located, inside, strict=True):
        distance = 0.0 if ok else round(visit_geo.distance_to_polygon_m(geom, r[5], r[6]), 1)
        r[10] = distance
        r[9] = (LocationCheck.OK if distance <= 200.0 + min(r[7], 500.0) else LocationCheck.OUTSIDE_GRID).value


def write_visits(visits: Iterator[tuple[str, list[list], list]], extra_needs: dict[int, tuple[str, str]]
                 ) -> dict[str, int]:
    """Visits with executemany, then their needs (found again by the visit's client_id).

    `extra_needs` are needs raised on the latest visit to a resident (the article's stories).
    """
    needed: dict[uuid.UUID, tuple[str, str]] = {}

    def rows() -> Iterator[list]:
        for _code, grid_rows, grid_needs in visits:
            latest: dict[int, list] = {}
            for row, need in zip(grid_rows, grid_needs, strict=True):
                if need:
                    needed[row[14]] = need
                if row[1] in extra_needs and (row[1] not in latest or row[3] > latest[row[1]][3]):
                    latest[row[1]] = row
            for resident, row in latest.items():
                if row[14] is None:
                    row[14] = uuid.uuid5(uuid.NAMESPACE_URL, f"gridgov-demo-visit:{resident}:{row[3].isoformat()}")
                needed[row[14]] = extra_needs[resident]
            yield from grid_rows

    count = insert_rows(Visit, VISIT_FIELDS, rows(), prepared=["checklist"])
    _checklist.cache_clear()
    found = Visit.objects.filter(client_id__in=list(needed)).values_list("client_id", "pk", "region_id")
    Need.objects.bulk_create([Need(visit_id=pk, region_id=region, kind=needed[cid][0], text=needed[cid][1])
                              for cid, pk, region in found], batch_size=BATCH)
    return {"visits": count, "needs": len(needed)}
