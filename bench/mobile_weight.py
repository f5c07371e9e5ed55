"""网格通 on a slow phone: first-load weight and time to interactive on a throttled connection.

    .venv/bin/python bench/mobile_weight.py                 # own temp database, demo seed, own server
    .venv/bin/python bench/mobile_weight.py --url http://127.0.0.1:8000 --username gw… --password …

Without --url: a fresh SQLite database in a temp dir is migrated and seeded (`seed_demo --scale small`,
people included, so the pulled grid is a real demo grid), and `gridgov runserver --noreload` serves
it. The grid worker with the longest must-visit list logs in (outside the measurement).

Then, in Debian's chromium through Playwright with a cold cache, a 390 × 844 mobile viewport and
Chrome DevTools network + CPU emulation (default: 400 ms latency, 400 kbit/s down, 400 kbit/s up —
DevTools' "Slow 3G" — and 4× CPU slowdown), it opens /m/ and records:

  * every response's bytes on the wire (CDP encodedDataLength) and the gzip -6 size of its body
    (what nginx or WhiteNoise send compressed in production; runserver sends it uncompressed);
  * time to the shell being interactive (app.js ran, buttons wired: body[data-ready]);
  * time to today's must-visit list on screen (the first pull of the grid answered and rendered);
  * the same two for a second, warm start (service worker and IndexedDB), and for an offline start.

Target: first load < 300 KB compressed, photos excluded. Not part of the test suite.
"""

import argparse
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRIDGOV = ROOT / ".venv" / "bin" / "gridgov"
PASSWORD = "Bench-Mobile-Pass-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def own_server(tmp: Path) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}", "MEDIA_ROOT": str(tmp / "media"),
           "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    t0 = time.monotonic()
    subprocess.run([str(GRIDGOV), "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([str(GRIDGOV), "seed_demo", "--scale", "small", "--quiet"], env=env, check=True, cwd=ROOT)
    pick = """
from gridgov.accounts.models import Assignment
from gridgov.visits.selectors import must_visit_list
best = None
for a in Assignment.objects.filter(role="grid_worker", region__code__startswith="420881103201")[:8]:
    n = must_visit_list(user=a.user, grid=a.region_id).count
    if best is None or n > best[0]:
        best = (n, a.user)
best[1].set_password("BENCH_PASSWORD"); best[1].save()
print(best[1].username)
""".replace("BENCH_PASSWORD", PASSWORD)
    picked = subprocess.run([str(GRIDGOV), "shell", "-c", pick], env=env, cwd=ROOT, capture_output=True, text=True)
    if picked.returncode:
        sys.exit(picked.stderr)
    username = picked.stdout.strip().splitlines()[-1]
    print(f"database migrated and seeded in {time.monotonic() - t0:.0f} s; worker {username}", flush=True)
    port = free_port()
    log = open(tmp / "server.log", "w")  # noqa: SIM115 (open for the server's lifetime)
    server = subprocess.Popen([str(GRIDGOV), "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
                              env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    # System checks take a while on a loaded machine: wait up to three minutes for the port.
    for _ in range(900):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.2)
    return server, url, username


def measure(url: str, username: str, password: str, args) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--disable-gpu", "--no-first-run"])
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                      device_scale_factor=2, locale="zh-CN")
        # Log in outside the measurement, through the login form's POST only (no page assets cached).
        context.request.get(f"{url}/m/login/")
        token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
        r = context.request.post(f"{url}/m/login/", form={"username": username, "password": password,
                                                          "csrfmiddlewaretoken": token, "next": "/m/"},
                                 headers={"Referer": f"{url}/m/login/"})
        assert r.ok and "/m/login/" not in r.url, "login failed"
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": args.latency_ms, "downloadThroughput": args.down_kbit * 1000 / 8,
            "uploadThroughput": args.up_kbit * 1000 / 8})
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.cpu})
        wire: dict[str, int] = {}
        urls: dict[str, str] = {}
        cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        cdp.on("Network.loadingFinished", lambda e: wire.__setitem__(e["requestId"], e["encodedDataLength"]))
        bodies: dict[str, bytes] = {}
        page.on("response", lambda resp: bodies.__setitem__(resp.url, resp.body()) if resp.ok else None)

        def start(label):
            t0 = time.monotonic()
            page.goto(f"{url}/m/", wait_until="commit")
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            ready = time.monotonic() - t0
            page.wait_for_selector("text=今日走访", timeout=120_000)
            listed = time.monotonic() - t0
            print(f"  {label:<34} interactive {ready * 1000:7.0f} ms   today's list {listed * 1000:7.0f} ms",
                  flush=True)
            return ready, listed

        print(f"throttled: {args.latency_ms} ms latency, {args.down_kbit}/{args.up_kbit} kbit/s, CPU ×{args.cpu}")
        first = start("first load (cold cache)")
        # Polled through CDP: the page's CSP forbids the eval that wait_for_function needs.
        deadline = time.monotonic() + 120
        while not page.evaluate("navigator.serviceWorker.controller?.state === 'activated'"):
            assert time.monotonic() < deadline, "the service worker never activated"
            time.sleep(0.2)
        page.wait_for_timeout(500)
        rows = []
        for rid, u in urls.items():
            body = bodies.get(u, b"")
            rows.append((u.replace(url, ""), wire.get(rid, 0), len(body), len(gzip.compress(body, 6))))
        warm = start("second start (service worker)")
        context.set_offline(True)
        offline = start("offline start")
        browser.close()
    return {"rows": rows, "first": first, "warm": warm, "offline": offline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url")
    parser.add_argument("--username")
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--latency-ms", type=int, default=400)
    parser.add_argument("--down-kbit", type=int, default=400)
    parser.add_argument("--up-kbit", type=int, default=400)
    parser.add_argument("--cpu", type=float, default=4)
    parser.add_argument("--chromium", default=os.environ.get("GRIDGOV_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if args.url:
                url, username = args.url.rstrip("/"), args.username
            else:
                server, url, username = own_server(Path(tmp))
            result = measure(url, username, args.password, args)
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)
    print(f"\n{'first load, by response':<62} {'wire':>9} {'raw':>9} {'gzip':>9}")
    total = [0, 0, 0]
    for path, wire, raw, gz in sorted(result["rows"], key=lambda r: -r[3]):
        print(f"  {path[:60]:<60} {wire:>9,} {raw:>9,} {gz:>9,}")
        total = [total[0] + wire, total[1] + raw, total[2] + gz]
    print(f"  {'total':<60} {total[0]:>9,} {total[1]:>9,} {total[2]:>9,}")
    verdict = "meets" if total[2] < 300 * 1024 else "MISSES"
    print(f"\nfirst load compressed: {total[2] / 1024:.1f} KB ({verdict} the 300 KB target)")
    print(json.dumps({"first_load_gzip_bytes": total[2], "first_load_wire_bytes": total[0],
                      "tti_ms": round(result["first"][0] * 1000), "list_ms": round(result["first"][1] * 1000),
                      "warm_tti_ms": round(result["warm"][0] * 1000),
                      "offline_tti_ms": round(result["offline"][0] * 1000)}))


if __name__ == "__main__":
    sys.exit(main())
