from . import request_context


def client_ip(request) -> str:
    # Behind our nginx the real address is REMOTE_ADDR; X-Forwarded-For is not trusted by default.
    return request.META.get("REMOTE_ADDR", "") or ""


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_context.bind(
            request_context.RequestInfo(
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
                path=request.path[:300],
            )
        )
        try:
            return self.get_response(request)
        finally:
            request_context.reset(token)
