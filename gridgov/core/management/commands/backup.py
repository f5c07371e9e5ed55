"""`gridgov backup <dir> [--keys-dir DIR]`: database + uploaded files (+ keys, kept apart)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridgov.core.audit import audit_record
from gridgov.core.security.backup import BackupError, backup


class Command(BaseCommand):
    help = "备份数据库与上传文件到一个空目录；密钥另行写入 --keys-dir（应与数据分开保管）。"

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--keys-dir", default=None, help="同时导出解密所需密钥到此目录（不要与备份放在一起）")

    def handle(self, *args, directory, keys_dir, **options):
        target = Path(directory)
        try:
            manifest = backup(target, keys_dir=Path(keys_dir) if keys_dir else None)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(t["rows"] for t in manifest["tables"].values())
        audit_record(actor=None, username="system", action="system.backup", object_type="core.backup",
                     changes={"directory": str(target.resolve()), "tables": len(manifest["tables"]), "rows": rows,
                              "media_files": manifest["media_files"], "keys_exported": bool(keys_dir)})
        self.stdout.write(
            f"备份完成：{len(manifest['tables'])} 张表 {rows} 行，{manifest['media_files']} 个上传文件 → {target}")
        if keys_dir:
            self.stdout.write(f"密钥已写入 {keys_dir}：请与备份分开保管（不同介质、不同保管人）。")
