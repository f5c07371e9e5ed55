"""/api/v1/points: catalogue, subjects, claims and votes, ledger, rankings, shops and orders,
certificates, and the two public reads (notice board, certificate check)."""

import io
import json

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Query, Router, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import paginate
from pydantic import ValidationError as PydanticValidationError

from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.core.pagination import PageNumberCount
from gridgov.people.presenters import shows_names

from . import presenters as p
from . import selectors, services
from .access import (
    access_certificate,
    access_claim,
    access_entry,
    access_goods,
    access_order,
    access_region,
    access_shop,
    access_subject,
)
from .documents import certificate_pdf
from .export import XLSX, ledger_export, ranking_export
from .schemas import (
    CandidateOut,
    CandidateQuery,
    CertificateFilters,
    CertificateIn,
    CertificateOut,
    ClaimDetailOut,
    ClaimFilters,
    ClaimIn,
    ClaimOut,
    EntryOut,
    GoodsIn,
    GoodsOut,
    GoodsPatch,
    ItemFilters,
    ItemOut,
    LedgerFilters,
    OrderFilters,
    OrderIn,
    OrderOut,
    PointsNoteIn,
    PointsNoticeOut,
    PointsReasonIn,
    RankingOut,
    RankingQuery,
    RegionTotalOut,
    SchemeIn,
    SchemeOut,
    ShopDetailOut,
    ShopFilters,
    ShopIn,
    ShopOut,
    StockIn,
    SubjectFilters,
    SubjectIn,
    SubjectOut,
    VerificationOut,
)

router = Router(tags=["points 积分制"])


class _ConvertingList:
    """A queryset whose requested page alone is converted (count and slicing stay in SQL)."""

    def __init__(self, queryset, convert):
        self.queryset = queryset
        self.convert = convert

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, item):
        return [self.convert(row) for row in self.queryset[item]]


def _key(request, body_key: str | None) -> str | None:
    """The idempotency key from the `Idempotency-Key` header or the body (they must agree)."""
    header = request.headers.get("Idempotency-Key")
    if header and body_key and header != body_key:
        raise ValidationFailed("Idempotency-Key 请求头与请求体中的 idempotency_key 不一致",
                               code="idempotency_key_mismatch")
    return header or body_key


def _created(obj) -> int:
    return 200 if getattr(obj, "replayed", False) else 201


def _xlsx(buffer: io.BytesIO, filename: str) -> HttpResponse:
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# --- catalogue and scheme ---------------------------------------------------------------------------


@router.get("/items", response=list[ItemOut], summary="积分项目目录（3 大类 104 项）")
@paginate(PageNumberCount)
def list_items(request, filters: Query[ItemFilters]):
    return [p.item_dict(i) for i in selectors.item_list(user=request.auth, **filters.dict())]


def _scheme(code: str) -> dict:
    s = services.scheme_for(code)
    return {"region_code": code, "collective_threshold": s.collective_threshold,
            "committee_quorum": s.committee_quorum, "household_rollup": s.household_rollup,
            "notice_full_names": s.notice_full_names, "notice_days": s.notice_days, "defined_at": s.region_code}


@router.get("/schemes/{code}", response=SchemeOut, summary="某区域生效的积分制设置")
def get_scheme(request, code: str):
    return _scheme(access_region(request.auth, code).code)


@router.put("/schemes/{code}", response=SchemeOut, summary="设置村（社区）、镇（街道）或全市的积分制参数")
def put_scheme(request, code: str, body: SchemeIn):
    services.scheme_set(acting_user=request.auth, region=code, **body.dict())
    return _scheme(code)


# --- subjects ---------------------------------------------------------------------------------------


@router.get("/subjects", response=list[SubjectOut], summary="积分主体（账户）查询")
@paginate(PageNumberCount)
def list_subjects(request, filters: Query[SubjectFilters]):
    full = shows_names(request.auth)
    return _ConvertingList(selectors.subject_list(user=request.auth, **filters.dict()),
                           lambda s: p.subject_dict(s, full))


@router.post("/subjects", response={200: SubjectOut, 201: SubjectOut}, summary="开立积分账户（已开立则返回原账户）")
def open_subject(request, body: SubjectIn):
    subject = services.subject_open(acting_user=request.auth, **body.dict())
    return Status(201 if subject.created else 200,
                  p.subject_dict(access_subject(request.auth, subject.pk), shows_names(request.auth)))


