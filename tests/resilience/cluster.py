"""A throwaway PostgreSQL cluster and a gunicorn in front of it, for the crash-safety tests.

The cluster lives in a temporary directory on a free port and belongs to the `postgres` OS user
(initdb refuses root); it runs with the production defaults that durability depends on (fsync,
synchronous_commit, full_page_writes all on). Nothing here touches the machine's own cluster.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin: gridgov, gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, check=True, capture_output=True, text=True, **kwargs)


class Cluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="gg-resil-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.bin = pg_bin()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/gridgov"

    def init(self) -> None:
        _as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                       "fsync = on\nsynchronous_commit = on\nfull_page_writes = on\nmax_connections = 50\n")
        self.start()
        _as_postgres([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "gridgov"])

    def start(self) -> None:
        _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"),
                      "-w", "-t", "60", "start"])

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every server process quits at once, without a checkpoint — on
        restart the server replays the WAL, as after a power cut."""
        _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "stop", "-m", "immediate"])

    def destroy(self) -> None:
        try:
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "stop", "-m", "fast"])
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def recovery_log(self) -> str:
        return (self.dir / "server.log").read_text(errors="replace")


def app_env(cluster: Cluster, var_dir: Path) -> dict:
    return {**os.environ, "DATABASE_URL": cluster.url, "GRIDGOV_VAR_DIR": str(var_dir), "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_SETTINGS_MODULE": "gridgov.settings"}


def gridgov(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "gridgov"), *args], env=env, cwd=REPO, capture_output=True, text=True,
                          check=check, timeout=600)


class Gunicorn:
    def __init__(self, env: dict, workers: int = 2):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(env["GRIDGOV_VAR_DIR"]) / "gunicorn.log", "ab")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "gridgov.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--timeout", "30", "--graceful-timeout", "2"],
            env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited; see gunicorn.log")
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not become ready")

    def workers(self) -> list[int]:
        """The worker processes: children of our own master (read from /proc, never by name)."""
        pids = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.split("/")[2]))
        return pids

    def kill_workers(self) -> list[int]:
        """SIGKILL every worker mid-request, as the OOM killer would; the master forks new ones."""
        pids = self.workers()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
