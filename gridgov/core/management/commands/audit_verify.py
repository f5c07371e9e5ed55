"""`gridgov audit_verify`: walk the audit hash chain; exit 1 and name the first bad row if it is broken."""

from django.core.management.base import BaseCommand, CommandError

from gridgov.core.security.chain import verify


class Command(BaseCommand):
    help = "校验审计日志哈希链：发现被修改、删除或插入的记录时给出第一条问题记录并以非零状态退出。"

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database, **options):
        result = verify(using=database)
        if not result.ok:
            raise CommandError(
                f"审计链校验失败：第一条问题记录 id={result.first_bad_id} 序号={result.first_bad_seq}：{result.reason}"
                f"（此前 {result.checked} 条正常）",
                returncode=1,
            )
        self.stdout.write(f"审计链校验通过：{result.checked} 条记录。")
