"""The dashboard API: scope (a town head sees only their town, also in exports; a grid worker only
their grid), refusals (out of scope 404, wrong role 403, anonymous 401, malformed input 400)."""

import io
import re
from datetime import timedelta

import openpyxl
import pytest
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.audit import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, assert_scoped_endpoint, user_with_role
from gridgov.dashboard import rollups

pytestmark = pytest.mark.django_db

HUJI = "420881103"
LENGSHUI = "420881107"
GRID = "420881103201001"


@pytest.fixture(autouse=True)
def _rollups():
    today = timezone.localdate()
    rollups.rebuild(today - timedelta(days=1), today)
    rollups.rebuild_snapshots()


def test_town_operator_sees_only_their_town():
    town = user_with_role(Role.TOWN_OPERATOR, HUJI)
    other = user_with_role(Role.TOWN_OPERATOR, LENGSHUI)
    for path in (f"dashboard/nodes/{HUJI}/kpis", f"dashboard/nodes/{HUJI}/children",
                 f"dashboard/nodes/{HUJI}/trend", f"dashboard/nodes/{HUJI}/departments",
                 f"dashboard/nodes/{HUJI}/workers", f"dashboard/nodes/{HUJI}/report"):
        assert_scoped_endpoint(path, in_scope_user=town, out_of_scope_user=other)
    api = ApiClient(town)
    status, body = api.get("dashboard/nodes/420881/kpis")  # the county is above the town head
    assert_error(status, body, 404)
    status, body = api.get(f"dashboard/nodes/{HUJI}/children")
    assert status == 200 and body["items"] and all(i["code"].startswith(HUJI) for i in body["items"])
    status, body = api.get("dashboard/home")
    assert status == 200 and body == {"code": HUJI}


def test_grid_worker_sees_only_their_grid_and_may_not_export():
    worker = user_with_role(Role.GRID_WORKER, GRID)
    api = ApiClient(worker)
    status, body = api.get(f"dashboard/nodes/{GRID}/kpis")
    assert status == 200 and body["region"]["code"] == GRID
    for code in ("420881103201002", GRID[:12], HUJI):
        status, body = api.get(f"dashboard/nodes/{code}/kpis")
        assert_error(status, body, 404)
    before = AuditEntry.objects.count()
    response = api.client.get(f"/api/v1/dashboard/nodes/{GRID}/export/kpis.xlsx", **api.headers)
    assert response.status_code == 403
    assert AuditEntry.objects.count() == before


def test_roles_without_dashboard_are_refused():
    status, body = ApiClient(user_with_role(Role.AUDITOR)).get("dashboard/nodes/420881/kpis")
    assert_error(status, body, 403, "permission_denied")
    status, body = ApiClient().get("dashboard/nodes/420881/kpis")
    assert_error(status, body, 401, "not_authenticated")


@pytest.mark.parametrize("query", [{"month": "2026-13"}, {"start": "2026-02-30"},
                                   {"start": "2026-03-01", "end": "2026-02-01"},
                                   {"start": "2001-01-01", "end": "2026-01-01"}, {"month": "abc"}])
def test_malformed_periods_are_400(query):
    status, body = ApiClient(user_with_role(Role.CITY_OPERATOR)).get("dashboard/nodes/420881/kpis", query)
    assert_error(status, body, 400, "invalid_period")
    assert "日期" in body["message"] or "期间" in body["message"]


def test_malformed_codes_granularity_and_pages():
    api = ApiClient(user_with_role(Role.CITY_OPERATOR))
    for code in ("abc", "4208811", "999999"):
        status, body = api.get(f"dashboard/nodes/{code}/kpis")
        assert_error(status, body, 404)
    status, body = api.get("dashboard/nodes/420881/trend", {"granularity": "hour"})
    assert_error(status, body, 400, "invalid_granularity")
    status, body = api.get("dashboard/nodes/420881103/workers", {"page_size": 0})
    assert_error(status, body, 400, "invalid_page")
    before = AuditEntry.objects.count()
    response = api.client.get("/api/v1/dashboard/nodes/420881/export/nothing.xlsx", **api.headers)
    assert response.status_code == 404 and AuditEntry.objects.count() == before


