"""The desk list's one-statement path (desk.py) against the ORM path, and the API rows against the detail."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridgov.cases import selectors
from gridgov.cases.choices import CaseState
from gridgov.cases.schemas import CaseOut
from gridgov.core.testing import ApiClient

from . import factories as f

pytestmark = pytest.mark.django_db

HUJI = f.HUJI
FILTERS = [
    {},
    {"state": [CaseState.REPORTED]},
    {"state": [CaseState.REPORTED, CaseState.DISPATCHED]},
    {"region": HUJI},
    {"region": HUJI, "state": [CaseState.DISPATCHED]},
    {"region": "420881"},
    {"region": "420881001"},  # a street: outside the town operators' scope
]


def _statements(ctx) -> list[str]:
    """The statements a request ran, less PostgreSQL's PREPARE of the desk statement (once per text
    and connection, desk._prepared)."""
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith("PREPARE ")]


def _orm(user, offset, limit, **filters):
    counts = selectors.case_counts(user=user, **filters)
    total, rows = selectors.case_page_rows(user=user, offset=offset, limit=limit, counts=counts, **filters)
    return counts, total, rows


@pytest.mark.parametrize("who", ["city_op", "town_op", "far_town_op", "street_op", "sysadmin"])
def test_one_statement_answers_as_the_orm_does(world, who):
    world.case_in(CaseState.DISPATCHED)
    f.report(world.grid, by=world.worker)
    user = getattr(world, who)
    for filters in FILTERS:
        for offset, limit in ((0, 7), (7, 7), (100_000, 20)):
            expected = _orm(user, offset, limit, **filters)  # (also reads the user's scope once)
            with CaptureQueriesContext(connection) as ctx:
                got = selectors.case_desk(user=user, offset=offset, limit=limit, **filters)
            assert got == expected, (who, filters, offset)
            # one statement; an empty page carries no counts, so the rollup is read after it
            assert len(_statements(ctx)) <= (1 if got[2] else 2), (who, filters, offset)
    counts, total, rows = selectors.case_desk(user=user)
    if who != "far_town_op":
        assert rows and total == sum(counts.values()) > 0


@pytest.mark.parametrize("who", ["worker", "grid_admin", "station_staff", "cgj_staff"])
def test_village_and_department_desks_keep_the_orm_path(world, who):
    world.case_in(CaseState.DISPATCHED)
    user = getattr(world, who)
    for filters in FILTERS[:3]:
        assert selectors.case_desk(user=user, limit=5, **filters) == _orm(user, 0, 5, **filters)
    # other filters than state and region also take the ORM path, for every desk
    assert selectors.case_desk(user=world.city_op, category="G01") == _orm(world.city_op, 0, 20, category="G01")


def test_auditor_is_refused_on_both_paths(world):
    from gridgov.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        selectors.case_desk(user=world.auditor)
    status, body = ApiClient(world.auditor).get("cases")
    assert status == 403 and body["code"] == "permission_denied"


@pytest.mark.parametrize("who", ["town_op", "station_staff"])
def test_list_rows_are_the_detail_shape(world, who):
    """The list is rendered without per-row validation: each row must be exactly what the validated
    detail shows for the same fields (types, datetime format, nested refs, nulls)."""
    world.case_in(CaseState.DISPATCHED)
    world.case_in(CaseState.HANDLING)
    f.report(world.grid, by=world.worker)
    client = ApiClient(getattr(world, who))
    status, body = client.get("cases", {"page_size": 6})
    assert status == 200 and body["items"]
    assert set(body["counts"]) == set(CaseState.values) and body["count"] >= len(body["items"])
    for item in body["items"]:
        assert set(item) == set(CaseOut.model_fields)
        status, detail = client.get(f"cases/{item['id']}")
        assert status == 200
        assert item == {k: detail[k] for k in item}
    assert any(i["lead_department"] for i in body["items"]) and any(i["stage_deadline"] for i in body["items"])


def test_desk_list_is_one_query_once_the_token_is_known(world):
    world.case_in(CaseState.DISPATCHED)
    for user in (world.city_op, world.town_op):
        client = ApiClient(user)
        assert client.get("cases")[0] == 200  # the token's first read: looked up and remembered
        with CaptureQueriesContext(connection) as ctx:
            status, body = client.get("cases", {"state": ["dispatched"]})
        assert status == 200 and body["count"] == body["counts"]["dispatched"] >= 1
        assert len(_statements(ctx)) == 1, [q["sql"][:80] for q in ctx.captured_queries]
