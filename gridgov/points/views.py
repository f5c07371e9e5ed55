"""Pages of the points scheme. Thin: parse a form, call a selector or service, render.

Missing and out-of-scope rows are a 404 page, a missing permission the 403 page; service errors
come back onto the form or as a message. The notice board (公示) and the certificate check are
public: no login, and they show only what the scheme publishes.
"""

import functools
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from gridgov.accounts.policy import can, get_scope, require
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied
from gridgov.people.presenters import display_name, shows_names
from gridgov.regions.choices import RegionLevel
from gridgov.regions.models import Region

from . import presenters, selectors, services
from .access import (
    access_certificate,
    access_claim,
    access_entry,
    access_goods,
    access_shop,
    access_subject,
)
from .choices import ClaimStatus, OrderStatus, SubjectKind
from .documents import certificate_pdf
from .export import XLSX, ledger_export, ranking_export
from .forms import (
    CertificateForm,
    ClaimFilterForm,
    ClaimForm,
    GoodsForm,
    LedgerFilterForm,
    NoteForm,
    RankingForm,
    ReasonForm,
    RedeemForm,
    ShopForm,
    StockForm,
    VerifyForm,
)
from .models import Goods

PAGE_SIZE = 25


def page(view):
    """Login required; missing or out of scope → 404 page; a role without the permission → 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except PermissionDenied:
            return render(request, "core/forbidden.html", status=403)

    return login_required(wrapped)


def public(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapped


def _paginate(request, qs, size: int = PAGE_SIZE):
    pg = Paginator(qs, size).get_page(request.GET.get("page"))
    return pg, pg.paginator.get_elided_page_range(pg.number, on_each_side=2, on_ends=1)


def _root(user) -> str | None:
    roots = get_scope(user).root_codes
    return roots[0] if roots else None


def _fail(request, exc: ApplicationError, form=None) -> None:
    if form is not None:
        field = (exc.extra or {}).get("field")
        form.add_error(field if field in form.fields else None, exc.message)
    else:
        messages.error(request, exc.message)


def _perms(user) -> dict:
    names = ("claim", "verify", "correct", "redeem", "certificate", "export", "shop.manage", "subject.open",
             "scheme.manage")
    return {n.replace(".", "_"): can(user, f"points.{n}") for n in names}


# --- overview and catalogue ---------------------------------------------------------------------------


@page
def index(request):
    """Where the day's points work starts: claims waiting for me, the latest claims, this month's leaders."""
    user = request.user
    require(user, "points.view")
    root = _root(user)
    awaiting = list(selectors.claim_list(user=user, awaiting_me=True)[:20]) if can(user, "points.verify") else []
    recent = list(selectors.claim_list(user=user)[:10])
    ranking = selectors.ranking(user=user, region=root, limit=10) if root else None
    totals = selectors.region_totals(user=user, region=root) if root else []
    full = shows_names(user)
    for c in awaiting + recent:
        c.display_subject = display_name(c.subject.name, full=full)
    scheme = services.scheme_for(root) if root else None
    return render(request, "points/index.html", {
        "awaiting": awaiting, "recent": recent, "ranking": ranking, "totals": totals[:15], "scheme": scheme,
        "perms": _perms(user), "root": root,
        "notice_code": root[:12] if root and len(root) >= 12 else None,
    })


@page
def item_list(request):
    category = request.GET.get("category") or None
    items = selectors.item_list(user=request.user, category=category)
    return render(request, "points/items.html", {"items": items, "category": category,
                                                 "count": len(items)})


# --- subjects -------------------------------------------------------------------------------------------


@page
def subject_list(request):
    """Accounts by name, and registry people without an account yet (开户 and 录入 in one step)."""
    q = (request.GET.get("q") or "").strip()[:50]
    kind = request.GET.get("kind") if request.GET.get("kind") in SubjectKind.values else None
    qs = selectors.subject_list(user=request.user, q=q or None, kind=kind)
    pg, page_range = _paginate(request, qs)
    full = shows_names(request.user)
    for s in pg.object_list:
        s.display_name = display_name(s.name, full=full)
    candidates = [c for c in selectors.registry_candidates(user=request.user, q=q) if c.subject_id is None] if q else []
    for c in candidates:
        c.display_name = display_name(c.name, full=full)
    return render(request, "points/subjects.html", {
        "page": pg, "page_range": page_range, "q": q, "kind": kind, "kinds": SubjectKind.choices,
        "candidates": candidates, "perms": _perms(request.user),
    })


@page
@require_POST
def subject_open(request):
    target = request.POST.get("target")
    kwargs = {target: request.POST.get("target_id")} if target in ("resident", "household", "organisation",
                                                                   "user") else {}
    try:
        subject = services.subject_open(acting_user=request.user, kind=request.POST.get("kind", ""), **kwargs)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("points:subject_list")
    if request.POST.get("next") == "claim" and can(request.user, "points.claim"):
        return redirect("points:claim_new", subject_id=subject.pk)
    return redirect("points:subject_detail", pk=subject.pk)


@page
def subject_detail(request, pk: int):
    user = request.user
    subject = access_subject(user, pk)
    entries, page_range = _paginate(request, selectors.ledger_list(user=user, subject=subject.pk), 20)
    claims = list(selectors.claim_list(user=user, subject=subject.pk)[:10])
    orders = list(selectors.order_list(user=user, subject=subject.pk)[:10])
    certificates = list(selectors.certificate_list(user=user, subject=subject.pk)[:10])
    goods = []
    if can(user, "points.redeem"):
        shops = selectors.shop_list(user=user, region=subject.region_id).filter(is_active=True)
        goods = [g for g in Goods.objects.filter(shop__in=shops, is_active=True).select_related("shop")
                 .order_by("shop__region_id", "cost") if subject.region_id.startswith(g.shop.region_id)]
    return render(request, "points/subject_detail.html", {
        "subject": subject, "display_name": display_name(subject.name, full=shows_names(user)),
        "page": entries, "page_range": page_range, "claims": claims, "orders": orders,
        "certificates": [(c, services.code_of(c)) for c in certificates], "perms": _perms(user),
        "redeem_form": RedeemForm(goods=goods), "certificate_form": CertificateForm(), "has_goods": bool(goods),
    })


@page
@require_POST
def subject_redeem(request, pk: int):
    subject = access_subject(request.user, pk, permission="points.redeem")
    goods_ids = request.POST.get("goods")
    form = RedeemForm(request.POST, goods=Goods.objects.filter(pk=goods_ids).select_related("shop")
                      if (goods_ids or "").isdigit() else [])
    if not form.is_valid():
        messages.error(request, "请选择物品和数量")
        return redirect("points:subject_detail", pk=subject.pk)
    try:
        order = services.order_place(acting_user=request.user, subject=subject.pk, goods=form.cleaned_data["goods"],
                                     quantity=form.cleaned_data["quantity"],
                                     idempotency_key_value=form.cleaned_data.get("idempotency_key") or None)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if not getattr(order, "replayed", False):
            messages.success(request, f"已兑换 {order.goods.name}×{order.quantity}，扣减 {order.total_cost} 分。")
    return redirect("points:subject_detail", pk=subject.pk)


@page
@require_POST
def subject_certificate(request, pk: int):
    subject = access_subject(request.user, pk, permission="points.certificate")
    form = CertificateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择证明用途")
        return redirect("points:subject_detail", pk=subject.pk)
    cert = services.certificate_issue(acting_user=request.user, subject=subject.pk,
                                      purpose=form.cleaned_data["purpose"])
    messages.success(request, f"已出具积分证明，编号 {services.code_of(cert)}。")
    return redirect("points:subject_detail", pk=subject.pk)


# --- claims ---------------------------------------------------------------------------------------------


@page
def claim_list(request):
    form = ClaimFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v not in (None, "", False)}
    pg, page_range = _paginate(request, selectors.claim_list(user=request.user, **filters))
    full = shows_names(request.user)
    for c in pg.object_list:
        c.display_subject = display_name(c.subject.name, full=full)
    return render(request, "points/claims.html", {"form": form, "page": pg, "page_range": page_range,
                                                  "perms": _perms(request.user)})


@page
def claim_new(request, subject_id: int):
    subject = access_subject(request.user, subject_id, permission="points.claim")
    items = selectors.item_list(user=request.user, kind=subject.kind)
    form = ClaimForm(request.POST or None, request.FILES or None, items=items)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            claim = services.claim_submit(
                acting_user=request.user, subject=subject.pk, item=data["item"], points=data.get("points"),
                occurred_on=data["occurred_on"], description=data["description"],
                public_reason=data.get("public_reason") or "", channel=data["channel"], source=data["source"],
                reporter_name=data.get("reporter_name") or "", evidence=data.get("evidence") or "",
                evidence_file=data.get("evidence_file"), idempotency_key_value=data.get("idempotency_key") or None,
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            _fail(request, exc, form)
        else:
            note = "，须村委集体审议" if claim.needs_collective else "，待村干部核实"
            messages.success(request,
                             f"已录入申报 #{claim.pk}（{claim.item.name} {claim.signed_points:+d} 分）{note}。")
            return redirect("points:claim_detail", pk=claim.pk)
    return render(request, "points/claim_form.html", {
        "subject": subject, "display_name": display_name(subject.name, full=shows_names(request.user)),
        "form": form, "items": items, "scheme": services.scheme_for(subject.region_id),
    }, status=400 if form.is_bound and form.errors else 200)


@page
def claim_detail(request, pk: int):
    claim = access_claim(request.user, pk)
    detail = selectors.claim_detail(user=request.user, claim=claim)
    return render(request, "points/claim_detail.html", {
        "d": detail, "claim": claim, "display_name": display_name(claim.subject.name,
                                                                  full=shows_names(request.user)),
        "note_form": NoteForm(), "reason_form": ReasonForm(), "perms": _perms(request.user),
        "can_reverse": can(request.user, "points.correct") and claim.status == ClaimStatus.POSTED,
        "posted_entry": next((e for e in detail.entries if e.kind in ("award", "deduction")), None),
    })


@page
@require_POST
def claim_approve(request, pk: int):
    form = NoteForm(request.POST)
    note = form.cleaned_data.get("note", "") if form.is_valid() else ""
    try:
        claim = services.claim_approve(acting_user=request.user, claim=pk, note=note)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if claim.status == ClaimStatus.POSTED:
            messages.success(request, f"已同意，{claim.signed_points:+d} 分已入账。")
        elif not getattr(claim, "replayed", False):
            messages.success(request, "已记录您的同意意见，等待其他村委成员审议。")
    return redirect("points:claim_detail", pk=pk)


@page
@require_POST
def claim_reject(request, pk: int):
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写不同意的理由")
        return redirect("points:claim_detail", pk=pk)
    try:
        claim = services.claim_reject(acting_user=request.user, claim=pk, reason=form.cleaned_data["reason"])
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "申报已驳回。" if claim.status == ClaimStatus.REJECTED else "已记录您的不同意意见。")
    return redirect("points:claim_detail", pk=pk)


@page
def claim_evidence(request, pk: int):
    claim = access_claim(request.user, pk)
    if not claim.evidence_file:
        raise NotFound()
    response = FileResponse(claim.evidence_file.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- ledger and rankings --------------------------------------------------------------------------------


@page
def ledger(request):
    form = LedgerFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound and form.is_valid() else {}
    try:
        qs = selectors.ledger_list(user=request.user, **filters)
    except (NotFound, PermissionDenied):
        raise  # the page decorator answers 404 / 403; only a bad filter belongs on the form
    except ApplicationError as exc:
        _fail(request, exc, form)
        qs = selectors.ledger_list(user=request.user).none()
    if request.GET.get("export") and can(request.user, "points.export"):
        buffer = io.BytesIO()
        result = ledger_export(acting_user=request.user, output=buffer, filters=filters)
        return _xlsx(buffer, result.filename)
    pg, page_range = _paginate(request, qs)
    full = shows_names(request.user)
    for e in pg.object_list:
        e.display_subject = display_name(e.subject.name, full=full)
    return render(request, "points/ledger.html", {"form": form, "page": pg, "page_range": page_range,
                                                  "perms": _perms(request.user)})


def _xlsx(buffer, filename: str) -> HttpResponse:
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@page
@require_POST
def entry_reverse(request, pk: int):
    entry = access_entry(request.user, pk, permission="points.correct")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写冲正原因")
    else:
        try:
            services.entry_reverse(acting_user=request.user, entry=entry.pk, reason=form.cleaned_data["reason"])
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "已冲正。")
    if entry.claim_id:
        return redirect("points:claim_detail", pk=entry.claim_id)
    return redirect("points:subject_detail", pk=entry.subject_id)


@page
def rankings(request):
    form = RankingForm(request.GET or None)
    params = {}
    if form.is_bound and form.is_valid():
        params = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    region = params.get("region") or _root(request.user)
    period = params.get("period") or "month"
    try:
        if request.GET.get("export") and can(request.user, "points.export"):
            buffer = io.BytesIO()
            result = ranking_export(acting_user=request.user, output=buffer, region=region, period=period,
                                    year=params.get("year"), month=params.get("month"))
            return _xlsx(buffer, result.filename)
        ranking = selectors.ranking(user=request.user, region=region, period=period, year=params.get("year"),
                                    month=params.get("month"), kind=params.get("kind") or SubjectKind.RESIDENT)
        totals = selectors.region_totals(user=request.user, region=ranking.region.code, period=period,
                                         year=params.get("year"), month=params.get("month"))
    except (NotFound, PermissionDenied):
        raise  # the page decorator answers 404 / 403; only a bad filter belongs on the form
    except ApplicationError as exc:
        _fail(request, exc, form)
        return render(request, "points/rankings.html", {"form": form, "ranking": None, "totals": []}, status=400)
    return render(request, "points/rankings.html", {
        "form": form, "ranking": ranking, "totals": totals, "perms": _perms(request.user),
        "crumbs": _crumbs(request.user, ranking.region.code),
    })


def _crumbs(user, code: str) -> list[dict]:
    chain = [code[:n] for n in (6, 9, 12, 15) if len(code) >= n]
    names = dict(Region.objects.filter(code__in=chain).values_list("code", "name"))
    scope = get_scope(user)
    return [{"code": c, "name": names.get(c, c), "link": scope.covers(c)} for c in chain]


# --- shops and orders -----------------------------------------------------------------------------------


@page
def shop_list(request):
    user = request.user
    shops = list(selectors.shop_list(user=user))
    form = None
    if can(user, "points.shop.manage"):
        root = _root(user)
        regions = []
        if root:
            regions = list(Region.objects.filter(code__startswith=root, level__in=[RegionLevel.TOWN,
                                                                                   RegionLevel.VILLAGE])
                           .only("code", "name").order_by("code")[:400])
        form = ShopForm(request.POST or None, regions=regions)
        if request.method == "POST" and form.is_valid():
            try:
                shop = services.shop_create(acting_user=user, **form.cleaned_data)
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as exc:
                _fail(request, exc, form)
            else:
                return redirect("points:shop_detail", pk=shop.pk)
    elif request.method == "POST":
        raise PermissionDenied()
    return render(request, "points/shops.html", {"shops": shops, "form": form, "perms": _perms(user)})


@page
def shop_detail(request, pk: int):
    user = request.user
    shop = access_shop(user, pk)
    manage = can(user, "points.shop.manage") and get_scope(user).covers(shop.region_id)
    goods_form = GoodsForm(request.POST or None) if manage else None
    if request.method == "POST":
        if not manage:
            raise PermissionDenied()
        if goods_form.is_valid():
            try:
                services.goods_create(acting_user=user, shop=shop.pk, **goods_form.cleaned_data)
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as exc:
                _fail(request, exc, goods_form)
            else:
                messages.success(request, "物品已上架。")
                return redirect("points:shop_detail", pk=shop.pk)
    goods = selectors.goods_list(user=user, shop=shop, include_inactive=manage)
    orders = list(selectors.order_list(user=user, shop=shop.pk)[:30])
    full = shows_names(user)
    for o in orders:
        o.display_subject = display_name(o.subject.name, full=full)
    return render(request, "points/shop_detail.html", {
        "shop": shop, "goods": goods, "orders": orders, "manage": manage, "goods_form": goods_form,
        "stock_form": StockForm(), "perms": _perms(user),
    })


@page
@require_POST
def goods_stock(request, pk: int):
    form = StockForm(request.POST)
    goods = access_goods(request.user, pk, permission="points.shop.manage")
    if form.is_valid():
        try:
            services.goods_restock(acting_user=request.user, goods=goods.pk, delta=form.cleaned_data["delta"],
                                   note=form.cleaned_data.get("note") or "")
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "库存已更新。")
    else:
        messages.error(request, "请填写数量变化")
    return redirect("points:shop_detail", pk=goods.shop_id)


@page
def order_list(request):
    status = request.GET.get("status") if request.GET.get("status") in OrderStatus.values else None
    pg, page_range = _paginate(request, selectors.order_list(user=request.user, status=status))
    full = shows_names(request.user)
    for o in pg.object_list:
        o.display_subject = display_name(o.subject.name, full=full)
    return render(request, "points/orders.html", {"page": pg, "page_range": page_range, "status": status,
                                                  "statuses": OrderStatus.choices, "perms": _perms(request.user),
                                                  "reason_form": ReasonForm()})


@page
@require_POST
def order_action(request, pk: int, action: str):
    try:
        if action == "cancel":
            form = ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, "请填写撤销原因")
                return redirect("points:order_list")
            services.order_cancel(acting_user=request.user, order=pk, reason=form.cleaned_data["reason"])
            messages.success(request, "已撤销，积分和库存已退回。")
        elif action == "fulfil":
            services.order_fulfil(acting_user=request.user, order=pk)
            messages.success(request, "已登记领取。")
        else:
            raise NotFound()
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(request.POST.get("next") if (request.POST.get("next") or "").startswith("/points/")
                    else reverse("points:order_list"))


# --- certificates ---------------------------------------------------------------------------------------


@page
def certificate_pdf_view(request, pk: int):
    cert = access_certificate(request.user, pk)
    content, filename = certificate_pdf(cert, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, filename)
    return response


@public
@require_GET
def verify(request, code: str | None = None):
    """核验积分证明: anyone, no login. The form, or the result for a code (from the QR)."""
    if code is None and request.GET.get("code"):
        return redirect("points:verify_code", code=request.GET["code"].strip()[:40] or "-")
    result = presenters.verification_dict(services.certificate_verify(code)) if code else None
    return render(request, "points/verify.html", {"form": VerifyForm(initial={"code": code or ""}),
                                                  "code": code, "result": result},
                  status=200 if result is None or result["status"] != "invalid" else 404)


# --- public notice board --------------------------------------------------------------------------------


@public
@require_GET
def notice_index(request):
    return render(request, "points/notice_index.html", {"towns": selectors.notice_index()})


@public
@require_GET
def notice_board(request, code: str):
    board = selectors.notice_board(village_code=code)
    return render(request, "points/notice_board.html", {"board": board})

