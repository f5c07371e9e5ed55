import pytest

from gridgov.accounts.choices import Role
from gridgov.core.testing import user_with_role

pytestmark = pytest.mark.django_db


def nav_links(client, user) -> set[str]:
    client.force_login(user)
    html = client.get("/accounts/login/", follow=True).content.decode()
    start = html.find('class="mainnav"')
    return {href for href in ("/people/", "/visits/", "/audit/") if start >= 0 and f'href="{href}"' in html[start:]}


def test_grid_worker_is_offered_people_and_visits_not_audit(client):
    assert nav_links(client, user_with_role(Role.GRID_WORKER)) == {"/people/", "/visits/"}


def test_auditor_is_offered_only_the_audit_log(client):
    assert nav_links(client, user_with_role(Role.AUDITOR)) == {"/audit/"}


def test_anonymous_gets_no_navigation(client):
    assert 'class="mainnav"' not in client.get("/accounts/login/").content.decode()
