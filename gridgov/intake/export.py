"""Excel export of the intake log (what the filters select, in the user's scope): the desk's daily
channel statistics are done in a spreadsheet."""

from django.utils import timezone
from xlsxwriter import Workbook

from gridgov.accounts.policy import require
from gridgov.core.audit import audit_record

from . import selectors
from .presenters import message_row

MAX_ROWS = 50_000
HEADERS = ["编号", "渠道", "消息编号", "发送方", "姓名", "类型", "内容", "结果", "案件编号", "积分申报", "网格",
           "接线员", "接收时间", "答复"]


def message_export(*, acting_user, output, filters: dict) -> str:
    """Writes the selected messages (at most 50,000) to `output`; returns the file name. Audited."""
    require(acting_user, "intake.export")
    qs = selectors.message_list(user=acting_user, **filters)[:MAX_ROWS]
    book = Workbook(output, {"in_memory": False, "constant_memory": True})
    sheet = book.add_worksheet("接入消息")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, HEADERS, bold)
    count = 0
    for count, msg in enumerate(qs.iterator(chunk_size=2000), start=1):
        row = message_row(msg)
        sheet.write_row(count, 0, [
            row["id"], row["channel_display"], row["external_id"], row["sender"], row["sender_name"], row["msg_type"],
            row["body"], row["outcome_display"], row["case_number"] or "", row["claim_id"] or "", row["region_code"],
            row["operator"], timezone.localtime(row["created_at"]).strftime("%Y-%m-%d %H:%M:%S"), row["reply"],
        ])
    sheet.set_column(6, 6, 40)
    sheet.set_column(13, 13, 40)
    book.close()
    audit_record(actor=acting_user, action="intake.export", object_type="intake.inboundmessage",
                 changes={"rows": count, "filters": {k: str(v) for k, v in filters.items() if v}})
    return f"接入消息-{timezone.localdate():%Y%m%d}.xlsx"
