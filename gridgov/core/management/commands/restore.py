"""`gridgov restore <dir>`: load a backup into an empty database, then prove it is the same data.

After loading it compares every table's row count and checksum with the backup's manifest and
runs audit_verify and verify_points_ledger against the restored database; any difference exits 1.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gridgov.core.security.backup import BackupError, install_keys, restore, verify_restored


class Command(BaseCommand):
    help = "从备份目录恢复数据库与上传文件，并核对行数、校验和、审计链与积分台账。"

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--database-url", default=None, help="目标数据库，默认 DATABASE_URL")
        parser.add_argument("--media-root", default=None, help="上传文件目录，默认 MEDIA_ROOT")
        parser.add_argument("--keys-dir", default=None, help="先把该目录中的密钥装回 var/")
        parser.add_argument("--replace", action="store_true", help="允许覆盖非空的目标数据库")
        parser.add_argument("--replace-keys", action="store_true")

    def handle(self, *args, directory, database_url, media_root, keys_dir, replace, replace_keys, **options):
        url = database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{settings.DATABASES['default']['NAME']}"
        try:
            if keys_dir:
                for note in install_keys(Path(keys_dir), Path(settings.VAR_DIR), replace=replace_keys):
                    self.stdout.write(note)
            report = restore(Path(directory), database_url=url,
                             media_root=Path(media_root or settings.MEDIA_ROOT), replace=replace)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已恢复 {report['tables']} 张表 {report['rows']} 行，{report['media_files']} 个上传文件。")
        problems = list(report["mismatches"])
        for command, code, output in verify_restored(url):
            self.stdout.write(f"{command}: {output.splitlines()[-1] if output else code}")
            if code != 0:
                problems.append(f"{command} 未通过：{output}")
        if problems:
            raise CommandError("恢复结果与备份不符：\n" + "\n".join(problems), returncode=1)
        self.stdout.write("核对通过：各表行数与校验和一致，审计链与积分台账校验通过。")
