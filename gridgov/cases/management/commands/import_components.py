"""gridgov import_components FILE [--dry-run] [--user U] [--report out.csv]: 部件普查 from Excel or GeoJSON."""

import csv
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from gridgov.cases.components.importer import ImportFileError, import_components
from gridgov.core.errors import ApplicationError

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = "导入部件普查数据（Excel .xlsx 或 GeoJSON 点要素），按部件编码幂等；错误行逐行列出原因。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="Excel 工作簿（.xlsx）或 GeoJSON 文件")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--user", help="以该用户的身份和管辖范围导入（默认：控制台，不限范围）")
        parser.add_argument("--format", choices=["excel", "geojson"], help="文件格式（默认按扩展名判断）")
        parser.add_argument("--report", help="把被拒绝的行写入此 CSV 文件")

    def handle(self, *args, file, dry_run, user, format, report, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        acting_user = None
        if user:
            acting_user = get_user_model().objects.filter(username=user, is_active=True).first()
            if acting_user is None:
                raise CommandError(f"用户不存在或已停用：{user}")
        last = {"stage": None, "percent": -1}

        def progress(stage: str, done: int, total: int) -> None:
            label = {"read": "读取", "checked": "校验", "write": "写入"}[stage]
            percent = 100 if not total else done * 100 // total
            if stage != last["stage"] or percent >= last["percent"] + 10 or done == total:
                self.stdout.write(f"  {label} {done}/{total}（{percent}%）")
                last.update(stage=stage, percent=percent)

        self.stdout.write(f"导入 {path.name}{'（仅校验）' if dry_run else ''} …")
        try:
            result = import_components(path.read_bytes(), file_name=path.name, acting_user=acting_user,
                                       dry_run=dry_run, file_format=format, progress=progress,
                                       max_errors=None)
        except ImportFileError as exc:
            raise CommandError(exc.message) from None
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        label = result.row_label
        for error in result.errors[:SHOWN_ERRORS]:
            code = f" {error.code}" if error.code else ""
            self.stdout.write(f"  第 {error.row} {label}{code}：{'；'.join(error.reasons)}")
        if result.rejected > SHOWN_ERRORS:
            self.stdout.write(f"  …… 另有 {result.rejected - SHOWN_ERRORS} {label}被拒绝"
                              + ("，详见报告文件" if report else "，可用 --report 输出全部"))
        if report:
            with open(report, "w", newline="", encoding="utf-8-sig") as handle:
                writer = csv.writer(handle)
                writer.writerow([label, "部件编码", "原因"])
                for error in result.errors:
                    writer.writerow([error.row, error.code, "；".join(error.reasons)])
        summary = (f"{'仅校验' if dry_run else '完成'}：共 {result.total} {label}，新增 {result.created}，"
                   f"更新 {result.updated}，未变 {result.unchanged}，拒绝 {result.rejected}")
        self.stdout.write(self.style.SUCCESS(summary) if not result.rejected else self.style.WARNING(summary))
