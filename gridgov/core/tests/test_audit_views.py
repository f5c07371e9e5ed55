"""The audit log page /audit/: auditors only; filters; pagination."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.models import AuditEntry
from gridgov.core.security.auditguard import unguarded
from gridgov.core.testing import user_with_role

pytestmark = pytest.mark.django_db

ACTOR = "audit-view-test"


@pytest.fixture
def auditor_client(client):
    client.force_login(user_with_role(Role.AUDITOR))
    return client


@pytest.fixture
def entries():
    """120 rows by one test actor: 100 successes of case.update, 20 failures of auth.login."""
    rows = [
        AuditEntry(actor_username=ACTOR, action="case.update", object_type="cases.case", object_id=str(i),
                   region_code="420881103201001", changes={"状态": ["受理", "立案"]}, ip="10.0.0.8")
        for i in range(100)
    ] + [
        AuditEntry(actor_username=ACTOR, action="auth.login", outcome="failure", message="用户名或密码错误")
        for _ in range(20)
    ]
    return AuditEntry.objects.bulk_create(rows)


def rows(response) -> int:
    table = re.search(r'<table class="list" id="audit-table">.*?</table>', response.content.decode(), re.S).group(0)
    return len(re.findall(r"<tr>\s*<td class=\"nowrap\">", table))  # data rows, not the empty state


def test_auditor_sees_the_log_in_chinese(auditor_client, entries):
    response = auditor_client.get("/audit/", {"actor": ACTOR})
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("审计日志", "操作人账号", "区划代码前缀", "起始时间", "查询", "共 120 条", "第 1 / 3 页", "下一页"):
        assert text in html, text
    assert rows(response) == 50
    # Changes are shown as readable JSON, Chinese unescaped.
    assert "{&quot;状态&quot;: [&quot;受理&quot;, &quot;立案&quot;]}" in html
    # Newest first: the 20 failures were written last.
    first_row = re.search(r'<tbody>\s*<tr>(.*?)</tr>', html, re.S).group(1)
    assert "auth.login" in first_row and '<span class="badge bad">失败</span>' in first_row


def test_pagination_keeps_the_filters(auditor_client, entries):
    response = auditor_client.get("/audit/", {"actor": ACTOR, "page": 2})
    html = response.content.decode()
    assert rows(response) == 50 and "第 2 / 3 页" in html
    assert f'href="?actor={ACTOR}&amp;page=3"' in html and f'href="?actor={ACTOR}&amp;page=1"' in html
    response = auditor_client.get("/audit/", {"actor": ACTOR, "page": 3})
    assert rows(response) == 20
    # Out-of-range and junk page numbers fall back to a real page rather than failing.
    assert auditor_client.get("/audit/", {"actor": ACTOR, "page": 99}).status_code == 200
    assert rows(auditor_client.get("/audit/", {"actor": ACTOR, "page": "x"})) == 50


@pytest.mark.parametrize("filters, expected", [
    ({"action": "auth"}, 20),
    ({"action": "case.update"}, 100),
    ({"outcome": "failure"}, 20),
    ({"outcome": "success"}, 100),
    ({"region": "420881103"}, 100),
    ({"region": "420881108"}, 0),
    ({"object_type": "cases.case", "object_id": "7"}, 1),
])
def test_filters(auditor_client, entries, filters, expected):
    response = auditor_client.get("/audit/", {"actor": ACTOR, **filters})
    assert response.status_code == 200
    assert f"共 {expected} 条" in response.content.decode()
    if expected == 0:
        assert "没有符合条件的记录" in response.content.decode()


def test_time_window_filter(auditor_client, entries):
    old = entries[0]
    with unguarded():  # backdating a row: the database refuses edits of the log otherwise
        AuditEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    since = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = auditor_client.get("/audit/", {"actor": ACTOR, "since": since})
    assert "共 119 条" in response.content.decode()
    until = (timezone.localtime() - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S")
    response = auditor_client.get("/audit/", {"actor": ACTOR, "until": until})
    assert "共 1 条" in response.content.decode()


def test_invalid_filters_show_errors_and_no_rows(auditor_client, entries):
    response = auditor_client.get("/audit/", {"actor": ACTOR, "region": "abc"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "区划代码只能是 1-15 位数字" in html and "查询条件有误" in html
    assert rows(response) == 0
    response = auditor_client.get("/audit/", {"since": "2026-05-02T00:00", "until": "2026-05-01T00:00"})
    assert "截止时间应晚于起始时间" in response.content.decode() and rows(response) == 0
    response = auditor_client.get("/audit/", {"since": "not a time"})
    assert "请输入正确的时间" in response.content.decode()


def test_query_count_does_not_depend_on_the_rows(auditor_client, entries):
    auditor_client.get("/audit/")
    with CaptureQueriesContext(connection) as few:
        auditor_client.get("/audit/", {"actor": ACTOR, "page": 3})
    with CaptureQueriesContext(connection) as many:
        auditor_client.get("/audit/", {"actor": ACTOR, "page": 1})
    assert len(few) == len(many) <= 8, [q["sql"] for q in many.captured_queries]


def test_system_administrator_may_not_read_the_log(client):
    # 三员分立 (docs/security.md): the log watches the system administrator, so only the auditor reads it.
    client.force_login(user_with_role(Role.SYSADMIN))
    assert client.get("/audit/").status_code == 403


@pytest.mark.parametrize("role, region", [
    (Role.GRID_WORKER, None), (Role.GRID_ADMIN, None), (Role.TOWN_OPERATOR, "420881103"),
    (Role.CITY_OPERATOR, "420881"), (Role.DEPT_HEAD, None),
])
def test_other_roles_get_403(client, entries, role, region):
    client.force_login(user_with_role(role, region))
    response = client.get("/audit/", {"actor": ACTOR})
    assert response.status_code == 403
    html = response.content.decode()
    assert "没有权限" in html and ACTOR not in html
    assert "case.update" not in html


def test_anonymous_is_sent_to_login(client):
    response = client.get("/audit/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/audit/"
