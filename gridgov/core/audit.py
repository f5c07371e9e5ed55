"""Writing the audit log. Services call `audit_record` once per write, inside their transaction."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction

from . import request_context
from .models import AuditEntry, AuditOutcome
from .security import chain


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, bytes | memoryview):
        return f"<{len(bytes(value))} bytes>"
    return value


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    return {f: _jsonable(getattr(instance, f if not _is_fk(instance, f) else f + "_id")) for f in fields}


def _is_fk(instance: models.Model, name: str) -> bool:
    try:
        return instance._meta.get_field(name).is_relation
    except Exception:
        return False


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    region_code: str = "",
    changes: dict[str, Any] | None = None,
    outcome: str = AuditOutcome.SUCCESS,
    message: str = "",
    username: str = "",
) -> AuditEntry:
    info = request_context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        region_code = region_code or getattr(obj, "region_code", "") or ""
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    entry = AuditEntry(
        actor=actor if is_user else None,
        actor_username=(actor.get_username() if is_user else username)[:150],
        ip=info.ip,
        user_agent=info.user_agent,
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        region_code=region_code[:15],
        changes=chain.normalise_changes({k: _jsonable(v) for k, v in (changes or {}).items()}),
        outcome=outcome,
        message=message[:500],
    )
    # Appending locks the chain head until the caller's transaction ends: audit writers queue
    # rather than fork the chain. No savepoint of its own: a failed append fails the caller's write.
    with transaction.atomic(savepoint=False):
        chain.append(entry)
    return entry
