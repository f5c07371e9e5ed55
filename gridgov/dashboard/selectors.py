"""Reads for the dashboards: KPIs of one region node and period, its children, trends, department
rankings, the grid workers' monthly evaluation and the article's figures (docs/dashboard.md#kpis).

Everything reads the rollup tables (one row per node, day, KPI and dimension), never the raw rows,
except the article report's distinct counts (rewarded people), which read the small tips table.
Every function takes the user and starts from `access_node`: outside the scope is 404, a role
without `dashboard.view` 403.
"""

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum
from django.utils import timezone

from gridgov.accounts.policy import can, get_scope, require
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.regions.models import Region

from .models import Rollup, Snapshot

MAX_PERIOD_DAYS = 366 * 10
WORKER_SOURCES = ("grid_worker", "patrol", "visit", "self_resolved")

# The KPIs a map or a children table can show: key → (label, unit).
MAP_KPIS = {
    "case_reported": ("上报事件", "件"),
    "case_closed": ("结案", "件"),
    "closure_rate": ("结案率", "%"),
    "on_time_rate": ("按期结案率", "%"),
    "case_overdue": ("当前超期", "件"),
    "visits_done": ("走访次数", "次"),
    "coverage_rate": ("走访完成率", "%"),
    "residents": ("实有人口", "人"),
    "egov_completed": ("政务办结", "件"),
    "points_awarded": ("积分发放", "分"),
    "tips_sent": ("助警信息", "条"),
    "cameras_online": ("在线摄像机", "台"),
    "notice_ack_rate": ("通知签收率", "%"),
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def parse_period(start: str | date | None = None, end: str | date | None = None, month: str | None = None) -> Period:
    """A period from `month` (YYYY-MM) or `start`/`end` (YYYY-MM-DD); the current month by default."""
    today = timezone.localdate()
    try:
        if month:
            year, mon = (int(x) for x in month.split("-"))
            first = date(year, mon, 1)
            return Period(first, first.replace(day=calendar.monthrange(year, mon)[1]))
        start = date.fromisoformat(start) if isinstance(start, str) and start else start
        end = date.fromisoformat(end) if isinstance(end, str) and end else end
    except (TypeError, ValueError):
        raise ValidationFailed("日期格式应为 YYYY-MM-DD，月份应为 YYYY-MM", code="invalid_period") from None
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        raise ValidationFailed("开始日期不能晚于结束日期", code="invalid_period")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed("统计期间不能超过十年", code="invalid_period")
    return Period(start, end)


def access_node(user, code: str | None) -> Region:
    """A region node inside the user's scope: 403 without dashboard.view, 404 outside the scope."""
    require(user, "dashboard.view")
    if not code or not code.isdigit() or len(code) not in (6, 9, 12, 15):
        raise NotFound("区划代码无效")
    if not get_scope(user).covers(code):
        raise NotFound()
    node = Region.objects.filter(code=code).first()
    if node is None:
        raise NotFound()
    return node


def home_node(user) -> str | None:
    """The node a user's dashboard opens on: the highest node of their scope."""
    roots = get_scope(user).region_prefixes
    return min(roots, key=len) if roots else None


def coverage_visible(user) -> bool:
    """Coverage counts every special group, so only roles that may see every care tag get it."""
    return can(user, "people.tags.restricted")


def _visible_tag_types(user) -> dict[str, tuple[str, int]]:
    from gridgov.people.models import CareTagType
    from gridgov.visits.access import max_tag_sensitivity

    limit = max_tag_sensitivity(user)
    return {c: (n, s) for c, n, s in CareTagType.objects.filter(sensitivity__lte=limit)
            .values_list("code", "name", "sort_order")}


def _rate(num: int, den: int) -> float | None:
    return round(100 * num / den, 1) if den else None


def _sums(codes: list[str] | str, period: Period, kpis=None) -> dict[str, dict[tuple, int]]:
    """{code: {(kpi, dim): value}} summed over the period."""
    qs = Rollup.objects.filter(day__range=(period.start, period.end))
    qs = qs.filter(code=codes) if isinstance(codes, str) else qs.filter(code__in=codes)
    if kpis:
        qs = qs.filter(kpi__in=kpis)
    out: dict[str, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))
    for r in qs.values("code", "kpi", "dim").annotate(v=Sum("value")).order_by():
        out[r["code"]][(r["kpi"], r["dim"])] += r["v"]
    return out


