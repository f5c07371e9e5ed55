"""/api/v1/egov: the catalogue, applications and their steps, materials, payments, statistics,
the Excel export and 政策找人.

Thin: parse, call one selector or service, present. A step may carry an `Idempotency-Key` header:
a retry with the same key answers with the result as it is (200) instead of acting twice.
"""

import tempfile

from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from gridgov.accounts.policy import require
from gridgov.core.errors import NotFound
from gridgov.core.pagination import PageNumberCount

from . import presenters, rules, selectors, services
from .export import application_export
from .models import Notification
from .schemas import (
    ApplicationCreateIn,
    ApplicationDetailOut,
    ApplicationFilters,
    ApplicationOut,
    ApproveIn,
    EgovNoteIn,
    EgovReasonIn,
    EgovStatsOut,
    EgovStatsQuery,
    EgovVerifyIn,
    ItemCreateIn,
    ItemDetailOut,
    ItemPatchIn,
    MatchOut,
    MatchQuery,
    MaterialOut,
    NotificationOut,
    PayIn,
    PaymentFilters,
    PaymentOut,
    PaymentQueueOut,
    ReturnIn,
    RuleCheckIn,
    RuleCheckOut,
    ScanIn,
    ScanOut,
    ServiceItemFilters,
    ServiceItemOut,
)

