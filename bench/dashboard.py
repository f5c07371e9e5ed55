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


# --- profile: where one list request's time goes --------------------------------------------------------

LAYERS = [  # (label, file suffix, function): cumulative time of these frames under cProfile
    ("whole request (Django handler)", "django/core/handlers/base.py", "get_response"),
    ("ninja operation", "ninja/operation.py", "run"),
    ("  auth (bearer token)", "gridgov/accounts/auth.py", "authenticate"),
    ("  query parameters", "ninja/operation.py", "_get_values"),
    ("  list_cases view", "gridgov/cases/api.py", "list_cases"),
    ("    desk selector (scope, query, counts)", "gridgov/cases/selectors.py", "case_desk"),
    ("      scope", "gridgov/cases/selectors.py", "_counted_prefixes"),
    ("      one statement (desk.page)", "gridgov/cases/desk.py", "page"),
    ("    rows to dicts", "gridgov/cases/api.py", "_row"),
    ("    JSON", "json/__init__.py", "dumps"),
]


def profile_list(runs: int) -> None:
    """One list request as a town operator and as the city operator: its queries, then the time per
    layer over `runs` requests under cProfile (which inflates Python time; compare layers, not totals)."""
    import cProfile
    import pstats

    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = ["*"]
    for label, username in (("town operator", LOGINS[TOWN]), ("city operator", LOGINS[CITY])):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(username)}")
        url = "/api/v1/cases?page=1&page_size=20"
        for _ in range(10):
            assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        print(f"  {label} ({username}): {len(ctx.captured_queries)} quer{'y' if len(ctx) == 1 else 'ies'}", flush=True)
        for q in ctx.captured_queries:
            print(f"    {q['time']} s  {q['sql'][:110]}", flush=True)
        t0 = time.perf_counter()
        for _ in range(runs):
            client.get(url)
        plain = (time.perf_counter() - t0) / runs * 1000
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(runs):
            client.get(url)
        profiler.disable()
        stats = pstats.Stats(profiler).stats
        print(f"    {runs} requests in process: {plain:.2f} ms each without the profiler; under it, per request:")
        for name, suffix, func in LAYERS:
            total = sum(v[3] for k, v in stats.items() if k[0].endswith(suffix) and k[2] == func)
            print(f"    {name:44} {total / runs * 1000:7.3f} ms", flush=True)


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


def bench_http(seconds: float, processes: int, threads: int, n_rounds: int = 1) -> dict:
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
        load(port, ME_PATH, bearer, 2, processes, threads)
        load(port, case_path, bearer, 2, processes, threads)
        # Rounds alternate the three targets, so a change in the machine's load between them (other
        # jobs on the shared cores) shows as a spread of the per-round ratios, not as a bias.
        rounds = []
        for r in range(n_rounds):
            trivial, e1 = load(port, "/healthz", {}, seconds, processes, threads)
            # The second yardstick: a trivial *authenticated* ninja operation (user and scope, no query of
            # its own), so the ratio below it is what the list costs on top of the API's own stack.
            me, e3 = load(port, ME_PATH, bearer, seconds, processes, threads)
            cases, e2 = load(port, case_path, bearer, seconds, processes, threads)
            row = {"healthz_rps": round(trivial), "me_rps": round(me), "cases_rps": round(cases),
                   "ratio": round(cases / trivial, 3) if trivial else 0.0,
                   "ratio_me": round(cases / me, 3) if me else 0.0,
                   "errors": e1 + e2 + e3, "load": loadavg()}
            rounds.append(row)
            print(f"  round {r + 1}: /healthz {trivial:6.0f} req/s   {ME_PATH} {me:6.0f} req/s   /api/v1/cases "
                  f"{cases:6.0f} req/s   list/healthz {row['ratio']:.0%}   list/me {row['ratio_me']:.0%}   "
                  f"errors {row['errors']}   load {row['load']}", flush=True)
        ratio = statistics.median(r["ratio"] for r in rounds)
        ratio_me = statistics.median(r["ratio_me"] for r in rounds)
        print(f"  median over {n_rounds} round(s): case list / /healthz = {ratio:.0%} (target >= 40 %); "
              f"case list / {ME_PATH} = {ratio_me:.0%}", flush=True)
        return {"rounds": rounds, "ratio": ratio, "ratio_me": ratio_me}
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
    parser.add_argument("--rounds", type=int, default=1, help="alternate the HTTP targets this many times")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile one list request per desk (in process)")
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
    if args.profile:
        print(f"profile of GET /api/v1/cases (load {loadavg()}):", flush=True)
        profile_list(args.runs)
    if not args.skip_http:
        print(f"throughput (gunicorn 2 sync workers, {processes}x{threads} client connections, "
              f"{args.seconds:.0f} s each, {args.rounds} round(s)):", flush=True)
        figures["http"] = bench_http(args.seconds, processes, threads, args.rounds)
    figures["load_after"] = loadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
