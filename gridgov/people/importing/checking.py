"""Checking one spreadsheet row of residents (`RowChecker`): every rule that needs no database.

Used in the importing process for small files and in the checking process for large ones
(`worker.py`), so both apply exactly the same rules. Rules across rows (duplicates in the file,
people already registered, households) are the importer's (service.py).
"""

from datetime import date, datetime, timedelta
from datetime import time as dtime
from operator import attrgetter
from typing import Any

from gridgov.core import crypto
from gridgov.core.idcard import IdNumberError, parse_id_number

from ..validation import _NAME as NAME_PATTERN
from ..validation import ID_PURPOSE, PHONE_PURPOSE, clean_resident_data, normalise_phone, phone_error
from . import columns as cols

ID_AS_NUMBER = "身份证号码被 Excel 存为数字，请将该列设为文本"
RELATION_WITHOUT_HOUSEHOLD = "填写了与户主关系，但没有填写户号"
OCCUPATION_MAX = 100  # clean_resident_data's limit
SKIPPED = "skipped"  # the template's example row
_TEMPORAL = (datetime, date, dtime, timedelta)


class Row:
    """A valid row, cleaned; `pk` is set once the resident is found or written."""

    __slots__ = ("pk", "sheet", "sheet_index", "row", "grid", "household", "relation", "name", "id_number", "id_text",
                 "gender", "birth_date", "phone", "ethnicity", "residency_status", "political_status", "occupation",
                 "road", "house_number", "id_index", "id_tail", "phone_index", "id_sealed", "phone_sealed")

    # Rows cross from the checking process as tuples (smaller and faster to pickle than a dict).
    def __getstate__(self):
        return _ROW_STATE(self)

    def __setstate__(self, state):
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


_ROW_STATE = attrgetter(*Row.__slots__)


class Faulty:
    """A row with at least one fault: {field key: reason}."""

    __slots__ = ("sheet_index", "row", "name", "id_text", "errors")

    def __init__(self, sheet_index, row, name, id_text, errors):
        self.sheet_index, self.row, self.name, self.id_text, self.errors = sheet_index, row, name, id_text, errors

    def __getstate__(self):
        return (self.sheet_index, self.row, self.name, self.id_text, self.errors)

    def __setstate__(self, state):
        self.sheet_index, self.row, self.name, self.id_text, self.errors = state


