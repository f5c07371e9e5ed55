"""The scope matrix: every API operation and every page, as anonymous and as each role.

Generated from /api/v1/openapi.json and the URL resolver, so endpoints added later are walked
too. It asserts:
  * anonymous callers get 401 from every API operation except the public allow-list below, and
    are sent to the login page by every page except the public pages below;
  * no role ever gets a 5xx from a read;
  * every region code in a JSON read lies inside the caller's scope (or is an ancestor of it,
    as in breadcrumbs), so no other grid's, village's, town's or department's rows leak;
  * a detail read of an object that lies outside the caller's scope answers 404 (or 403 when
    the role may not use the endpoint at all), never the object.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.accounts.policy import get_scope
from gridgov.core.testing import ApiClient

pytestmark = pytest.mark.django_db

# Operations that answer without credentials, on purpose. Adding one here is a security decision.
PUBLIC_API = {
    ("POST", "/api/v1/auth/token"),  # password (+ code) for a token
    ("GET", "/api/v1/points/verify/{code}"),  # the QR code printed on a points certificate
    ("GET", "/api/v1/points/notice/{code}"),  # the public notice of a village's points
    ("POST", "/api/v1/my/otp"),  # residents' self-service: SMS code request
    ("POST", "/api/v1/my/session"),  # residents' self-service: code for a session
}
# Pages anyone may open (login, health check, residents' self-service entry, Open311 discovery).
PUBLIC_PAGE_PREFIXES = ("/accounts/login", "/healthz", "/i18n/", "/my/", "/open311/", "/m/", "/points/verify",
                        "/points/notice", "/static/", "/media/")
# Machine endpoints for protocol peers, authenticated by signatures or shared secrets rather than a
# session (the WeChat callback answers 503 until configured; nginx's media auth callbacks). Each
# module's own tests cover their refusals.
MACHINE_ENDPOINTS = ("/intake/wechat/callback", "/intake/sms/inbound", "/video/media/")
REGION_KEYS = re.compile(r"(^|_)(region|region_code|grid|grid_code|village|village_code|town|town_code)$")
CODE = re.compile(r"^4208\d{2,13}$")
# The auditor's job is reading the log of everyone's actions: its region codes are not a leak.
NOT_SCOPED = {(Role.AUDITOR, "/api/v1/audit")}


def _schema():
    from gridgov.api import api

    return api.get_openapi_schema()


def _operations():
    for path, methods in _schema()["paths"].items():
        for method, op in methods.items():
            yield method.upper(), path, op


def _fill(path: str, value: str = "1") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _users():
    """One seeded holder of each role (the first assignment), plus a second grid worker elsewhere."""
    out = {}
    for role in Role.values:
        a = Assignment.objects.filter(role=role, is_active=True).select_related("user").order_by("id").first()
        if a is not None:
            out[role] = a.user
    return out


def _region_codes(body, key=""):
    if isinstance(body, dict):
        for k, v in body.items():
            yield from _region_codes(v, k)
    elif isinstance(body, list):
        for v in body:
            yield from _region_codes(v, key)
    elif isinstance(body, str) and REGION_KEYS.search(key or "") and CODE.match(body):
        yield body


def _in_scope(scope, code: str) -> bool:
    return scope.covers(code) or any(p.startswith(code) for p in scope.region_prefixes)


def test_public_operations_are_exactly_the_allow_list():
    unsecured = {(m, p) for m, p, op in _operations() if not op.get("security")}
    assert unsecured == PUBLIC_API, "an operation without authentication must be listed (and reviewed) here"


def test_every_api_operation_refuses_anonymous_callers():
    client = ApiClient()
    checked, wrong = 0, []
    for method, path, _op in _operations():
        if (method, path) in PUBLIC_API:
            continue
        status, _ = client._call(method.lower(), _fill(path), {} if method != "GET" else None)
        checked += 1
        if status != 401:
            wrong.append(f"{method} {path}: {status}")
    assert checked > 150
    assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="module")
def matrix_users(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return _users()


def _reads():
    return [(p, op) for m, p, op in _operations() if m == "GET" and "{" not in p]


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.SECURITY_ADMIN])
def test_reads_stay_inside_the_callers_scope(role):
    user = _users().get(role)
    assert user is not None, role
    scope = get_scope(user)
    client = ApiClient(user)
    failures, answered = [], 0
    for path, _op in _reads():
        response = client.client.get(path, **client.headers)
        if response.status_code >= 500:
            failures.append(f"GET {path}: {response.status_code}")
            continue
        if response.status_code != 200 or not response.headers.get("Content-Type", "").startswith("application/json"):
            continue
        answered += 1
        if (role, path) in NOT_SCOPED:
            continue
        leaks = {c for c in _region_codes(response.json()) if not _in_scope(scope, c)}
        if leaks:
            failures.append(f"GET {path}: region codes outside scope {sorted(leaks)[:5]}")
    assert not failures, "\n".join(failures)
    if role not in (Role.AUDITOR,):
        assert answered > 0


def _detail_pairs():
    """(detail path, list path, param) where the detail's parent is a list read: /x/{id} ← /x."""
    reads = {p for m, p, _ in _operations() if m == "GET"}
    for path in reads:
        m = re.fullmatch(r"(.*)/\{([a-z_]+)\}", path)
        if m and m.group(1) in reads and "{" not in m.group(1):
            yield path, m.group(1), m.group(2)


