"""`gridgov purge_personal_data [--dry-run]`: erase the personal data whose retention period is over.

Run it from cron (e.g. weekly). Who is due: gridgov/privacy/retention.py; docs/security.md."""

import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from gridgov.privacy import retention


class Command(BaseCommand):
    help = ("删除保存期限届满的个人信息（迁出、死亡人员；居民反映案件的反映人；接入消息和短信记录；"
            "过期会话和验证码；已删除人员的申请材料和积分证明文件；法定保存的除外），保留统计所需记录。")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="只列出将删除的人数，不做任何修改")
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, dry_run, batch_size, quiet, **options):
        started = time.perf_counter()
        days = settings.PERSONAL_DATA_RETENTION_DAYS

        last_unit = []

        def progress(done, total, unit="人"):
            if quiet:
                return
            if last_unit and last_unit[-1] != unit:
                sys.stdout.write("\n")
            last_unit.append(unit)
            width = 30
            filled = int(width * done / max(total, 1))
            sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {unit} "
                             f"· {time.perf_counter() - started:.1f}s")
            sys.stdout.flush()

        result = retention.purge(dry_run=dry_run, batch_size=max(batch_size, 1), progress=progress)
        b = result.beyond
        beyond = (f"案件反映人 {b.cases} 件，接入消息 {b.inbound} 条，外发短信 {b.outbound} 条，"
                  f"过期会话和验证码 {b.sessions} 条，申请材料文件 {b.materials} 份，积分证明文件 {b.evidence} 份")
        if dry_run:
            self.stdout.write(f"试运行：保存期限 {days} 天，届满待删除 {result.due} 人；另有{beyond}（未做任何修改）。")
        else:
            if last_unit and not quiet:
                self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(
                f"已删除 {result.erased} 人的个人信息（届满 {result.due} 人，删除照片 {result.photos} 张）；"
                f"另已清除{beyond}；用时 {time.perf_counter() - started:.1f} 秒。"))
        if b.skipped_open:
            listed = "、".join(f"{kind} {number}" for kind, number in b.skipped_open[:20])
            more = f" 等 {len(b.skipped_open)} 项" if len(b.skipped_open) > 20 else ""
            self.stdout.write(self.style.WARNING(
                f"尚在办理中、本次未删除文件（办结后下次运行删除）：{listed}{more}"))
