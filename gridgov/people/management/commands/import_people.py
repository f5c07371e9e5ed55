"""gridgov import_people FILE [--user USERNAME] [--report OUT.xlsx] [--dry-run] [--template OUT.xlsx]"""

import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from gridgov.accounts.policy import can
from gridgov.people.importing.models import ImportJob, ImportJobSource, ImportJobStatus
from gridgov.people.importing.reader import WorkbookError
from gridgov.people.importing.service import BATCH_SIZE, residents_import
from gridgov.people.template_xlsx import build_template, grids_for


class Progress:
    """A progress bar on a terminal; a plain line every few seconds otherwise (logs, CI)."""

    def __init__(self, stream, tty: bool):
        self.stream = stream
        self.tty = tty
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if now - self.last < (0.2 if self.tty else 5.0) and not finished:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        share = min(done / total, 1.0) if total else 0.0
        eta = (total - done) / rate if rate and total > done else 0
        if self.tty:
            width = 30
            filled = int(share * width)
            bar = "█" * filled + "░" * (width - filled)
            self.stream.write(f"\r{bar} {share:6.1%}  {done:,}/{total:,} 行  {rate:,.0f} 行/秒  剩余 {eta:4.0f} 秒 ")
            if finished:
                self.stream.write("\n")
        else:
            self.stream.write(f"{done:,}/{total:,} 行 ({share:.0%})，{rate:,.0f} 行/秒\n")
        self.stream.flush()


class Command(BaseCommand):
    help = ("从 Excel 导入实有人口和户（模板见 --template）。有错误的行不导入并列入报告，其余行照常导入；"
            "按公民身份号码识别人员，重复导入同一文件不会改变任何数据。")

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="要导入的 .xlsx 文件")
        parser.add_argument("--user", help="以该账号的名义和管辖范围导入（默认：系统，全市范围）")
        parser.add_argument("--report", help="把结果报告（未导入的行及原因）写入此 .xlsx 文件")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                            help=f"每批写入的行数（默认 {BATCH_SIZE}）")
        parser.add_argument("--template", metavar="OUT.xlsx", help="写出导入模板后退出")

    def handle(self, *args, **options):
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None or not user.is_active:
                raise CommandError(f"没有这个账号或账号已停用：{options['user']}")
            if not can(user, "people.import"):
                raise CommandError(f"账号 {user.username} 没有导入人口信息的权限")
        if options["template"]:
            with open(options["template"], "wb") as out:
                out.write(build_template(grids_for(user)))
            self.stdout.write(f"已写出导入模板：{options['template']}")
            return
        if not options["file"]:
            raise CommandError("请指定要导入的文件")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size 至少为 1")

        job = ImportJob.objects.create(created_by=user, source=ImportJobSource.COMMAND,
                                       file_name=options["file"][-255:], dry_run=options["dry_run"],
                                       status=ImportJobStatus.RUNNING)
        stream = self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr
        tty = hasattr(stream, "isatty") and stream.isatty()
        progress = Progress(stream, tty)
        try:
            result = residents_import(acting_user=user, path=options["file"], dry_run=options["dry_run"],
                                      report_path=options["report"], progress=progress,
                                      batch_size=options["batch_size"], audit_object_id=str(job.pk))
        except WorkbookError as exc:
            ImportJob.objects.filter(pk=job.pk).update(status=ImportJobStatus.FAILED, message=exc.message[:500])
            raise CommandError(exc.message) from None
        except Exception as exc:
            ImportJob.objects.filter(pk=job.pk).update(status=ImportJobStatus.FAILED, message=str(exc)[:500])
            raise
        c = result.counts
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJobStatus.DONE, created=c.created, updated=c.updated, unchanged=c.unchanged,
            rejected=c.rejected, households_created=c.households_created, processed_rows=c.read + c.skipped,
            total_rows=c.read + c.skipped, message=f"读取 {c.read} 行，用时 {result.seconds:.1f} 秒")
        mode = "（仅校验，未写入）" if result.dry_run else ""
        self.stdout.write(
            f"完成{mode}：读取 {c.read:,} 行，新增 {c.created:,}，更新 {c.updated:,}，未变 {c.unchanged:,}，"
            f"未导入 {c.rejected:,}；新增户 {c.households_created:,}，新增地址 {c.addresses_created:,}；"
            f"用时 {result.seconds:.1f} 秒（{result.rows_per_second:,.0f} 行/秒）。")
        if c.skipped:
            self.stdout.write(f"跳过模板示例行 {c.skipped} 行。")
        if result.rejections:
            self.stdout.write("未导入的行（前 10 行）：")
            for r in result.rejections[:10]:
                where = f"{r.sheet} 第 {r.row} 行" if len(result.sheets) > 1 else f"第 {r.row} 行"
                self.stdout.write(f"  {where}：{'；'.join(r.reasons)}")
            if not options["report"]:
                self.stdout.write("用 --report 结果.xlsx 可得到全部未导入的行及原因。")
        if options["report"]:
            self.stdout.write(f"结果报告：{options['report']}")
