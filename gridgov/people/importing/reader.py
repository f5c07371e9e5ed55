"""Reading spreadsheets for the importer: python-calamine, streamed in slices so memory stays flat.

calamine parses a whole worksheet into memory at once (about 1.2 KB per 13-column row: a
1,000,000-row sheet takes 1.3 GB). For .xlsx files we therefore cut the worksheet XML into
slices of `rows_per_slice` rows at `</row>` boundaries, wrap each slice in a minimal workbook
(the original shared-strings table and styles travel with it, so Excel/WPS files with shared
strings read the same) and let calamine parse one slice at a time. calamine's parsing releases
the GIL, so a prefetch thread (`prefetch`) overlaps it with validation and database work.

Files that are not zip-based .xlsx (.xls, .xlsb, .ods) are small by nature (.xls stops at 65,536
rows) and are read whole.

Every sheet whose header row carries the template's required headers is a data sheet, so a
file over Excel's 1,048,576-row limit can continue on a second sheet. Row numbers are Excel's
(1-based), as people see them in their file.
"""

import html
import io
import queue
import re
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

import python_calamine

ROWS_PER_SLICE = 5_000
# With a shared-strings table, calamine parses the whole table again for every slice: the bigger
# the table, the bigger the slices, so that cost stays a small share (about 1 KB of table per row).
MAX_ROWS_PER_SLICE = 100_000
HEADER_SEARCH_ROWS = 5

_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*/>")
_DIMENSION_REF = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref="[A-Z]*\d*:?[A-Z]*(\d+)"')
_SHEET_DATA_OPEN = re.compile(rb"<((?:\w+:)?)sheetData\b[^>]*?(/?)>")


class WorkbookError(Exception):
    """The file cannot be read as a spreadsheet, or holds no sheet with the template's headers."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class DataSheet:
    """One worksheet with a recognised header row."""

    index: int
    name: str
    header_row: int  # 1-based row number of the header
    headers: list[str]
    estimated_rows: int  # data rows below the header, from the sheet's dimension or its size
    _rows: Callable[[], Iterator[tuple[int, list[Any]]]] = field(repr=False)
    _id_tokens: Callable[[int], Iterator[tuple[int, Any]]] = field(repr=False)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(Excel row number, cell values) for every row below the header, in order."""
        return self._rows()

    def id_tokens(self, column: int) -> Iterator[tuple[int, Any]]:
        """(row number, token) for the cells of one column, cheaply, for the duplicate census.

        Equal tokens mean equal cell text (after trimming and upper-casing); a token may also be
        a shared-string index. Numeric cells are left out (the importer rejects them anyway).
        """
        return self._id_tokens(column)


def normalise_header(value: Any) -> str:
    text = "" if value is None else str(value)
    for ch in " \t\r\n\u3000*＊":
        text = text.replace(ch, "")
    return text.replace("（", "(").replace("）", ")").replace("／", "/")


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def open_workbook(path, *, is_header: Callable[[list[str]], bool], rows_per_slice: int = ROWS_PER_SLICE) \
        -> list[DataSheet]:
    """The data sheets of the workbook at `path` (a path or a binary file object).

    `is_header` decides whether a row (normalised header texts) is the template's header row.
    Raises WorkbookError with a Chinese message when the file cannot be read at all.
    """
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as exc:
        raise WorkbookError(f"无法读取文件：{exc.strerror or exc}") from None
    if is_zip:
        try:
            return _XlsxBook(path, rows_per_slice).data_sheets(is_header)
        except WorkbookError:
            raise
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, python_calamine.CalamineError, ValueError):
            pass  # not an .xlsx we can slice (e.g. .ods): let calamine read it whole
    return _whole_book(path, is_header)


def _find_header(rows: list[list[Any]], first_row: int, is_header) -> tuple[int, list[str]] | None:
    for offset, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        headers = [normalise_header(v) for v in row]
        if is_header(headers):
            return first_row + offset, headers
    return None


