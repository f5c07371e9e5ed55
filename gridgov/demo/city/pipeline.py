"""Rows made in a second process while this one writes them.

After their first reads, the city seed's generators are pure Python (plans, numpy draws, row
tuples), and on SQLite the writing happens in the calling process too: one core makes rows and
writes them while the other sits idle. `pipelined(produce, write)` forks a child that runs
`produce()` and sends each batch it yields to this process, which passes it to `write()`: the
next batch is made while this one is written. At most `depth` batches wait, so memory stays
bounded whatever the speed of either side.

`produce` does its reads before the fork (in the caller) and only computes afterwards: the child
cannot see the parent's uncommitted rows. It inherits the parent's open connection and leaves it
alone (set aside, never closed: multiprocessing ends a forked child with `os._exit`), so the
parent's session and transaction are untouched. A failure in the child is raised here, with the
child's traceback.

Without a second CPU, or with `GRIDGOV_SEED_PROCESSES=1`, `produce()` runs in this process: the
same batches, the same rows, the same database.
"""

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class ProducerFailed(RuntimeError):
    pass


def second_cpu() -> bool:
    if os.environ.get("GRIDGOV_SEED_PROCESSES") == "1":
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except AttributeError:  # not Linux
        return (os.cpu_count() or 1) >= 2


_INHERITED: list = []


def _detach_connections() -> None:
    """The parent's connections, set aside in the child: a stray query opens a connection of its
    own instead of writing into the parent's session. They are kept referenced, never closed or
    collected: closing (libpq's PQfinish) would end the parent's session."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        _INHERITED.append(conn)
        del connections[conn.alias]


def _child(produce: Callable[[], Iterable[Any]], out) -> None:
    _detach_connections()
    try:
        for batch in produce():
            out.put(("batch", batch))
        out.put(("done", None))
    except BaseException:  # noqa: BLE001 — everything goes back to the parent, which raises it
        out.put(("error", traceback.format_exc()))


def batches(produce: Callable[[], Iterable[Any]], *, depth: int = 3) -> Iterator[Any]:
    """The batches `produce()` yields, made in a forked child when a second CPU is free."""
    if not second_cpu():
        yield from produce()
        return
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue(maxsize=depth)
    child = ctx.Process(target=_child, args=(produce, out), daemon=True)
    child.start()
    try:
        while True:
            try:
                kind, value = out.get(timeout=5)
            except queue.Empty:
                if not child.is_alive():
                    raise ProducerFailed(
                        f"the producing process ended without a word (exit code {child.exitcode})") from None
                continue
            if kind == "done":
                break
            if kind == "error":
                raise ProducerFailed(f"the producing process failed:\n{value}")
            yield value
        child.join(timeout=30)
    finally:
        if child.is_alive():  # the writer failed or was interrupted: the child's rows are not wanted
            child.kill()
            child.join()
        out.close()


def pipelined(produce: Callable[[], Iterable[Any]], write: Callable[[Any], None], *, depth: int = 3) -> None:
    """`write(batch)` for every batch of `produce()`, the next batch made while one is written."""
    for batch in batches(produce, depth=depth):
        write(batch)
