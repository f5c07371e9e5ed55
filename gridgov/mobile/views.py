"""The phone app's pages: the app shell, its login, the service worker and the web app manifest.

The shell holds no personal data (the app fills it from IndexedDB and the sync API), so the service
worker may cache it and serve it with no signal. Asset URLs carry a hash of their content: a new
release changes the service worker's bytes, so phones pick it up at the next online start.
"""

import hashlib
from functools import cache
from pathlib import Path

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from gridgov.accounts.forms import LoginForm

STATIC_DIR = Path(__file__).parent / "static" / "mobile"
ASSETS = ("app.css", "app.js", "icons/icon-192.png", "icons/icon-512.png")


@cache
def asset_version() -> str:
    digest = hashlib.sha256()
    for name in ASSETS:
        digest.update((STATIC_DIR / name).read_bytes())
    return digest.hexdigest()[:12]


def asset_urls() -> dict[str, str]:
    version = asset_version()
    return {name.split("/")[-1].replace(".", "_").replace("-", "_"): f"{static('mobile/' + name)}?v={version}"
            for name in ASSETS}


@never_cache
@ensure_csrf_cookie
def shell(request):
    if not request.user.is_authenticated:
        return redirect("mobile:login")
    return render(request, "mobile/shell.html", {"assets": asset_urls(), "version": asset_version()})


class MobileLoginView(LoginView):
    template_name = "mobile/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True
    next_page = "mobile:shell"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "assets": asset_urls()}


@require_POST
def logout_view(request):
    logout(request)
    return redirect("mobile:login")


def service_worker(request):
    body = render(request, "mobile/sw.js", {"assets": asset_urls(), "version": asset_version()}).content
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    # Browsers check the worker script for updates; never let an HTTP cache hold an old release.
    response["Cache-Control"] = "no-cache"
    return response


def manifest(request):
    response = render(request, "mobile/manifest.webmanifest", {"assets": asset_urls()},
                      content_type="application/manifest+json; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
