"""What a locked-out login attempt gets back: JSON for the API, the Chinese page for people."""

from django.http import JsonResponse
from django.shortcuts import render

MESSAGE = "登录失败次数过多，账号已锁定 30 分钟，请稍后再试"


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "locked_out", "message": MESSAGE}, status=429)
    return render(request, "accounts/locked.html", status=429)
