"""Security headers, the content security policy and the production settings check."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from gridgov.accounts.choices import Role
from gridgov.core.testing import ApiClient, user_with_role

ROOT = Path(settings.BASE_DIR)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
# on*="…" event handler attributes (onclick=, onload=, …) inside a tag.
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def _deploy_check(**env):
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DEBUG", "HTTPS", "SECURE_COOKIES", "DJANGO_ALLOW_ASYNC_UNSAFE"}}  # set by the tests
    proc = subprocess.run([sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
                          env={**clean, **env}, capture_output=True, text=True, cwd=ROOT, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_check_deploy_is_clean_in_production_settings():
    code, out = _deploy_check(DEBUG="0", HTTPS="1")
    assert code == 0, out


def test_check_deploy_complains_without_https():
    code, out = _deploy_check(DEBUG="0")
    assert code != 0 and "security.W008" in out and "security.W012" in out


@pytest.mark.django_db
def test_pages_and_api_carry_a_policy_without_inline_scripts(client):
    for response in (client.get("/accounts/login/"),
                     ApiClient(user_with_role(Role.TOWN_OPERATOR, "420881103")).client.get("/api/v1/openapi.json")):
        policy = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'"
        assert "unsafe-inline" not in directives["style-src"] and "unsafe-eval" not in policy
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "geolocation=(self)" in response.headers["Permissions-Policy"]


@pytest.mark.django_db
def test_authenticated_pages_are_not_cached(client):
    client.force_login(user_with_role(Role.TOWN_OPERATOR, "420881103"))
    assert client.get("/").headers["Cache-Control"] == "no-store"


def _templates():
    return sorted(p for p in (ROOT / "gridgov").rglob("templates/**/*.html"))


def test_no_template_has_an_inline_script_or_event_handler():
    """Guards every module's templates: the policy would silently break such code in browsers."""
    assert len(_templates()) > 30
    offenders = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in INLINE_SCRIPT.finditer(text)]
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in HANDLER.finditer(text)]
    assert not offenders, "\n".join(offenders)


def test_the_scanner_itself_finds_inline_code():
    assert INLINE_SCRIPT.search('<script>alert(1)</script>') and not INLINE_SCRIPT.search('<script src="/a.js">')
    assert HANDLER.search('<button class="x" onclick="go()">') and not HANDLER.search('<a href="/on=1">')
    assert INLINE_SCRIPT.search('<script type="module">import x</script>')
