"""Dashboard rollups for the demo: the last 7 days, snapshots, and today's coverage.

A full rebuild of the demo's history takes tens of seconds (docs/dashboard.md), too long for the
start of every test session (which seeds the demo); `gridgov rebuild_rollups` builds the rest after
`seed_demo` (README: make demo).
"""

from datetime import timedelta

from django.utils import timezone

DEMO_DAYS = 7


def seed_dashboard(*, seed: int = 0, progress=None) -> dict:
    from gridgov.dashboard import rollups

    today = timezone.localdate()
    rows = rollups.rebuild(today - timedelta(days=DEMO_DAYS - 1), today, coverage_since=today)
    snapshots = rollups.rebuild_snapshots()
    if progress:
        progress("dashboard rollups")
    return {"dashboard_rollups": rows, "dashboard_snapshots": snapshots}
