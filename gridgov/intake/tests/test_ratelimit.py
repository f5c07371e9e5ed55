import threading

import pytest
from django.db import connection

from gridgov.core import ratelimit
from gridgov.intake.models import RateBucket

pytestmark = pytest.mark.django_db


def test_counts_up_to_the_limit_then_refuses():
    now = 1_000_000.0  # the start of a 60 s window
    results = [ratelimit.hit("t:a", limit=3, window=60, now=now) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert results[-1].retry_after > 0
    # Another key is independent.
    assert ratelimit.hit("t:b", limit=3, window=60, now=now).allowed


def test_sliding_window_weights_the_previous_window():
    start = 1_000_020.0 - 1_000_020.0 % 60
    for _ in range(3):
        ratelimit.hit("t:s", limit=3, window=60, now=start + 30)
    # Just after the boundary the previous window still counts almost fully: no burst of 2 × limit.
    assert not ratelimit.hit("t:s", limit=3, window=60, now=start + 61).allowed
    # 3/4 of the next window later, the previous 3 (+1 refused) weigh 1: allowed again.
    assert ratelimit.hit("t:s", limit=3, window=60, now=start + 60 + 45).allowed


def test_reset_and_purge():
    ratelimit.hit("t:r", limit=1, window=10, now=100.0)
    assert not ratelimit.hit("t:r", limit=1, window=10, now=101.0).allowed
    ratelimit.reset("t:r")
    assert ratelimit.hit("t:r", limit=1, window=10, now=102.0).allowed
    assert ratelimit.purge(now=10_000.0) >= 1
    assert not RateBucket.objects.filter(key="t:r").exists()


def test_bad_arguments():
    with pytest.raises(ValueError):
        ratelimit.hit("t:x", limit=0, window=10)


@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_from_separate_connections_are_all_counted():
    # Threads with their own database connections stand in for gunicorn workers.
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("in-memory SQLite is not shared between connections")
    from django.db import connections

    def worker():
        try:
            for _ in range(10):
                ratelimit.hit("t:race", limit=1000, window=3600, now=7200.0)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert RateBucket.objects.get(key="t:race").count == 40
