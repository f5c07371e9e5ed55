"""Any error response under /api/ leaves as JSON {code, message}, whichever layer produced it.

The API's own handlers already do so; this catches what happens before or around them:
405 from the router, CSRF refusals, request-size limits, a database that is down.
"""

import json

from django.http import JsonResponse

_CODES = {
    400: ("bad_request", "请求格式不正确"),
    401: ("not_authenticated", "请先登录或提供有效的访问令牌"),
    403: ("permission_denied", "没有执行此操作的权限"),
    404: ("not_found", "接口或对象不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
    500: ("server_error", "服务器内部错误，请稍后重试"),
    503: ("unavailable", "服务暂不可用，请稍后重试"),
}


def error_for_status(status: int) -> tuple[str, str]:
    return _CODES.get(status, ("error" if status < 500 else "server_error", "请求未能完成"))


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            try:
                body = json.loads(response.content or b"{}")
            except ValueError:
                body = None
            if isinstance(body, dict) and "code" in body and "message" in body:
                return response
        code, message = error_for_status(response.status_code)
        replacement = JsonResponse({"code": code, "message": message}, status=response.status_code)
        if response.has_header("Allow"):
            replacement["Allow"] = response["Allow"]
        return replacement
