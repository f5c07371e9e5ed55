"""/api/v1/dashboard: KPIs, children (map data), trends, department ranking, the grid workers'
monthly evaluation, the article report, and Excel/PDF files of each. Thin: parse, call a selector."""

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from ninja import Router

from gridgov.core.errors import ValidationFailed
from gridgov.core.pagination import MAX_PAGE_SIZE

from . import exports, selectors

router = Router(tags=["dashboard"])


def _period(start, end, month):
    return selectors.parse_period(start, end, month)


@router.get("/home", summary="当前用户驾驶舱的默认区域")
def home(request):
    selectors.access_node(request.auth, selectors.home_node(request.auth))
    return {"code": selectors.home_node(request.auth)}


@router.get("/nodes/{code}/kpis", summary="区域在期间内的全部指标")
def kpis(request, code: str, start: str | None = None, end: str | None = None, month: str | None = None):
    return selectors.node_kpis(user=request.auth, code=code, period=_period(start, end, month))


@router.get("/nodes/{code}/children", summary="下级区域的地图指标（供专题图着色与下钻）")
def children(request, code: str, start: str | None = None, end: str | None = None, month: str | None = None):
    period = _period(start, end, month)
    return {"kpis": [{"key": k, "name": n, "unit": u} for k, (n, u) in selectors.MAP_KPIS.items()],
            "items": selectors.children(user=request.auth, code=code, period=period)}


@router.get("/nodes/{code}/trend", summary="按日、周、月的趋势")
def trend(request, code: str, granularity: str = "day", start: str | None = None, end: str | None = None,
          month: str | None = None):
    return selectors.trend(user=request.auth, code=code, period=_period(start, end, month), granularity=granularity)


@router.get("/nodes/{code}/departments", summary="部门综合评价（按期结案率、退回）")
def departments(request, code: str, start: str | None = None, end: str | None = None, month: str | None = None):
    return selectors.department_ranking(user=request.auth, code=code, period=_period(start, end, month))


@router.get("/nodes/{code}/workers", summary="网格员月度考核（分页）")
def workers(request, code: str, month: str | None = None, page: int = 1, page_size: int = 50):
    period = _period(None, None, month)
    rows = selectors.worker_evaluation(user=request.auth, code=code, month=period.start)
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"页码从 1 开始，每页 1-{MAX_PAGE_SIZE} 条", code="invalid_page")
    offset = (page - 1) * page_size
    return {"count": len(rows), "items": rows[offset:offset + page_size]}


@router.get("/nodes/{code}/report", summary="成效报告（文章中的各项数字及口径）")
def report(request, code: str, since: str | None = None, until: str | None = None):
    period = _period(since or "2021-01-01", until, None)
    return selectors.article_report(user=request.auth, code=code, since=period.start, until=period.end)


@router.get("/nodes/{code}/export/{table}.xlsx", summary="导出表格（Excel）")
def export(request, code: str, table: str, start: str | None = None, end: str | None = None,
           month: str | None = None):
    if table == "report" and not start:
        start = "2021-01-01"
    content, filename = exports.export_xlsx(acting_user=request.auth, name=table, code=code,
                                            period=_period(start, end, month))
    response = HttpResponse(content, content_type=exports.XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@router.get("/nodes/{code}/monthly.pdf", summary="月报（PDF，可打印）")
def monthly_pdf(request, code: str, month: str | None = None):
    period = _period(None, None, month)
    content, filename = exports.monthly_pdf(acting_user=request.auth, code=code, month=period.start)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, filename)
    return response
