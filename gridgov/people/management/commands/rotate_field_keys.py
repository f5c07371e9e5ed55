"""`gridgov rotate_field_keys`: re-encrypt personal data under the active field key.

After a new key is put first in FIELD_ENCRYPTION_KEYS (or FIELD_ENCRYPTION_KEY_ID / the algorithm
changes), old rows still read fine, because every value names its key id. This command rewrites
every EncryptedTextField value that `crypto.needs_rotation` flags, table by table, in batches
ordered by primary key, each batch in its own transaction, so it can be interrupted and re-run.
A value is only replaced if it is still the one that was read (compare-and-swap), so a concurrent
edit is never overwritten with stale data. The blind indexes do not change (their key is separate).
When no value needs the old key any more, the old key can be removed from the settings.
"""

import time

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from gridgov.core import crypto
from gridgov.core.audit import audit_record
from gridgov.core.fields import EncryptedTextField


class Command(BaseCommand):
    help = "用当前密钥重新加密所有加密字段（人口、单位、关爱对象属性等），分批进行并显示进度。"

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000, help="每批处理的行数（默认 1000）")
        parser.add_argument("--app", action="append", dest="apps", metavar="APP",
                            help="只处理指定应用（可重复），默认处理所有含加密字段的应用")
        parser.add_argument("--dry-run", action="store_true", help="只统计需要重新加密的值，不写入")

    def handle(self, *args, batch_size, apps: list[str] | None, dry_run, verbosity, **options):
        if batch_size < 1:
            raise CommandError("--batch-size 至少为 1")
        crypto.clear_caches()
        if crypto.active_key_id() not in settings.FIELD_ENCRYPTION_KEYS:
            raise CommandError(f"当前密钥 {crypto.active_key_id()} 不在 FIELD_ENCRYPTION_KEYS 中")
        started = time.monotonic()
        targets = list(self._targets(apps))
        if not targets:
            raise CommandError("没有找到含加密字段的模型")
        totals = {"checked": 0, "rotated": 0, "failed": 0}
        for model, fields in targets:
            counts = self._rotate(model, fields, batch_size=batch_size, dry_run=dry_run, verbosity=verbosity)
            for key in totals:
                totals[key] += counts[key]
        verb = "需要重新加密" if dry_run else "已重新加密"
        summary = (f"共检查 {totals['checked']} 个值，{verb} {totals['rotated']} 个，无法解密 {totals['failed']} 个；"
                   f"当前密钥 {crypto.active_key_id()}（{crypto.active_algorithm()}），"
                   f"用时 {time.monotonic() - started:.1f} 秒")
        if not dry_run:
            audit_record(actor=None, username="system", action="crypto.rotate_field_keys",
                         changes={**totals, "key_id": crypto.active_key_id(), "algorithm": crypto.active_algorithm()})
        if totals["failed"]:
            raise CommandError(summary + "。无法解密的值需要原密钥：请把它加回 FIELD_ENCRYPTION_KEYS 后重新运行。")
        self.stdout.write(self.style.SUCCESS(summary) if not dry_run else summary)

    def _targets(self, only: list[str] | None):
        configs = apps.get_app_configs()
        if only:
            labels = {c.label for c in configs}
            unknown = [a for a in only if a not in labels]
            if unknown:
                raise CommandError(f"未知应用：{'、'.join(unknown)}")
            configs = [c for c in configs if c.label in only]
        for config in configs:
            for model in config.get_models():
                if model._meta.proxy or not model._meta.managed:
                    continue
                fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
                if fields:
                    yield model, fields

    def _rotate(self, model, fields, *, batch_size: int, dry_run: bool, verbosity: int) -> dict[str, int]:
        qn = connection.ops.quote_name
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        columns = ", ".join(qn(f.column) for f in fields)
        label = f"{model._meta.label_lower}（{'、'.join(f.name for f in fields)}）"
        total = model._base_manager.count() * len(fields)
        counts = {"checked": 0, "rotated": 0, "failed": 0}
        last = None
        while True:
            where = f"WHERE {pk} > %s " if last is not None else ""
            params = [last] if last is not None else []
            with connection.cursor() as cursor:
                # Raw values: the ORM would decrypt them, and we need to see the key id and to compare.
                cursor.execute(f"SELECT {pk}, {columns} FROM {table} {where}ORDER BY {pk} LIMIT %s",
                               [*params, batch_size])
                rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            updates: dict[str, list[tuple[str, object, str]]] = {f.column: [] for f in fields}
            for row in rows:
                for field, token in zip(fields, row[1:], strict=True):
                    counts["checked"] += 1
                    if not token:
                        continue
                    try:
                        if not crypto.needs_rotation(token):
                            continue
                        plaintext = crypto.decrypt(token, field.purpose)
                    except crypto.DecryptionError as exc:
                        counts["failed"] += 1
                        if verbosity >= 2:
                            self.stderr.write(f"  {label} #{row[0]} {field.name}: {exc}")
                        continue
                    counts["rotated"] += 1
                    updates[field.column].append((crypto.encrypt(plaintext, field.purpose), row[0], token))
            if not dry_run and any(updates.values()):
                with transaction.atomic(), connection.cursor() as cursor:
                    for column, items in updates.items():
                        if items:
                            cursor.executemany(
                                f"UPDATE {table} SET {qn(column)} = %s WHERE {pk} = %s AND {qn(column)} = %s", items)
            if verbosity >= 1:
                self.stderr.write(f"{label}: 已检查 {counts['checked']}/{total}，"
                                  f"{'需要' if dry_run else '已'}重新加密 {counts['rotated']}")
        return counts
