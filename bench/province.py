"""A province on PostgreSQL, simulated: N county databases with their own rollups, merged into
one provincial database, and the provincial dashboard's queries timed (docs/scaling.md).

    .venv/bin/python bench/province.py --source postgres://postgres@127.0.0.1:5432/gg_city_pg
                                       [--counties 10] [--pg postgres://postgres@127.0.0.1:5432] [--keep]

The source is a database the city seed filled and `gridgov rebuild_rollups` summarised. Its
`dashboard_rollup` rows are the template of one county: each synthetic county 4290NN gets a copy
with its codes re-prefixed and its values scaled by a per-county factor (0.6-1.6: counties
differ in size), in a database of its own (gg_prov_cNN), with the same table and indexes as the
app's migration. Then, timed:

* **per-county databases + provincial rollup**: every county's county- and town-level rows
  (levels 1-2) are pulled with `COPY … TO STDOUT` and pushed with `COPY … FROM STDIN` into the
  provincial database (gg_prov_province), replacing the county's previous rows in one
  transaction each; then the provincial dashboard's queries run there: KPIs by county for a
  month, a year and the whole period, and the trend of the province by month;
* **one database for all** (what a single cluster holds, Citus or not, before distribution):
  every county's rows at every level in one table (gg_prov_all), and the same queries, plus a
  drill-down to one county's towns.

Prints row counts, merge times and the medians/p95 of the queries. The databases are dropped at
the end unless --keep.
"""

import argparse
import io
import random
import statistics
import time

import psycopg

QUERIES = {
    "KPIs by county, one month": (
        "SELECT code, kpi, sum(value) FROM dashboard_rollup WHERE level = 1 AND day >= %(month)s "
        "AND day < %(month)s::date + interval '1 month' GROUP BY code, kpi"),
    "KPIs by county, last year": (
        "SELECT code, kpi, sum(value) FROM dashboard_rollup WHERE level = 1 AND day >= %(year)s GROUP BY code, kpi"),
    "KPIs by county, five years": (
        "SELECT code, kpi, sum(value) FROM dashboard_rollup WHERE level = 1 GROUP BY code, kpi"),
    "province trend by month": (
        "SELECT date_trunc('month', day), kpi, sum(value) FROM dashboard_rollup WHERE level = 1 "
        "GROUP BY 1, 2"),
    "one county's towns, last year": (
        "SELECT code, kpi, sum(value) FROM dashboard_rollup WHERE level = 2 AND code LIKE '429003%%' "
        "AND day >= %(year)s GROUP BY code, kpi"),
}
TABLE = """
CREATE TABLE dashboard_rollup (
    id bigserial PRIMARY KEY, day date NOT NULL, code varchar(15) NOT NULL, level smallint NOT NULL,
    kpi varchar(32) NOT NULL, dim varchar(40) NOT NULL, value bigint NOT NULL);
CREATE UNIQUE INDEX dashboard_rollup_unique ON dashboard_rollup (code, day, kpi, dim);
CREATE INDEX dashboard_rollup_level_idx ON dashboard_rollup (level, code, day);
CREATE INDEX dashboard_rollup_day_idx ON dashboard_rollup (level, day, kpi);
"""
COLUMNS = "day, code, level, kpi, dim, value"


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def recreate(admin: str, name: str) -> str:
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin}/{name}"
    with psycopg.connect(url) as conn:
        conn.execute(TABLE)
    return url


