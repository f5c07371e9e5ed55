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
