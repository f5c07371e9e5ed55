"""How registry data is shown to a given user: masks, names, and which care tags they may see.

Least sight (DESIGN.md): ID numbers and phones are always masked in lists, details, the API and
exports unless a logged reveal or an authorised unmasked export asks otherwise; care tags of
sensitivity 2 need `people.tags.sensitive`, of 3 `people.tags.restricted`. Every page, endpoint
and file goes through these functions, so the rule is written once.
"""

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gridgov.accounts.policy import can
from gridgov.core.masking import mask_id_number, mask_name, mask_phone

from .choices import Sensitivity

REVEALABLE_FIELDS = {"id_number": "公民身份号码", "phone": "联系电话", "health_note": "健康状况"}
# What an audit row may say about a personal field instead of its value.
CHANGED = "已修改"
SET = "已填写"
CLEARED = "已清空"


def tag_levels(user) -> frozenset[int]:
    """The care-tag sensitivity levels `user` may see (and filter by)."""
    levels = {Sensitivity.NORMAL.value}
    if can(user, "people.tags.sensitive"):
        levels.add(Sensitivity.SENSITIVE.value)
    if can(user, "people.tags.restricted"):
        levels.add(Sensitivity.RESTRICTED.value)
    return frozenset(levels)


def export_tag_levels(user) -> frozenset[int]:
    """Levels that may leave the platform in a file: sensitive groups need people.export.sensitive."""
    levels = tag_levels(user)
    if can(user, "people.export.sensitive"):
        return levels
    return frozenset(level for level in levels if level == Sensitivity.NORMAL)


def shows_names(user) -> bool:
    return can(user, "people.names")


def display_name(name: str, user=None, *, full: bool | None = None) -> str:
    if full is None:
        full = shows_names(user)
    return name if full else mask_name(name)


def masked_id(value: str) -> str:
    return mask_id_number(value)


def masked_phone(value: str) -> str:
    return mask_phone(value)


def audit_value(field: str, value: Any) -> Any:
    """The value of a field as it may appear in an audit row: never the plaintext of personal data."""
    if field == "id_number":
        return mask_id_number(value)
    if field in ("phone", "contact_phone"):
        return mask_phone(value)
    if field in ("health_note", "attributes"):
        return SET if value else ""
    return _plain(value)


def _plain(value: Any) -> Any:
    """JSON-ready: the audit log stores [old, new] pairs, whose items core.audit does not convert."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "_meta") and hasattr(value, "pk"):
        return value.pk
    return value


def audit_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} of what changed, with personal fields masked or summarised as 已修改."""
    out: dict[str, list[Any]] = {}
    for key, new in after.items():
        old = before.get(key)
        if old == new:
            continue
        if key in ("health_note", "attributes"):
            out[key] = [CHANGED if old else "", CHANGED if new else CLEARED]
        else:
            out[key] = [audit_value(key, old), audit_value(key, new)]
    return out


def tag_attributes(tag) -> dict[str, Any]:
    """The decrypted attribute values of a care tag ({} when empty or unreadable as JSON)."""
    raw = tag.attributes
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def tag_attribute_rows(tag) -> list[dict[str, Any]]:
    """[{label, value}] in the order of the tag type's schema, booleans as 是/否."""
    values = tag_attributes(tag)
    rows = []
    for spec in tag.tag_type.attribute_schema or []:
        key = spec.get("key")
        if key not in values or values[key] in (None, ""):
            continue
        value = values[key]
        if isinstance(value, bool):
            value = "是" if value else "否"
        rows.append({"key": key, "label": spec.get("label", key), "value": value})
    return rows


# --- history (audit rows about a person, as shown on their page) -----------------------------------------------------

HISTORY_LABELS = {"fields": "查看项", "region": "所属网格", "tag_type": "类别", "household_id": "所在户",
                  "address_id": "居住地址", "guardian_id": "监护人", "household_head_set": "设为户主（户编号）",
                  "household_head_cleared": "不再是户主（户编号）", "care_tags": "关爱对象条数",
                  "records": "处理记录条数", **REVEALABLE_FIELDS}
# The person themself: every row on their page is about them.
HISTORY_HIDDEN = {"resident"}


def _history_field(key: str):
    from django.core.exceptions import FieldDoesNotExist

    from .models import CareTag, Resident

    for model in (Resident, CareTag):
        try:
            field = model._meta.get_field(key)
        except FieldDoesNotExist:
            continue
        if getattr(field, "concrete", False):  # not a reverse relation such as care_tags
            return field
    return None


def _history_value(key: str, value: Any, field, tag_names: dict[str, str]) -> str:
    if value in (None, ""):
        return "（空）"
    if key == "fields" and isinstance(value, list):
        return "、".join(REVEALABLE_FIELDS.get(v, str(v)) for v in value)
    if key == "tag_type":
        return tag_names.get(str(value), "（无权查看的类别）")
    if key.endswith("_id") or key.startswith("household_head"):
        return f"编号 {value}"
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def change_rows(changes: dict, tag_names: dict[str, str]) -> list[dict[str, str]]:
    """An audit row's `changes` as [{label, text}] with Chinese labels and choice names; the values
    were masked by the services when the row was written."""
    rows = []
    for key, value in (changes or {}).items():
        if key in HISTORY_HIDDEN:
            continue
        field = _history_field(key)
        label = HISTORY_LABELS.get(key) or (str(field.verbose_name) if field is not None else key)
        if isinstance(value, list) and len(value) == 2 and key != "fields":
            old, new = (_history_value(key, v, field, tag_names) for v in value)
            text = f"{old} → {new}"
        else:
            text = _history_value(key, value, field, tag_names)
        rows.append({"label": label, "text": text})
    return rows
