"""Validation of resident data shared by the services, the API, the pages and the Excel importer.

`clean_resident_data` takes raw values (from a form, JSON or a spreadsheet row, where choice
fields may be given by their Chinese label) and returns clean values plus one Chinese message per
faulty field. It never touches the database; rules across rows (duplicate ID, scope) live in
the services and the importer.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from gridgov.core import crypto
from gridgov.core.idcard import IdNumberError, parse_id_number

from .choices import Gender, PoliticalStatus, RelationToHead, ResidencyStatus

ID_PURPOSE = "resident.id_number"
PHONE_PURPOSE = "resident.phone"
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")
_NAME = re.compile(r"^[\u4e00-\u9fff·A-Za-z][\u4e00-\u9fff·A-Za-z .]{0,49}$")

ETHNICITIES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 "
    "瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 傈僳族 佤族 畲族 高山族 拉祜族 "
    "水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 毛南族 "
    "仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 "
    "京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族 "
).split()


def _choice(value: Any, choices, label: str) -> tuple[str | None, str | None]:
    """Accept the code ("floating") or the Chinese label ("流动")."""
    if value in (None, ""):
        return None, None
    text = str(value).strip()
    for code, name in choices.choices:
        if text == code or text == str(name):
            return code, None
    allowed = "、".join(str(name) for _, name in choices.choices)
    return None, f"{label}“{text}”无效，可选：{allowed}"


def normalise_phone(raw: Any) -> str:
    if raw in (None, ""):
        return ""
    text = str(raw).strip().replace(" ", "")
    if isinstance(raw, float) and raw.is_integer():  # Excel stores numbers as floats
        text = str(int(raw))
    return text


def phone_error(phone: str) -> str | None:
    if phone and not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
        return f"联系电话“{phone}”格式不正确：手机号应为 11 位，以 13-19 开头；固话如 0724-4212345"
    return None


@dataclass
class CleanResult:
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def clean_resident_data(raw: dict[str, Any], *, partial: bool = False, today: date | None = None) -> CleanResult:
    """Cleans the fields present in `raw` (all required ones unless `partial`)."""
    result = CleanResult()
    data, errors = result.data, result.errors

    if "name" in raw or not partial:
        name = str(raw.get("name") or "").strip()
        if not name:
            errors["name"] = "姓名不能为空"
        elif not _NAME.match(name):
            errors["name"] = f"姓名“{name[:20]}”含有不允许的字符或超过 50 字"
        else:
            data["name"] = name

    if "id_number" in raw or not partial:
        id_raw = raw.get("id_number")
        if id_raw in (None, ""):
            if not partial:
                errors["id_number"] = "公民身份号码不能为空"
        else:
            try:
                parsed = parse_id_number(str(id_raw), today=today)
            except IdNumberError as exc:
                errors["id_number"] = exc.message
            else:
                data["id_number"] = parsed.value
                data["gender"] = parsed.gender
                data["birth_date"] = parsed.birth_date

    if "gender" in raw and "gender" not in data and raw.get("gender"):
        value, err = _choice(raw.get("gender"), Gender, "性别")
        if err:
            errors["gender"] = err
        elif value:
            data["gender"] = value
    if "birth_date" in raw and "birth_date" not in data and raw.get("birth_date"):
        value = raw["birth_date"]
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                errors["birth_date"] = f"出生日期“{value}”格式不正确，应为 2026-01-31"
        if isinstance(value, date):
            data["birth_date"] = value

    if "phone" in raw:
        phone = normalise_phone(raw.get("phone"))
        err = phone_error(phone)
        if err:
            errors["phone"] = err
        else:
            data["phone"] = phone

    if "ethnicity" in raw and raw.get("ethnicity"):
        eth = str(raw["ethnicity"]).strip()
        if not eth.endswith("族") and eth + "族" in ETHNICITIES:
            eth += "族"
        if eth not in ETHNICITIES:
            errors["ethnicity"] = f"民族“{eth}”不是 56 个民族之一"
        else:
            data["ethnicity"] = eth

    for key, choices, label in (
        ("residency_status", ResidencyStatus, "人口类型"),
        ("political_status", PoliticalStatus, "政治面貌"),
        ("relation_to_head", RelationToHead, "与户主关系"),
    ):
        if key in raw:
            value, err = _choice(raw.get(key), choices, label)
            if err:
                errors[key] = err
            elif value:
                data[key] = value

    for key, label, limit in (("occupation", "职业/工作单位", 100), ("health_note", "健康状况", 500),
                              ("guardian_note", "监护人说明", 100)):
        if key in raw and raw.get(key) not in (None, ""):
            text = str(raw[key]).strip()
            if len(text) > limit:
                errors[key] = f"{label}不能超过 {limit} 字"
            else:
                data[key] = text

    if not partial and "gender" not in data and "gender" not in errors and "id_number" not in errors:
        errors["gender"] = "性别不能为空"
    return result


def identity_fields(*, id_number: str | None = None, phone: str | None = None) -> dict[str, str]:
    """The searchable companions of the encrypted columns: blind indexes and tails."""
    out: dict[str, str] = {}
    if id_number is not None:
        out["id_number_index"] = crypto.blind_index(id_number, ID_PURPOSE) if id_number else ""
        out["id_tail"] = id_number[-4:] if id_number else ""
    if phone is not None:
        out["phone_index"] = crypto.blind_index(phone, PHONE_PURPOSE) if phone else ""
    return out