def _snapshots(codes) -> dict[str, dict[tuple, int]]:
    qs = Snapshot.objects.filter(code=codes) if isinstance(codes, str) else Snapshot.objects.filter(code__in=codes)
    out: dict[str, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))
    for code, kpi, dim, value in qs.values_list("code", "kpi", "dim", "value"):
        out[code][(kpi, dim)] += value
    return out


def _total(values: dict[tuple, int], kpi: str) -> int:
    return sum(v for (k, _), v in values.items() if k == kpi)


def _by_dim(values: dict[tuple, int], kpi: str) -> dict[str, int]:
    return {d: v for (k, d), v in values.items() if k == kpi and v}


def _metrics(values: dict[tuple, int], snap: dict[tuple, int], *, coverage: bool) -> dict:
    reported = _total(values, "case.reported")
    valid = reported - _total(values, "case.cohort_excluded")
    closed = _total(values, "case.closed")
    required, covered = _total(values, "visit.required"), _total(values, "visit.covered")
    return {
        "case_reported": reported,
        "case_closed": closed,
        "closure_rate": _rate(_total(values, "case.cohort_closed"), valid),
        "on_time_rate": _rate(_total(values, "case.closed_on_time"), closed),
        "case_overdue": _total(snap, "case.overdue"),
        "visits_done": _total(values, "visit.done"),
        "coverage_rate": _rate(covered, required) if coverage else None,
        "residents": _total(snap, "people.residents"),
        "egov_completed": _total(values, "egov.completed"),
        "points_awarded": _total(values, "points.awarded"),
        "tips_sent": _total(values, "tips.sent"),
        "cameras_online": _total(snap, "video.online"),
        "notice_ack_rate": _rate(_total(values, "notices.acked"), _total(values, "notices.receipts")),
    }


