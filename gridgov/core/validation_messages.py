"""Chinese wording for the validation errors pydantic reports, keyed by its stable error type."""

_MESSAGES = {
    "missing": "缺少必填项",
    "string_type": "应为文本",
    "string_too_short": "长度不足（至少 {min_length} 个字符）",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限数值",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "应小于 {lt}",
    "bool_parsing": "应为 true 或 false",
    "enum": "取值无效，可选：{expected}",
    "literal_error": "取值无效，可选：{expected}",
    "datetime_parsing": "日期时间格式不正确（例：2026-01-31T08:00:00+08:00）",
    "datetime_from_date_parsing": "日期时间格式不正确（例：2026-01-31T08:00:00+08:00）",
    "date_parsing": "日期格式不正确（例：2026-01-31）",
    "date_from_datetime_parsing": "日期格式不正确（例：2026-01-31）",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "value_error": "取值无效",
}


def chinese_message(error: dict) -> str:
    template = _MESSAGES.get(error.get("type", ""))
    if template is None:
        return str(error.get("msg", "取值无效"))
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("（：:， ")