def _items(body):
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return body["items"]
    return body if isinstance(body, list) else []


def test_out_of_scope_objects_are_not_found():
    """Objects a wide-scoped user lists are fetched by a grid worker elsewhere: 404/403, never 200."""
    users = _users()
    worker = users[Role.GRID_WORKER]
    scope = get_scope(worker)
    wide = [ApiClient(users[r]) for r in (Role.CITY_OPERATOR, Role.SYSADMIN, Role.DEPT_HEAD) if r in users]
    narrow = ApiClient(worker)
    pairs, probed, wrong = list(_detail_pairs()), 0, []
    assert len(pairs) > 10
    for detail, listing, _param in pairs:
        for client in wide:
            status, body = client.get(listing)
            if status != 200:
                continue
            outside = [i for i in _items(body) if isinstance(i, dict) and "id" in i
                       and any(not _in_scope(scope, c) for c in _region_codes(i))]
            if not outside:
                continue
            status, _ = narrow.get(_fill(detail, str(outside[0]["id"])))
            probed += 1
            if status not in (403, 404):
                wrong.append(f"GET {detail} id={outside[0]['id']}: {status}")
            break
    assert probed >= 3
    assert not wrong, "\n".join(wrong)


def _pages(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        route = str(p.pattern)
        if isinstance(p, URLResolver):
            if route.startswith("api/") or route.startswith("^api/"):
                continue
            yield from _pages(p, prefix + route)
        elif isinstance(p, URLPattern):
            full = prefix + route
            if "<" in full or "(?P" in full or full.startswith("^"):
                continue  # pages with parameters: covered through the API's detail checks
            yield "/" + full.lstrip("^").rstrip("$")


def test_pages_send_anonymous_visitors_to_login(client):
    pages, wrong = sorted(set(_pages())), []
    assert len(pages) > 20
    for page in pages:
        if page.startswith(PUBLIC_PAGE_PREFIXES + MACHINE_ENDPOINTS) or page == "/":
            continue
        response = client.get(page)
        if response.status_code in (405,):
            continue
        if not (response.status_code in (302, 401, 403) and (response.status_code != 302 or "/accounts/login/"
                                                             in response["Location"])):
            wrong.append(f"{page}: {response.status_code} {response.get('Location', '')}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.SECURITY_ADMIN])
def test_no_page_fails_for_any_role(client, role):
    user = _users()[role]
    client.force_login(user)
    client.raise_request_exception = False  # collect every 500, not just the first
    failures = []
    for page in sorted(set(_pages())):
        if page.startswith(("/accounts/logout", "/i18n/", *MACHINE_ENDPOINTS)):
            continue
        response = client.get(page)
        if response.status_code >= 500:
            failures.append(f"{page}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_points_pages_refuse_roles_without_points_access(client):
    """Found by the matrix: these pages answered 500 (a permission error sent to an unbound form)."""
    for role in (Role.AUDITOR, Role.DEPT_STAFF):
        client.force_login(_users()[role])
        for page in ("/points/ledger/", "/points/rankings/"):
            assert client.get(page).status_code in (403, 404), (role, page)
