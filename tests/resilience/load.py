"""The load generator of the crash-safety tests: threads that report cases and award points through
the HTTP API and remember every write the server acknowledged (a 2xx), by its id and client id.

A write that got no answer, a 5xx or a broken connection is only "attempted": it may or may not be
in the database, and the checks allow either — but an acknowledged one must be there, whole.
"""

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import date

CASE_CATEGORY = "E0102"  # 暴露垃圾
AWARD_ITEM = "M02"  # 帮扶困难群众: 10-500 points, no cap


@dataclass
class Tally:
    attempted: int = 0
    sent_cases: set = field(default_factory=set)  # every client_id sent, answered or not
    committed_unacked: int = 0  # sent cases found in the database without an answer (set by the checks)
    acked_cases: dict = field(default_factory=dict)  # client_id -> case id
    acked_claims: dict = field(default_factory=dict)  # claim id -> (subject id, points), entered (201)
    acked_awards: dict = field(default_factory=dict)  # claim id -> (subject id, points), posted (approve 200)
    failures: dict = field(default_factory=dict)  # what the unacknowledged writes got, e.g. "500", "URLError"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures[what] = self.failures.get(what, 0) + 1
        time.sleep(0.05)  # a client backs off a little instead of hammering a server that is down

    @property
    def acked(self) -> int:
        return len(self.acked_cases) + len(self.acked_claims) + len(self.acked_awards)


def _post(base: str, token: str, path: str, body: dict, timeout: float = 15) -> tuple[int, dict | None]:
    request = urllib.request.Request(f"{base}/api/v1/{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError) as exc:  # refused, reset, timed out, a torn body
        return 0, {"error": type(exc).__name__}


class Load:
    """`threads` writers until stop(): even turns report a case, odd turns enter a claim and approve it."""

    def __init__(self, base: str, seed: dict, threads: int = 6):
        self.base, self.seed, self.tally = base, seed, Tally()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def start(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> Tally:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
        return self.tally

    def _count(self) -> None:
        with self.tally.lock:
            self.tally.attempted += 1

    def _run(self, n: int) -> None:
        grid = n % len(self.seed["grids"])
        worker, subject = self.seed["workers"][grid], self.seed["subjects"][grid]
        turn = 0
        while not self._stop.is_set():
            turn += 1
            if turn % 2:
                self._case(worker)
            else:
                self._award(worker, subject, 10 + turn % 50)

    def _case(self, worker: str) -> None:
        client_id = str(uuid.uuid4())
        self._count()
        with self.tally.lock:
            self.tally.sent_cases.add(client_id)
        status, body = _post(self.base, worker, "cases", {
            "category": CASE_CATEGORY, "description": "断电测试：路边垃圾堆放", "client_id": client_id})
        if status in (200, 201):
            with self.tally.lock:
                self.tally.acked_cases[client_id] = body["id"]
        else:
            self.tally.fail(str(status or body["error"]))

    def _award(self, worker: str, subject: int, points: int) -> None:
        self._count()
        status, body = _post(self.base, worker, "points/claims", {
            "subject": subject, "item": AWARD_ITEM, "points": points, "occurred_on": date.today().isoformat(),
            "description": "断电测试", "channel": "in_person", "source": "grid_worker", "evidence": "村委会调查记录",
            "idempotency_key": f"crash-{uuid.uuid4().hex}"})
        if status not in (200, 201):
            self.tally.fail(str(status or body["error"]))
            return
        claim = body["id"]
        with self.tally.lock:
            self.tally.acked_claims[claim] = (subject, points)
        self._count()
        status, body = _post(self.base, self.seed["cadre"], f"points/claims/{claim}/approve", {"note": "同意"})
        if status == 200 and body["status"] == "posted":
            with self.tally.lock:
                self.tally.acked_awards[claim] = (subject, points)
        else:
            self.tally.fail(str(status or body["error"]))