@router.get("/subjects/{int:subject_id}", response=SubjectOut, summary="积分账户详情")
def get_subject(request, subject_id: int):
    return p.subject_dict(access_subject(request.auth, subject_id), shows_names(request.auth))


@router.get("/candidates", response=list[CandidateOut], summary="按姓名查找可开户的居民、家庭、单位")
def candidates(request, query: Query[CandidateQuery]):
    return [c.__dict__ for c in selectors.registry_candidates(user=request.auth, q=query.q)]


# --- claims -----------------------------------------------------------------------------------------


def _claim_payload(request) -> tuple[ClaimIn, object]:
    """The claim from a JSON body or a multipart form with an evidence file."""
    upload = None
    if request.content_type == "multipart/form-data":
        data = {k: v for k, v in request.POST.items() if v != ""}
        upload = request.FILES.get("evidence_file")
    else:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise ValidationFailed("请求体不是有效的 JSON", code="invalid_json") from None
        if not isinstance(data, dict):
            raise ValidationFailed("请求体应为 JSON 对象", code="invalid_json")
    try:
        return ClaimIn.model_validate(data), upload
    except PydanticValidationError as exc:
        errors = [{**e, "loc": ("body", "claim", *e["loc"])} for e in exc.errors(include_url=False)]
        for e in errors:
            if "ctx" in e:
                e["ctx"] = {k: v if isinstance(v, str | int | float) else str(v) for k, v in e["ctx"].items()}
        raise NinjaValidationError(errors) from None


_CLAIM_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": ClaimIn.json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "subject": {"type": "integer"}, "item": {"type": "string"}, "points": {"type": "integer"},
        "occurred_on": {"type": "string", "format": "date"}, "description": {"type": "string"},
        "public_reason": {"type": "string"}, "channel": {"type": "string"}, "source": {"type": "string"},
        "reporter_name": {"type": "string"}, "evidence": {"type": "string"}, "idempotency_key": {"type": "string"},
        "evidence_file": {"type": "string", "format": "binary", "description": "JPEG/PNG/WebP/PDF，≤10 MB"},
    }, "required": ["subject", "item", "occurred_on", "description", "channel", "source"]}},
}}}


@router.post("/claims", response={200: ClaimOut, 201: ClaimOut}, summary="录入积分申报（JSON 或带附件的 multipart）",
             openapi_extra=_CLAIM_BODY)
def submit_claim(request):
    body, upload = _claim_payload(request)
    claim = services.claim_submit(
        acting_user=request.auth, subject=body.subject, item=body.item, points=body.points,
        occurred_on=body.occurred_on, description=body.description, public_reason=body.public_reason,
        channel=body.channel, source=body.source, reporter_name=body.reporter_name, evidence=body.evidence,
        evidence_file=upload, idempotency_key_value=_key(request, body.idempotency_key),
    )
    return Status(_created(claim), p.claim_dict(access_claim(request.auth, claim.pk), shows_names(request.auth)))


@router.get("/claims", response=list[ClaimOut], summary="积分申报查询")
@paginate(PageNumberCount)
def list_claims(request, filters: Query[ClaimFilters]):
    full = shows_names(request.auth)
    return _ConvertingList(selectors.claim_list(user=request.auth, **filters.dict()), lambda c: p.claim_dict(c, full))


def _claim_detail(request, claim_id: int) -> dict:
    claim = access_claim(request.auth, claim_id)
    return p.claim_detail_dict(selectors.claim_detail(user=request.auth, claim=claim), shows_names(request.auth))


@router.get("/claims/{int:claim_id}", response=ClaimDetailOut, summary="申报详情（含表决与流转记录）")
def get_claim(request, claim_id: int):
    return _claim_detail(request, claim_id)


@router.post("/claims/{int:claim_id}/approve", response=ClaimDetailOut, summary="村委成员同意（达到人数即入账）")
def approve_claim(request, claim_id: int, body: PointsNoteIn):
    services.claim_approve(acting_user=request.auth, claim=claim_id, note=body.note)
    return _claim_detail(request, claim_id)


@router.post("/claims/{int:claim_id}/reject", response=ClaimDetailOut, summary="村委成员不同意（须说明理由）")
def reject_claim(request, claim_id: int, body: PointsReasonIn):
    services.claim_reject(acting_user=request.auth, claim=claim_id, reason=body.reason)
    return _claim_detail(request, claim_id)


