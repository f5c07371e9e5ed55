"""Keeping the rollups current as the modules write (docs/dashboard.md#incremental).

A `post_save`/`post_delete` receiver on each source model notes which grid and which days a row
touches; a `transaction.on_commit` callback then either notes those grid-days as pending
(`PendingRefresh`, the default) for `gridgov refresh_rollups` — the worker, every minute — or, with
DASHBOARD_REFRESH=sync, refreshes them at once (rollups.refresh) with the grid's snapshot. Nothing
runs inside the writer's transaction, so a rolled-back write leaves no trace and a failing refresh
never undoes a case or a payment: it is logged, and the periodic `rebuild_rollups --days 2` repairs it.
"""

import logging
import threading
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

logger = logging.getLogger(__name__)
_state = threading.local()


def _pending() -> dict:
    if not hasattr(_state, "pending"):
        _state.pending = {"days": {}, "snapshot": set()}
    return _state.pending


def _as_day(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value


def mark(grid: str | None, *values, snapshot: bool = False) -> None:
    """Note that `grid` changed on the days of `values` (dates or datetimes; None ignored)."""
    if not grid:
        return
    pending = _pending()
    days = {d for d in map(_as_day, values) if d is not None}
    days.add(timezone.localdate())
    pending["days"].setdefault(grid, set()).update(days)
    if snapshot:
        pending["snapshot"].add(grid)
    # One callback per write; the first to run takes everything pending and the rest find nothing.
    # Marks left by a rolled-back transaction are flushed with the next commit: a refresh recomputes
    # from the tables, so an extra one is harmless.
    transaction.on_commit(flush)


def flush() -> None:
    """After a commit: refresh what the writes touched now (DASHBOARD_REFRESH = "sync", the tests'
    and a small install's choice), or — the default — only note it for `refresh_rollups`, the worker
    that runs every minute. At city scale a refresh costs a few hundred milliseconds of queries over
    the raw tables; a write request must not wait for the dashboards."""
    pending = _pending()
    work, snap = pending["days"], pending["snapshot"]
    if not work and not snap:
        return
    _state.pending = {"days": {}, "snapshot": set()}
    try:
        if getattr(settings, "DASHBOARD_REFRESH", "deferred") == "sync":
            _refresh(work, snap)
        else:
            _note(work, snap)
    except Exception:  # the write has committed; the periodic rebuild repairs the rollups
        logger.exception("dashboard rollup refresh failed for %s", sorted(work))


def _refresh(work: dict[str, set], snap: set[str]) -> None:
    from . import rollups

    by_days: dict[frozenset, set[str]] = {}
    for grid, days in work.items():
        by_days.setdefault(frozenset(days), set()).add(grid)
    for days, grids in by_days.items():
        rollups.refresh(grids, days)
    if snap:
        rollups.refresh_snapshots(snap)


def _note(work: dict[str, set], snap: set[str]) -> None:
    from .models import PendingRefresh

    rows = [PendingRefresh(grid=grid, day=day) for grid, days in work.items() for day in days]
    rows += [PendingRefresh(grid=grid, day=None) for grid in snap]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The note need not wait for its own WAL flush: the write it follows has been flushed, and a
            # note lost in a crash only leaves a rollup stale until the periodic `rebuild_rollups --days 2`.
            # It halves the fsyncs of a write request (one per commit).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        PendingRefresh.objects.bulk_create(rows, ignore_conflicts=True)


def drain(limit: int = 5000) -> int:
    """Refreshes the noted grid-days (oldest first, at most `limit`) and forgets them, in one
    transaction; returns how many. A write noting the same grid-day meanwhile waits for this
    transaction and then notes it again, so the next run picks the later write up."""
    from .models import PendingRefresh

    with transaction.atomic():  # a failed refresh keeps its markers for the next run
        rows = list(PendingRefresh.objects.order_by("id").values_list("id", "grid", "day")[:limit])
        if not rows:
            return 0
        work: dict[str, set] = {}
        snap: set[str] = set()
        for _id, grid, day in rows:
            if day is None:
                snap.add(grid)
            else:
                work.setdefault(grid, set()).add(day)
        PendingRefresh.objects.filter(pk__in=[r[0] for r in rows]).delete()
        _refresh(work, snap)
    return len(rows)


def _case_region(instance) -> str | None:
    """The grid of the row's case: from the case object the service attached (no query), else read."""
    from gridgov.cases.models import Case

    cached = instance._state.fields_cache.get("case")
    if cached is not None:
        return cached.region_id
    return Case.objects.filter(pk=instance.case_id).values_list("region_id", flat=True).first()


def _on_case(instance, **kwargs):
    mark(instance.region_id, instance.created_at, instance.closed_at, snapshot=True)


def _on_case_event(instance, **kwargs):
    if instance.to_state == "registered":
        mark(_case_region(instance), instance.created_at)


def _on_dispatch(instance, **kwargs):
    mark(_case_region(instance), instance.dispatched_at, instance.ended_at)


def _on_evaluation(instance, **kwargs):
    mark(_case_region(instance), instance.created_at)


def _on_visit(instance, **kwargs):
    mark(instance.region_id, instance.visit_date)


def _on_patrol(instance, **kwargs):
    mark(instance.region_id, instance.started_at)


def _on_application(instance, **kwargs):
    mark(instance.region_id, instance.created_at, instance.completed_on)


def _on_payment(instance, **kwargs):
    mark(instance.region_id, instance.paid_on)


def _on_ledger(instance, **kwargs):
    mark(instance.region_id, instance.occurred_on)


def _on_tip(instance, **kwargs):
    mark(instance.region_id, instance.sent_at, instance.decided_at, instance.paid_at)


def _on_camera(instance, **kwargs):
    mark(instance.grid_id, snapshot=True)


def _on_view(instance, **kwargs):
    from gridgov.video.models import Camera

    mark(Camera.objects.filter(pk=instance.camera_id).values_list("grid_id", flat=True).first(), instance.issued_at)


def _on_review(instance, **kwargs):
    from gridgov.video.models import Camera

    mark(Camera.objects.filter(pk=instance.camera_id).values_list("grid_id", flat=True).first(), instance.created_at)


def _on_receipt(instance, **kwargs):
    from gridgov.notices.models import Notice

    if instance.region_code:
        sent = Notice.objects.filter(pk=instance.notice_id).values_list("sent_at", flat=True).first()
        mark(instance.region_code, sent)


def _on_registry(instance, **kwargs):
    mark(getattr(instance, "region_id", None), snapshot=True)


def connect() -> None:
    from gridgov.accounts.models import Assignment
    from gridgov.cases.models import Case, CaseDispatch, CaseEvent, Evaluation
    from gridgov.cases.models.tip import Tip
    from gridgov.egov.models import Application, Payment
    from gridgov.notices.models import Receipt
    from gridgov.people.models import CareTag, Resident
    from gridgov.points.models import LedgerEntry
    from gridgov.video.models import Camera, FootageReview, ViewSession
    from gridgov.visits.models import Patrol, Visit

    for model, receiver in ((Case, _on_case), (CaseEvent, _on_case_event), (CaseDispatch, _on_dispatch),
                            (Evaluation, _on_evaluation), (Visit, _on_visit), (Patrol, _on_patrol),
                            (Application, _on_application), (Payment, _on_payment), (LedgerEntry, _on_ledger),
                            (Tip, _on_tip), (Resident, _on_registry), (CareTag, _on_registry),
                            (Assignment, _on_registry), (Camera, _on_camera), (ViewSession, _on_view),
                            (FootageReview, _on_review), (Receipt, _on_receipt)):
        uid = f"dashboard.{model._meta.label}"
        post_save.connect(receiver, sender=model, dispatch_uid=uid + ".save", weak=False)
        post_delete.connect(receiver, sender=model, dispatch_uid=uid + ".delete", weak=False)