def node_kpis(*, user, code: str, period: Period) -> dict:
    """Every KPI of one node for one period (definitions in docs/dashboard.md#kpis)."""
    from gridgov.accounts.models import Department
    from gridgov.cases.choices import Source
    from gridgov.cases.models import CaseCategory

    node = access_node(user, code)
    values = _sums(node.code, period)[node.code]
    snap = _snapshots(node.code)[node.code]
    show_coverage = coverage_visible(user)
    tags = _visible_tag_types(user)
    reported = _total(values, "case.reported")
    closed = _total(values, "case.closed")
    classes = _by_dim(values, "case.class")
    class_names = dict(CaseCategory.objects.filter(code__in=list(classes)).values_list("code", "name"))
    source_labels = dict(Source.choices)

    depts = _department_rows(values)
    dept_names = dict(Department.objects.filter(code__in=[d["code"] for d in depts]).values_list("code", "name"))
    for d in depts:
        d["name"] = dept_names.get(d["code"], d["code"])

    if node.level < 3:
        active_villages = (Rollup.objects.filter(level=3, code__startswith=node.code, kpi="points.awarded",
                                                 day__range=(period.start, period.end), value__gt=0)
                           .values("code").distinct().count())
        villages = Region.objects.filter(level=3, code__startswith=node.code).count()
    else:
        village = node.code[:12]
        active_villages = int(Rollup.objects.filter(code=village, kpi="points.awarded", value__gt=0,
                                                    day__range=(period.start, period.end)).exists())
        villages = 1
    required, covered = _total(values, "visit.required"), _total(values, "visit.covered")
    rating_n = _total(values, "case.rating_n")
    return {
        "region": {"code": node.code, "name": node.name, "level": node.level},
        "period": {"start": period.start, "end": period.end},
        "people": {
            "residents": _total(snap, "people.residents"),
            "grid_workers": _total(snap, "people.workers"),
            "special_groups": sorted(
                ({"code": c, "name": tags[c][0], "count": v} for c, v in _by_dim(snap, "people.tag").items()
                 if c in tags), key=lambda t: (tags[t["code"]][1], t["code"])),
        },
        "visits": {
            "done": _total(values, "visit.done"),
            "patrols": _total(values, "visit.patrols"),
            "required": required if show_coverage else None,
            "covered": covered if show_coverage else None,
            "coverage_rate": _rate(covered, required) if show_coverage else None,
        },
        "cases": {
            "reported": reported,
            "registered": _total(values, "case.registered"),
            "closed": closed,
            "closed_on_time": _total(values, "case.closed_on_time"),
            "closure_rate": _rate(_total(values, "case.cohort_closed"),
                                  reported - _total(values, "case.cohort_excluded")),
            "on_time_rate": _rate(_total(values, "case.closed_on_time"), closed),
            "self_resolved": _total(values, "case.self_resolved"),
            "open_now": _total(snap, "case.open"),
            "overdue_now": _total(snap, "case.overdue"),
            "rating_avg": round(_total(values, "case.rating_sum") / rating_n, 2) if rating_n else None,
            "by_source": [{"code": s, "name": str(source_labels.get(s, s)), "count": v}
                          for s, v in sorted(_by_dim(values, "case.reported").items(), key=lambda x: -x[1])],
            "top_classes": [{"code": c, "name": class_names.get(c, c), "count": v}
                            for c, v in sorted(classes.items(), key=lambda x: (-x[1], x[0]))[:10]],
            "departments": depts,
        },
        "egov": {
            "applied": _total(values, "egov.applied"),
            "completed": _total(values, "egov.completed"),
            "on_time": _total(values, "egov.on_time"),
            "on_time_rate": _rate(_total(values, "egov.on_time"), _total(values, "egov.completed")),
            "payments": _total(values, "egov.paid_n"),
            "paid_yuan": _total(values, "egov.paid_fen") / 100,
        },
        "points": {
            "awarded": _total(values, "points.awarded"),
            "awards": _total(values, "points.awards"),
            "redeemed": _total(values, "points.redeemed"),
            "active_villages": active_villages,
            "villages": villages,
        },
        "video": {
            "cameras": _total(snap, "video.cameras"),
            "online": _total(snap, "video.online"),
            "online_rate": _rate(_total(snap, "video.online"), _total(snap, "video.cameras")),
            "views": _total(values, "video.views"),
            "reviews": _total(values, "video.reviews"),
            "cases_helped": _total(values, "video.cases_helped"),
        },
        "notices": {
            "receipts": _total(values, "notices.receipts"),
            "read": _total(values, "notices.read"),
            "acknowledged": _total(values, "notices.acked"),
            "ack_rate": _rate(_total(values, "notices.acked"), _total(values, "notices.receipts")),
        },
        "tips": {
            "sent": _total(values, "tips.sent"),
            "useful": _total(values, "tips.useful"),
            "rewards_paid": _total(values, "tips.paid_n"),
            "reward_yuan": _total(values, "tips.paid_fen") / 100,
        },
    }


def _department_rows(values: dict[tuple, int]) -> list[dict]:
    rows = []
    for dept in sorted({d for (k, d) in values if k.startswith("dept.")}):
        closed = values.get(("dept.closed", dept), 0)
        on_time = values.get(("dept.on_time", dept), 0)
        minutes = values.get(("dept.minutes", dept), 0)
        rows.append({"code": dept, "name": dept, "dispatched": values.get(("dept.dispatched", dept), 0),
                     "closed": closed, "on_time": on_time, "on_time_rate": _rate(on_time, closed),
                     "avg_hours": round(minutes / closed / 60, 1) if closed else None,
                     "returned": values.get(("dept.returned", dept), 0)})
    return rows


def department_ranking(*, user, code: str, period: Period) -> list[dict]:
    """综合评价: departments by on-time rate (higher first), then returns (fewer first), then volume."""
    from gridgov.accounts.models import Department

    node = access_node(user, code)
    rows = _department_rows(_sums(node.code, period)[node.code])
    names = dict(Department.objects.filter(code__in=[r["code"] for r in rows]).values_list("code", "name"))
    for r in rows:
        r["name"] = names.get(r["code"], r["code"])
    return rank_departments(rows)


