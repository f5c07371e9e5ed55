"""gridgov rebuild_rollups: recompute the dashboard rollups (docs/dashboard.md#rollups).

Run it once after a bulk load, and periodically (e.g. every night with --days 2) so coverage of the
new day is computed and anything a failed hook missed is repaired.
"""

import sys
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Min
from django.utils import timezone

from gridgov.dashboard import rollups


def _earliest() -> date:
    from gridgov.cases.models import Case
    from gridgov.points.models import LedgerEntry
    from gridgov.visits.models import Visit

    candidates = [timezone.localdate()]
    first_case = Case.objects.aggregate(m=Min("created_at"))["m"]
    if first_case:
        candidates.append(timezone.localdate(first_case))
    for value in (Visit.objects.aggregate(m=Min("visit_date"))["m"],
                  LedgerEntry.objects.aggregate(m=Min("occurred_on"))["m"]):
        if value:
            candidates.append(value)
    return min(candidates)


class Command(BaseCommand):
    help = "重建驾驶舱日汇总表（按网格、日期、指标），并刷新现状汇总"

    def add_arguments(self, parser):
        parser.add_argument("--since", type=date.fromisoformat, help="起始日期 YYYY-MM-DD（默认：最早的数据）")
        parser.add_argument("--until", type=date.fromisoformat, help="截止日期（默认：今天）")
        parser.add_argument("--days", type=int, help="只重建最近 N 天")
        parser.add_argument("--coverage-days", type=int, default=rollups.DEFAULT_COVERAGE_DAYS,
                            help="计算走访覆盖率的最近天数（每天约需全量规则计算一次；0 表示不计算）")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, since=None, until=None, days=None, coverage_days=7, quiet=False, **options):
        until = until or timezone.localdate()
        if days is not None:
            if days < 1:
                raise CommandError("--days 至少为 1")
            since = until - timedelta(days=days - 1)
        since = since or _earliest()
        if since > until:
            raise CommandError("起始日期晚于截止日期")
        coverage_since = until - timedelta(days=coverage_days - 1) if coverage_days > 0 else None
        started = time.perf_counter()
        months = max((until.year - since.year) * 12 + until.month - since.month + 1, 1)
        done = [0]

        def progress(first, last, total):
            done[0] += 1
            if quiet:
                return
            width = 30
            filled = int(width * done[0] / months)
            sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done[0]}/{months} 月 "
                             f"至 {last:%Y-%m-%d} · {total} 行 · {time.perf_counter() - started:.1f}s")
            sys.stdout.flush()

        rows = rollups.rebuild(since, until, coverage_since=coverage_since, progress=progress)
        snapshots = rollups.rebuild_snapshots()
        if not quiet:
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(
                f"已重建 {since:%Y-%m-%d} 至 {until:%Y-%m-%d}：日汇总 {rows} 行，现状汇总 {snapshots} 行，"
                f"用时 {time.perf_counter() - started:.1f} 秒"))
