"""A fixed-window counter in the Django cache (Redis in production, per-process memory in tests).

Used for request rates (per Open311 key, per phone, per address). Security-critical counts that must
survive a cache flush (wrong one-time codes) are kept in the database by their owners instead."""

import time

from django.core.cache import cache


def hit(bucket: str, *, limit: int, window: int) -> tuple[bool, int]:
    """Counts one event in `bucket`; (allowed, seconds until the window resets)."""
    now = int(time.time())
    start = now - now % window
    key = f"gg:throttle:{bucket}:{start}"
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window + 1)
            count = 1
    return count <= limit, start + window - now
