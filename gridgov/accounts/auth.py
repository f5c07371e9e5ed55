"""API authentication: bearer tokens for clients, the session cookie (with CSRF) for pages."""

from ninja.security import APIKeyCookie, HttpBearer

from .services import api_token_lookup


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = api_token_lookup(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The logged-in page session; unsafe methods need the CSRF token like any form."""

    param_name = "sessionid"

    def __init__(self):
        super().__init__(csrf=True)

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


api_auth = [BearerTokenAuth(), SessionAuth()]
