"""The code scheme: a node's code is its materialized path (DESIGN.md).

county 6 digits (GB/T 2260) · town 9 · village 12 · grid 15; a subtree is a code prefix.
Town segment 001-099 street, 100-199 town, 200-399 township; village segment 001-199
community, 200-399 village; grid segment 001-999.
"""

import re

from .choices import RegionKind, RegionLevel

CODE_LENGTHS = {RegionLevel.COUNTY: 6, RegionLevel.TOWN: 9, RegionLevel.VILLAGE: 12, RegionLevel.GRID: 15}
LEVEL_BY_LENGTH = {v: k for k, v in CODE_LENGTHS.items()}
_DIGITS = re.compile(r"^[0-9]+$")


class CodeError(ValueError):
    pass


def level_of(code: str) -> int:
    if not isinstance(code, str) or not _DIGITS.fullmatch(code) or len(code) not in LEVEL_BY_LENGTH:
        raise CodeError(f"区划代码“{code}”无效：应为 6、9、12 或 15 位数字")
    return int(LEVEL_BY_LENGTH[len(code)])


def parent_code(code: str) -> str | None:
    level = level_of(code)
    if level == RegionLevel.COUNTY:
        return None
    return code[: CODE_LENGTHS[level - 1]]


def ancestor_codes(code: str) -> list[str]:
    """Codes from the county down to and including `code`."""
    level = level_of(code)
    return [code[: CODE_LENGTHS[lvl]] for lvl in range(1, level + 1)]


def kind_of(code: str) -> str:
    """The kind a code implies; raises CodeError when its segment is outside the scheme."""
    level = level_of(code)
    if level == RegionLevel.COUNTY:
        if code.endswith("00"):
            raise CodeError(f"区划代码“{code}”不是县级代码")
        return RegionKind.COUNTY
    segment = int(code[-3:]) if level != RegionLevel.GRID else int(code[-3:])
    if level == RegionLevel.TOWN:
        if 1 <= segment <= 99:
            return RegionKind.STREET
        if 100 <= segment <= 199:
            return RegionKind.TOWN
        if 200 <= segment <= 399:
            return RegionKind.TOWNSHIP
        raise CodeError(f"乡镇街道代码“{code}”的后三位应在 001-399 之间")
    if level == RegionLevel.VILLAGE:
        if 1 <= segment <= 199:
            return RegionKind.COMMUNITY
        if 200 <= segment <= 399:
            return RegionKind.VILLAGE
        raise CodeError(f"村社区代码“{code}”的后三位应在 001-399 之间")
    if segment == 0:
        raise CodeError(f"网格代码“{code}”的后三位应在 001-999 之间")
    return RegionKind.GRID


def is_urban(code: str) -> bool:
    """Communities and their grids are urban; villages and theirs are rural."""
    return len(code) >= 12 and 1 <= int(code[9:12]) <= 199
