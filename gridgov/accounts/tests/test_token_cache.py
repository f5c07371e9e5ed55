"""The per-process bearer-token cache (tokencache.py): reads only, and its staleness bound holds."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import ApiToken, Assignment
from gridgov.accounts.services import api_token_issue
from gridgov.core.testing import ApiClient, assert_error, user_with_role

pytestmark = pytest.mark.django_db

HUJI = "420881103"


@pytest.fixture
def operator():
    return user_with_role(Role.TOWN_OPERATOR, HUJI)


def test_a_token_revoked_elsewhere_reads_at_most_for_the_bound_and_never_writes(operator, settings):
    settings.API_TOKEN_CACHE_SECONDS = 2  # wide enough for a loaded machine between two requests
    token, raw = api_token_issue(acting_user=operator)
    client = ApiClient(token=raw)
    assert client.get("auth/me")[0] == 200
    # Another worker process revokes it: this process sees no signal, only the database.
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert client.get("auth/me")[0] == 200  # inside the bound, from memory
    status, body = client.delete(f"auth/tokens/{token.pk}")  # a write always asks the database
    assert_error(status, body, 401, "not_authenticated")
    time.sleep(2.1)
    assert_error(*client.get("auth/me"), 401, "not_authenticated")


def test_revocation_in_this_process_is_immediate(operator):
    token, raw = api_token_issue(acting_user=operator)
    client = ApiClient(token=raw)
    assert client.get("auth/me")[0] == 200
    assert client.delete(f"auth/tokens/{token.pk}")[0] == 204
    assert_error(*client.get("auth/me"), 401, "not_authenticated")


def test_deactivated_user_and_changed_assignment_apply_at_once_in_this_process(operator):
    _, raw = api_token_issue(acting_user=operator)
    client = ApiClient(token=raw)
    assert client.get("auth/me")[1]["region_scope"] == [HUJI]
    post = Assignment.objects.get(user=operator)
    post.is_active = False
    post.save()
    status, me = client.get("auth/me")
    assert status == 200 and me["roles"] == [] and me["region_scope"] == []
    operator.is_active = False
    operator.save(update_fields=["is_active"])
    assert_error(*client.get("auth/me"), 401, "not_authenticated")


def test_expiry_is_checked_on_every_cached_read(operator, settings):
    settings.API_TOKEN_CACHE_SECONDS = 60
    token, raw = api_token_issue(acting_user=operator)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(seconds=2))
    client = ApiClient(token=raw)
    assert client.get("auth/me")[0] == 200
    time.sleep(2.1)
    assert_error(*client.get("auth/me"), 401, "not_authenticated")


def test_cached_reads_skip_the_lookup_and_zero_turns_the_cache_off(operator, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, raw = api_token_issue(acting_user=operator)
    client = ApiClient(token=raw)
    client.get("auth/me")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("auth/me")[0] == 200
    assert len(ctx.captured_queries) == 0  # token, user, assignments and scope from memory
    settings.API_TOKEN_CACHE_SECONDS = 0
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("auth/me")[0] == 200
    assert any("accounts_apitoken" in q["sql"] for q in ctx.captured_queries)


def test_forged_tokens_are_never_remembered(operator):
    client = ApiClient(token="ggv_" + "x" * 43)
    for _ in range(2):
        assert_error(*client.get("auth/me"), 401, "not_authenticated")
