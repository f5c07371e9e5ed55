"""The dashboard and the case list on the city-scale data (`gridgov seed_demo --scale city`).

    .venv/bin/python bench/dashboard.py --var-dir /tmp/city_sqlite [--database-url postgres://…/gg_city_pg]
                                        [--runs 30] [--seconds 20] [--clients 2x4] [--skip-pages] [--skip-http]

Point it at a database the city seed filled (and `gridgov rebuild_rollups` summarised): the same
GRIDGOV_VAR_DIR (the field keys live there) and DATABASE_URL the seed used. Nothing is written
but one API token for the city operator.

1. Server time, in process (Django's test client: URL routing, middleware, session, scope,
   queries, templates; no network): the dashboard page (/dashboard/<code>/) and the map data
   (/api/v1/dashboard/nodes/<code>/children) of the city, of a town (胡集镇) and of a village
   (湖山村), each logged in as the holder of that level's post, plus the KPI data of each node.
   A few warm-up requests, then --runs timed ones; median and p95 in ms. Target p95 < 200 ms.
2. Throughput over HTTP: gunicorn with 2 sync workers on a free port, and a load generator
   (--clients processes × threads, each thread one http.client connection that reconnects when
   the sync worker closes it) for --seconds against /healthz (the yardstick: the same stack, one
   `SELECT 1`) and against /api/v1/cases?page=1&page_size=20 with a Bearer token of the city
   operator (the case desk's first page with its counts; the token is issued in process, as the
   HTTP exchange asks that account for a second factor). Requests per second and the ratio.
   Target: the case list at >= 40 % of the yardstick.

The load generator runs on the same 2 cores as the server, as wrk would; its processes take a
share of the CPU from gunicorn, so the absolute figures are lower than on separate machines; the
ratio is the figure that compares. Note the load average printed with the figures.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CITY, TOWN, VILLAGE = "420881", "420881103", "420881103201"  # 钟祥市, 胡集镇, 湖山村
LOGINS = {CITY: "city-1", TOWN: f"to{TOWN}-1", VILLAGE: f"ga{VILLAGE}"}


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- 1. server time in process --------------------------------------------------------------------

def bench_pages(runs: int) -> list[dict]:
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from gridgov.accounts.models import User

    settings.ALLOWED_HOSTS = ["*"]
    out = []
    for code, username in LOGINS.items():
        client = Client()
        client.force_login(User.objects.get(username=username))
        targets = [
            ("page", f"/dashboard/{code}/"),
            ("map data", f"/api/v1/dashboard/nodes/{code}/children"),
            ("kpis", f"/api/v1/dashboard/nodes/{code}/kpis"),
        ]
        for what, url in targets:
            times, status = [], None
            for i in range(runs + 3):
                t0 = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - t0) * 1000
                status = response.status_code
                if status != 200:
                    break
                if i >= 3:
                    times.append(elapsed)
            row = {"level": {CITY: "city", TOWN: "town", VILLAGE: "village"}[code], "what": what, "url": url,
                   "status": status, "vendor": connection.vendor}
            if times:
                row |= {"median_ms": round(statistics.median(times), 1), "p95_ms": round(pct(times, 95), 1),
                        "runs": len(times)}
            out.append(row)
            print(f"  {row['level']:8} {what:9} {url:48} "
                  + (f"median {row['median_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms"
                     if times else f"HTTP {status}"), flush=True)
    return out


# --- 2. throughput under gunicorn ------------------------------------------------------------------

def setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    django.setup()


def issue_token(username: str) -> str:
    """A token issued in process: the city operator's account needs a second factor for the HTTP
    exchange (POST /api/v1/auth/token), which a benchmark has no phone for."""
    setup_django()
    from gridgov.accounts.models import User
    from gridgov.accounts.services import api_token_issue

    _token, raw = api_token_issue(acting_user=User.objects.get(username=username), name="bench/dashboard.py")
    return raw


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(port: int, path: str, headers: dict, seconds: float, threads: int, queue) -> None:
    import threading

    counts = [0] * threads
    errors = [0] * threads
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop:
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1
                if response.getheader("connection", "").lower() == "close":
                    conn.close()  # a sync worker closes after each response; reconnect next time
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    queue.put((sum(counts), sum(errors)))


def load(port: int, path: str, headers: dict, seconds: float, processes: int, threads: int) -> tuple[float, int]:
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_worker, args=(port, path, headers, seconds, threads, queue))
             for _ in range(processes)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    ok, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    return ok / elapsed, errors


ME_PATH = "/api/v1/auth/me"


def bench_http(seconds: float, processes: int, threads: int) -> dict:
    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="gridgov.settings")
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "gridgov.wsgi:application", "--workers", "2", "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning"], env=env, cwd=ROOT)
    try:
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not come up")
        bearer = {"Authorization": f"Bearer {issue_token('city-1')}"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        case_path = "/api/v1/cases?page=1&page_size=20"
        conn.request("GET", case_path, headers=bearer)
        response = conn.getresponse()
        first = json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"case list: HTTP {response.status} {first}")
        print(f"  case list answers count={first.get('count'):,} with {len(first.get('items', []))} items", flush=True)
        load(port, "/healthz", {}, 3, processes, threads)  # warm both workers
        trivial, e1 = load(port, "/healthz", {}, seconds, processes, threads)
        print(f"  /healthz            {trivial:8.0f} req/s  (errors {e1})  load {loadavg()}", flush=True)
        # The second yardstick: a trivial *authenticated* ninja operation (the user and their scope, no
        # query of its own), so the ratio below it is what the list itself costs on top of the API's stack.
        load(port, ME_PATH, bearer, 3, processes, threads)
        me, e3 = load(port, ME_PATH, bearer, seconds, processes, threads)
        print(f"  {ME_PATH:19} {me:8.0f} req/s  (errors {e3})  load {loadavg()}", flush=True)
        load(port, case_path, bearer, 3, processes, threads)
        cases, e2 = load(port, case_path, bearer, seconds, processes, threads)
        print(f"  /api/v1/cases       {cases:8.0f} req/s  (errors {e2})  load {loadavg()}", flush=True)
        ratio = cases / trivial if trivial else 0.0
        ratio_me = cases / me if me else 0.0
        print(f"  case list / /healthz = {ratio:.0%} (target >= 40 %); case list / {ME_PATH} = {ratio_me:.0%}",
              flush=True)
        return {"healthz_rps": round(trivial), "me_rps": round(me), "cases_rps": round(cases),
                "ratio": round(ratio, 3), "ratio_me": round(ratio_me, 3), "errors": e1 + e2 + e3,
                "load": loadavg()}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--var-dir", required=True, help="GRIDGOV_VAR_DIR of the seeded database (field keys)")
    parser.add_argument("--database-url", help="DATABASE_URL of the seeded database (default: SQLite in --var-dir)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", default="2x4", help="load generator processes x threads (default 2x4)")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    os.environ["GRIDGOV_VAR_DIR"] = args.var_dir
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    processes, threads = (int(x) for x in args.clients.split("x"))
    figures = {"load_before": loadavg()}
    print(f"dashboard bench on {args.database_url or 'SQLite in ' + args.var_dir}; load {loadavg()}", flush=True)
    if not args.skip_pages:
        print("server time (in process):", flush=True)
        figures["pages"] = bench_pages(args.runs)
    if not args.skip_http:
        print(f"throughput (gunicorn 2 sync workers, {processes}x{threads} client connections, {args.seconds:.0f} s):",
              flush=True)
        figures["http"] = bench_http(args.seconds, processes, threads)
    figures["load_after"] = loadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