# --- whole-workbook reading (.xls, .xlsb, .ods, and .xlsx files we cannot slice) -------------

def _whole_book(path, is_header) -> list[DataSheet]:
    try:
        if hasattr(path, "read"):
            path.seek(0)
            book = python_calamine.CalamineWorkbook.from_filelike(path)
        else:
            book = python_calamine.CalamineWorkbook.from_path(str(path))
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        raise WorkbookError(f"无法读取文件，请上传 Excel 工作簿（.xlsx）：{exc}") from None
    sheets: list[DataSheet] = []
    for index, name in enumerate(book.sheet_names):
        try:
            sheet = book.get_sheet_by_name(name)
            data = sheet.to_python(skip_empty_area=False)
        except python_calamine.CalamineError as exc:
            raise WorkbookError(f"工作表“{name}”无法读取：{exc}") from None
        found = _find_header(data, 1, is_header)
        if not found:
            continue
        header_row, headers = found
        body = data[header_row:]

        def rows(body=body, header_row=header_row):
            for offset, row in enumerate(body):
                yield header_row + 1 + offset, row

        def tokens(column, body=body, header_row=header_row):
            for offset, row in enumerate(body):
                if column < len(row) and isinstance(row[column], str):
                    token = row[column].strip().replace(" ", "").upper()
                    if token:
                        yield header_row + 1 + offset, token

        sheets.append(DataSheet(index, name, header_row, headers, len(body), rows, tokens))
    return sheets


# --- sliced .xlsx reading ---------------------------------------------------------------------

_MINI_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b'<Override PartName="/xl/sharedStrings.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    b'<Override PartName="/xl/styles.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    b"</Types>"
)
_MINI_ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_REL_TYPE = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/"


