"""Reading one component's fields from what people type or files carry, with one Chinese reason per fault.

Shared by the create/update services and the importer, so a value means the same wherever it
comes from. Each parser returns the value or raises FieldFault(reason).
"""

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from gridgov.accounts.models import Department
from gridgov.cases.choices import CategoryKind
from gridgov.cases.models import CaseCategory
from gridgov.cases.models.component import CODE_PATTERN, ComponentState

MAX_NAME = 100
MAX_NOTE = 200
POSITION_DIGITS = 7  # about 1 cm: positions are stored rounded, so equal points compare equal
_CLASS = re.compile(r"[0-9]{4}")
_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


class FieldFault(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))


def text(value: Any) -> str:
    if blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def class_code(category: CaseCategory) -> str:
    """The four digits a category contributes to a component code: C0101 → 0101."""
    digits = "".join(ch for ch in category.code if ch.isdigit())
    return digits[-4:]


@dataclass
class Lookups:
    """Component classes and departments by every name people use for them, loaded once."""

    categories: dict[str, CaseCategory] = field(default_factory=dict)
    by_class: dict[str, CaseCategory] = field(default_factory=dict)
    departments: dict[str, Department | None] = field(default_factory=dict)  # None: ambiguous name
    department_by_code: dict[str, Department] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "Lookups":
        lookups = cls()
        rows = CaseCategory.objects.filter(kind=CategoryKind.COMPONENT, is_active=True).order_by("level", "code")
        for category in rows:
            if category.level < 2:
                continue  # major classes (公用设施 …) are not a component's class
            klass = class_code(category)
            if not _CLASS.fullmatch(klass):
                continue
            lookups.by_class[klass] = category
            for key in (category.code.upper(), klass, _norm(category.name)):
                lookups.categories.setdefault(key, category)
        for dept in Department.objects.filter(is_active=True).order_by("code"):
            lookups.department_by_code[dept.code.upper()] = dept
        for dept in lookups.department_by_code.values():
            key = _norm(dept.name)
            lookups.departments[key] = None if key in lookups.departments else dept
        return lookups

    def category(self, value: Any) -> CaseCategory:
        raw = text(value)
        if not raw:
            raise FieldFault("缺少部件类别")
        if raw.isdigit() and len(raw) == 3:  # 0101 typed into a number cell arrives as 101
            raw = raw.zfill(4)
        # "C0101", "0101", "上水井盖", or "0101 上水井盖" as templates often write it
        found = self.categories.get(raw.upper()) or self.categories.get(_norm(raw))
        if found is None:
            head = raw.split()[0] if raw.split() else raw
            found = self.categories.get(head.upper())
        if found is None:
            raise FieldFault(f"部件类别“{raw[:30]}”不存在")
        return found

    def department(self, value: Any) -> Department | None:
        raw = text(value)
        if not raw:
            return None
        found = self.department_by_code.get(raw.upper())
        if found is not None:
            return found
        key = _norm(raw)
        if key in self.departments:
            found = self.departments[key]
            if found is None:
                raise FieldFault(f"权属部门“{raw[:30]}”有重名，请填写部门代码")
            return found
        raise FieldFault(f"权属部门“{raw[:30]}”不存在")

    def default_department(self, category: CaseCategory) -> Department | None:
        code = (category.default_department_code or "").upper()
        return self.department_by_code.get(code) if code else None


def _norm(value: str) -> str:
    return "".join(value.split()).replace("（", "(").replace("）", ")")


def code(value: Any) -> str:
    """A component code as 16 digits, or "" when none was given (a new code is assigned)."""
    raw = text(value)
    if not raw:
        return ""
    if not CODE_PATTERN.fullmatch(raw):
        raise FieldFault(f"部件编码“{raw[:30]}”格式不正确："
                         "应为 16 位数字（县级区划代码 6 位 + 类别 4 位 + 流水号 6 位）")
    return raw


def coordinate(value: Any, *, what: str, low: float, high: float) -> float:
    if blank(value):
        raise FieldFault(f"缺少{what}")
    try:
        number = float(text(value) if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise FieldFault(f"{what}“{text(value)[:20]}”不是数字") from None
    if not math.isfinite(number) or not (low <= number <= high):
        raise FieldFault(f"{what}“{text(value)[:20]}”超出范围（{low}~{high}）")
    return number


CRS_ALIASES = {"": "wgs84", "WGS84": "wgs84", "WGS-84": "wgs84", "CGCS2000": "wgs84", "GCJ02": "gcj02",
               "GCJ-02": "gcj02", "国测局": "gcj02", "火星坐标": "gcj02"}


def crs(value: Any) -> str:
    raw = text(value).upper()
    found = CRS_ALIASES.get(raw) or CRS_ALIASES.get(text(value))
    if found is None:
        raise FieldFault(f"坐标系“{text(value)[:20]}”无效：应为 WGS84、CGCS2000 或 GCJ02")
    return found


_STATE_BY_TEXT = {**{s.value: s.value for s in ComponentState}, **{str(s.label): s.value for s in ComponentState}}


def state(value: Any) -> str:
    raw = text(value)
    if not raw:
        return ComponentState.INTACT
    found = _STATE_BY_TEXT.get(raw) or _STATE_BY_TEXT.get(raw.lower())
    if found is None:
        labels = "/".join(str(s.label) for s in ComponentState)
        raise FieldFault(f"状态“{raw[:20]}”无效：应为 {labels}")
    return found


def installed_on(value: Any) -> date | None:
    if blank(value):
        return None
    if isinstance(value, datetime):
        return _not_future(value.date())
    if isinstance(value, date):
        return _not_future(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # an Excel serial day number in a cell not formatted as a date
            day = _EXCEL_EPOCH + timedelta(days=int(value))
            if 1900 <= day.year <= 2100:
                return _not_future(day)
    raw = text(value)
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
        return _not_future(parsed)
    raise FieldFault(f"设置日期“{raw[:20]}”格式不正确，应如 2020-05-01")


def _not_future(day: date) -> date:
    from django.utils import timezone

    if day > timezone.localdate():
        raise FieldFault(f"设置日期 {day.isoformat()} 晚于今天")
    if day.year < 1900:
        raise FieldFault(f"设置日期 {day.isoformat()} 过早")
    return day


def limited(value: Any, *, what: str, limit: int) -> str:
    raw = text(value)
    if len(raw) > limit:
        raise FieldFault(f"{what}超过 {limit} 字")
    return raw


def rounded(value: float) -> float:
    return round(value, POSITION_DIGITS)
