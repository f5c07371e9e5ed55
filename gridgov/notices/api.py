"""/api/v1/notices: 上情下达 (inbox, send, read, acknowledge, withdraw, statistics, attachments) and
下情上报 (the report desk). Thin: parse, call a selector or service, present."""

import json

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Query, Router, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import paginate
from pydantic import ValidationError as PydanticValidationError

from gridgov.accounts.policy import require
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.core.pagination import PageNumberCount

from . import presenters as p
from . import selectors, services
from .access import access_notice, access_report, sees_whole
from .choices import NoticeStatus
from .export import XLSX, reports_workbook, stats_workbook
from .schemas import (
    AckIn,
    CaseRefOut,
    HandleIn,
    InboxCountsOut,
    InboxFilters,
    InboxOut,
    NoticeDetailOut,
    NoticeIn,
    NoticeOut,
    PreviewOut,
    ReceiptFilters,
    ReceiptOut,
    RecipientOut,
    ReportFilters,
    ReportIn,
    ReportOut,
    ScopeIn,
    SentFilters,
    StatsOut,
    StatsQuery,
    ToCaseIn,
    WithdrawIn,
)

router = Router(tags=["notices 上情下达/下情上报"])


class _ConvertingList:
    """A queryset whose requested page alone is converted (count and slicing stay in SQL)."""

    def __init__(self, queryset, convert):
        self.queryset, self.convert = queryset, convert

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, item):
        return [self.convert(row) for row in self.queryset[item]]


def _payload(request, schema, list_keys=(), file_keys=("files",)):
    """(validated body, uploaded files) from a JSON body or a multipart form."""
    files = []
    if request.content_type == "multipart/form-data":
        data = {k: v for k, v in request.POST.items() if v != ""}
        for key in list_keys:
            if key in request.POST:
                data[key] = [v for v in request.POST.getlist(key) if v != ""]
        for key in file_keys:
            files += request.FILES.getlist(key)
    else:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise ValidationFailed("请求体不是有效的 JSON", code="invalid_json") from None
        if not isinstance(data, dict):
            raise ValidationFailed("请求体应为 JSON 对象", code="invalid_json")
    try:
        return schema.model_validate(data), files
    except PydanticValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        for e in errors:
            if "ctx" in e:
                e["ctx"] = {k: v if isinstance(v, str | int | float) else str(v) for k, v in e["ctx"].items()}
        raise NinjaValidationError(errors) from None


def _form_doc(schema, files: dict) -> dict:
    json_schema = schema.json_schema()
    form = {"type": "object", "properties": {**{k: {"type": "string"} for k in json_schema.get("properties", {})},
                                             **files}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": json_schema},
                                                          "multipart/form-data": {"schema": form}}}}


def _file(handle, content_type: str, name: str, inline: bool) -> FileResponse:
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(not inline, name)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _detail(user, notice) -> dict:
    receipt = services.notice_read(acting_user=user, notice=notice.pk)
    data = p.notice_detail(user, notice, receipt)
    if notice.status == NoticeStatus.WITHDRAWN and not sees_whole(user, notice):
        data.update(body_html="", attachments=[])  # a withdrawn text no longer circulates
    return data


# --- inbox ------------------------------------------------------------------------------------------


@router.get("/inbox", response=list[InboxOut], summary="我的通知（收件箱）：未读、待签收筛选与搜索")
@paginate(PageNumberCount)
def inbox(request, filters: Query[InboxFilters]):
    require(request.auth, "notices.view")
    return _ConvertingList(selectors.inbox(request.auth, unread=filters.unread, unacked=filters.unacked,
                                           q=filters.q or ""), p.inbox_dict)


@router.get("/inbox/counts", response=InboxCountsOut, summary="收件箱计数（未读、待签收）")
def inbox_counts(request):
    require(request.auth, "notices.view")
    return selectors.inbox_counts(request.auth)


# --- sending ----------------------------------------------------------------------------------------


@router.post("", response={201: NoticeDetailOut}, summary="发送通知（JSON，或带附件的 multipart，附件字段 files）",
             openapi_extra=_form_doc(NoticeIn, {"files": {
                 "type": "array", "items": {"type": "string", "format": "binary"},
                 "description": "JPEG/PNG/WebP/PDF/DOCX，每个 ≤10 MB，最多 9 个"}}))
def send(request):
    body, files = _payload(request, NoticeIn, list_keys=("roles", "departments"))
    data = body.dict()
    notice = services.notice_send(acting_user=request.auth, files=files, **data)
    return Status(201, p.notice_detail(request.auth, access_notice(request.auth, notice.pk), None))


@router.post("/preview", response=PreviewOut, summary="预览发送范围的接收人数（不发送）")
def preview(request, body: ScopeIn):
    return services.notice_preview(acting_user=request.auth, **body.dict())


@router.get("/sent", response=list[NoticeOut], summary="已发通知及可查看统计的通知")
@paginate(PageNumberCount)
def sent(request, filters: Query[SentFilters]):
    require(request.auth, "notices.view")
    return _ConvertingList(selectors.notice_list(request.auth, mine=filters.mine, q=filters.q or "",
                                                 status=filters.status), p.notice_dict)


# --- one notice -------------------------------------------------------------------------------------


@router.get("/{int:notice_id}", response=NoticeDetailOut, summary="通知详情（接收人首次打开即记为已读）")
def detail(request, notice_id: int):
    return _detail(request.auth, access_notice(request.auth, notice_id))


@router.post("/{int:notice_id}/ack", response=ReceiptOut, summary="签收通知（可附签收意见）")
def ack(request, notice_id: int, body: AckIn):
    receipt = services.acknowledge(request.auth, notice_id, body.comment)
    return {"read_at": receipt.read_at, "acked_at": receipt.acked_at, "ack_comment": receipt.ack_comment}


