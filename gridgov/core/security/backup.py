"""Backup and restore of the database, the uploaded files and (kept apart) the keys.

A backup directory holds:
  manifest.json   engine, per-table row counts and checksums, file checksums, audit chain state
  db.dump         PostgreSQL: pg_dump custom format, taken in the same snapshot as the manifest
  db.sqlite3      SQLite: an online copy through SQLite's backup API (the manifest is read from it)
  media.tar.gz    MEDIA_ROOT (uploaded attachments and photos)
The keys (SECRET_KEY, field encryption keys, blind index key, audit chain key) go to a separate
keys directory (`--keys-dir`): without them the encrypted personal data cannot be read and the
audit chain cannot be verified, and with them a stolen backup is readable — so they are never
stored beside the data by default (see docs/security.md).
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.utils import timezone

MANIFEST = "manifest.json"
KEYS_FILE = "gridgov-keys.json"
# var/ file names the settings read their keys from (gridgov/settings.py _secret_file).
KEY_FILES = {"SECRET_KEY": "secret_key", "FIELD_BLIND_INDEX_KEY": "blind_index_key",
             "AUDIT_CHAIN_KEY": "audit_chain_key"}


class BackupError(Exception):
    pass


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- reading a database through a plain DB-API connection --------------------------------------

def _row_digest(row) -> int:
    values = [bytes(v).hex() if isinstance(v, memoryview | bytes) else v for v in row]
    return int.from_bytes(hashlib.sha256(repr(values).encode()).digest(), "big")


def table_digests(dbapi_conn, tables: list[str], quote_name) -> dict[str, dict]:
    """{table: {"rows": n, "checksum": hex}}; the checksum is the sum of row hashes mod 2**256,
    so it does not depend on the order the database returns the rows in."""
    out = {}
    cur = dbapi_conn.cursor()
    for table in sorted(tables):
        cur.execute(f"SELECT * FROM {quote_name(table)}")  # noqa: S608 - names come from introspection
        total, count = 0, 0
        while rows := cur.fetchmany(5000):
            for row in rows:
                total = (total + _row_digest(row)) % (1 << 256)
            count += len(rows)
        out[table] = {"rows": count, "checksum": f"{total:064x}"}
    return out


def _pg_tables(cur) -> list[str]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return [r[0] for r in cur.fetchall()]


def _sqlite_tables(conn) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
    return [r[0] for r in rows]


def _pg_quote(name):
    return '"' + name.replace('"', '""') + '"'


_sqlite_quote = _pg_quote


def _pg_url(sd: dict) -> str:
    user = quote(sd.get("USER") or "postgres")
    password = f":{quote(sd['PASSWORD'])}" if sd.get("PASSWORD") else ""
    host = sd.get("HOST") or "127.0.0.1"
    port = sd.get("PORT") or 5432
    return f"postgresql://{user}{password}@{host}:{port}/{quote(sd['NAME'])}"


def _sqlite_path(sd: dict) -> str:
    name = str(sd["NAME"])
    return name


# --- backup ------------------------------------------------------------------------------------

def backup(target: Path, *, keys_dir: Path | None = None) -> dict:
    """Write a consistent backup into `target` (created; must be empty). Returns the manifest."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise BackupError(f"备份目录 {target} 不是空目录")
    sd = connection.settings_dict
    manifest = {"created_at": timezone.now().isoformat(), "vendor": connection.vendor, "files": {}}
    if connection.vendor == "postgresql":
        manifest["tables"] = _backup_postgresql(sd, target / "db.dump")
        manifest["files"]["db.dump"] = file_sha256(target / "db.dump")
    elif connection.vendor == "sqlite":
        manifest["tables"] = _backup_sqlite(sd, target / "db.sqlite3")
        manifest["files"]["db.sqlite3"] = file_sha256(target / "db.sqlite3")
    else:
        raise BackupError(f"不支持的数据库：{connection.vendor}")
    media = Path(settings.MEDIA_ROOT)
    media_count = 0
    with tarfile.open(target / "media.tar.gz", "w:gz") as tar:
        if media.exists():
            for path in sorted(media.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(media)))
                    media_count += 1
    manifest["files"]["media.tar.gz"] = file_sha256(target / "media.tar.gz")
    manifest["media_files"] = media_count
    head = manifest["tables"].get("core_auditchainhead")
    manifest["audit_rows"] = manifest["tables"].get("core_auditentry", {}).get("rows", 0)
    manifest["audit_head_rows"] = head["rows"] if head else 0
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
    if keys_dir is not None:
        write_keys(keys_dir)
    return manifest


