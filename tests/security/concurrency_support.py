"""Helpers of the ledger concurrency tests (tests/security/test_concurrency_*.py).

Requests go through the whole HTTP stack (django test Client: middleware, bearer token, the
Idempotency-Key header, error mapping), one Client per thread, each thread on its own database
connection, all released at once by a barrier. The tests are transactional (they commit, so rows
locks and unique constraints really meet), and a transactional test may start from a flushed
database: each builds the few rows it needs itself, next to the demo seed when it is still there.
"""

import itertools
import threading
import uuid
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import connections

from gridgov.accounts.models import Assignment, Department
from gridgov.accounts.services import api_token_issue
from gridgov.core.testing import ApiClient
from gridgov.demo.reference import ensure_reference_data
from gridgov.regions.models import Region

N = 12  # parallel requests per scenario (the brief asks for 8-16)
_seq = itertools.count(1)


def run_parallel(calls) -> list:
    """Runs each callable in its own thread, released together; returns the outcomes in order
    (a result, or the exception it raised). Every thread closes its own connection."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            outcomes[i] = call()
        except Exception as exc:  # noqa: BLE001 — the outcome is what the test asserts on
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung (deadlock?)"
    return outcomes


def token_for(user) -> str:
    return api_token_issue(acting_user=user, name=f"concurrency-{next(_seq)}")[1]


def post_parallel(token: str, requests: list[tuple[str, dict, dict]]) -> list[tuple[int, dict]]:
    """POSTs each (path, body, extra headers) at once, each from its own client; returns (status, body)."""
    def call(path, body, headers):
        return lambda: ApiClient(token=token).post(path, body, **headers)

    outcomes = run_parallel([call(*r) for r in requests])
    for o in outcomes:
        assert not isinstance(o, BaseException), outcomes
    return outcomes


def tally(outcomes) -> Counter:
    """Statuses with the error code of each refusal, e.g. {201: 5, '409 insufficient_points': 7}."""
    return Counter(s if s < 400 else f"{s} {(b or {}).get('code')}" for s, b in outcomes)


def key() -> str:
    return f"cc-{uuid.uuid4().hex}"


# --- a small world of our own --------------------------------------------------------------------------

def region(code: str, name: str, kind: str, level: int, parent: str | None) -> Region:
    row, _ = Region.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "level": level,
                                                               "parent_id": parent})
    return row


def free_village(town: str, name: str) -> tuple[Region, Region]:
    """A village of our own (from the top of the village range down) with one grid."""
    region(town[:6], "钟祥市", "county", 1, None)
    region(town, "测试镇", "town", 2, town[:6])
    used = set(Region.objects.filter(parent_id=town).values_list("code", flat=True))
    code = next(f"{town}{s:03d}" for s in range(399, 199, -1) if f"{town}{s:03d}" not in used)
    village = Region.objects.create(code=code, name=name, kind="village", level=3, parent_id=town)
    grid = Region.objects.create(code=f"{code}001", name=f"{name}第1网格", kind="grid", level=4, parent=village)
    return village, grid


def user(role: str, *, region_code: str | None = None, department: Department | None = None, name: str = ""):
    n = next(_seq)
    account = get_user_model().objects.create_user(username=f"cc-{role}-{n}-{uuid.uuid4().hex[:6]}", password=None,
                                                   full_name=name or f"并发{n}")
    Assignment.objects.create(user=account, role=role, region_id=region_code, department=department)
    return account


def department(code: str, name: str, *, kind: str = "bureau", parent: Department | None = None,
               jurisdiction: str | None = None) -> Department:
    dept, _ = Department.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "parent": parent})
    if jurisdiction:
        dept.jurisdiction.add(jurisdiction)
    return dept


def reference_data() -> None:
    """The catalogues (points items, service items, taxonomy) a flushed database lacks."""
    ensure_reference_data()
