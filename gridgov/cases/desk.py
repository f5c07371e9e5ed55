"""The case desk's list in one SQL statement: the page's rows with their names and the per-state counts.

What most desk requests are — a town or city desk, filtered at most by state and region — is answered
by a single statement of fixed text per shape: the page's ids from the covering index (as
selectors.case_page does), those rows joined to their category, grid and lead department, and the
tabs' counts from the per-town rollup (counts.py) as one JSON column. Through the ORM the same answer
took three statements and more Python to build the SQL than the database took to run it.

Which requests qualify is decided by selectors._counted_prefixes, the same rule that lets the counts
come from the rollup: no filter but state and region, and a scope of whole towns or the county (no
department capacity, no village desk). Everything else goes through the ORM (selectors.case_page_rows).
The visible rows are those whose grid code lies under one of the prefixes it returns, which is the
scope intersected with the region filter; the tests compare both paths on every kind of desk.
"""

import hashlib
import json
import re
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

ROW_COLUMNS = (
    "c.id, c.number, c.state, c.stage, k.code, k.name, c.urgency, c.source, c.region_code, r.name, c.description, "
    "c.address, c.lon, c.lat, d.code, d.name, c.created_at, c.stage_deadline, c.stage_due_soon_at, "
    "c.escalated_to_level, c.duplicate_of_id, c.self_resolved"
)
_DATETIMES = (16, 17, 18)  # positions of the datetime columns in ROW_COLUMNS


_PLAIN = re.compile(r"[0-9a-z_]{1,32}")


def _lit(value: str) -> str:
    """A region code or state as an SQL literal; only digits and lower-case words ever get here."""
    if not _PLAIN.fullmatch(value):
        raise ValueError(f"not a plain code: {value!r}")
    return f"'{value}'"


def _ranges(column: str, prefixes: tuple[str, ...] | None) -> str:
    """`column` under any of the prefixes, as index-friendly ranges (access.prefix_q); None: no condition."""
    if prefixes is None:
        return "1 = 1"
    if not prefixes:
        return "1 = 0"
    # ':' sorts right after '9': [p, p + ':') is every code starting with p
    return "(" + " OR ".join(f"({column} >= {_lit(p)} AND {column} < {_lit(p)[:-1]}:')" for p in prefixes) + ")"


def statement(prefixes: tuple[str, ...] | None, states: list[str] | None, offset: int, limit: int,
              vendor: str) -> str:
    """The statement's text, values written in (validated above): one text per desk, state set and
    page, which PostgreSQL plans once per connection (see _prepared)."""
    states_sql = f" AND state IN ({', '.join(_lit(x) for x in states)})" if states else ""
    aggregate = "json_object_agg(state, n)" if vendor == "postgresql" else "json_group_object(state, n)"
    return (
        f"SELECT {ROW_COLUMNS}, "
        f"(SELECT {aggregate} FROM (SELECT state, SUM(n) AS n FROM cases_casecount "
        f"WHERE {_ranges('town_code', prefixes)} GROUP BY state) s) "
        "FROM cases_case c "
        "JOIN cases_casecategory k ON k.id = c.category_id "
        "JOIN regions_region r ON r.code = c.region_code "
        "LEFT JOIN accounts_department d ON d.id = c.lead_department_id "
        f"WHERE c.id IN (SELECT id FROM cases_case WHERE {_ranges('region_code', prefixes)}{states_sql} "
        f"ORDER BY created_at DESC, id DESC LIMIT {int(limit)} OFFSET {int(offset)}) "
        "ORDER BY c.created_at DESC, c.id DESC"
    )


def page(prefixes: tuple[str, ...] | None, states: list[str] | None, offset: int,
         limit: int) -> tuple[dict[str, int] | None, list[tuple]]:
    """(counts per state with a total above zero, or None when the page is empty; the page's rows in
    selectors.ROW_FIELDS order). Counts ignore `states` (they are the tabs); rows honour it."""
    sql = statement(prefixes, states, offset, limit, connection.vendor)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            fetched = _prepared(cursor, sql)
        else:
            cursor.execute(sql)
            fetched = cursor.fetchall()
    if not fetched:
        return None, []
    counts = fetched[0][-1]
    if isinstance(counts, str):
        counts = json.loads(counts)
    counts = {s: int(n) for s, n in (counts or {}).items() if n}
    rows = [r[:-1] for r in fetched]
    if connection.vendor == "sqlite":
        rows = [_sqlite_row(r) for r in rows]
    return counts, rows


MAX_PREPARED = 200  # per connection: desks × state sets × pages in use; beyond it they are dropped


def _prepared(cursor, sql: str) -> list[tuple]:
    """The statement as a prepared statement of this connection (SQL PREPARE/EXECUTE): PostgreSQL
    then plans each text once per connection instead of on every request, and planning this join
    cost several times its execution. Django's cursors bind on the client and never prepare by
    themselves. The names are remembered per database connection (a reconnect starts afresh);
    prepared statements outlive a rollback. Needs a direct connection or a session-mode pooler:
    a transaction-mode pooler, or a DISCARD ALL, loses them."""
    raw = connection.connection
    known = getattr(connection, "_gridgov_desk_prepared", None)
    if known is None or known[0] is not raw:
        known = connection._gridgov_desk_prepared = (raw, set())
    names = known[1]
    name = "gg_desk_" + hashlib.sha1(sql.encode()).hexdigest()[:20]
    if name not in names:
        if len(names) >= MAX_PREPARED:
            cursor.execute("DEALLOCATE ALL")
            names.clear()
        cursor.execute(f"PREPARE {name} AS {sql}")
        names.add(name)
    cursor.execute(f"EXECUTE {name}")
    return cursor.fetchall()


def _sqlite_row(r: tuple) -> tuple:
    """SQLite hands back naive UTC datetimes (or text) and booleans as 0/1: the ORM's converters, by hand."""
    r = list(r)
    for i in _DATETIMES:
        value = r[i]
        if value is None:
            continue
        if not isinstance(value, datetime):
            value = parse_datetime(value)
        if settings.USE_TZ and timezone.is_naive(value):  # stored in UTC
            value = value.replace(tzinfo=UTC)
        r[i] = value
    r[-1] = bool(r[-1])
    return tuple(r)
