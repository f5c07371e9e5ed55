"""Schema fuzzing of /api/v1 (issue #11): schemathesis generates valid and invalid inputs from the
OpenAPI document django-ninja builds, for every operation, as staff of four roles.

For each generated call: no 5xx; a status the document declares (its successes, plus the refusals
of our global error contract, see fuzzing.with_error_responses); a body matching the declared schema
(every refusal is {"code", "message"}); the declared content type. For every operation that needs
authentication: no credentials, a forged token (with a forged session cookie), an expired and a
revoked token all answer 401 and write nothing.

Each test rolls back, so generated writes vanish; nothing reaches the network (the SMS backend is
forced to the log backend, uploads go to a temporary directory).
"""

import secrets
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from schemathesis.core.parameters import ParameterLocation

from gridgov.accounts.choices import Role
from gridgov.accounts.models import ApiToken
from gridgov.accounts.services import TOKEN_PREFIX, api_token_issue
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role

from . import fuzzing

pytestmark = pytest.mark.django_db

ERROR = {"type": "object", "required": ["code", "message"],
         "properties": {"code": {"type": "string", "minLength": 1}, "message": {"type": "string", "minLength": 1}}}
# The staff the fuzzer acts as (胡集镇, where the article's villages lie). City operators, department
# heads and the administrators sign in with a second factor; the scope matrix covers them.
FUZZ_AS = {
    Role.GRID_WORKER: {"region_code": "420881103201001"},
    Role.GRID_ADMIN: {"region_code": "420881103201"},
    Role.TOWN_OPERATOR: {"region_code": "420881103"},
    Role.DEPT_STAFF: {},
}


def _document() -> dict:
    from gridgov.api import api

    return fuzzing.with_error_responses(api.get_openapi_schema(), statuses=("4XX",), error_schema=ERROR)


DOCUMENT = _document()
APP = fuzzing.InTransaction()
schema = fuzzing.load(DOCUMENT, app=APP)
auth_schema = fuzzing.load(DOCUMENT, app=APP, max_examples=1, mode="positive")
# Four roles × 234 operations × 5 examples would take several minutes per database: each operation is
# fuzzed as one role, taken in turn along the sorted operations, so every role meets every module.
OPERATIONS = sorted((path, method) for path, methods in DOCUMENT["paths"].items() for method in methods)
ROLE_OF = {f"{m.upper()} {p}": list(FUZZ_AS)[i % len(FUZZ_AS)] for i, (p, m) in enumerate(OPERATIONS)}
SECURED = {f"{m.upper()} {p}" for p, ms in DOCUMENT["paths"].items() for m, op in ms.items() if op.get("security")}


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.SMS_BACKEND = "log"  # the http backend would post to the SMS gateway
    settings.MEDIA_ROOT = str(tmp_path)  # generated uploads land in a directory thrown away
    yield
    if connection.vendor == "sqlite":
        # Django's teardown would run SQLite's foreign-key check over the whole 130 MB demo database
        # (~0.3 s per test, a minute over this file); PostgreSQL checks the deferred constraints as usual.
        transaction.set_rollback(True)


@pytest.fixture
def bearer():
    """Headers with a fresh token of a role's user; one token per role and test."""
    issued = {}

    def headers(role: str) -> dict:
        if role not in issued:
            _, raw = api_token_issue(acting_user=user_with_role(role, **FUZZ_AS[role]), name="fuzz")
            issued[role] = {"Authorization": f"Bearer {raw}"}
        return issued[role]

    return headers


_IDS: dict[tuple[str, str], dict] = {}


def _existing_ids(path: str, headers: dict, role: str) -> dict:
    """Real ids for a path's parameters as the role sees them: the first item of the list each
    parameter belongs to (/x/{x_id}/… ← GET /x). Random ids are all but always 404, which would keep
    the fuzzer out of every operation on an existing object. Seeded rows only, so kept per session."""
    from django.test import Client

    if (role, path) not in _IDS:
        found, prefix, client = {}, "", Client()
        for part in path.strip("/").split("/"):
            name = fuzzing.PATH_PARAM.fullmatch(part)
            if name:
                name = name.group(1)
                response = client.get(prefix, {"page_size": 1}, HTTP_AUTHORIZATION=headers["Authorization"])
                body = response.json() if response.status_code == 200 else None
                items = body.get("items") if isinstance(body, dict) else body
                field = "id" if name.endswith("_id") else name
                if not (isinstance(items, list) and items and isinstance(items[0], dict) and field in items[0]):
                    break
                found[name] = items[0][field]
                part = str(found[name])
            prefix += "/" + part
        _IDS[(role, path)] = found
    return _IDS[(role, path)]


@schema.parametrize()
@fuzzing.hypothesis_settings_for()
def test_fuzz(case, bearer):
    role = ROLE_OF[case.operation.label]
    headers = bearer(role)
    if not case.meta.is_negative_at(ParameterLocation.PATH):
        case.path_parameters.update(_existing_ids(case.operation.path, headers, role))
    response = case.call(headers=headers)
    fuzzing.record(case, response)
    case.validate_response(response)


def _token(role: str, **state) -> str:
    token, raw = api_token_issue(acting_user=user_with_role(role, **FUZZ_AS[role]), name="fuzz-dead")
    ApiToken.objects.filter(pk=token.pk).update(**state)
    return raw


@pytest.fixture
def dead_credentials():
    """Credentials that must not authenticate anyone. The expired and revoked tokens were never valid
    when first presented, so no per-process token cache can have remembered them."""
    role = Role.TOWN_OPERATOR
    now = timezone.now()
    forged = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return {
        "no credentials": ({}, {}),
        "forged token and session cookie": ({"Authorization": f"Bearer {forged}"},
                                             {"sessionid": secrets.token_hex(16)}),
        "expired token": ({"Authorization": f"Bearer {_token(role, expires_at=now - timedelta(seconds=1))}"}, {}),
        "revoked token": ({"Authorization": f"Bearer {_token(role, revoked_at=now - timedelta(seconds=1))}"}, {}),
    }


@auth_schema.parametrize()
@fuzzing.hypothesis_settings_for(max_examples=1)
def test_authentication_cannot_be_bypassed(case, dead_credentials):
    if case.operation.label not in SECURED:
        pytest.skip("public on purpose (tests/security/test_scope_matrix.py PUBLIC_API)")
    before = AuditEntry.objects.count()
    wrong = []
    for name, (headers, cookies) in dead_credentials.items():
        response = case.call(headers=headers, cookies=cookies)
        body = response.json() if response.headers.get("content-type", [""])[0].startswith("application/json") else None
        if response.status_code != 401 or not isinstance(body, dict) or not body.get("code"):
            wrong.append(f"{name}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert AuditEntry.objects.count() == before, "a refused call wrote an audit row"


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    fuzzing.report(request, "/api/v1 schema fuzzing", ROLE_OF)
