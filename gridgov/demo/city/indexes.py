"""Secondary indexes set aside during a bulk load and built again after it, from their own SQL.

Millions of rows inserted in no particular order into a table with four or five indexes spend most
of their time on index pages (docs/performance.md); one sorted build per index at the end is several
times cheaper. The indexes are read from the database itself (`sqlite_master`, `pg_indexes`), so
they come back exactly as the migrations made them, unique ones included (their build checks the
rows). Primary keys and the indexes behind PostgreSQL constraints stay. Call inside a transaction:
if the load fails, the drop is rolled back with it.
"""

from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections


def _secondary(cursor, vendor: str, table: str) -> list[tuple[str, str]]:
    if vendor == "sqlite":
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                       "AND sql IS NOT NULL", [table])
        return list(cursor.fetchall())
    if vendor == "postgresql":
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND tablename = %s AND indexname NOT IN (SELECT conindid::regclass::text "
                       "FROM pg_constraint WHERE conrelid = %s::regclass AND conindid <> 0)", [table, table])
        return list(cursor.fetchall())
    return []


@contextmanager
def indexes_set_aside(*models):
    """Drops the secondary indexes of `models`' tables for the block, and builds them again after it."""
    db = connections[DEFAULT_DB_ALIAS]
    saved: list[tuple[str, str]] = []
    with db.cursor() as cursor:
        for model in models:
            for name, sql in _secondary(cursor, db.vendor, model._meta.db_table):
                cursor.execute(f"DROP INDEX {db.ops.quote_name(name)}")
                saved.append((name, sql))
    yield
    with db.cursor() as cursor:
        if db.vendor == "postgresql" and saved:
            # The foreign keys are checked at commit (DEFERRABLE INITIALLY DEFERRED), and PostgreSQL
            # builds no index on a table with checks pending: run them now, defer again after.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _name, sql in saved:
            cursor.execute(sql)
        if db.vendor == "postgresql" and saved:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