def _backup_postgresql(sd: dict, dump_path: Path) -> dict:
    import psycopg

    # One REPEATABLE READ snapshot for both the manifest and pg_dump (--snapshot): the counts
    # describe exactly what was dumped, even while the platform keeps writing.
    with psycopg.connect(_pg_url(sd)) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            cur = conn.cursor()
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            proc = subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                 f"--file={dump_path}", f"--dbname={_pg_url(sd)}"],
                capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise BackupError(f"pg_dump 失败：{proc.stderr.strip()}")
            return table_digests(conn, _pg_tables(cur), _pg_quote)


def _backup_sqlite(sd: dict, copy_path: Path) -> dict:
    name = _sqlite_path(sd)
    if name.startswith("file:") or name == ":memory:":
        # An in-memory (test) database is only reachable through Django's own connection, which may
        # be inside a write transaction: the backup API then answers SQLITE_LOCKED for ever (Python
        # retries it in a loop), so take the connection's own image of the database instead.
        connection.ensure_connection()
        copy_path.write_bytes(connection.connection.serialize())
    else:
        source = sqlite3.connect(name)
        try:
            with sqlite3.connect(copy_path) as target:
                source.backup(target)  # an online, page-consistent copy
            target.close()
        finally:
            source.close()
    dest = sqlite3.connect(copy_path)
    try:
        return table_digests(dest, _sqlite_tables(dest), _sqlite_quote)
    finally:
        dest.close()


def write_keys(keys_dir: Path) -> Path:
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    data = {name: getattr(settings, name) for name in KEY_FILES}
    data["FIELD_ENCRYPTION_KEYS"] = settings.FIELD_ENCRYPTION_KEYS
    data["FIELD_ENCRYPTION_KEY_ID"] = settings.FIELD_ENCRYPTION_KEY_ID
    path = keys_dir / KEYS_FILE
    path.write_text(json.dumps(data, indent=1, sort_keys=True))
    path.chmod(0o600)
    return path


# --- restore -----------------------------------------------------------------------------------

def check_files(source: Path) -> dict:
    """The manifest, after every file it lists has been checked against its checksum."""
    manifest_path = source / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"{source} 中没有 {MANIFEST}，不是 gridgov 备份")
    manifest = json.loads(manifest_path.read_text())
    for name, digest in manifest["files"].items():
        path = source / name
        if not path.exists():
            raise BackupError(f"备份文件缺失：{name}")
        if file_sha256(path) != digest:
            raise BackupError(f"备份文件校验和不符：{name}（文件被修改或损坏）")
    return manifest


def restore(source: Path, *, database_url: str, media_root: Path, replace: bool = False) -> dict:
    """Load a backup into the database at `database_url` (empty unless `replace`) and MEDIA_ROOT,
    then compare every table's count and checksum with the manifest. Returns a report."""
    import dj_database_url

    manifest = check_files(source)
    sd = dj_database_url.parse(database_url)
    vendor = "postgresql" if "postgresql" in sd["ENGINE"] else "sqlite" if "sqlite" in sd["ENGINE"] else sd["ENGINE"]
    if vendor != manifest["vendor"]:
        raise BackupError(f"备份来自 {manifest['vendor']}，不能恢复到 {vendor}")
    if vendor == "postgresql":
        restored = _restore_postgresql(source / "db.dump", sd, replace)
    else:
        restored = _restore_sqlite(source / "db.sqlite3", sd, replace)
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source / "media.tar.gz", "r:gz") as tar:
        tar.extractall(media_root, filter="data")  # "data" refuses absolute paths and ../ escapes
    mismatches = [
        f"{t}: 备份 {manifest['tables'][t]} ≠ 恢复 {restored.get(t)}"
        for t in manifest["tables"] if restored.get(t) != manifest["tables"][t]
    ]
    extra = sorted(set(restored) - set(manifest["tables"]))
    return {"tables": len(restored), "rows": sum(t["rows"] for t in restored.values()),
            "mismatches": mismatches + [f"{t}: 备份中没有此表" for t in extra],
            "media_files": manifest["media_files"]}


