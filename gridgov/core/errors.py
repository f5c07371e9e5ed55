"""One error shape for the whole platform (CONVENTIONS rule 6).

Services raise ApplicationError with a stable English `code` and a translated `message`;
the API maps it to a JSON 4xx once, pages map it to form errors or messages.
"""

from typing import Any


class ApplicationError(Exception):
    status = 400

    def __init__(self, code: str, message: str, extra: dict[str, Any] | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.extra = extra or {}
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.extra:
            body["extra"] = self.extra
        return body


class NotFound(ApplicationError):
    """Missing and forbidden look the same from outside: nothing leaks about what exists."""

    status = 404

    def __init__(self, message: str = "对象不存在或无权访问", extra: dict[str, Any] | None = None):
        super().__init__("not_found", message, extra)


class PermissionDenied(ApplicationError):
    status = 403

    def __init__(self, message: str = "没有执行此操作的权限", extra: dict[str, Any] | None = None):
        super().__init__("permission_denied", message, extra)


class ValidationFailed(ApplicationError):
    status = 400

    def __init__(self, message: str, extra: dict[str, Any] | None = None, code: str = "invalid"):
        super().__init__(code, message, extra)
