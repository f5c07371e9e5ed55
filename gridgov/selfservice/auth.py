"""The resident session: its own cookie, looked up in ResidentSession. It never touches
request.user, so no staff role or permission can apply to a resident, nor a resident to staff."""

import functools

from django.shortcuts import redirect
from django.urls import reverse
from ninja.security import APIKeyCookie

from . import services

COOKIE = "gg_my"


def address(request) -> str | None:
    # The same rule as the audit middleware: behind our nginx the real address is REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or None


def current_session(request):
    if not hasattr(request, "_resident_session"):
        request._resident_session = services.session_for_key(request.COOKIES.get(COOKIE))
    return request._resident_session


def set_cookie(request, response, raw: str) -> None:
    response.set_cookie(COOKIE, raw, max_age=int(services.MAX_SESSION.total_seconds()), httponly=True,
                        samesite="Lax", secure=request.is_secure(), path="/")


def clear_cookie(response) -> None:
    response.delete_cookie(COOKIE, path="/", samesite="Lax")


class ResidentCookie(APIKeyCookie):
    """django-ninja auth for /api/v1/my/: the resident cookie, with Django's CSRF check on writes."""

    param_name = COOKIE

    def _get_key(self, request):
        # CSRF protects a live session only: without one the answer is 401 (sign in), not ninja's
        # "CSRF check failed" 403, which it checks before even looking at the cookie.
        if current_session(request) is None:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        return current_session(request)


def resident_required(view):
    """Pages: without a live resident session, go to the sign-in page."""

    @functools.wraps(view)
    def inner(request, *args, **kwargs):
        session = current_session(request)
        if session is None:
            return redirect(f"{reverse('selfservice:login')}?next={request.path}")
        request.resident = session.resident
        return view(request, *args, **kwargs)

    return inner
