from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gridgov.accounts.models import hash_token
from gridgov.accounts.policy import get_scope
from gridgov.core.models import AuditEntry
from gridgov.open311.models import ApiClient

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("open311_key", *args, stdout=out)
    return out.getvalue()


def test_issue_shows_the_key_once_and_stores_its_hash():
    out = run("issue", "--name", "石牌镇小程序", "--jurisdiction", "420881108")
    raw = out.strip().splitlines()[-1]
    client = ApiClient.objects.get(name="石牌镇小程序")
    assert raw.startswith("o311_") and len(raw) > 40
    assert client.key_hash == hash_token(raw) and raw not in client.key_hash
    assert client.jurisdiction_id == "420881108" and client.is_active
    assert not client.user.has_usable_password()
    assert get_scope(client.user).region_prefixes == ("420881108",)
    assert AuditEntry.objects.filter(action="open311.client.issue").exists()
    assert "石牌镇小程序" in run("list") and "有效" in run("list")


def test_revoke():
    run("issue", "--name", "甲", "--jurisdiction", "420881")
    run("revoke", "--name", "甲")
    client = ApiClient.objects.get(name="甲")
    assert not client.is_active and client.revoked_at and not client.user.is_active
    assert "已吊销" in run("list")


@pytest.mark.parametrize("args", [
    ("issue", "--name", "乙", "--jurisdiction", "999999"),
    ("issue", "--name", "乙", "--jurisdiction", "420881103201001"),  # a grid is too small
    ("revoke", "--name", "没有这个"),
])
def test_refusals(args):
    before = ApiClient.objects.count()
    with pytest.raises(CommandError):
        run(*args)
    assert ApiClient.objects.count() == before


def test_names_are_unique():
    run("issue", "--name", "丙", "--jurisdiction", "420881")
    with pytest.raises(CommandError):
        run("issue", "--name", "丙", "--jurisdiction", "420881103")
