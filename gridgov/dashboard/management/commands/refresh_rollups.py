"""Refresh the rollups that writes have marked stale (the dashboards' worker; cron every minute)."""

import time

from django.core.management.base import BaseCommand

from gridgov.dashboard import hooks


class Command(BaseCommand):
    help = "刷新驾驶舱汇总中被新写入标记为过期的网格-日（建议每分钟运行一次）"

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000, help="每批处理的网格-日数（默认 2000）")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, batch: int = 2000, quiet: bool = False, **options):
        started, total = time.monotonic(), 0
        while True:
            done = hooks.drain(limit=batch)
            total += done
            if done < batch:
                break
        if not quiet:
            self.stdout.write(f"刷新了 {total} 个网格-日，用时 {time.monotonic() - started:.1f} 秒")
