from datetime import datetime
from typing import Any

from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from .models import AuditOutcome
from .pagination import PageNumberCount
from .selectors import audit_entry_list

router = Router(tags=["audit 审计日志"])


class AuditFilters(Schema):
    actor: str | None = Field(None, max_length=150)
    action: str | None = Field(None, max_length=64)
    object_type: str | None = Field(None, max_length=64)
    object_id: str | None = Field(None, max_length=64)
    region: str | None = Field(None, pattern=r"^[0-9]{1,15}$")
    outcome: AuditOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditOut(Schema):
    id: int
    created_at: datetime
    actor_username: str
    ip: str
    action: str
    object_type: str
    object_id: str
    region_code: str
    changes: dict[str, Any]
    outcome: str
    message: str


@router.get("", response=list[AuditOut], summary="审计日志查询")
@paginate(PageNumberCount)
def list_audit(request, filters: Query[AuditFilters]):
    return audit_entry_list(user=request.auth, **filters.dict())
