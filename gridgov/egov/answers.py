"""The item's application form: its questions (fields), their validation, and how answers read.

An item's `questions` is a list of fields:
    {"key": "reason", "label": "申请原因", "type": "choice", "required": true, "choices": ["因病", …]}
Types: text (max), int (min, max), money (yuan, max; stored as "3000.00"), bool, date, choice.
`prefill` ("household_size", "age") fills the field from the registry on the page form: the platform
does not ask for what it already knows.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .choices import QuestionType

KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MATERIAL_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
PREFILLS = {"household_size": "家庭人口数", "age": "年龄"}
_TRUE = {"true", "1", "是", "yes", "y", "on"}
_FALSE = {"false", "0", "否", "no", "n", "off"}


def clean_answers(questions: list[dict], answers: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(clean answers, {field: Chinese message}). Unknown fields and missing required ones are errors."""
    if answers in (None, ""):
        answers = {}
    if not isinstance(answers, dict):
        return {}, {"answers": "申请表内容应为 JSON 对象，如 {\"reason\": \"因病\"}"}
    specs = {q["key"]: q for q in questions if "key" in q}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in answers:
        if key not in specs:
            known = "、".join(f"{k}（{s.get('label', k)}）" for k, s in specs.items()) or "无"
            errors[f"answers.{key}"] = f"该事项的申请表没有“{str(key)[:30]}”一项，可填：{known}"
    for key, spec in specs.items():
        value = answers.get(key)
        label = spec.get("label", key)
        field = f"answers.{key}"
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.get("required"):
                errors[field] = f"请填写{label}"
            continue
        kind = spec.get("type", QuestionType.TEXT)
        parsed, message = _parse(kind, value, spec, label)
        if message:
            errors[field] = message
        else:
            clean[key] = parsed
    return clean, errors


def _parse(kind: str, value: Any, spec: dict, label: str) -> tuple[Any, str]:
    if kind == QuestionType.TEXT:
        text = str(value).strip()
        limit = int(spec.get("max") or 500)
        if len(text) > limit:
            return None, f"{label}不能超过 {limit} 字"
        return text, ""
    if kind == QuestionType.INT:
        try:
            if isinstance(value, bool) or float(str(value).strip()) != int(float(str(value).strip())):
                raise ValueError
            number = int(float(str(value).strip()))
        except (TypeError, ValueError):
            return None, f"{label}应为整数"
        lo, hi = spec.get("min"), spec.get("max")
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            return None, f"{label}应在 {lo if lo is not None else '-∞'} 到 {hi if hi is not None else '∞'} 之间"
        return number, ""
    if kind == QuestionType.MONEY:
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            amount = Decimal(str(value).strip().replace(",", "").removesuffix("元"))
        except (InvalidOperation, ValueError):
            return None, f"{label}应为金额（元），如 3000 或 1250.50"
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
            return None, f"{label}应为不小于 0、最多两位小数的金额"
        limit = spec.get("max")
        if limit is not None and amount > Decimal(str(limit)):
            return None, f"{label}不能超过 {limit} 元"
        return f"{amount:.2f}", ""
    if kind == QuestionType.BOOL:
        if isinstance(value, bool):
            return value, ""
        text = str(value).strip().lower()
        if text in _TRUE:
            return True, ""
        if text in _FALSE:
            return False, ""
        return None, f"{label}应为“是”或“否”"
    if kind == QuestionType.DATE:
        try:
            return (value if isinstance(value, date) else date.fromisoformat(str(value).strip())).isoformat(), ""
        except ValueError:
            return None, f"{label}“{str(value)[:20]}”不是有效日期（例：2026-01-31）"
    if kind == QuestionType.CHOICE:
        choices = [str(c) for c in spec.get("choices") or []]
        if str(value).strip() not in choices:
            return None, f"{label}“{str(value)[:20]}”无效，可选：{'、'.join(choices)}"
        return str(value).strip(), ""
    return None, f"{label}的类型“{kind}”不受支持"


def clean_questions(questions: Any) -> tuple[list[dict], str]:
    """Checks an item's form definition when the catalogue is edited: (clean list, error message)."""
    if questions in (None, ""):
        return [], ""
    if not isinstance(questions, list):
        return [], "申请表字段应为列表"
    out, seen = [], set()
    for i, q in enumerate(questions, start=1):
        if not isinstance(q, dict):
            return [], f"第 {i} 个字段格式不正确"
        key, label, kind = str(q.get("key") or ""), str(q.get("label") or "").strip(), q.get("type", "text")
        if not KEY.match(key):
            return [], f"第 {i} 个字段的 key“{key[:32]}”应为小写字母开头的字母、数字、下划线"
        if key in seen:
            return [], f"字段 key“{key}”重复"
        if not label:
            return [], f"字段“{key}”缺少名称（label）"
        if kind not in QuestionType.values:
            return [], f"字段“{label}”的类型“{kind}”无效，可选：{'、'.join(QuestionType.values)}"
        if kind == QuestionType.CHOICE and not (isinstance(q.get("choices"), list) and q["choices"]):
            return [], f"单选字段“{label}”须列出选项（choices）"
        if q.get("prefill") and q["prefill"] not in PREFILLS:
            return [], f"字段“{label}”的预填来源“{q['prefill']}”无效，可选：{'、'.join(PREFILLS)}"
        seen.add(key)
        clean = {"key": key, "label": label, "type": kind, "required": bool(q.get("required"))}
        for extra in ("choices", "min", "max", "prefill"):
            if q.get(extra) is not None:
                clean[extra] = q[extra]
        out.append(clean)
    return out, ""


def clean_materials(materials: Any) -> tuple[list[dict], str]:
    if materials in (None, ""):
        return [], ""
    if not isinstance(materials, list):
        return [], "申请材料应为列表"
    out, seen = [], set()
    for i, m in enumerate(materials, start=1):
        if not isinstance(m, dict):
            return [], f"第 {i} 项材料格式不正确"
        code, name = str(m.get("code") or ""), str(m.get("name") or "").strip()
        if not MATERIAL_CODE.match(code):
            return [], f"第 {i} 项材料的代码“{code[:32]}”应为小写字母开头的字母、数字、下划线"
        if code in seen:
            return [], f"材料代码“{code}”重复"
        if not name or len(name) > 100:
            return [], f"材料“{code}”的名称应为 1-100 字"
        seen.add(code)
        out.append({"code": code, "name": name, "required": bool(m.get("required"))})
    return out, ""


def answer_rows(questions: list[dict], answers: dict) -> list[dict[str, str]]:
    """[{label, text}] in the form's order, for pages, the API and exports."""
    rows = []
    for q in questions:
        key = q.get("key")
        if key not in (answers or {}):
            continue
        value = answers[key]
        if isinstance(value, bool):
            text = "是" if value else "否"
        elif q.get("type") == QuestionType.MONEY:
            text = f"{Decimal(str(value)):,.2f} 元"
        else:
            text = str(value)
        rows.append({"key": key, "label": q.get("label", key), "text": text})
    return rows


def yuan(fen: int | None) -> str:
    """12345 → "123.45"; None → ""."""
    if fen is None:
        return ""
    return f"{Decimal(fen) / 100:,.2f}"


def fen_from_yuan(value: Any) -> int | None:
    """"3000" / 3000 / "3,000.50" yuan → fen; None for blank; ValueError for anything else."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError("not an amount")
    try:
        amount = Decimal(str(value).strip().replace(",", "").removesuffix("元"))
    except InvalidOperation:
        raise ValueError("not an amount") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValueError("not an amount")
    return int(amount * 100)
