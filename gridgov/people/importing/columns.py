"""The columns of the resident workbook: one list shared by the template, the importer and the docs."""

from dataclasses import dataclass
from datetime import date

from gridgov.core.idcard import make_id_number

from ..choices import PoliticalStatus, RelationToHead, ResidencyStatus
from ..validation import ETHNICITIES
from .reader import normalise_header

DATA_SHEET = "人口信息"
HELP_SHEET = "说明"
GRID_SHEET = "网格"
CHOICE_SHEET = "选项"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    width: int
    rule: str  # what to fill in, shown on the 说明 sheet
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    text: bool = True  # formatted as text in the template, so Excel keeps leading zeros and long numbers
    max_length: int = 0


def _labels(choices) -> tuple[str, ...]:
    return tuple(str(label) for _, label in choices.choices)


COLUMNS: tuple[Column, ...] = (
    Column("grid_code", "网格编码", True, 18,
           "15 位网格编码（12 位村/社区代码 + 3 位网格序号），须在您的管辖范围内；可在“网格”工作表查找",
           aliases=("网格代码", "网格编号", "所属网格编码")),
    Column("household_number", "户号", False, 12,
           "同一网格内唯一；同一户的成员填写相同户号。已有的户按“网格编码 + 户号”更新，没有的自动建立",
           aliases=("户编号",), max_length=32),
    Column("relation_to_head", "与户主关系", False, 12,
           "填写户号时选择；每户只能有一名户主", choices=_labels(RelationToHead)),
    Column("name", "姓名", True, 10, "不超过 50 字", max_length=50),
    Column("id_number", "公民身份号码", True, 22,
           "18 位，末位可为 X；性别和出生日期由号码自动得出。本列须为文本格式，"
           "否则 Excel 会把号码存为数字并丢失末尾数字",
           aliases=("身份证号码", "身份证号", "公民身份证号码", "身份证")),
    Column("phone", "联系电话", False, 14, "11 位手机号，或带区号的固定电话如 0724-4212345",
           aliases=("电话", "手机号", "手机号码", "联系方式")),
    Column("ethnicity", "民族", False, 10, "56 个民族之一，如“汉族”；不填为汉族", choices=tuple(ETHNICITIES)),
    Column("residency_status", "人口类型", True, 12, "户籍、常住、流动或外出务工", choices=_labels(ResidencyStatus)),
    Column("political_status", "政治面貌", False, 14, "不填为群众", choices=_labels(PoliticalStatus)),
    Column("occupation", "职业/工作单位", False, 20, "不超过 100 字", aliases=("职业", "工作单位"), max_length=100),
    Column("road", "地址(街路巷)", False, 20, "街路巷或村民小组，如“湖山村三组”“莫愁大道”；与门牌号一起确定标准地址",
           aliases=("地址", "街路巷", "街路巷/组", "居住地址"), max_length=100),
    Column("house_number", "门牌号", False, 10, "如 12、12-3；本列须为文本格式，否则 Excel 可能把 3-5 变成日期",
           aliases=("门牌",), max_length=30),
    Column("note", "备注", False, 24, "仅供填表人备忘，不导入系统", max_length=200),
)

BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED_KEYS = tuple(c.key for c in COLUMNS if c.required)
_HEADER_TO_KEY = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _HEADER_TO_KEY[normalise_header(_name)] = _column.key

# The example row of the template; the importer skips a row that still carries it.
EXAMPLE_NOTE = "示例行：导入时自动跳过，可删除"
EXAMPLE_ID = make_id_number("420881", date(1980, 5, 1), 123)


def example_row(grid_code: str) -> dict[str, str]:
    return {
        "grid_code": grid_code, "household_number": "0001", "relation_to_head": "户主", "name": "张三",
        "id_number": EXAMPLE_ID, "phone": "13800000000", "ethnicity": "汉族", "residency_status": "户籍",
        "political_status": "群众", "occupation": "务农", "road": "湖山村三组", "house_number": "12",
        "note": EXAMPLE_NOTE,
    }


def header_key(text: str) -> str | None:
    return _HEADER_TO_KEY.get(normalise_header(text))


def map_headers(headers: list[str]) -> dict[str, int]:
    """{column key: index} for the recognised headers (the first occurrence of each)."""
    out: dict[str, int] = {}
    for index, text in enumerate(headers):
        key = header_key(text)
        if key and key not in out:
            out[key] = index
    return out


def is_header_row(headers: list[str]) -> bool:
    keys = {header_key(h) for h in headers}
    return "name" in keys and "id_number" in keys