router = Router(tags=["egov 政务网上办"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _key(request) -> str | None:
    return request.headers.get("Idempotency-Key") or None


def _filters(schema) -> dict:
    return {k: (v.value if hasattr(v, "value") else v) for k, v in schema.model_dump().items() if v not in (None, "")}


class _ConvertingList:
    """A queryset whose requested page only is converted (count and slicing stay in SQL)."""

    def __init__(self, queryset, convert):
        self.queryset = queryset
        self.convert = convert

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, item):
        return [self.convert(row) for row in self.queryset[item]]


def _detail(request, application_id: int, *, replayed: bool = False):
    detail = selectors.application_get(user=request.auth, application_id=application_id)
    data = presenters.application_detail(detail, services.available_actions(request.auth, detail.application))
    for material in data["materials"]:
        material["url"] = reverse("api:egov_material", kwargs={"application_id": application_id,
                                                              "material_id": material["id"]})
    return data


# --- catalogue -----------------------------------------------------------------------------------------------

@router.get("/items", response=list[ServiceItemOut], summary="服务事项目录（93 项）")
@paginate(PageNumberCount)
def list_items(request, filters: Query[ServiceItemFilters]):
    departments = selectors.department_names()
    qs = selectors.service_item_list(user=request.auth, **_filters(filters))
    return _ConvertingList(qs, lambda item: presenters.item_row(item, departments))


@router.post("/items", response={201: ItemDetailOut}, summary="新增服务事项（市网格化管理中心）")
def create_item(request, data: ItemCreateIn):
    body = data.model_dump(exclude_unset=True)
    code = body.pop("code")
    item = services.service_item_create(acting_user=request.auth, code=code, data=body)
    return Status(201, presenters.item_detail(item, selectors.department_names()))


@router.get("/items/{code}", response=ItemDetailOut, summary="事项办事指南")
def get_item(request, code: str):
    return presenters.item_detail(selectors.service_item_get(code=code, user=request.auth),
                                  selectors.department_names())


@router.patch("/items/{code}", response=ItemDetailOut, summary="修改服务事项（含政策找人规则，保存时校验）")
def update_item(request, code: str, data: ItemPatchIn):
    item = services.service_item_update(acting_user=request.auth, code=code, data=data.model_dump(exclude_unset=True))
    return presenters.item_detail(item, selectors.department_names())


@router.post("/rules/check", response=RuleCheckOut, summary="校验政策找人规则（可用一组居民信息试算）")
def check_rule(request, data: RuleCheckIn):
    require(request.auth, "egov.catalogue.manage")
    info = rules.validate_rule(data.rule)
    result = rules.evaluate(data.rule, data.facts) if data.facts is not None else None
    return {"valid": True, "variables": sorted(info.variables), "tags": sorted(info.tag_codes),
            "sensitivity": info.sensitivity, "result": result}


# --- applications --------------------------------------------------------------------------------------------

@router.get("/applications", response=list[ApplicationOut], summary="申请列表（村、镇、部门工作台）")
@paginate(PageNumberCount)
def list_applications(request, filters: Query[ApplicationFilters]):
    departments = selectors.department_names()
    today = timezone.localdate()
    qs = selectors.application_list(user=request.auth, **_filters(filters))
    return _ConvertingList(qs, lambda app: presenters.application_row(app, departments, today))


@router.get("/applications/counts", response=dict[str, int], summary="各状态申请数（同一筛选条件）")
def application_counts(request, filters: Query[ApplicationFilters]):
    return selectors.application_state_counts(user=request.auth, **_filters(filters))


@router.get("/applications/export", summary="导出申请 (Excel)",
            description="按列表的筛选条件导出；每次导出记入审计日志。")
def export_applications(request, filters: Query[ApplicationFilters]):
    output = tempfile.TemporaryFile()
    try:
        result = application_export(acting_user=request.auth, output=output, filters=_filters(filters))
    except BaseException:
        output.close()
        raise
    output.seek(0)
    response = FileResponse(output, as_attachment=True, filename=result.filename, content_type=XLSX)
    response["X-Export-Rows"] = str(result.rows)
    response["Cache-Control"] = "no-store"
    return response


@router.post("/applications", response={200: ApplicationDetailOut, 201: ApplicationDetailOut},
             summary="代办申请（村级受理 / 网格员全程代理）")
def create_application(request, data: ApplicationCreateIn):
    app = services.application_create(
        acting_user=request.auth, item_code=data.item, applicant_id=data.applicant, answers=data.answers,
        payee_name=data.payee_name, payee_account=data.payee_account, found_by_match=data.found_by_match,
        need_id=data.need, idempotency_key=_key(request))
    return Status(200 if getattr(app, "replayed", False) else 201, _detail(request, app.pk))


@router.get("/applications/{int:application_id}", response=ApplicationDetailOut, summary="申请详情与办理时间线")
def get_application(request, application_id: int):
    return _detail(request, application_id)


@router.post("/applications/{int:application_id}/materials", response={201: MaterialOut},
             summary="上传申请材料（PDF/JPEG/PNG，≤10 MB）")
def add_material(request, application_id: int, material_code: Form[str], file: File[UploadedFile]):
    material = services.application_material_add(acting_user=request.auth, application_id=application_id,
                                                 material_code=material_code, upload=file)
    app = selectors.application_get(user=request.auth, application_id=application_id).application
    row = presenters.material_row(material, app.item)
    row["url"] = reverse("api:egov_material", kwargs={"application_id": application_id, "material_id": material.pk})
    return Status(201, row)


@router.get("/applications/{int:application_id}/materials/{int:material_id}", url_name="egov_material",
            summary="下载申请材料")
def get_material(request, application_id: int, material_id: int):
    handle, content_type, name = selectors.material_open(user=request.auth, application_id=application_id,
                                                         material_id=material_id)
    response = FileResponse(handle, content_type=content_type, filename=name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.post("/applications/{int:application_id}/accept", response=ApplicationDetailOut, summary="村级受理")
def accept(request, application_id: int, data: EgovNoteIn):
    services.application_accept(acting_user=request.auth, application_id=application_id, note=data.note,
                                idempotency_key=_key(request))
    return _detail(request, application_id)


@router.post("/applications/{int:application_id}/town-pass", response=ApplicationDetailOut, summary="镇审核通过")
def town_pass(request, application_id: int, data: EgovNoteIn):
    services.application_town_pass(acting_user=request.auth, application_id=application_id, note=data.note,
                                   idempotency_key=_key(request))
    return _detail(request, application_id)


@router.post("/applications/{int:application_id}/return", response=ApplicationDetailOut, summary="退回补正")
def return_(request, application_id: int, data: ReturnIn):
    services.application_return(acting_user=request.auth, application_id=application_id,
                                missing_materials=data.missing_materials, reason=data.reason,
                                idempotency_key=_key(request))
    return _detail(request, application_id)


@router.post("/applications/{int:application_id}/resubmit", response=ApplicationDetailOut, summary="补正提交")
def resubmit(request, application_id: int, data: EgovNoteIn):
    services.application_resubmit(acting_user=request.auth, application_id=application_id, note=data.note,
                                  idempotency_key=_key(request))
    return _detail(request, application_id)


@router.post("/applications/{int:application_id}/verify", response=ApplicationDetailOut, summary="部门核实")
def verify(request, application_id: int, data: EgovVerifyIn):
    services.application_verify(acting_user=request.auth, application_id=application_id, note=data.note,
                                proposed_amount_fen=data.proposed_amount_fen, idempotency_key=_key(request))
    return _detail(request, application_id)


@router.post("/applications/{int:application_id}/approve", response=ApplicationDetailOut,
             summary="批准（涉及资金的记录金额、收款账号并生成发放计划）")
def approve(request, application_id: int, data: ApproveIn):
    services.application_approve(acting_user=request.auth, application_id=application_id,
                                 amount_fen=data.amount_fen, payee_name=data.payee_name,
                                 payee_account=data.payee_account, note=data.note, idempotency_key=_key(request))
    return _detail(request, application_id)


@router.post("/applications/{int:application_id}/refuse", response=ApplicationDetailOut,
             summary="不予批准（须说明理由）")
def refuse(request, application_id: int, data: EgovReasonIn):
    services.application_refuse(acting_user=request.auth, application_id=application_id, reason=data.reason,
                                idempotency_key=_key(request))
    return _detail(request, application_id)


@router.post("/applications/{int:application_id}/complete", response=ApplicationDetailOut, summary="办结")
def complete(request, application_id: int, data: EgovNoteIn):
    services.application_complete(acting_user=request.auth, application_id=application_id, note=data.note,
                                  idempotency_key=_key(request))
    return _detail(request, application_id)


@router.post("/applications/{int:application_id}/withdraw", response=ApplicationDetailOut, summary="撤回")
def withdraw(request, application_id: int, data: EgovReasonIn):
    services.application_withdraw(acting_user=request.auth, application_id=application_id, reason=data.reason,
                                  idempotency_key=_key(request))
    return _detail(request, application_id)


# --- payments ------------------------------------------------------------------------------------------------

def _queue_row(payment) -> dict:
    app = payment.application
    return {**presenters.payment_row(payment), "application_number": app.number, "item_name": app.item.name,
            "applicant_name": app.applicant.name}


@router.get("/payments", response=list[PaymentQueueOut], summary="资金发放（待发放 / 已发放）")
@paginate(PageNumberCount)
def list_payments(request, filters: Query[PaymentFilters]):
    return _ConvertingList(selectors.payment_list(user=request.auth, **_filters(filters)), _queue_row)


@router.post("/payments/{int:payment_id}/pay", response={200: PaymentOut}, summary="登记资金发放（同一笔只能发放一次）")
def pay(request, payment_id: int, data: PayIn):
    payment = services.payment_record(acting_user=request.auth, payment_id=payment_id, reference=data.reference,
                                      paid_on=data.paid_on, idempotency_key=_key(request))
    return presenters.payment_row(payment)


# --- statistics ----------------------------------------------------------------------------------------------

@router.get("/stats", response=EgovStatsOut, summary="统计：按事项、状态、层级、月份；按期办结率；资金发放")
def stats(request, query: Query[EgovStatsQuery]):
    result = selectors.application_stats(user=request.auth, **_filters(query))
    data = {k: getattr(result, k) for k in ("total", "by_state", "by_category", "by_item", "by_level", "by_month",
                                             "completed", "on_time", "on_time_rate", "overdue_open", "paid_fen",
                                             "paid_count", "scheduled_fen")}
    data["region"] = {"code": result.region.code, "name": result.region.name} if result.region else None
    return data


# --- 政策找人 ----------------------------------------------------------------------------------------------------

@router.get("/matches", response=list[MatchOut], summary="政策找人：看来符合条件、尚未申请也未被拒的居民")
@paginate(PageNumberCount)
def list_matches(request, query: Query[MatchQuery]):
    return _ConvertingList(selectors.match_list(user=request.auth, **_filters(query)), presenters.match_row)


@router.post("/matches/scan", response=ScanOut, summary="政策找人：重新匹配一个网格")
def scan(request, data: ScanIn):
    result = services.eligibility_scan_grid(grid_code=data.grid, acting_user=request.auth)
    return {"id": result.pk, "grid": result.region_id, "residents": result.residents, "rules": result.rules,
            "matches": result.matches, "started_at": result.started_at, "finished_at": result.finished_at}


# --- notifications -------------------------------------------------------------------------------------------

def _notification(n) -> dict:
    return {"id": n.pk, "application_id": n.application_id, "application_number": n.application.number,
            "text": n.text, "created_at": n.created_at, "read_at": n.read_at}


@router.get("/notifications", response=list[NotificationOut], summary="我的办理通知")
@paginate(PageNumberCount)
def list_notifications(request, unread: bool | None = None):
    return _ConvertingList(selectors.notification_list(user=request.auth, unread=unread), _notification)


@router.post("/notifications/{int:notification_id}/read", response=NotificationOut, summary="标记通知已读")
def read_notification(request, notification_id: int):
    n = Notification.objects.filter(pk=notification_id, recipient_user=request.auth).select_related(
        "application").first()
    if n is None:
        raise NotFound()
    if n.read_at is None:
        Notification.objects.filter(pk=n.pk, read_at__isnull=True).update(read_at=timezone.now(), status="read")
        n.refresh_from_db(fields=["read_at"])
    return _notification(n)
