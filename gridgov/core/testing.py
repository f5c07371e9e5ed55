"""Test helpers shared by every module's tests (imported by tests only)."""

import json

from django.test import Client


class ApiClient:
    """Calls /api/v1/ as a user with a bearer token (or anonymously), returning (status, json)."""

    def __init__(self, user=None, token: str | None = None):
        self.client = Client()
        self.headers = {}
        if user is not None and token is None:
            from gridgov.accounts.services import api_token_issue

            _, token = api_token_issue(acting_user=user, name="test")
        if token:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def _call(self, method: str, path: str, data=None, **extra):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        kwargs = {**self.headers, **extra}
        if method in ("post", "put", "patch") and data is not None and not isinstance(data, str | bytes):
            data = json.dumps(data)
        if method in ("post", "put", "patch", "delete"):
            response = getattr(self.client, method)(url, data=data, content_type="application/json", **kwargs)
        else:
            response = self.client.get(url, data=data, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body

    def get(self, path, params=None, **extra):
        return self._call("get", path, params, **extra)

    def post(self, path, data=None, **extra):
        return self._call("post", path, data, **extra)

    def delete(self, path, **extra):
        return self._call("delete", path, None, **extra)


def assert_error(status: int, body, expected_status: int, code: str | None = None) -> None:
    """An API refusal: the expected 4xx with a stable code and a readable message, no trace."""
    assert status == expected_status, (status, body)
    assert isinstance(body, dict) and body.get("code") and body.get("message"), body
    if code:
        assert body["code"] == code, body
    assert "Traceback" not in json.dumps(body, ensure_ascii=False)


def assert_scoped_endpoint(path: str, *, in_scope_user, out_of_scope_user) -> dict:
    """The shared permission check: in scope 200, out of scope 404, anonymous 401."""
    status, body = ApiClient(in_scope_user).get(path)
    assert status == 200, (path, status, body)
    out_status, out_body = ApiClient(out_of_scope_user).get(path)
    assert_error(out_status, out_body, 404)
    anon_status, anon_body = ApiClient().get(path)
    assert_error(anon_status, anon_body, 401, "not_authenticated")
    return body


def user_with_role(role: str, region_code: str | None = None, department_code: str | None = None):
    """A seeded demo user holding `role` (at `region_code`, or in `department_code`)."""
    from gridgov.accounts.models import Assignment

    qs = Assignment.objects.filter(role=role, is_active=True).select_related("user").order_by("id")
    if region_code:
        qs = qs.filter(region_id=region_code)
    if department_code:
        qs = qs.filter(department__code=department_code)
    assignment = qs.first()
    assert assignment is not None, f"no seeded user with role {role} at {region_code or department_code}"
    return assignment.user


# --- the seeded demo, kept once and put back after a flush ------------------------------------------------
#
# Transactional tests (browser, races) end with a flush, and the next module that needs the demo used to
# seed it again (a minute or more each time, ten times a run). The root conftest keeps a copy of the
# database right after the session's seed; `restore_demo()` puts it back in a second or two: on SQLite
# through the online backup API from an in-memory copy, on PostgreSQL by re-creating the test database
# from a template database (the same ids, so nothing cached in the process goes stale).

_demo_copy: dict = {}


def _pg_admin():
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    return psycopg.connect(dbname="postgres", autocommit=True, **params)


def keep_demo_copy() -> None:
    """Copy the freshly seeded test database (called once per session by the root conftest)."""
    import sqlite3

    from django.db import connection, connections

    name = connection.settings_dict["NAME"]
    connections.close_all()
    if connection.vendor == "sqlite":
        memory = sqlite3.connect(":memory:", check_same_thread=False)
        with sqlite3.connect(name) as source:
            source.backup(memory)
        _demo_copy.update(vendor="sqlite", name=name, copy=memory)
    elif connection.vendor == "postgresql":
        template = f"{name}_demo"[:63]
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{template}"')
            admin.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}" STRATEGY FILE_COPY')
        _demo_copy.update(vendor="postgresql", name=name, copy=template)


def drop_demo_copy() -> None:
    if _demo_copy.get("vendor") == "postgresql":
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{_demo_copy["copy"]}"')
    _demo_copy.clear()


def restore_demo(**seed_options) -> None:
    """Put the session's seeded demo back (or seed it, when no copy was kept)."""
    import sqlite3

    from django.core.management import call_command
    from django.db import connections

    if not _demo_copy:
        call_command("seed_demo", scale="small", quiet=True, **seed_options)
        return
    connections.close_all()
    name = _demo_copy["name"]
    if _demo_copy["vendor"] == "sqlite":
        with sqlite3.connect(name, timeout=60) as target:
            _demo_copy["copy"].backup(target)
    else:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_demo_copy["copy"]}" STRATEGY FILE_COPY')
