"""Crash safety on PostgreSQL: writes the platform acknowledged survive (a) the database dying
mid-load (`pg_ctl stop -m immediate`, then WAL recovery) and (b) the gunicorn workers being
SIGKILLed mid-request; nothing is half-written, and the audit chain and the points ledger verify.

Runs against a throwaway cluster (cluster.py), not the test database of `make test`: an immediate
stop would take every other engineer's and CI's connections down with it.
"""

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .checks import check
from .cluster import BIN, REPO, Cluster, Gunicorn, app_env, gridgov
from .load import Load

WARMUP, OUTAGE, AFTER = 4.0, 2.0, 4.0  # seconds of load before the crash, while down, after recovery


@pytest.fixture(scope="module")
def stack():
    started = time.monotonic()
    cluster = Cluster()
    var_dir = Path(tempfile.mkdtemp(prefix="gg-resil-var-"))  # keys, gunicorn.log
    gunicorn = None
    try:
        cluster.init()
        env = app_env(cluster, var_dir)
        gridgov(env, "migrate", "--noinput")
        seeded = subprocess.run([str(BIN / "python"), str(Path(__file__).parent / "seed_minimal.py")], env=env,
                                cwd=REPO, capture_output=True, text=True, check=True)
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        gunicorn = Gunicorn(env, workers=2)
        print(f"\n[resilience] cluster on :{cluster.port}, gunicorn on :{gunicorn.port}, "
              f"ready in {time.monotonic() - started:.1f} s")
        yield {"cluster": cluster, "env": env, "seed": seed, "gunicorn": gunicorn}
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        cluster.destroy()
        shutil.rmtree(var_dir, ignore_errors=True)


def _report(title: str, tally, present: int, figures: dict, extra: str = "") -> None:
    print(f"[resilience] {title}: writes attempted {tally.attempted}, acknowledged {tally.acked} "
          f"({len(tally.acked_cases)} cases, {len(tally.acked_claims)} claims, {len(tally.acked_awards)} awards), "
          f"present after restart {present}; not acknowledged: {tally.failures} "
          f"(of which cases committed all the same: {tally.committed_unacked}); {extra}")
    print(f"[resilience] {title}: rows checked " + ", ".join(f"{k} {v}" for k, v in figures.items())
          + f" (total {sum(figures.values())})")


def test_acknowledged_writes_survive_an_immediate_database_stop(stack):
    cluster, gunicorn = stack["cluster"], stack["gunicorn"]
    load = Load(gunicorn.base, stack["seed"]).start()
    time.sleep(WARMUP)
    before = load.tally.acked
    cluster.crash()
    time.sleep(OUTAGE)
    cluster.start()  # WAL replay
    at_restart = load.tally.acked
    time.sleep(AFTER)
    tally = load.stop()

    assert "database system was not properly shut down" in cluster.recovery_log()
    assert before > 0 and tally.acked > at_restart, "no writes before the crash, or none after recovery"
    present, figures = check(cluster.url, stack["env"], tally)
    assert present == tally.acked
    _report("immediate stop", tally, present, figures,
            f"acknowledged before the stop {before}, after recovery {tally.acked - at_restart}")


def test_acknowledged_writes_survive_killed_workers(stack):
    gunicorn = stack["gunicorn"]
    load = Load(gunicorn.base, stack["seed"]).start()
    killed = []
    for _ in range(4):  # again and again, so requests die in different places of their transactions
        gunicorn.wait_ready()  # fresh workers serving again
        time.sleep(0.7)
        killed += gunicorn.kill_workers()
    gunicorn.wait_ready()
    at_respawn = load.tally.acked
    time.sleep(AFTER)
    tally = load.stop()

    assert len(killed) >= 8 and gunicorn.proc.poll() is None
    assert tally.acked > at_respawn, "no writes after the workers were replaced"
    present, figures = check(stack["cluster"].url, stack["env"], tally)
    assert present == tally.acked
    _report("workers SIGKILLed", tally, present, figures, f"workers killed {len(killed)}")