def time_queries(url: str, runs: int, params: dict) -> dict[str, tuple[float, float]]:
    out = {}
    with psycopg.connect(url) as conn:
        for name, sql in QUERIES.items():
            times = []
            for i in range(runs + 2):
                t0 = time.perf_counter()
                conn.execute(sql, params).fetchall()
                if i >= 2:
                    times.append((time.perf_counter() - t0) * 1000)
            out[name] = (statistics.median(times), pct(times, 95))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    rng = random.Random(2013)

    with psycopg.connect(args.source) as conn:
        source = conn.execute(f"SELECT {COLUMNS} FROM dashboard_rollup").fetchall()
        last = conn.execute("SELECT max(day) FROM dashboard_rollup").fetchone()[0]
    if not source:
        raise SystemExit("the source has no rollups: run `gridgov rebuild_rollups` on it first")
    county0 = source[0][1][:6]
    print(f"template: {len(source):,} rollup rows of county {county0} up to {last}", flush=True)
    params = {"month": last.replace(day=1), "year": last.replace(year=last.year - 1)}

    counties = [f"4290{i:02d}" for i in range(1, args.counties + 1)]
    urls = {}
    t0 = time.perf_counter()
    for code in counties:
        factor = rng.uniform(0.6, 1.6)
        buf = io.StringIO()
        for day, c, level, kpi, dim, value in source:
            buf.write(f"{day}\t{code}{c[6:]}\t{level}\t{kpi}\t{dim}\t{round(value * factor)}\n")
        urls[code] = url = recreate(args.pg, f"gg_prov_c{code[-2:]}")
        with psycopg.connect(url) as conn, conn.cursor().copy(
                f"COPY dashboard_rollup ({COLUMNS}) FROM STDIN") as copy:
            copy.write(buf.getvalue())
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE dashboard_rollup")
    print(f"{len(counties)} county databases built in {time.perf_counter() - t0:.1f} s "
          f"({len(source):,} rows each)", flush=True)

    # --- per-county databases, provincial rollup ---------------------------------------------------
    province = recreate(args.pg, "gg_prov_province")
    merge_times, merged = [], 0
    t_all = time.perf_counter()
    with psycopg.connect(province) as target:
        for code, url in urls.items():
            t0 = time.perf_counter()
            buf = io.BytesIO()
            with psycopg.connect(url) as src, src.cursor().copy(
                    f"COPY (SELECT {COLUMNS} FROM dashboard_rollup WHERE level <= 2) TO STDOUT") as copy:
                for chunk in copy:
                    buf.write(chunk)
            with target.transaction():
                target.execute("DELETE FROM dashboard_rollup WHERE code LIKE %s", [code + "%"])
                with target.cursor().copy(f"COPY dashboard_rollup ({COLUMNS}) FROM STDIN") as copy:
                    copy.write(buf.getvalue())
            merge_times.append(time.perf_counter() - t0)
            merged += buf.getvalue().count(b"\n")
    total_merge = time.perf_counter() - t_all
    with psycopg.connect(province, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE dashboard_rollup")
    print(f"provincial merge: {merged:,} rows (levels 1-2) from {len(urls)} counties in {total_merge:.2f} s; "
          f"per county median {statistics.median(merge_times):.3f} s, max {max(merge_times):.3f} s", flush=True)
    print("provincial database (levels 1-2 of every county):", flush=True)
    for name, (med, p95) in time_queries(province, args.runs, params).items():
        print(f"  {name:32} median {med:8.2f} ms  p95 {p95:8.2f} ms", flush=True)

    # --- one database for all ---------------------------------------------------------------------
    everything = recreate(args.pg, "gg_prov_all")
    t0 = time.perf_counter()
    rows = 0
    with psycopg.connect(everything) as target:
        for url in urls.values():
            buf = io.BytesIO()
            with psycopg.connect(url) as src, src.cursor().copy(
                    f"COPY (SELECT {COLUMNS} FROM dashboard_rollup) TO STDOUT") as copy:
                for chunk in copy:
                    buf.write(chunk)
            with target.cursor().copy(f"COPY dashboard_rollup ({COLUMNS}) FROM STDIN") as copy:
                copy.write(buf.getvalue())
            rows += buf.getvalue().count(b"\n")
    with psycopg.connect(everything, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE dashboard_rollup")
    print(f"one database: {rows:,} rows (every level) loaded in {time.perf_counter() - t0:.1f} s", flush=True)
    for name, (med, p95) in time_queries(everything, args.runs, params).items():
        print(f"  {name:32} median {med:8.2f} ms  p95 {p95:8.2f} ms", flush=True)

    if not args.keep:
        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
            for name in [*(f"gg_prov_c{c[-2:]}" for c in counties), "gg_prov_province", "gg_prov_all"]:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
