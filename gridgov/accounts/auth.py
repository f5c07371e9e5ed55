"""API authentication: bearer tokens for clients, the session cookie (with CSRF) for pages."""

from ninja.security import APIKeyCookie, HttpBearer

from .services import api_token_lookup
from .tokencache import SAFE_METHODS


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        # Reads may be answered from the per-process token cache (bound: tokencache.py); writes never.
        user = api_token_lookup(token, cached=request.method in SAFE_METHODS)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The logged-in page session; unsafe methods need the CSRF token like any form."""

    param_name = "sessionid"

    def __init__(self):
        super().__init__(csrf=True)

    def _get_key(self, request):
        # CSRF protects a live session only. Checked first (ninja's default), it answered 403 "CSRF
        # check failed" to every write whose caller had no session at all, e.g. an API client with a
        # missing, forged or expired token, which must get 401 and know to sign in again.
        if _session_user(request) is None:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        return _session_user(request)


def _session_user(request):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active:
        return user
    return None


api_auth = [BearerTokenAuth(), SessionAuth()]
