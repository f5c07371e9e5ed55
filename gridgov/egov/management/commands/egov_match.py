"""`gridgov egov_match [--region CODE] [--date YYYY-MM-DD]`: 政策找人 for every grid under a region.

Run nightly (cron or the task runner) and after a resident import: each grid is one transaction, so
a long county run never holds the database and a failure leaves the other grids' results in place.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from gridgov.egov.services import eligibility_scan_region


class Command(BaseCommand):
    help = "政策找人：按资格规则逐个网格匹配居民（默认全市）。"

    def add_arguments(self, parser):
        parser.add_argument("--region", default="420881", help="区划代码前缀，默认 420881（全市）")
        parser.add_argument("--date", default=None, help="按哪一天计算年龄（默认今天），如 2026-03-01")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, region="420881", date=None, quiet=False, **options):
        if not region.isdigit() or len(region) not in (6, 9, 12, 15):
            raise CommandError("区划代码应为 6、9、12 或 15 位数字")
        day = None
        if date:
            try:
                day = _parse(date)
            except ValueError as exc:
                raise CommandError(f"日期“{date}”无效（例：2026-03-01）") from exc

        def progress(code, scan):
            if not quiet and options.get("verbosity", 1) > 1:
                self.stderr.write(f"{code}: {scan.residents} 人，{scan.matches} 条匹配")

        totals = eligibility_scan_region(prefix=region, today=day, progress=progress)
        if not quiet:
            self.stdout.write(f"完成：{totals['grids']} 个网格、{totals['residents']} 人，"
                              f"{totals['matches']} 条政策找人匹配。")


def _parse(text: str) -> date:
    return date.fromisoformat(text)