def _restore_postgresql(dump: Path, sd: dict, replace: bool) -> dict:
    import psycopg

    url = _pg_url(sd)
    with psycopg.connect(url) as conn:
        if _pg_tables(conn.cursor()) and not replace:
            raise BackupError("目标数据库不是空库；确认覆盖请加 --replace")
    args = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={url}"]
    if replace:
        args += ["--clean", "--if-exists"]
    proc = subprocess.run([*args, str(dump)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackupError(f"pg_restore 失败：{proc.stderr.strip()}")
    with psycopg.connect(url) as conn:
        return table_digests(conn, _pg_tables(conn.cursor()), _pg_quote)


def _restore_sqlite(copy: Path, sd: dict, replace: bool) -> dict:
    target = Path(sd["NAME"])
    if target.exists() and target.stat().st_size > 0 and not replace:
        raise BackupError(f"目标数据库 {target} 已存在；确认覆盖请加 --replace")
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".restoring")
    shutil.copyfile(copy, tmp)
    os.replace(tmp, target)  # the target is either the old file or the whole new one
    conn = sqlite3.connect(target)
    try:
        return table_digests(conn, _sqlite_tables(conn), _sqlite_quote)
    finally:
        conn.close()


def verify_restored(database_url: str) -> list[tuple[str, int, str]]:
    """Run the ledger and audit chain checks against the restored database, each in its own
    process (they use the default connection): [(command, exit code, output)]."""
    env = {**os.environ, "DATABASE_URL": database_url}
    manage = Path(settings.BASE_DIR) / "manage.py"
    out = []
    for command in ("audit_verify", "verify_points_ledger"):
        proc = subprocess.run([sys.executable, str(manage), command], env=env, capture_output=True, text=True,
                              check=False)
        out.append((command, proc.returncode, (proc.stdout + proc.stderr).strip()))
    return out


def install_keys(keys_dir: Path, var_dir: Path, *, replace: bool = False) -> list[str]:
    """Put the keys of a backup back where settings read them (var/). Refuses to overwrite a
    different existing key unless `replace`: that would make the current data unreadable."""
    data = json.loads((keys_dir / KEYS_FILE).read_text())
    wanted = {KEY_FILES[name]: data[name] for name in KEY_FILES}
    notes = []
    field_keys = data["FIELD_ENCRYPTION_KEYS"]
    if list(field_keys) == ["k1"]:
        wanted["field_encryption_key"] = field_keys["k1"]
    else:
        spec = ",".join(f"{k}:{v}" for k, v in field_keys.items())
        notes.append(f"字段加密使用多个密钥：请在环境变量中设置 FIELD_ENCRYPTION_KEYS（共 {len(field_keys)} 个，"
                     f"当前写入密钥 {data['FIELD_ENCRYPTION_KEY_ID']}），长度 {len(spec)}")
    for name, value in wanted.items():
        path = var_dir / name
        if path.exists() and path.read_text().strip() != value and not replace:
            raise BackupError(f"{path} 已有不同的密钥；确认覆盖请加 --replace-keys（旧密钥加密的数据将无法解密）")
    for name, value in wanted.items():
        path = var_dir / name
        path.write_text(value)
        path.chmod(0o600)
        notes.append(f"已写入 {path}")
    return notes
