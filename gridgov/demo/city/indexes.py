"""Secondary indexes (and, on PostgreSQL, foreign keys) set aside during a bulk load and built
again after it, from their own SQL.

Millions of rows inserted in no particular order into a table with four or five indexes spend most
of their time on index pages (docs/performance.md); one sorted build per index at the end is several
times cheaper. The indexes are read from the database itself (`sqlite_master`, `pg_indexes`), so
they come back exactly as the migrations made them, unique ones included (their build checks the
rows). Primary keys and the indexes behind PostgreSQL constraints stay. Call inside a transaction:
if the load fails, the drop is rolled back with it.

PostgreSQL checks a deferred foreign key once per inserted row, as a queued trigger event run at
commit: for the points step's ~8 M rows with up to six keys each, minutes of index probes (the
full-scale run in docs/performance.md spent over two minutes in `SET CONSTRAINTS ALL IMMEDIATE`
alone). Added back after the load, each key is validated by one anti-join over the table.
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


def _foreign_keys(cursor, vendor: str, table: str) -> list[tuple[str, str]]:
    if vendor != "postgresql":
        return []  # SQLite checks a key as the row goes in, against the parent's primary key
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                   "AND contype = 'f' ORDER BY conname", [table])
    return list(cursor.fetchall())


@contextmanager
def indexes_set_aside(*models, indexes: bool = True):
    """Drops the secondary indexes (unless `indexes=False`) and the foreign keys of `models`' tables
    for the block, and builds them again after it."""
    db = connections[DEFAULT_DB_ALIAS]
    qn = db.ops.quote_name
    saved: list[tuple[str, str]] = []
    keys: list[tuple[str, str, str]] = []
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            # rows written earlier in the transaction have their checks queued, and PostgreSQL alters
            # no table with checks pending: run them now (few), defer again below
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for model in models:
            table = model._meta.db_table
            for name, definition in _foreign_keys(cursor, db.vendor, table):
                cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
                keys.append((table, name, definition))
            for name, sql in _secondary(cursor, db.vendor, table) if indexes else []:
                cursor.execute(f"DROP INDEX {qn(name)}")
                saved.append((name, sql))
        if db.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    yield
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            # Other tables' foreign keys are checked at commit (DEFERRABLE INITIALLY DEFERRED), and
            # PostgreSQL builds no index on a table with checks pending: run them now, defer again after.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _name, sql in saved:
            cursor.execute(sql)
        for table, name, definition in keys:  # validated here, by one query each
            cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
        if db.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
