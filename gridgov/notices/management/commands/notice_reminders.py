"""Reminders before the acknowledgement deadline. Run it from cron (e.g. hourly); reruns create nothing twice."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from gridgov.notices.services import reminders_create


class Command(BaseCommand):
    help = "为签收截止前仍未签收的通知接收人生成提醒（可重复运行，不会重复提醒）"

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=24.0,
                            help="提醒截止时间在此小时数之内的通知（默认 24）")

    def handle(self, *args, hours: float, **options):
        if not 0 < hours <= 24 * 30:
            raise CommandError("--hours 应在 0 到 720 之间")
        result = reminders_create(within=timedelta(hours=hours))
        self.stdout.write(f"到期未签收 {result['due']} 人，新建提醒 {result['created']} 条，短信 {result['sms']} 条")
