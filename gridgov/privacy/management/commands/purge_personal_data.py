"""`gridgov purge_personal_data [--dry-run]`: erase the personal data whose retention period is over.

Run it from cron (e.g. weekly). Who is due: gridgov/privacy/retention.py; docs/security.md."""

import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from gridgov.privacy import retention


class Command(BaseCommand):
    help = "删除保存期限届满的个人信息（迁出、死亡人员；法定保存的除外），保留统计所需记录。"

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="只列出将删除的人数，不做任何修改")
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, dry_run, batch_size, quiet, **options):
        started = time.perf_counter()
        days = settings.PERSONAL_DATA_RETENTION_DAYS

        def progress(done, total):
            if quiet:
                return
            width = 30
            filled = int(width * done / max(total, 1))
            sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} 人 "
                             f"· {time.perf_counter() - started:.1f}s")
            sys.stdout.flush()

        result = retention.purge(dry_run=dry_run, batch_size=max(batch_size, 1), progress=progress)
        if dry_run:
            self.stdout.write(f"试运行：保存期限 {days} 天，届满待删除 {result.due} 人（未做任何修改）。")
            return
        if result.due and not quiet:
            self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(
            f"已删除 {result.erased} 人的个人信息（届满 {result.due} 人，删除照片 {result.photos} 张），"
            f"用时 {time.perf_counter() - started:.1f} 秒。"))