def _text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value.strip()
    if value is None:
        return ""
    if kind is float:
        return str(int(value)) if value.is_integer() else str(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "是" if value else "否"
    raise TypeError  # a date or time: the caller words the error


class RowChecker:
    """`check` turns a row's cells into a Row, a Faulty, SKIPPED or None (a blank row).

    `grids`: the codes of every grid; `prefixes`: the region codes the importing user's scope
    covers. Nothing here touches the database, so a checking process can run it.
    """

    def __init__(self, *, today: date, grids: set[str], prefixes: tuple[str, ...], seal: bool = False):
        self.today = today
        # seal: encrypt the ID number and phone here (the checking process has CPU to spare); in
        # one process only the new residents' values are encrypted, when their rows are built.
        self.seal_id = crypto.encryptor(ID_PURPOSE) if seal else None
        self.seal_phone = crypto.encryptor(PHONE_PURPOSE) if seal else None
        self.grids = grids
        self.prefixes = prefixes
        self.grid_cache: dict[str, tuple[str | None, str | None]] = {}
        self.choice_cache: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        # identity_fields' values, with the HMACs keyed once.
        self.index_id = crypto.blind_indexer(ID_PURPOSE)
        self.index_phone = crypto.blind_indexer(PHONE_PURPOSE)

    def covers(self, code: str) -> bool:
        return any(code.startswith(p) for p in self.prefixes)

    def _grid(self, text: str) -> tuple[str | None, str | None]:
        hit = self.grid_cache.get(text)
        if hit is None:
            if not text:
                hit = (None, "网格编码不能为空")
            elif not (len(text) == 15 and text.isdigit()):
                hit = (None, f"网格编码“{text[:30]}”应为 15 位数字")
            elif text not in self.grids:
                hit = (None, f"网格编码“{text}”不存在")
            elif not self.covers(text):
                hit = (None, f"网格“{text}”不在您的管辖范围内")
            else:
                hit = (text, None)
            self.grid_cache[text] = hit
        return hit

    def _choice(self, key: str, text: str) -> tuple[str | None, str | None]:
        hit = self.choice_cache.get((key, text))
        if hit is None:
            result = clean_resident_data({key: text}, partial=True, today=self.today)
            hit = (result.data.get(key), result.errors.get(key))
            if len(self.choice_cache) < 10_000:
                self.choice_cache[(key, text)] = hit
        return hit

    @staticmethod
    def _other_text(value: Any, index: int, errors: dict[str, str]) -> str:
        try:
            return _text(value)
        except TypeError:
            column = cols.COLUMNS[index]
            if isinstance(value, _TEMPORAL):
                errors[column.key] = f"{column.header}被 Excel 存成了日期或时间，请把该列设为文本格式后重新填写"
            return ""

    def check(self, sheet_index: int, sheet_name: str, positions: list[int], number: int, cells: list):
        n = len(cells)
        values = [cells[i] if 0 <= i < n else "" for i in positions]
        errors: dict[str, str] = {}
        texts = [v.strip() if type(v) is str else self._other_text(v, i, errors) for i, v in enumerate(values)]
        (grid_t, household, relation_t, name, id_text, phone_t, ethnicity_t, residency_t, political_t, occupation_t,
         road, house_number, note) = texts
        if not any(texts) and not errors:
            return None  # a blank row
        if note == cols.EXAMPLE_NOTE and id_text == cols.EXAMPLE_ID:
            return SKIPPED

        id_value = values[4]
        id_is_number = type(id_value) in (float, int)
        phone_value = values[5]
        phone_raw = (phone_value if type(phone_value) is float else phone_t) if phone_t else None
        data = None if id_is_number else self._clean_fast(name, id_text, phone_raw, occupation_t)
        if data is None:
            # Something is wrong: the shared validation words the reasons.
            raw: dict[str, Any] = {"name": name, "id_number": "" if id_is_number else id_text}
            if phone_t:
                raw["phone"] = phone_raw
            if occupation_t:
                raw["occupation"] = occupation_t
            cleaned = clean_resident_data(raw, today=self.today)
            data = cleaned.data
            for key, message in cleaned.errors.items():
                errors.setdefault(key, message)
        if id_is_number:
            errors["id_number"] = ID_AS_NUMBER
        if "phone" in errors and type(phone_value) is float:
            errors["phone"] += "（电话被 Excel 存为数字时会丢掉开头的 0，请将该列设为文本）"

        grid, message = self._grid(grid_t)
        if message and "grid_code" not in errors:
            errors["grid_code"] = message
        picked: dict[str, str | None] = {}
        for key, text in (("relation_to_head", relation_t), ("ethnicity", ethnicity_t),
                          ("residency_status", residency_t), ("political_status", political_t)):
            if text and key not in errors:
                value, message = self._choice(key, text)
                if message:
                    errors[key] = message
                picked[key] = value
        if not residency_t and "residency_status" not in errors:
            errors["residency_status"] = "人口类型不能为空，可选：户籍、常住、流动、外出务工"
        if relation_t and not household and "relation_to_head" not in errors:
            errors["relation_to_head"] = RELATION_WITHOUT_HOUSEHOLD
        if len(household) > 32 or len(road) > 100 or len(house_number) > 30 or len(note) > 200:
            for key, text in (("household_number", household), ("road", road), ("house_number", house_number),
                              ("note", note)):
                limit = cols.BY_KEY[key].max_length
                if len(text) > limit and key not in errors:
                    errors[key] = f"{cols.BY_KEY[key].header}不能超过 {limit} 字"
        if errors:
            return Faulty(sheet_index, number, name, id_text, errors)

        row = Row()
        row.pk = None
        row.sheet, row.sheet_index, row.row = sheet_name, sheet_index, number
        row.grid, row.household, row.relation = grid, household, picked.get("relation_to_head") or ""
        row.name, row.id_number, row.id_text = data["name"], data["id_number"], id_text
        row.gender, row.birth_date = data["gender"], data["birth_date"]
        row.phone = data.get("phone") if phone_t else None
        row.ethnicity = picked.get("ethnicity")
        row.residency_status = picked["residency_status"]
        row.political_status = picked.get("political_status")
        row.occupation = data.get("occupation") if occupation_t else None
        row.road, row.house_number = road, house_number
        row.id_index, row.id_tail = self.index_id(row.id_number), row.id_number[-4:]
        row.phone_index = (self.index_phone(row.phone) if row.phone else "") if row.phone is not None else None
        if self.seal_id is not None:
            row.id_sealed = self.seal_id(row.id_number)
            row.phone_sealed = self.seal_phone(row.phone) if row.phone else None
        else:
            row.id_sealed = row.phone_sealed = None
        return row

    def _clean_fast(self, name: str, id_text: str, phone_raw: Any, occupation: str) -> dict[str, Any] | None:
        """`clean_resident_data` of a row's name, ID number, phone and occupation when all are valid
        (the same checks and values), else None: the common case without the general function's
        dictionaries and branches; a faulty row goes through clean_resident_data for its messages."""
        if not name or not NAME_PATTERN.match(name) or not id_text:
            return None
        try:
            parsed = parse_id_number(id_text, today=self.today)
        except IdNumberError:
            return None
        data = {"name": name, "id_number": parsed.value, "gender": parsed.gender, "birth_date": parsed.birth_date}
        if phone_raw is not None:
            phone = normalise_phone(phone_raw)
            if phone_error(phone):
                return None
            data["phone"] = phone
        if occupation:
            if len(occupation) > OCCUPATION_MAX:
                return None
            data["occupation"] = occupation
        return data
