"""The downloadable resident import template (.xlsx).

Sheets: 人口信息 (header row and one example row, which the importer skips; text-formatted
columns so Excel keeps ID numbers, phones and codes as typed; drop-downs for the choice columns),
说明 (each column: required or not, what to fill in, allowed values), 网格 (the grid codes the
downloading user may import into, with names; the 网格编码 drop-down draws on it) and a hidden
选项 sheet with the longer choice lists.
"""

import io

import xlsxwriter

from .importing import columns as cols


def build_template(grids: list[tuple[str, str]] | None = None) -> bytes:
    """The template as bytes. `grids` is [(code, full name)] of the grids to offer, in order."""
    grids = grids or []
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": "实有人口导入模板", "subject": "网格化管理平台", "comments": "请勿修改表头"})
    text = book.add_format({"num_format": "@"})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "num_format": "@", "align": "center"})
    head_required = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "num_format": "@",
                                     "align": "center", "font_color": "#C00000"})
    example = book.add_format({"num_format": "@", "font_color": "#808080", "italic": True})
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    data = book.add_worksheet(cols.DATA_SHEET)
    help_sheet = book.add_worksheet(cols.HELP_SHEET)
    grid_sheet = book.add_worksheet(cols.GRID_SHEET)
    choice_sheet = book.add_worksheet(cols.CHOICE_SHEET)

    # 人口信息
    first_grid = grids[0][0] if grids else "420881103201001"
    sample = cols.example_row(first_grid)
    last_row = 1_048_575
    for i, column in enumerate(cols.COLUMNS):
        data.set_column(i, i, column.width, text if column.text else None)
        data.write_string(0, i, column.header, head_required if column.required else head)
        data.write_string(1, i, sample[column.key], example)
        comment = ("必填。" if column.required else "选填。") + column.rule
        data.write_comment(0, i, comment, {"x_scale": 2, "y_scale": 1.5})
    data.freeze_panes(1, 0)
    data.set_row(0, 20)

    # 选项: one column per choice list; the drop-downs refer to these ranges.
    choice_ranges: dict[str, str] = {}
    choice_col = 0
    for column in cols.COLUMNS:
        if not column.choices:
            continue
        choice_sheet.write_string(0, choice_col, column.header, bold)
        for r, value in enumerate(column.choices, start=1):
            choice_sheet.write_string(r, choice_col, value)
        letter = _letters(choice_col)
        choice_ranges[column.key] = f"='{cols.CHOICE_SHEET}'!${letter}$2:${letter}${len(column.choices) + 1}"
        choice_col += 1
    choice_sheet.hide()

    for i, column in enumerate(cols.COLUMNS):
        if column.key in choice_ranges:
            data.data_validation(1, i, last_row, i, {
                "validate": "list", "source": choice_ranges[column.key],
                "error_title": column.header, "error_message": f"请从下拉列表中选择{column.header}",
                "input_title": column.header, "input_message": column.rule[:250],
            })
    grid_index = [c.key for c in cols.COLUMNS].index("grid_code")
    if grids:
        data.data_validation(1, grid_index, last_row, grid_index, {
            "validate": "list", "source": f"='{cols.GRID_SHEET}'!$A$2:$A${len(grids) + 1}",
            "error_type": "warning", "error_title": "网格编码",
            "error_message": "该编码不在“网格”工作表中，导入时可能被拒绝",
        })
    id_index = [c.key for c in cols.COLUMNS].index("id_number")
    data.data_validation(1, id_index, last_row, id_index, {
        "validate": "length", "criteria": "==", "value": 18, "error_type": "warning",
        "error_title": "公民身份号码", "error_message": "公民身份号码应为 18 位",
        "input_title": "公民身份号码", "input_message": "18 位，本列为文本格式，请勿改为数字",
    })

    # 说明
    help_sheet.set_column(0, 0, 16)
    help_sheet.set_column(1, 1, 8)
    help_sheet.set_column(2, 2, 60)
    help_sheet.set_column(3, 3, 50)
    help_sheet.write_row(0, 0, ["列名", "是否必填", "填写要求", "可选值"], bold)
    for r, column in enumerate(cols.COLUMNS, start=1):
        allowed = "、".join(column.choices) if column.choices else ""
        help_sheet.write_string(r, 0, column.header)
        help_sheet.write_string(r, 1, "必填" if column.required else "选填")
        help_sheet.write_string(r, 2, column.rule, wrap)
        help_sheet.write_string(r, 3, allowed, wrap)
    notes = [
        "1. 每行一人；第 2 行为示例（备注为“示例行”），导入时自动跳过，可直接覆盖或删除。",
        "2. 按公民身份号码识别人员：已登记的人员按本表更新，未登记的新增；同一文件重复导入不会重复登记。",
        "3. 选填列留空表示不修改系统中已有的值；要清空某项请在人员页面修改。",
        "4. 有错误的行不导入，其余行照常导入；导入后可下载结果报告，逐行列出未导入的原因，改正后重新导入这些行即可。",
        "5. 同一公民身份号码在文件中出现多次时，这些行都不导入，请核实后只保留正确的一行。",
        "6. 一个工作表最多约 104 万行；更多的行可放在表头相同的第二个工作表中。",
    ]
    start = len(cols.COLUMNS) + 2
    help_sheet.write_string(start, 0, "说明", bold)
    for i, note in enumerate(notes, start=start + 1):
        help_sheet.merge_range(i, 0, i, 3, note, wrap)
        help_sheet.set_row(i, 30)

    # 网格
    grid_sheet.set_column(0, 0, 18, text)
    grid_sheet.set_column(1, 1, 40)
    grid_sheet.write_row(0, 0, ["网格编码", "网格名称"], bold)
    for r, (code, name) in enumerate(grids, start=1):
        grid_sheet.write_string(r, 0, code)
        grid_sheet.write_string(r, 1, name)
    if not grids:
        grid_sheet.write_string(1, 1, "（下载模板时登录，即列出您可导入的网格）")

    data.activate()
    book.close()
    return buffer.getvalue()


def _letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def grids_for(user) -> list[tuple[str, str]]:
    """The grids `user` may import into (all of the county for None), with their full names."""
    from gridgov.regions.models import Region

    qs = Region.objects.filter(level=4)
    if user is not None:
        qs = qs.visible_to(user)
    rows = qs.order_by("code").values_list("code", "name", "parent__parent__name")
    return [(code, f"{town or ''}{name}") for code, name, town in rows]
