"""Bearer-token reads served from a per-process memory for a few seconds.

Without it every API read pays two or three queries before its own work (the token with its user, the
user's assignments, the scope's county and jurisdictions): on PostgreSQL that is most of a short
list's time. A cached entry holds the token's expiry and a snapshot of the user's row; each request
gets a fresh User built from the snapshot (nothing is shared between requests but immutable values),
plus the scope memos (`_gridgov_*`: the assignments and what they imply) the last request of that
token computed.

The bound, stated once: a revoked or expired token, a deactivated user, a changed assignment or
department jurisdiction takes effect
  * at once in the process that wrote it (saving or deleting a token, user or assignment drops that
    token's or user's entries; a department or its jurisdiction drops them all), and
  * within API_TOKEN_CACHE_SECONDS (default 5 s) in every other worker process.
Only safe methods (GET, HEAD, OPTIONS) use the cache: a write always checks the token in the
database, so a revoked token may read for at most those seconds but never write. Writes that bypass
the ORM's signals (`QuerySet.update`, SQL) are seen after the same bound in every process.
Unknown tokens are never cached (a forged token always costs a lookup, as before).
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ENTRIES = 2000  # one per live token of a busy process; cleared whole when full
DEFAULT_SECONDS = 5.0


def ttl() -> float:
    return float(getattr(settings, "API_TOKEN_CACHE_SECONDS", DEFAULT_SECONDS))


@dataclass
class Entry:
    fresh_until: float  # time.monotonic() deadline of this entry
    expires_at: object  # the token's own expiry (aware datetime)
    user_id: int
    field_names: tuple[str, ...]
    values: tuple
    db: str
    last_user: object  # the last User handed out for this token: its `_gridgov_*` memos are reused


_entries: dict[str, Entry] = {}
_lock = threading.Lock()


def get(key_hash: str):
    """A fresh User for a cached, still valid token; None when the database must answer."""
    seconds = ttl()
    if seconds <= 0:
        return None
    entry = _entries.get(key_hash)
    if entry is None or entry.fresh_until <= time.monotonic() or entry.expires_at <= timezone.now():
        return None
    from .models import User

    user = User.from_db(entry.db, entry.field_names, entry.values)
    for name, value in list(vars(entry.last_user).items()):
        if name.startswith("_gridgov_"):
            setattr(user, name, value.copy() if isinstance(value, list) else value)
    entry.last_user = user
    return user


def put(key_hash: str, token, user) -> None:
    """Remember a token the database just found valid, and its user as the database gave it."""
    seconds = ttl()
    if seconds <= 0:
        return
    names = tuple(f.attname for f in user._meta.concrete_fields)
    entry = Entry(time.monotonic() + seconds, token.expires_at, user.pk, names, tuple(getattr(user, n) for n in names),
                  user._state.db or "default", user)
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[key_hash] = entry


def clear(**_kwargs) -> None:
    with _lock:
        _entries.clear()


def _forget_user(user_id) -> None:
    with _lock:
        for key in [k for k, e in _entries.items() if e.user_id == user_id]:
            del _entries[key]


def _user_changed(sender, instance, **_kwargs) -> None:
    _forget_user(instance.pk)


def _post_changed(sender, instance, **_kwargs) -> None:
    _forget_user(instance.user_id)


def _token_changed(sender, instance, **_kwargs) -> None:
    with _lock:
        _entries.pop(instance.key_hash, None)


def _connect() -> None:
    from .models import ApiToken, Assignment, Department, User

    # A token, a user or a post drops that token's or user's entries; a department (its jurisdiction
    # is part of every member's scope) drops them all.
    for model, receiver in ((ApiToken, _token_changed), (User, _user_changed), (Assignment, _post_changed),
                            (Department, clear)):
        post_save.connect(receiver, sender=model, dispatch_uid=f"tokencache_save_{model.__name__}")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"tokencache_delete_{model.__name__}")
    m2m_changed.connect(clear, sender=Department.jurisdiction.through, dispatch_uid="tokencache_jurisdiction")


_connect()
