"""The per-town, per-state case counts (models.CaseCount): the triggers that keep them, their rebuild,
and the desk's use of them.

The triggers live in the database so that every writer — services, bulk loads, the demo and city
seeds, a DBA's UPDATE — keeps the counts true; `rebuild()` recomputes them after loads that disable
triggers (or to check them).
"""

from contextlib import contextmanager

from django.db import connection, transaction

TABLE = "cases_casecount"

SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS cases_case_count_ins AFTER INSERT ON cases_case BEGIN
        INSERT INTO {TABLE}(town_code, state, n) VALUES (substr(NEW.region_code, 1, 9), NEW.state, 1)
        ON CONFLICT(town_code, state) DO UPDATE SET n = n + 1;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS cases_case_count_upd AFTER UPDATE OF state, region_code ON cases_case
    WHEN OLD.state <> NEW.state OR OLD.region_code <> NEW.region_code BEGIN
        UPDATE {TABLE} SET n = n - 1 WHERE town_code = substr(OLD.region_code, 1, 9) AND state = OLD.state;
        INSERT INTO {TABLE}(town_code, state, n) VALUES (substr(NEW.region_code, 1, 9), NEW.state, 1)
        ON CONFLICT(town_code, state) DO UPDATE SET n = n + 1;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS cases_case_count_del AFTER DELETE ON cases_case BEGIN
        UPDATE {TABLE} SET n = n - 1 WHERE town_code = substr(OLD.region_code, 1, 9) AND state = OLD.state;
    END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS cases_case_count_ins", "DROP TRIGGER IF EXISTS cases_case_count_upd",
               "DROP TRIGGER IF EXISTS cases_case_count_del"]

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION cases_case_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE {TABLE} SET n = n - 1 WHERE town_code = left(OLD.region_code, 9) AND state = OLD.state;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO {TABLE}(town_code, state, n) VALUES (left(NEW.region_code, 9), NEW.state, 1)
            ON CONFLICT (town_code, state) DO UPDATE SET n = {TABLE}.n + 1;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER cases_case_count_insdel AFTER INSERT OR DELETE ON cases_case
       FOR EACH ROW EXECUTE FUNCTION cases_case_count()""",
    """CREATE TRIGGER cases_case_count_upd AFTER UPDATE OF state, region_code ON cases_case FOR EACH ROW
       WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.region_code IS DISTINCT FROM NEW.region_code)
       EXECUTE FUNCTION cases_case_count()""",
]
POSTGRES_DROP = ["DROP TRIGGER IF EXISTS cases_case_count_insdel ON cases_case",
                 "DROP TRIGGER IF EXISTS cases_case_count_upd ON cases_case",
                 "DROP FUNCTION IF EXISTS cases_case_count()"]


def trigger_sql(vendor: str, *, drop: bool = False) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_DROP if drop else SQLITE
    if vendor == "postgresql":
        return POSTGRES_DROP if drop else POSTGRES
    raise NotImplementedError(f"case counts: no triggers for {vendor}")


def rebuild(conn=None) -> int:
    """Recomputes every count from cases_case; returns the number of (town, state) rows."""
    conn = conn or connection
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(
            f"INSERT INTO {TABLE}(town_code, state, n) SELECT substr(region_code, 1, 9), state, COUNT(*) "
            "FROM cases_case GROUP BY substr(region_code, 1, 9), state"
        )
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
        return cursor.fetchone()[0]


@contextmanager
def suspended(conn=None):
    """For a bulk load of cases: the triggers off for the block, then on again and one `rebuild()`.

    Per row, the triggers update one of ~200 count rows; inside one long transaction on PostgreSQL
    each update leaves a dead version that the next update of the same row must walk past, so a load
    of 500,000 cases slows down quadratically (docs/performance.md). Call inside a transaction: an
    error rolls the drop back with the rows.
    """
    conn = conn or connection
    with conn.cursor() as cursor:
        for sql in trigger_sql(conn.vendor, drop=True):
            cursor.execute(sql)
    yield
    with conn.cursor() as cursor:
        for sql in trigger_sql(conn.vendor):
            cursor.execute(sql)
    rebuild(conn)


def by_state(prefixes: tuple[str, ...] | None) -> dict[str, int]:
    """Cases per state under region prefixes of at most 9 digits (None: the whole platform)."""
    from django.db.models import Q, Sum

    from .models import CaseCount

    qs = CaseCount.objects.all()
    if prefixes is not None:
        if any(len(p) > 9 for p in prefixes):
            raise ValueError("case counts are kept per town: prefixes of at most 9 digits")
        cond = Q(pk__in=[])
        for p in prefixes:
            cond |= Q(town_code__startswith=p)
        qs = qs.filter(cond)
    return {row["state"]: row["total"] for row in qs.values("state").annotate(total=Sum("n")) if row["total"]}
