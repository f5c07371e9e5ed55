"""A small shared rate limiter: `hit(key, limit=, window=)` counts one request against a key.

Counters live in a database table (intake.RateBucket), not in process memory, so every gunicorn
worker and every process sees the same counts without another server; one UPDATE (or INSERT) and
one SELECT per hit. The estimate is a sliding window: the current fixed window's count plus the
previous window's, weighted by how much of it still overlaps — no burst of 2 × limit at a window
boundary, and two rows per key at most.

    decision = ratelimit.hit(f"sms:{phone_index}", limit=10, window=3600)
    if not decision.allowed: refuse, with Retry-After: decision.retry_after

Refused hits are counted too (a sender hammering a closed door stays locked out). Expired rows
are purged now and then by the hits themselves.
"""

import math
import random
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

PURGE_PROBABILITY = 0.01


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: float  # the sliding-window estimate, this hit included
    limit: int
    retry_after: int  # seconds until a request would be allowed again (0 when allowed)


def _model():
    from gridgov.intake.models import RateBucket  # the table lives in the intake app's migrations

    return RateBucket


def _bump(model, key: str, start: int, expires: int, cost: int) -> None:
    if model.objects.filter(key=key, window_start=start).update(count=F("count") + cost):
        return
    try:
        with transaction.atomic():
            model.objects.create(key=key, window_start=start, count=cost, expires_at=expires)
    except IntegrityError:  # another process created it a moment ago
        model.objects.filter(key=key, window_start=start).update(count=F("count") + cost)


def hit(key: str, *, limit: int, window: int, cost: int = 1, now: float | None = None) -> Decision:
    """Counts `cost` against `key` and says whether the request is within `limit` per `window` seconds."""
    if limit <= 0 or window <= 0:
        raise ValueError("limit and window must be positive")
    model = _model()
    key = key[:200]
    now = time.time() if now is None else now
    start = int(now // window) * window
    with transaction.atomic():
        _bump(model, key, start, start + 2 * window, cost)
        counts = dict(model.objects.filter(key=key, window_start__in=[start, start - window])
                      .values_list("window_start", "count"))
    current, previous = counts.get(start, 0), counts.get(start - window, 0)
    overlap = 1 - (now - start) / window
    estimate = current + previous * overlap
    allowed = estimate <= limit
    retry_after = 0
    if not allowed:
        # The previous window's weight falls linearly; once it is gone only the current count is left.
        if previous and current <= limit:
            retry_after = math.ceil((estimate - limit) / previous * window)
        else:
            retry_after = math.ceil(start + window - now) + (window if current > limit else 0)
        retry_after = max(retry_after, 1)
    if random.random() < PURGE_PROBABILITY:
        purge(now=now)
    return Decision(allowed, estimate, limit, retry_after)


def peek(key: str, *, limit: int, window: int, now: float | None = None) -> Decision:
    """The decision a hit would get, without counting one."""
    model = _model()
    now = time.time() if now is None else now
    start = int(now // window) * window
    counts = dict(model.objects.filter(key=key[:200], window_start__in=[start, start - window])
                  .values_list("window_start", "count"))
    estimate = counts.get(start, 0) + counts.get(start - window, 0) * (1 - (now - start) / window)
    return Decision(estimate < limit, estimate, limit, 0)


def reset(key: str) -> None:
    _model().objects.filter(key=key[:200]).delete()


def purge(*, now: float | None = None) -> int:
    now = time.time() if now is None else now
    deleted, _ = _model().objects.filter(expires_at__lt=int(now)).delete()
    return deleted