def test_workers_are_paginated():
    api = ApiClient(user_with_role(Role.CITY_OPERATOR))
    status, body = api.get(f"dashboard/nodes/{HUJI}/workers", {"page_size": 10, "page": 2})
    assert status == 200 and len(body["items"]) == 10
    assert body["count"] == len([c for c in __import__("gridgov.regions.models", fromlist=["Region"]).Region.objects
                                 .filter(level=4, code__startswith=HUJI)])


def test_town_export_holds_only_the_town_and_is_audited():
    town = user_with_role(Role.TOWN_OPERATOR, HUJI)
    api = ApiClient(town)
    response = api.client.get(f"/api/v1/dashboard/nodes/{HUJI}/export/children.xlsx", **api.headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    codes = [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert codes and all(str(c).startswith(HUJI) for c in codes)
    entry = AuditEntry.objects.filter(action="dashboard.export").order_by("-id").first()
    assert entry.region_code == HUJI and entry.changes["table"] == "children"
    response = api.client.get(f"/api/v1/dashboard/nodes/{LENGSHUI}/export/children.xlsx", **api.headers)
    assert response.status_code == 404
    for table in ("kpis", "departments", "workers", "trend", "report"):
        response = api.client.get(f"/api/v1/dashboard/nodes/{HUJI}/export/{table}.xlsx", **api.headers)
        assert response.status_code == 200, table


def test_monthly_pdf():
    api = ApiClient(user_with_role(Role.TOWN_OPERATOR, HUJI))
    response = api.client.get(f"/api/v1/dashboard/nodes/{HUJI}/monthly.pdf", **api.headers)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    response = api.client.get(f"/api/v1/dashboard/nodes/{LENGSHUI}/monthly.pdf", **api.headers)
    assert response.status_code == 404


def test_coverage_hidden_from_roles_without_sight_of_every_tag():
    cadre = user_with_role(Role.VILLAGE_CADRE, GRID[:12])
    status, body = ApiClient(cadre).get(f"dashboard/nodes/{GRID[:12]}/kpis")
    assert status == 200 and body["visits"]["coverage_rate"] is None and body["visits"]["required"] is None
    names = {g["code"] for g in body["people"]["special_groups"]}
    assert "severe_mental_disorder" not in names and "drug_user" not in names
    status, body = ApiClient(user_with_role(Role.TOWN_OPERATOR, HUJI)).get(f"dashboard/nodes/{HUJI}/kpis")
    assert body["visits"]["required"] is not None


def test_queries_do_not_grow_with_the_node():
    """A city page reads rollups, never raw rows: the same handful of queries at every level."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = ApiClient(user_with_role(Role.CITY_OPERATOR))
    api.get("dashboard/home")  # the token's first use writes to it once; not part of the pages' cost
    counts = {}
    for code in ("420881", HUJI, GRID):
        for path in ("kpis", "children", "trend", "departments"):
            with CaptureQueriesContext(connection) as ctx:
                status, _ = api.get(f"dashboard/nodes/{code}/{path}")
            assert status == 200
            counts[(code, path)] = len(ctx.captured_queries)
            raw = [q["sql"] for q in ctx.captured_queries
                   if re.search(r'FROM "(cases_case|visits_visit|people_resident|points_ledgerentry)"', q["sql"])]
            assert not raw, raw
    for path in ("kpis", "children", "trend", "departments"):
        # 18 towns or 30 villages below: the same statements (a grid skips the active-village count).
        assert counts[("420881", path)] == counts[(HUJI, path)], counts
        assert counts[("420881", path)] <= 12 and counts[(GRID, path)] <= counts[(HUJI, path)], counts
