"""Who is acting and from where, for the audit log, without threading request through services."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    ip: str = ""
    user_agent: str = ""
    path: str = ""


_EMPTY = RequestInfo()
_current: ContextVar[RequestInfo | None] = ContextVar("gridgov_request", default=None)


def current() -> RequestInfo:
    return _current.get() or _EMPTY


def bind(info: RequestInfo):
    return _current.set(info)


def reset(token) -> None:
    _current.reset(token)