@router.get("/claims/{int:claim_id}/evidence", summary="证明材料附件")
def claim_evidence(request, claim_id: int):
    claim = access_claim(request.auth, claim_id)
    if not claim.evidence_file:
        raise NotFound("该申报没有附件")
    response = FileResponse(claim.evidence_file.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- ledger and rankings ----------------------------------------------------------------------------


@router.get("/ledger", response=list[EntryOut], summary="积分台账")
@paginate(PageNumberCount)
def list_ledger(request, filters: Query[LedgerFilters]):
    full = shows_names(request.auth)
    return _ConvertingList(selectors.ledger_list(user=request.auth, **filters.dict()), lambda e: p.entry_dict(e, full))


@router.get("/ledger/export", summary="导出积分台账（Excel）")
def export_ledger(request, filters: Query[LedgerFilters]):
    buffer = io.BytesIO()
    result = ledger_export(acting_user=request.auth, output=buffer, filters=filters.dict())
    return _xlsx(buffer, result.filename)


@router.post("/ledger/{int:entry_id}/reverse", response={201: list[EntryOut]}, summary="冲正一条加分或扣分记录")
def reverse_entry(request, entry_id: int, body: PointsReasonIn):
    entries = services.entry_reverse(acting_user=request.auth, entry=entry_id, reason=body.reason)
    full = shows_names(request.auth)
    return Status(201, [p.entry_dict(access_entry(request.auth, e.pk), full) for e in entries])


@router.get("/rankings", response=RankingOut, summary="积分排名（月度/年度，村/镇/全市）")
def rankings(request, query: Query[RankingQuery]):
    r = selectors.ranking(user=request.auth, **query.dict())
    return {"region": {"code": r.region.code, "name": r.region.name}, "period": r.period, "label": r.label,
            "start": r.start, "end": r.end, "kind": r.kind, "items": [row.__dict__ for row in r.rows]}


@router.get("/rankings/regions", response=list[RegionTotalOut], summary="下级区域积分汇总")
def ranking_regions(request, query: Query[RankingQuery]):
    code = query.region or access_region(request.auth, _root(request)).code
    return [t.__dict__ for t in selectors.region_totals(user=request.auth, region=code, period=query.period,
                                                        year=query.year, month=query.month)]


def _root(request) -> str:
    from gridgov.accounts.policy import get_scope

    roots = get_scope(request.auth).root_codes
    return roots[0] if roots else ""


@router.get("/rankings/export", summary="导出积分排名（Excel）")
def export_rankings(request, query: Query[RankingQuery]):
    buffer = io.BytesIO()
    result = ranking_export(acting_user=request.auth, output=buffer, region=query.region, period=query.period,
                            year=query.year, month=query.month)
    return _xlsx(buffer, result.filename)


# --- shops and orders -------------------------------------------------------------------------------


@router.get("/shops", response=list[ShopOut], summary="积分超市（本村、本镇）")
@paginate(PageNumberCount)
def list_shops(request, filters: Query[ShopFilters]):
    return _ConvertingList(selectors.shop_list(user=request.auth, region=filters.region), p.shop_dict)


@router.post("/shops", response={201: ShopOut}, summary="开设积分超市")
def create_shop(request, body: ShopIn):
    shop = services.shop_create(acting_user=request.auth, **body.dict())
    return Status(201, p.shop_dict(access_shop(request.auth, shop.pk)))


def _shop_detail(request, shop_id: int) -> dict:
    shop = access_shop(request.auth, shop_id)
    return {**p.shop_dict(shop), "goods": [p.goods_dict(g) for g in selectors.goods_list(user=request.auth,
                                                                                         shop=shop)]}


@router.get("/shops/{int:shop_id}", response=ShopDetailOut, summary="积分超市及其物品")
def get_shop(request, shop_id: int):
    return _shop_detail(request, shop_id)


@router.post("/shops/{int:shop_id}/goods", response={201: GoodsOut}, summary="上架物品")
def create_goods(request, shop_id: int, body: GoodsIn):
    goods = services.goods_create(acting_user=request.auth, shop=shop_id, **body.dict())
    return Status(201, p.goods_dict(goods))


@router.patch("/goods/{int:goods_id}", response=GoodsOut, summary="修改物品（名称、积分、上下架）")
def patch_goods(request, goods_id: int, body: GoodsPatch):
    goods = services.goods_update(acting_user=request.auth, goods=goods_id, **body.dict())
    return p.goods_dict(goods)


@router.post("/goods/{int:goods_id}/stock", response=GoodsOut, summary="补货或盘点调整库存")
def restock_goods(request, goods_id: int, body: StockIn):
    goods = services.goods_restock(acting_user=request.auth, goods=goods_id, delta=body.delta, note=body.note)
    return p.goods_dict(goods)


@router.get("/goods/{int:goods_id}", response=GoodsOut, summary="物品详情")
def get_goods(request, goods_id: int):
    return p.goods_dict(access_goods(request.auth, goods_id))


@router.post("/orders", response={200: OrderOut, 201: OrderOut}, summary="积分兑换（支持 Idempotency-Key）")
def place_order(request, body: OrderIn):
    order = services.order_place(acting_user=request.auth, subject=body.subject, goods=body.goods,
                                 quantity=body.quantity, idempotency_key_value=_key(request, body.idempotency_key))
    return Status(_created(order), p.order_dict(access_order(request.auth, order.pk), shows_names(request.auth)))


@router.get("/orders", response=list[OrderOut], summary="兑换记录")
@paginate(PageNumberCount)
def list_orders(request, filters: Query[OrderFilters]):
    full = shows_names(request.auth)
    return _ConvertingList(selectors.order_list(user=request.auth, **filters.dict()), lambda o: p.order_dict(o, full))


@router.get("/orders/{int:order_id}", response=OrderOut, summary="兑换详情")
def get_order(request, order_id: int):
    return p.order_dict(access_order(request.auth, order_id), shows_names(request.auth))


@router.post("/orders/{int:order_id}/cancel", response=OrderOut, summary="撤销兑换（退回积分和库存）")
def cancel_order(request, order_id: int, body: PointsReasonIn):
    services.order_cancel(acting_user=request.auth, order=order_id, reason=body.reason)
    return p.order_dict(access_order(request.auth, order_id), shows_names(request.auth))


@router.post("/orders/{int:order_id}/fulfil", response=OrderOut, summary="登记已领取")
def fulfil_order(request, order_id: int):
    services.order_fulfil(acting_user=request.auth, order=order_id)
    return p.order_dict(access_order(request.auth, order_id), shows_names(request.auth))


# --- certificates -----------------------------------------------------------------------------------


@router.get("/certificates", response=list[CertificateOut], summary="积分证明")
@paginate(PageNumberCount)
def list_certificates(request, filters: Query[CertificateFilters]):
    full = shows_names(request.auth)
    return _ConvertingList(selectors.certificate_list(user=request.auth, subject=filters.subject),
                           lambda c: p.certificate_dict(c, full))


@router.post("/certificates", response={201: CertificateOut}, summary="出具积分证明")
def issue_certificate(request, body: CertificateIn):
    cert = services.certificate_issue(acting_user=request.auth, subject=body.subject, purpose=body.purpose)
    return Status(201, p.certificate_dict(access_certificate(request.auth, cert.pk), shows_names(request.auth)))


@router.get("/certificates/{int:certificate_id}/pdf", summary="积分证明 PDF")
def certificate_file(request, certificate_id: int):
    cert = access_certificate(request.auth, certificate_id)
    content, filename = certificate_pdf(cert, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, filename)
    return response


@router.post("/certificates/{int:certificate_id}/revoke", response=CertificateOut, summary="作废积分证明")
def revoke_certificate(request, certificate_id: int, body: PointsReasonIn):
    services.certificate_revoke(acting_user=request.auth, certificate=certificate_id, reason=body.reason)
    return p.certificate_dict(access_certificate(request.auth, certificate_id), shows_names(request.auth))


# --- public reads -----------------------------------------------------------------------------------


@router.get("/verify/{code}", response=VerificationOut, auth=None, summary="核验积分证明（公开，无需登录）")
def verify(request, code: str):
    return p.verification_dict(services.certificate_verify(code[:64]))


@router.get("/notice/{code}", response=PointsNoticeOut, auth=None, summary="村积分公示（公开，无需登录）")
def notice(request, code: str):
    board = selectors.notice_board(village_code=code)
    return {"village": {"code": board.village.code, "name": board.village.name, "town": board.town_name},
            "since": board.since, "items": [r.__dict__ | {"kind": r.kind_label} for r in board.rows],
            "top": [{"rank": rank, "name": name, "points": pts} for rank, name, pts in board.top]}

