"""`gridgov import_regions FILE.geojson`: import or update region boundaries.

Runs as the system (acting_user None) unless --user names the account the import is done
for: then that account must hold the regions.import permission, and the audit rows carry it.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridgov.core.errors import ApplicationError
from gridgov.regions import importer
from gridgov.regions.services import regions_import


class Command(BaseCommand):
    help = "从 GeoJSON 文件导入或更新行政区划与网格边界（WGS84）。先校验全部要素，有任何问题则不写入。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoJSON FeatureCollection 文件；“-” 表示标准输入")
        parser.add_argument("--dry-run", action="store_true", help="只校验并报告，不写入任何数据")
        parser.add_argument("--user", metavar="USERNAME",
                            help="以该账号的名义导入（需有 regions.import 权限），审计日志记在其名下")
        parser.add_argument("--crs", choices=importer.CRS_CHOICES, default="wgs84",
                            help="文件坐标系：wgs84（默认）或 gcj02（从国内地图上绘制的边界，导入时转为 WGS84）")

    def handle(self, *args, file, dry_run, user, crs, verbosity, **options):
        acting_user = self._user(user) if user else None
        raw = self._read(file)
        progress = self._progress if verbosity >= 1 else None
        try:
            features = importer.load_feature_collection(raw)
            result = regions_import(acting_user=acting_user, features=features, dry_run=dry_run, crs=crs,
                                    source=Path(file).name if file != "-" else "stdin", progress=progress)
        except importer.RegionImportInvalid as exc:
            raise CommandError(str(exc)) from None
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        counts = result.counts
        summary = f"新建 {counts['created']} 个，更新 {counts['updated']} 个，未变 {counts['unchanged']} 个"
        if verbosity >= 2:
            for label, codes in (("新建", result.created), ("更新", result.updated)):
                for code in codes:
                    self.stdout.write(f"  {label} {code}")
        if dry_run:
            self.stdout.write(f"校验通过（演练模式，未写入任何数据）：{summary}；用时 {result.seconds:.2f} 秒")
        else:
            self.stdout.write(self.style.SUCCESS(f"导入完成：{summary}；用时 {result.seconds:.2f} 秒"))

    def _progress(self, message: str) -> None:
        self.stderr.write(message)

    def _read(self, file: str) -> bytes:
        if file == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 {file}：{exc.strerror or exc}") from None

    def _user(self, username: str):
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"用户 {username} 不存在或已停用")
        return user