def rank_departments(rows: list[dict]) -> list[dict]:
    """Sort and number department rows (as node_kpis returns them) for the ranking."""
    rows = [dict(r) for r in rows]
    rows.sort(key=lambda r: (-(r["on_time_rate"] if r["on_time_rate"] is not None else -1), r["returned"],
                             -r["closed"], r["code"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def children(*, user, code: str, period: Period) -> list[dict]:
    """The node's children with the map KPIs (a grid has none: its own row is returned)."""
    node = access_node(user, code)
    kids = list(Region.objects.filter(parent_id=node.code).order_by("code").values_list("code", "name", "level"))
    if not kids:
        kids = [(node.code, node.name, node.level)]
    codes = [c for c, _, _ in kids]
    sums, snaps = _sums(codes, period), _snapshots(codes)
    show = coverage_visible(user)
    return [{"code": c, "name": n, "level": lv, **_metrics(sums.get(c, {}), snaps.get(c, {}), coverage=show)}
            for c, n, lv in kids]


TREND_KPIS = {"case.reported": "上报事件", "case.closed": "结案", "visit.done": "走访",
              "egov.completed": "政务办结", "points.awarded": "积分发放", "tips.sent": "助警信息"}


def trend(*, user, code: str, period: Period, granularity: str = "day") -> dict:
    """Per day, ISO week or month of the period: the TREND_KPIS of the node."""
    if granularity not in ("day", "week", "month"):
        raise ValidationFailed("粒度只能是 day、week 或 month", code="invalid_granularity")
    node = access_node(user, code)
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, kpi, v in (Rollup.objects.filter(code=node.code, day__range=(period.start, period.end),
                                              kpi__in=list(TREND_KPIS)).values("day", "kpi")
                        .annotate(v=Sum("value")).values_list("day", "kpi", "v").order_by()):
        per_day[day][kpi] += v

    def label(d: date) -> str:
        if granularity == "month":
            return f"{d:%Y-%m}"
        if granularity == "week":
            y, w, _ = d.isocalendar()
            return f"{y}-W{w:02d}"
        return d.isoformat()

    buckets: dict[str, dict[str, int]] = {}
    day = period.start
    while day <= period.end:
        b = buckets.setdefault(label(day), {k: 0 for k in TREND_KPIS})
        for k, v in per_day.get(day, {}).items():
            b[k] += v
        day += timedelta(days=1)
    return {"granularity": granularity, "labels": list(buckets),
            "series": [{"kpi": k, "name": n, "data": [b[k] for b in buckets.values()]} for k, n in TREND_KPIS.items()]}


def worker_evaluation(*, user, code: str, month: date) -> list[dict]:
    """The monthly evaluation (考核) of each grid worker under `code`: visits done vs required, reports,
    on-the-spot resolutions, timeliness (the grid's on-time closure rate), ratings, and a score =
    60 × completion rate + 40 × mean rating / 5 (the parts that have no data are left out and the rest
    rescaled; docs/dashboard.md)."""
    from gridgov.accounts.choices import Role
    from gridgov.accounts.models import Assignment

    node = access_node(user, code)
    first = month.replace(day=1)
    period = Period(first, first.replace(day=calendar.monthrange(first.year, first.month)[1]))
    show = coverage_visible(user)
    grids = list(Region.objects.filter(level=4, code__startswith=node.code).order_by("code")
                 .values_list("code", "name", "parent__name"))
    sums: dict[str, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))
    qs = Rollup.objects.filter(level=4, code__startswith=node.code, day__range=(period.start, period.end),
                               kpi__in=["visit.done", "visit.required", "visit.covered", "case.reported",
                                        "case.closed", "case.closed_on_time",
                                        "case.self_resolved", "case.rating_sum", "case.rating_n", "visit.patrols"])
    for c, kpi, dim, v in qs.values("code", "kpi", "dim").annotate(v=Sum("value")).values_list(
            "code", "kpi", "dim", "v").order_by():
        sums[c][(kpi, dim)] += v
    workers = {}
    for region_id, name, username in (Assignment.objects.filter(role=Role.GRID_WORKER, is_active=True,
                                                                region__code__startswith=node.code)
                                      .order_by("region_id", "id")
                                      .values_list("region_id", "user__full_name", "user__username")):
        workers.setdefault(region_id, name or username)
    rows = []
    for c, name, village in grids:
        v = sums.get(c, {})
        required, covered = _total(v, "visit.required"), _total(v, "visit.covered")
        rating_n = _total(v, "case.rating_n")
        rating = round(_total(v, "case.rating_sum") / rating_n, 2) if rating_n else None
        completion = _rate(covered, required) if show else None
        parts = []
        if completion is not None:
            parts.append((60, completion / 100))
        if rating is not None:
            parts.append((40, rating / 5))
        score = round(sum(w * x for w, x in parts) * 100 / sum(w for w, _ in parts), 1) if parts else None
        rows.append({"grid_code": c, "grid_name": name, "village": village, "worker": workers.get(c, ""),
                     "visits": _total(v, "visit.done"), "patrols": _total(v, "visit.patrols"),
                     "required": required if show else None, "covered": covered if show else None,
                     "completion_rate": completion,
                     "reports": sum(v.get(("case.reported", s), 0) for s in WORKER_SOURCES),
                     "self_resolved": _total(v, "case.self_resolved"),
                     "on_time_rate": _rate(_total(v, "case.closed_on_time"), _total(v, "case.closed")),
                     "ratings": rating_n,
                     "rating_avg": rating, "score": score})
    rows.sort(key=lambda r: (-(r["score"] if r["score"] is not None else -1), r["grid_code"]))
    return rows


def article_report(*, user, code: str, since: date, until: date | None = None) -> dict:
    """The newspaper article's figures for the node since `since`, each with its definition."""
    from gridgov.cases.models import Case
    from gridgov.cases.models.tip import Tip, TipState

    node = access_node(user, code)
    period = parse_period(since, until or timezone.localdate())
    values = _sums(node.code, period)[node.code]
    security_closed = (Case.objects.filter(region__code__startswith=node.code, category__code__startswith="G01",
                                           state__in=["closed", "evaluated"],
                                           closed_at__date__range=(period.start, period.end)).count())
    paid = Tip.objects.filter(region__code__startswith=node.code, state=TipState.PAID,
                              paid_at__date__range=(period.start, period.end))
    people = paid.exclude(recipient_key="").values("recipient_key").distinct().count()
    figures = [
        {"key": "services", "name": "通过平台办理服务事项", "value": _total(values, "egov.completed"), "unit": "件",
         "definition": "期内办结（状态“已办结”，按办结日期）的政务网上办申请数。"},
        {"key": "services_paid", "name": "发放救助与补贴资金", "value": _total(values, "egov.paid_fen") / 100,
         "unit": "元", "definition": "期内已发放（按发放日期）的资金发放记录金额合计。"},
        {"key": "cases_closed", "name": "办结事件", "value": _total(values, "case.closed"), "unit": "件",
         "definition": "期内结案（含已评价，按结案时间）的事件数。"},
        {"key": "security_cases", "name": "办理治安案件（治安隐患类）", "value": security_closed, "unit": "件",
         "definition": "期内结案、分类属“治安隐患”（G01 及其小类）的事件数。"},
        {"key": "video_cases", "name": "视频协助办理的案件", "value": _total(values, "video.cases_helped"),
         "unit": "件", "definition": "期内查看录像且结果为“提供了线索或证据”的不同案件数（按查看记录时间）。"},
        {"key": "tips", "name": "报送助警信息", "value": _total(values, "tips.sent"), "unit": "条",
         "definition": "期内网格员、网管员推送给派出所的助警信息数（按推送时间）。"},
        {"key": "tips_useful", "name": "研判有价值的助警信息", "value": _total(values, "tips.useful"), "unit": "条",
         "definition": "期内经派出所研判为有价值（含已核定、已发放奖励）的助警信息数（按研判时间）。"},
        {"key": "rewarded_people", "name": "受奖励人数", "value": people, "unit": "人",
         "definition": "期内已发放奖励的助警信息的不同受奖人数（同一人多次受奖计一人）。"},
        {"key": "reward_money", "name": "发放奖励金", "value": _total(values, "tips.paid_fen") / 100, "unit": "元",
         "definition": "期内已发放的助警奖励金额合计（按发放时间）。"},
    ]
    not_computed = [
        {"name": "视频破获刑事案件",
         "reason": "视频模块记录录像是否提供线索（见“视频协助办理的案件”），不记录刑事案件是否侦破，无法从数据计算。"},
        {"name": "抓获犯罪嫌疑人", "reason": "平台不记录抓获情况（属公安业务系统），无法从数据计算。"},
        {"name": "找回走失老人和儿童", "reason": "事件分类中没有“走失人员”类，无法从数据计算。"},
    ]
    return {"region": {"code": node.code, "name": node.name, "level": node.level},
            "period": {"start": period.start, "end": period.end}, "figures": figures, "not_computed": not_computed}
