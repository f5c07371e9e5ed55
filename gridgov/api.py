"""The JSON API under /api/v1/: one NinjaAPI, errors mapped once to {code, message}."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from gridgov.accounts.api import router as auth_router
from gridgov.accounts.auth import api_auth
from gridgov.cases.api import router as cases_router
from gridgov.cases.components.api import router as components_router
from gridgov.cases.tips.api import router as tips_router
from gridgov.core.api import router as audit_router
from gridgov.core.api_errors import error_for_status
from gridgov.core.errors import ApplicationError
from gridgov.core.validation_messages import chinese_message
from gridgov.dashboard.api import router as dashboard_router
from gridgov.egov.api import router as egov_router
from gridgov.intake.api import router as intake_router
from gridgov.mobile.api import router as mobile_router
from gridgov.notices.api import router as notices_router
from gridgov.people.api import router as people_router
from gridgov.points.api import router as points_router
from gridgov.regions.api import router as regions_router
from gridgov.selfservice.api import router as selfservice_router
from gridgov.video.api import router as video_router
from gridgov.visits.api import router as visits_router

log = logging.getLogger("gridgov.api")

api = NinjaAPI(
    title="gridgov 网格化基层治理平台 API",
    version="1",
    urls_namespace="api",
    auth=api_auth,
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _error(request, status: int, code: str, message: str, **extra):
    body = {"code": code, "message": message}
    body.update(extra)
    return api.create_response(request, body, status=status)


@api.exception_handler(ApplicationError)
def _application_error(request, exc: ApplicationError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    errors = [
        {"loc": [str(p) for p in e.get("loc", [])], "msg": chinese_message(e), "type": e.get("type", "")}
        for e in exc.errors
    ]
    summary = "；".join(f"{e['loc'][-1] if e['loc'] else ''}: {e['msg']}" for e in errors[:5])
    return _error(request, 422, "invalid_input", f"请求参数不正确（{summary}）", errors=errors)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return _error(request, 401, "not_authenticated", "请先登录或提供有效的访问令牌")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not_found", "对象不存在或无权访问")


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request, exc):
    return _error(request, 403, "permission_denied", "没有执行此操作的权限")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    # ninja's own messages are English ("Cannot parse request body"): keep them as detail only.
    code, message = error_for_status(exc.status_code)
    return _error(request, exc.status_code, code, message, detail=str(exc.message or ""))


@api.exception_handler(Exception)
def _server_error(request, exc: Exception):
    # Never a stack trace to the client; the log keeps it.
    log.exception("unhandled API error on %s", request.path)
    return _error(request, 500, "server_error", "服务器内部错误，请稍后重试")


api.add_router("/auth", auth_router)
api.add_router("/regions", regions_router)
api.add_router("/audit", audit_router)
api.add_router("/people", people_router)
api.add_router("/visits", visits_router)
api.add_router("/points", points_router)
api.add_router("/cases", cases_router)
api.add_router("/components", components_router)
api.add_router("/tips", tips_router)
api.add_router("/egov", egov_router)
api.add_router("/video", video_router)
api.add_router("/notices", notices_router)
api.add_router("/intake", intake_router)
api.add_router("/dashboard", dashboard_router)
api.add_router("/mobile", mobile_router)
api.add_router("/my", selfservice_router)