def _mini_workbook_xml(date1904: bool) -> bytes:
    pr = b'<workbookPr date1904="1"/>' if date1904 else b""
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' + pr +
        b'<sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def _mini_rels(shared: bool, styles: bool) -> bytes:
    rels = [b'<Relationship Id="rId1" Type="' + _REL_TYPE + b'worksheet" Target="worksheets/sheet1.xml"/>']
    if shared:
        rels.append(b'<Relationship Id="rId2" Type="' + _REL_TYPE + b'sharedStrings" Target="sharedStrings.xml"/>')
    if styles:
        rels.append(b'<Relationship Id="rId3" Type="' + _REL_TYPE + b'styles" Target="styles.xml"/>')
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + b"".join(rels) + b"</Relationships>")


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for part in PurePosixPath(base_dir, target).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """{rId: (type suffix, resolved target)} of a part's relationships."""
    directory, name = part.rsplit("/", 1) if "/" in part else ("", part)
    rels_name = f"{directory}/_rels/{name}.rels" if directory else f"_rels/{name}.rels"
    if rels_name not in zf.NameToInfo:
        return {}
    root = ElementTree.fromstring(zf.read(rels_name))
    out = {}
    for rel in root.iter(f"{{{_NS_PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        out[rel.get("Id")] = (rel.get("Type", "").rsplit("/", 1)[-1], _resolve(directory, rel.get("Target", "")))
    return out


class _XlsxBook:
    def __init__(self, path, rows_per_slice: int):
        self.path = path
        self.rows_per_slice = rows_per_slice
        self.zf = zipfile.ZipFile(path)
        root_rels = _rels(self.zf, "")
        workbook_part = next((t for typ, t in root_rels.values() if typ == "officeDocument"), "xl/workbook.xml")
        workbook_xml = self.zf.read(workbook_part)
        self.date1904 = bool(re.search(rb'date1904="(1|true)"', workbook_xml))
        rels = _rels(self.zf, workbook_part)
        self.shared = next((self.zf.read(t) for typ, t in rels.values()
                            if typ == "sharedStrings" and t in self.zf.NameToInfo), None)
        self.styles = next((self.zf.read(t) for typ, t in rels.values()
                            if typ == "styles" and t in self.zf.NameToInfo), None)
        root = ElementTree.fromstring(workbook_xml)
        self.sheets: list[tuple[str, str]] = []
        for sheet in root.iter():
            if sheet.tag.rsplit("}", 1)[-1] != "sheet":
                continue
            rid = sheet.get(f"{{{_NS_REL}}}id")
            if rid in rels and rels[rid][0] == "worksheet":
                self.sheets.append((sheet.get("name", ""), rels[rid][1]))
        self._package = self._package_builder()
        if self.shared is not None:
            self.rows_per_slice = max(rows_per_slice, min(MAX_ROWS_PER_SLICE, len(self.shared) // 1000))

    def _package_builder(self):
        date1904, shared, styles = self.date1904, self.shared, self.styles
        workbook_xml = _mini_workbook_xml(date1904)
        rels = _mini_rels(shared is not None, styles is not None)

        def build(sheet_xml: bytes) -> io.BytesIO:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
                out.writestr("[Content_Types].xml", _MINI_CONTENT_TYPES)
                out.writestr("_rels/.rels", _MINI_ROOT_RELS)
                out.writestr("xl/workbook.xml", workbook_xml)
                out.writestr("xl/_rels/workbook.xml.rels", rels)
                out.writestr("xl/worksheets/sheet1.xml", sheet_xml)
                if shared is not None:
                    out.writestr("xl/sharedStrings.xml", shared)
                if styles is not None:
                    out.writestr("xl/styles.xml", styles)
            buffer.seek(0)
            return buffer

        return build

    def data_sheets(self, is_header) -> list[DataSheet]:
        out = []
        for index, (name, part) in enumerate(self.sheets):
            if part not in self.zf.NameToInfo:
                continue
            first = next(self._slices(part, limit_rows=HEADER_SEARCH_ROWS), None)
            if first is None:
                continue
            first_row, rows = first
            found = _find_header(rows, first_row, is_header)
            if not found:
                continue
            header_row, headers = found
            estimated = self._estimate_rows(part) - header_row
            out.append(DataSheet(
                index, name, header_row, headers, max(estimated, 0),
                lambda part=part, header_row=header_row: self._rows(part, header_row),
                lambda column, part=part, header_row=header_row: self._tokens(part, header_row, column),
            ))
        return out

    def _estimate_rows(self, part: str) -> int:
        with self.zf.open(part) as stream:
            head = stream.read(4096)
        match = _DIMENSION_REF.search(head)
        if match and int(match.group(1)) > 1:
            return int(match.group(1))
        # No (or a placeholder) dimension: guess from the uncompressed size, ~60 bytes a cell.
        return max(1, self.zf.getinfo(part).file_size // 700)

    def _rows(self, part: str, header_row: int) -> Iterator[tuple[int, list[Any]]]:
        for first_row, rows in self._slices(part):
            for offset, row in enumerate(rows):
                number = first_row + offset
                if number > header_row:
                    yield number, row

    def _slices(self, part: str, limit_rows: int | None = None) -> Iterator[tuple[int, list[list[Any]]]]:
        """(first row number, rows) per slice; rows are padded on the left to start at column A."""
        for sheet_xml in self._slice_xml(part, limit_rows):
            book = python_calamine.CalamineWorkbook.from_filelike(self._package(sheet_xml))
            del sheet_xml
            try:
                sheet = book.get_sheet_by_index(0)
                start = sheet.start
                if start is None:
                    continue
                rows = sheet.to_python()
            finally:
                book.close()
            if start[1]:
                pad = [""] * start[1]
                rows = [pad + row for row in rows]
            yield start[0] + 1, rows

    def _slice_xml(self, part: str, limit_rows: int | None) -> Iterator[bytes]:
        """The worksheet XML cut into standalone worksheets of about `rows_per_slice` rows."""
        per_slice = limit_rows or self.rows_per_slice
        with self.zf.open(part) as stream:
            buffer = b""
            while True:
                data = stream.read(1 << 16)
                buffer += data
                match = _SHEET_DATA_OPEN.search(buffer)
                if match or not data:
                    break
            if not match or match.group(2) == b"/":
                return  # no rows at all
            prefix = match.group(1)
            head = _DIMENSION.sub(b"", buffer[:match.end()])
            tail = b"</" + prefix + b"sheetData></" + prefix + b"worksheet>"
            row_end = b"</" + prefix + b"row>"
            data_end = b"</" + prefix + b"sheetData>"
            buffer = buffer[match.end():]
            pending: list[bytes] = []
            pending_rows = 0
            eof = False
            while not eof:
                data = stream.read(1 << 22)
                eof = not data
                buffer += data
                if eof:
                    cut = buffer.find(data_end)
                    piece, buffer = (buffer[:cut] if cut >= 0 else buffer), b""
                else:
                    cut = buffer.rfind(row_end)
                    if cut < 0:
                        continue
                    cut += len(row_end)
                    piece, buffer = buffer[:cut], buffer[cut:]
                if limit_rows:
                    # Header search: only the first few rows are needed.
                    pos = 0
                    for _ in range(limit_rows):
                        found = piece.find(row_end, pos)
                        if found < 0:
                            break
                        pos = found + len(row_end)
                    yield head + (piece[:pos] if pos else piece) + tail
                    return
                pending.append(piece)
                pending_rows += piece.count(row_end)
                if pending_rows >= per_slice or (eof and pending):
                    body = b"".join(pending)
                    pending, pending_rows = [], 0
                    if body.strip():
                        yield head + body + tail

    def _tokens(self, part: str, header_row: int, column: int) -> Iterator[tuple[int, Any]]:
        letter = column_letters(column).encode()
        cell = re.compile(rb'<(?:\w+:)?c r="' + letter + rb'(\d+)"([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)', re.S)
        with self.zf.open(part) as stream:
            buffer = b""
            eof = False
            while not eof:
                data = stream.read(1 << 22)
                eof = not data
                buffer += data
                if eof:
                    piece, buffer = buffer, b""
                else:
                    cut = buffer.rfind(b"row>")
                    if cut < 0:
                        continue
                    piece, buffer = buffer[:cut + 4], buffer[cut + 4:]
                for number, attrs, body in cell.findall(piece):
                    row = int(number)
                    if row <= header_row or not body:
                        continue
                    token = _cell_token(attrs, body)
                    if token is not None:
                        yield row, token


_T_TEXT = re.compile(rb"<(?:\w+:)?t\b[^>]*>([^<]*)</(?:\w+:)?t>")
_V_TEXT = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_PHONETIC = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)


def _cell_token(attrs: bytes, body: bytes) -> Any:
    if b't="s"' in attrs:
        match = _V_TEXT.search(body)
        return ("s", int(match.group(1))) if match else None
    if b't="inlineStr"' in attrs:
        if b"rPh" in body:
            body = _PHONETIC.sub(b"", body)
        raw = b"".join(_T_TEXT.findall(body))
    elif b't="str"' in attrs:
        match = _V_TEXT.search(body)
        raw = match.group(1) if match else b""
    else:
        return None  # numbers, booleans, errors
    text = raw.decode("utf-8", "replace")
    if "&" in text:
        text = html.unescape(text)
    text = text.strip().replace(" ", "").upper()
    return text or None


# --- prefetch ---------------------------------------------------------------------------------

_DONE = object()


def prefetch(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Iterates `items` in a background thread, `depth` items ahead.

    The reader's expensive part (calamine parsing a slice) releases the GIL, so on two cores it
    runs beside the validation and database work of the consuming thread. Exceptions are re-raised
    in the consumer; abandoning the iterator stops the thread at its next item.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put((True, item))
            q.put((True, _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put((False, exc))

    thread = threading.Thread(target=work, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
