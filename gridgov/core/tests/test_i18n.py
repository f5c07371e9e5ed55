import shutil
import subprocess
from pathlib import Path

import pytest

from gridgov.accounts.choices import Role
from gridgov.core.testing import user_with_role

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES"


@pytest.mark.django_db
def test_login_page_is_chinese_by_default_and_english_on_request(client):
    zh = client.get("/accounts/login/").content.decode()
    assert "账号登录" in zh and 'lang="zh-CN"' in zh
    en = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sign in to your account" in en and "User name" in en and 'lang="en"' in en


@pytest.mark.django_db
def test_language_switch_sticks_for_the_session(client):
    user = user_with_role(Role.CITY_OPERATOR, "420881")
    client.force_login(user)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    page = client.get(f"/regions/{'420881'}/").content.decode()
    assert "Sign out" in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "退出登录" in client.get("/regions/420881/").content.decode()


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext not installed")
def test_committed_catalogue_is_compiled_from_the_po(tmp_path):
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(LOCALE / "django.po")], check=True)
    assert fresh.read_bytes() == (LOCALE / "django.mo").read_bytes(), "run: gridgov compilemessages"
