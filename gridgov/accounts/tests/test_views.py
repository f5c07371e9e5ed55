"""Login, lockout and logout pages."""

import pytest
from django.conf import settings

from gridgov.accounts.choices import Role
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role

pytestmark = pytest.mark.django_db

PASSWORD = "Grid-Test-Pass-2026"
HUJI = "420881103"
LOGIN = "/accounts/login/"


@pytest.fixture
def operator():
    user = user_with_role(Role.TOWN_OPERATOR, HUJI)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def post_login(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_login_page_is_chinese_and_self_contained(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-CN">' in html
    for text in ("账号登录", "用户名", "密码", "钟祥市网格化管理平台", 'id="login-submit"'):
        assert text in html
    assert 'autocomplete="current-password"' in html and "csrfmiddlewaretoken" in html
    assert "http://" not in html and "https://" not in html  # no external asset of any kind


def test_right_password_logs_in_and_lands_on_the_users_page(client, operator):
    response = post_login(client, operator.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert is_logged_in(client)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == f"/regions/{HUJI}/"
    assert "胡集镇" in response.content.decode()
    assert AuditEntry.objects.filter(action="auth.login", actor=operator, outcome="success").exists()


def test_login_follows_a_safe_next_but_not_an_external_one(client, operator):
    response = post_login(client, operator.username, PASSWORD, next=f"/regions/{HUJI}/")
    assert response["Location"] == f"/regions/{HUJI}/"
    client.logout()
    response = post_login(client, operator.username, PASSWORD, next="https://evil.example/")
    assert response["Location"] == "/"


def test_wrong_password_shows_the_chinese_error(client, operator):
    response = post_login(client, operator.username, "not-the-password")
    assert response.status_code == 200
    html = response.content.decode()
    assert "用户名或密码错误。连续失败 5 次，账号将锁定 30 分钟。" in html
    assert 'role="alert"' in html
    assert f'value="{operator.username}"' in html  # the name is kept, the password is not
    assert "not-the-password" not in html
    assert not is_logged_in(client)


def test_empty_form_asks_for_both_fields(client):
    html = post_login(client, "", "").content.decode()
    assert "请输入用户名。" in html and "请输入密码。" in html


def test_unknown_user_gets_the_same_error_as_a_wrong_password(client):
    html = post_login(client, "no-such-user", "whatever-password").content.decode()
    assert "用户名或密码错误" in html


def test_five_failures_lock_the_account_even_for_the_right_password(client, operator):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        response = post_login(client, operator.username, "wrong-password")
        assert response.status_code == 200
        assert "用户名或密码错误" in response.content.decode()
    # The fifth failure is the one that locks.
    response = post_login(client, operator.username, "wrong-password")
    assert response.status_code == 429
    assert "账号已锁定" in response.content.decode()
    # The sixth attempt, with the right password, is refused with the lockout page.
    response = post_login(client, operator.username, PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "账号已锁定" in html and "30 分钟" in html and 'id="account-locked"' in html
    assert not is_logged_in(client)
    assert client.get(f"/regions/{HUJI}/").status_code == 302
    assert AuditEntry.objects.filter(action="auth.lockout", actor_username=operator.username).exists()


def test_lockout_is_per_account_so_a_shared_office_address_is_not_locked_out(client, operator):
    for _ in range(5):
        post_login(client, operator.username, "wrong-password")
    colleague = user_with_role(Role.GRID_ADMIN)
    colleague.set_password(PASSWORD)
    colleague.save(update_fields=["password"])
    response = post_login(client, colleague.username, PASSWORD)  # same client address
    assert response.status_code == 302 and is_logged_in(client)


def test_success_before_the_limit_resets_the_count(client, operator):
    for _ in range(4):
        post_login(client, operator.username, "wrong-password")
    assert post_login(client, operator.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert post_login(client, operator.username, "wrong-password").status_code == 200
    assert post_login(client, operator.username, PASSWORD).status_code == 302


def test_logged_in_user_visiting_login_is_sent_home(client, operator):
    client.force_login(operator)
    response = client.get(LOGIN)
    assert response.status_code == 302 and response["Location"] == "/"


def test_logout_button_is_a_post_form_and_logs_out(client, operator):
    client.force_login(operator)
    html = client.get(f"/regions/{HUJI}/").content.decode()
    assert 'action="/accounts/logout/"' in html and 'method="post"' in html and "退出登录" in html
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert not is_logged_in(client)
    response = client.get(f"/regions/{HUJI}/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert AuditEntry.objects.filter(action="auth.logout", actor=operator).exists()


def test_logout_by_get_is_refused(client, operator):
    client.force_login(operator)
    assert client.get("/accounts/logout/").status_code == 405
    assert is_logged_in(client)


def test_logout_needs_the_csrf_token(operator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()
    assert is_logged_in(client)
