"""gridgov sweep_overdue: flag due-soon/overdue cases and escalate overdue ones (idempotent).

Run it every few minutes from cron or a systemd timer (docs/cases.md); running it twice, or from two
machines at once, does no harm.
"""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gridgov.cases.services import sweep_overdue


class Command(BaseCommand):
    help = "超期扫描：标记临期、超期案件，超期案件逐级升级（可重复执行）"

    def add_arguments(self, parser):
        parser.add_argument("--at", help="按指定时间扫描（ISO 8601，默认当前时间），用于补跑")

    def handle(self, *args, at=None, **options):
        now = None
        if at:
            try:
                now = datetime.fromisoformat(at)
            except ValueError:
                raise CommandError("--at 应为 ISO 8601 时间，如 2026-10-09T09:00:00+08:00") from None
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        result = sweep_overdue(now=now)
        self.stdout.write(f"临期 {result.due_soon} 件，新超期 {result.overdue} 件，升级 {result.escalated} 件")
