"""Backup and restore round trip into a fresh database, on whichever engine the suite runs on."""

import json
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from gridgov.core.security.backup import KEYS_FILE, MANIFEST

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_database(tmp_path):
    """An empty database of the suite's engine (PostgreSQL: created and dropped here)."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    from gridgov.core.security.backup import _pg_url

    sd = connection.settings_dict
    name = f"gg_restore_{uuid.uuid4().hex[:10]}"
    admin = _pg_url({**sd, "NAME": "postgres"})
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url({**sd, "NAME": name})
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    photo = settings.MEDIA_ROOT / "cases" / "2026" / "photo.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)
    return photo


def test_backup_restores_into_a_fresh_database_with_the_same_rows(tmp_path, media, fresh_database, capsys):
    call_command("backup", str(tmp_path / "bk"), keys_dir=str(tmp_path / "keys"))
    manifest = json.loads((tmp_path / "bk" / MANIFEST).read_text())
    assert manifest["tables"]["people_resident"]["rows"] > 1000  # the seeded demo went in
    assert manifest["tables"]["core_auditentry"]["rows"] > 0
    assert manifest["media_files"] == 1
    assert not (tmp_path / "bk" / KEYS_FILE).exists() and (tmp_path / "keys" / KEYS_FILE).exists()
    capsys.readouterr()

    call_command("restore", str(tmp_path / "bk"), database_url=fresh_database,
                 media_root=str(tmp_path / "media2"))
    out = capsys.readouterr().out
    assert "核对通过" in out and "审计链校验通过" in out and "核对通过：" in out
    restored = tmp_path / "media2" / media.relative_to(media.parents[2])
    assert restored.read_bytes() == media.read_bytes()

    # Restoring again over the now populated database is refused without --replace.
    with pytest.raises(CommandError, match="--replace"):
        call_command("restore", str(tmp_path / "bk"), database_url=fresh_database,
                     media_root=str(tmp_path / "media3"))
    assert not (tmp_path / "media3").exists()


def test_a_damaged_backup_is_refused_before_anything_is_written(tmp_path, media, fresh_database):
    call_command("backup", str(tmp_path / "bk"))
    dump = next(p for p in (tmp_path / "bk").iterdir() if p.name.startswith("db."))
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="校验和不符"):
        call_command("restore", str(tmp_path / "bk"), database_url=fresh_database,
                     media_root=str(tmp_path / "media2"))
    assert not (tmp_path / "media2").exists()
    if connection.vendor == "sqlite":
        assert not Path(fresh_database.removeprefix("sqlite:///")).exists()


def test_backup_refuses_a_directory_that_is_not_empty(tmp_path, media):
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "old").write_text("x")
    with pytest.raises(CommandError, match="不是空目录"):
        call_command("backup", str(tmp_path / "bk"))


def test_keys_are_not_overwritten_by_different_ones(tmp_path, media, settings):
    from gridgov.core.security.backup import BackupError, install_keys, write_keys

    write_keys(tmp_path / "keys")
    var = tmp_path / "var"
    var.mkdir()
    (var / "audit_chain_key").write_text("another")
    with pytest.raises(BackupError, match="不同的密钥"):
        install_keys(tmp_path / "keys", var)
    assert (var / "audit_chain_key").read_text() == "another"
    install_keys(tmp_path / "keys", var, replace=True)
    assert (var / "audit_chain_key").read_text() == settings.AUDIT_CHAIN_KEY
