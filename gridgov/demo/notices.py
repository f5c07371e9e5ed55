"""上情下达 and 下情上报 in the demo: a few city and town notices with their receipts, reads and
acknowledgements, and grid workers' reports at the village and town desks (some read, handled, or
turned into a case).

Notices go through gridgov.notices.services (so receipts are resolved exactly as in production);
who has read or acknowledged is then written in bulk, deterministically from the seed.
"""

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.notices import services
from gridgov.notices.models import Notice, Receipt, Report

CITY_NOTICES = [
    ("关于做好今冬明春森林防火工作的通知",
     "<p>各镇（街道）、各村（社区）：</p><p>当前已进入森林防火紧要期。请各网格员<strong>每日巡查</strong>林区周边，"
     "劝阻野外用火，发现火情立即上报。</p><ul><li>重点时段：清明、春节前后</li><li>重点区域：林区、坟山、景区</li></ul>",
     {"requires_ack": True, "days": 4}, 0.72, 0.55),
    ("全市网格员业务培训安排", "<p>定于下周三在市网格化管理中心开展网格员业务培训，请各网格员按片区参加。</p>",
     {"roles": [Role.GRID_WORKER]}, 0.64, 0.0),
]
TOWN_NOTICES = [
    ("关于开展安全隐患大排查的通知", "<p>请各村组织网格员对辖区小作坊、出租屋、自建房开展隐患排查，填报排查台账。</p>",
     {"requires_ack": True, "days": -1}, 0.9, 0.7),
    ("秸秆禁烧工作提示", "<p>夏收在即，请各村加强秸秆禁烧宣传和巡查。</p>", {}, 0.8, 0.0),
]
REPORTS = [
    ("daily_log", "今日走访独居老人 6 户，均身体状况良好；王大爷反映自来水压力小。"),
    ("situation", "3 组两户村民因宅基地界址发生争执，已初步劝解，需村委会出面调解。"),
    ("hazard", "村小学门口路段护栏松动，存在安全隐患。"),
    ("opinion", "群众希望在村广场增设健身器材和路灯。"),
    ("dispute", "租户与房东因押金退还发生纠纷，情绪较激动。"),
    ("daily_log", "巡查网格一遍，清理小广告 3 处，劝导占道经营 2 起。"),
]


def _pick(rng: random.Random, ids: list[int], share: float) -> list[int]:
    return [i for i in ids if rng.random() < share]


def _notice(author, title, body, opts, *, region: str, now: datetime) -> Notice:
    deadline = now + timedelta(days=max(opts.get("days", 0), 1)) if opts.get("requires_ack") else None
    notice = services.notice_send(acting_user=author, title=title, body_html=body, region=region,
                                  roles=opts.get("roles", []), requires_ack=bool(opts.get("requires_ack")),
                                  ack_deadline=deadline)
    if opts.get("days", 0) < 0:  # a notice whose deadline has passed: sent a week ago
        Notice.objects.filter(pk=notice.pk).update(sent_at=now - timedelta(days=7),
                                                   ack_deadline=now + timedelta(days=opts["days"]))
        notice.refresh_from_db()
    return notice


def _reads_and_acks(notice: Notice, rng: random.Random, read_share: float, ack_share: float, now: datetime):
    ids = list(Receipt.objects.filter(notice=notice).order_by("id").values_list("id", flat=True))
    read = _pick(rng, ids, read_share)
    opened = notice.sent_at + timedelta(hours=3)
    Receipt.objects.filter(pk__in=read).update(read_at=opened)
    if notice.requires_ack and ack_share:
        acked = _pick(rng, read, ack_share / read_share)
        late = set(acked[::9]) if notice.ack_deadline < now else set()
        Receipt.objects.filter(pk__in=[i for i in acked if i not in late]).update(
            acked_at=opened + timedelta(hours=1), ack_comment="已传达")
        if late:
            Receipt.objects.filter(pk__in=late).update(acked_at=notice.ack_deadline + timedelta(hours=5))
        return len(read), len(acked)
    return len(read), 0


def seed_notices(*, seed: int, now: datetime | None = None,
                 progress: Callable[[str], None] = lambda s: None) -> dict[str, int]:
    """Writes the demo notices and reports; call inside a transaction, after the accounts (and cases)."""
    now = now or timezone.now()
    rng = random.Random(f"notices-{seed}")
    city = (Assignment.objects.filter(role=Role.CITY_OPERATOR, is_active=True).select_related("user", "region")
            .order_by("id").first())
    if city is None:
        return {"notices_skipped": 1}
    counts = {"notices": 0, "notice_receipts": 0, "notice_reads": 0, "notice_acks": 0, "reports": 0}
    plans = [(city.user, city.region_id, *n) for n in CITY_NOTICES]
    towns = (Assignment.objects.filter(role=Role.TOWN_OPERATOR, is_active=True).select_related("user")
             .order_by("region_id", "id"))
    seen: set[str] = set()
    for a in towns:
        if a.region_id in seen or len(seen) >= 3:
            continue
        seen.add(a.region_id)
        plans += [(a.user, a.region_id, *n) for n in TOWN_NOTICES]
    for author, region, title, body, opts, read_share, ack_share in plans:
        notice = _notice(author, title, body, opts, region=region, now=now)
        reads, acks = _reads_and_acks(notice, rng, read_share, ack_share, now)
        counts["notices"] += 1
        counts["notice_receipts"] += notice.recipient_count
        counts["notice_reads"] += reads
        counts["notice_acks"] += acks
    progress(f"通知 {counts['notices']} 条，回执 {counts['notice_receipts']} 条")
    counts |= _seed_reports(rng, seen, now)
    progress(f"情况报告 {counts['reports']} 条")
    return counts


def _seed_reports(rng: random.Random, towns: set[str], now: datetime) -> dict[str, int]:
    """Reports from the first grids of the demo towns, over the last two weeks; the older ones read or handled."""
    workers = list(Assignment.objects.filter(role=Role.GRID_WORKER, is_active=True,
                                             region__code__regex=r"^(" + "|".join(sorted(towns)) + ")")
                   .select_related("user").order_by("region_id")[:: 7][:40]) if towns else []
    admins = {a.region_id: a.user for a in Assignment.objects.filter(role=Role.GRID_ADMIN, is_active=True)
              .select_related("user").order_by("-id")}
    rows = []
    for n, a in enumerate(workers):
        category, text = REPORTS[n % len(REPORTS)]
        at = now - timedelta(hours=rng.randint(1, 14 * 24))
        report = Report(author=a.user, region_id=a.region_id, category=category, text=text, created_at=at)
        admin = admins.get(a.region_id[:12])
        if admin is not None and at < now - timedelta(days=2):
            report.status, report.read_at, report.read_by = "read", at + timedelta(hours=2), admin
            if n % 3 == 0:
                report.status, report.handled_at, report.handled_by = "handled", at + timedelta(hours=6), admin
                report.handle_note = "已入户了解，村委会已协调解决"
        rows.append(report)
    Report.objects.bulk_create(rows)
    return {"reports": len(rows)}
