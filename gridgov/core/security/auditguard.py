"""The database refuses edits of the audit log (docs/security.md "Append-only in the database").

PostgreSQL: a trigger refuses every UPDATE and DELETE on core_auditentry unless the transaction set
`gridgov.audit_retention = 'on'` (only `audit_retention` does, for the archived prefix). The one
UPDATE let through is the foreign key to a deleted user becoming NULL (ON DELETE SET NULL): the chain
hashes the recorded account name, not the key, so nothing it covers changes.
SQLite: the same rule for UPDATE. DELETE stays possible there, because Django empties tables with
DELETE (flush, transactional tests) and SQLite has no transaction-local setting to tell it apart;
the chain still finds a deleted row.
"""

from contextlib import contextmanager

from django.db import connection, transaction

SETTING = "gridgov.audit_retention"
COLUMNS = ("id", "seq", "created_at", "actor_username", "ip", "user_agent", "action", "object_type", "object_id",
           "region_code", "changes", "outcome", "message", "prev_hash", "entry_hash")

PG_INSTALL = f"""
CREATE OR REPLACE FUNCTION gridgov_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE unlinked core_auditentry;
BEGIN
  IF current_setting('{SETTING}', true) = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    unlinked := OLD;
    unlinked.actor_id := NULL;
    IF NEW.actor_id IS NULL AND NEW IS NOT DISTINCT FROM unlinked THEN RETURN NEW; END IF;
  END IF;
  -- No percent sign here: the migration runs this through a DB-API cursor with parameters.
  RAISE EXCEPTION USING MESSAGE = '审计日志只能追加，不能修改或删除（' || TG_OP || '）',
    ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS core_auditentry_append_only ON core_auditentry;
CREATE TRIGGER core_auditentry_append_only BEFORE UPDATE OR DELETE ON core_auditentry
  FOR EACH ROW EXECUTE FUNCTION gridgov_audit_append_only();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS core_auditentry_append_only ON core_auditentry;
DROP FUNCTION IF EXISTS gridgov_audit_append_only();
"""
_same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in COLUMNS)
SQLITE_INSTALL = f"""
CREATE TRIGGER IF NOT EXISTS core_auditentry_no_update BEFORE UPDATE ON core_auditentry
WHEN NOT (NEW.actor_id IS NULL AND {_same})
BEGIN SELECT RAISE(ABORT, '审计日志只能追加，不能修改（UPDATE）'); END;
"""
SQLITE_REMOVE = "DROP TRIGGER IF EXISTS core_auditentry_no_update;"


def install(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_INSTALL)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_INSTALL)


def remove(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REMOVE)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REMOVE)


def allow_retention_delete(using_connection=None) -> None:
    """Lets this transaction delete audit rows (PostgreSQL; until the transaction ends).
    Only `audit_retention` calls it, inside its transaction, right before cutting the archived prefix."""
    conn = using_connection or connection
    if not conn.in_atomic_block:
        raise RuntimeError("allow_retention_delete must run inside a transaction")
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            cursor.execute(f"SET LOCAL {SETTING} = 'on'")


@contextmanager
def unguarded():
    """For tests that play the attacker with database access (and so can drop a trigger): lifts
    the guard inside the current transaction, and puts it back on the way out."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL {SETTING} = 'on'")
            try:
                yield
            finally:
                if not connection.needs_rollback:
                    with connection.cursor() as cursor:
                        cursor.execute(f"SET LOCAL {SETTING} = 'off'")
        else:
            with connection.cursor() as cursor:
                cursor.execute(SQLITE_REMOVE)
            try:
                yield
            finally:
                if not connection.needs_rollback:
                    with connection.cursor() as cursor:
                        cursor.execute(SQLITE_INSTALL)