@router.post("/{int:notice_id}/withdraw", response=NoticeOut, summary="撤回通知")
def withdraw(request, notice_id: int, body: WithdrawIn):
    return p.notice_dict(services.notice_withdraw(acting_user=request.auth, notice=notice_id, reason=body.reason))


@router.get("/{int:notice_id}/stats", response=StatsOut, summary="阅读率与签收率（按区域下钻：市→镇→村→网格）")
def stats(request, notice_id: int, query: Query[StatsQuery]):
    return selectors.notice_stats(request.auth, access_notice(request.auth, notice_id), query.region)


@router.get("/{int:notice_id}/receipts", response=list[RecipientOut], summary="接收人回执名单（未读、未签收筛选）")
@paginate(PageNumberCount)
def receipts(request, notice_id: int, filters: Query[ReceiptFilters]):
    notice = access_notice(request.auth, notice_id)
    return _ConvertingList(selectors.notice_receipts(request.auth, notice, node=filters.region, state=filters.state),
                           p.recipient_dict)


@router.get("/{int:notice_id}/stats.xlsx", url_name="stats_export", summary="导出签收统计与未签收名单（Excel）")
def stats_export(request, notice_id: int, query: Query[StatsQuery]):
    notice = access_notice(request.auth, notice_id)
    data = selectors.notice_stats(request.auth, notice, query.region)
    state = "unacked" if notice.requires_ack else "unread"
    people = selectors.notice_receipts(request.auth, notice, node=query.region, state=state)
    response = HttpResponse(stats_workbook(notice, data, people).getvalue(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, f"签收统计-{notice.pk}.xlsx")
    return response


@router.get("/{int:notice_id}/attachments/{int:attachment_id}", url_name="notice_attachment",
            summary="下载通知附件（按权限校验）")
def attachment(request, notice_id: int, attachment_id: int):
    notice = access_notice(request.auth, notice_id)
    if notice.status == NoticeStatus.WITHDRAWN and not sees_whole(request.auth, notice):
        raise NotFound()
    found = notice.attachments.filter(pk=attachment_id).first()
    if found is None:
        raise NotFound()
    try:
        handle = found.file.open("rb")
    except FileNotFoundError:
        raise NotFound("附件文件已丢失") from None
    return _file(handle, found.content_type, found.original_name or found.file.name.rsplit("/", 1)[-1],
                 inline=found.content_type.startswith("image/"))


# --- reports up -------------------------------------------------------------------------------------


@router.get("/reports", response=list[ReportOut], summary="情况报告（民情日志）台账：本人所报及辖区内的报告")
@paginate(PageNumberCount)
def reports(request, filters: Query[ReportFilters]):
    user = request.auth
    if not filters.mine:
        require(user, "reports.view")
    return _ConvertingList(selectors.report_list(user, **filters.dict()), p.report_dict)


EXPORT_LIMIT = 20_000


@router.get("/reports.xlsx", url_name="reports_export", summary="导出情况报告台账（Excel，按当前筛选，最多 2 万条）")
def reports_export(request, filters: Query[ReportFilters]):
    user = request.auth
    if not filters.mine:
        require(user, "reports.view")
    rows = selectors.report_list(user, **filters.dict())[:EXPORT_LIMIT]
    response = HttpResponse(reports_workbook(rows).getvalue(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, "情况报告.xlsx")
    return response


@router.post("/reports", response={200: ReportOut, 201: ReportOut},
             summary="网格员上报民情日志/情况报告（JSON，或带照片的 multipart，照片字段 photo）",
             openapi_extra=_form_doc(ReportIn, {"photo": {"type": "string", "format": "binary",
                                                          "description": "JPEG/PNG/WebP，≤10 MB"}}))
def report_send(request):
    body, files = _payload(request, ReportIn, file_keys=("photo",))
    if len(files) > 1:
        raise ValidationFailed("只能附一张照片", code="too_many_attachments", extra={"field": "photo"})
    report = services.report_send(acting_user=request.auth, photo=files[0] if files else None, **body.dict())
    return Status(200 if report.replayed else 201, p.report_dict(access_report(request.auth, report.pk)))


@router.get("/reports/{int:report_id}", response=ReportOut, summary="情况报告详情")
def report_detail(request, report_id: int):
    return p.report_dict(access_report(request.auth, report_id))


@router.get("/reports/{int:report_id}/photo", url_name="report_photo", summary="情况报告的照片（按权限校验）")
def report_photo(request, report_id: int):
    report = access_report(request.auth, report_id)
    if not report.photo:
        raise NotFound()
    try:
        handle = report.photo.open("rb")
    except FileNotFoundError:
        raise NotFound("照片文件已丢失") from None
    return _file(handle, report.photo_type or "application/octet-stream", f"report-{report.pk}", inline=True)


@router.post("/reports/{int:report_id}/read", response=ReportOut, summary="标记已阅")
def report_read(request, report_id: int):
    services.report_mark_read(acting_user=request.auth, report=report_id)
    return p.report_dict(access_report(request.auth, report_id))


@router.post("/reports/{int:report_id}/handle", response=ReportOut, summary="标记已处理（附处理意见）")
def report_handle(request, report_id: int, body: HandleIn):
    services.report_handle(acting_user=request.auth, report=report_id, note=body.note)
    return p.report_dict(access_report(request.auth, report_id))


@router.post("/reports/{int:report_id}/case", response={201: CaseRefOut}, summary="一键转为案件（案件关联本报告）")
def report_case(request, report_id: int, body: ToCaseIn):
    case = services.report_to_case(acting_user=request.auth, report=report_id, **body.dict())
    return Status(201, {"report": report_id, "case_id": case.pk, "case_number": case.number})
