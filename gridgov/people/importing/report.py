"""The report workbook: a summary and one line per rejected row, written as the import goes.

It holds the row's name and its masked ID number, never the number itself, so it can be kept
and passed around like any other list of mistakes to fix.
"""

from dataclasses import dataclass

import xlsxwriter

from gridgov.core.masking import mask_id_number

SUMMARY_SHEET = "汇总"
REJECTED_SHEET = "未导入的行"


@dataclass
class Rejection:
    sheet: str
    row: int
    name: str
    id_number: str  # as written in the file; masked in the report
    reasons: list[str]  # one per faulty field, in column order
    sheet_index: int = 0

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)


class ReportWriter:
    """Streams rejected rows into an .xlsx (constant memory); `close(summary)` finishes it."""

    def __init__(self, path):
        self.path = path
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                    "strings_to_formulas": False, "strings_to_urls": False})
        self.bold = self.book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.top = self.book.add_format({"valign": "top"})
        self.summary = self.book.add_worksheet(SUMMARY_SHEET)
        self.sheet = self.book.add_worksheet(REJECTED_SHEET)
        self.sheet.set_column(0, 0, 12)
        self.sheet.set_column(1, 1, 8)
        self.sheet.set_column(2, 2, 10)
        self.sheet.set_column(3, 3, 22)
        self.sheet.set_column(4, 4, 8)
        self.sheet.set_column(5, 5, 80)
        self.sheet.write_row(0, 0, ["工作表", "行号", "姓名", "公民身份号码（脱敏）", "错误数",
                                    "原因（每个有误的字段一条）"], self.bold)
        self.sheet.freeze_panes(1, 0)
        self.next_row = 1

    def add(self, rejection: Rejection) -> None:
        reasons = rejection.reasons
        text = reasons[0] if len(reasons) == 1 else "\n".join(f"{i}. {r}" for i, r in enumerate(reasons, 1))
        row = self.next_row
        self.sheet.write_string(row, 0, rejection.sheet, self.top)
        self.sheet.write_number(row, 1, rejection.row, self.top)
        self.sheet.write_string(row, 2, rejection.name[:50], self.top)
        self.sheet.write_string(row, 3, rejection.masked_id[:40], self.top)
        self.sheet.write_number(row, 4, len(reasons), self.top)
        self.sheet.write_string(row, 5, text, self.wrap)
        self.next_row += 1

    def close(self, summary: list[tuple[str, object]]) -> None:
        ws = self.summary
        ws.set_column(0, 0, 22)
        ws.set_column(1, 1, 60)
        ws.write_row(0, 0, ["项目", "数值"], self.bold)
        for i, (label, value) in enumerate(summary, start=1):
            ws.write(i, 0, label)
            if isinstance(value, int | float):
                ws.write_number(i, 1, value)
            else:
                ws.write_string(i, 1, str(value))
        if self.next_row == 1:
            self.sheet.write_string(1, 0, "没有未导入的行")
        self.book.close()
