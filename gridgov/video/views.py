"""Pages of 雪亮工程: the camera map, registry, player, grants, view log and footage reviews.
Thin: parse, call a selector or service, render. No page ever shows a stream source."""

import functools
import io
from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.accounts.policy import can, get_scope
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed

from . import excel, selectors, services
from .access import access_camera, watch_grant
from .choices import CameraKind, CameraStatus, MaintenanceKind, ReviewOutcome

PAGE_SIZE = 25
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GRANTABLE_ROLES = [(r.value, r.label) for r in (Role.TOWN_OPERATOR, Role.CITY_OPERATOR, Role.GRID_ADMIN)]


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


def _paginate(request, qs):
    pg = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return pg, pg.paginator.get_elided_page_range(pg.number, on_each_side=2, on_ends=1)


def _perms(user) -> dict:
    names = ("view", "watch", "manage", "maintain", "grant", "log.view", "review", "export")
    return {n.replace(".", "_"): can(user, f"video.{n}") for n in names}


def _datetime(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise ValidationFailed("时间格式不正确", {"field": field}) from None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _date(value: str, field: str) -> date | None:
    if not (value or "").strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed("日期格式应为 2026-01-31", {"field": field}) from None


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# --- map and registry ----------------------------------------------------------------------------------

@page
def index(request):
    """The camera layer on the region map, the status counts and the grants that hold for me."""
    user = request.user
    if not can(user, "video.view"):
        raise PermissionDenied()
    roots = get_scope(user).root_codes
    return render(request, "video/index.html", {
        "counts": selectors.camera_status_counts(user=user), "grants": selectors.my_grants(user=user),
        "root": roots[0] if roots else "", "perms": _perms(user), "statuses": CameraStatus.choices,
    })


@page
def camera_list(request):
    f = {k: request.GET.get(k, "").strip() for k in ("q", "region", "status", "kind")}
    if f["status"] not in CameraStatus.values:
        f["status"] = ""
    if f["kind"] not in CameraKind.values:
        f["kind"] = ""
    qs = selectors.camera_list(user=request.user, **f)
    pg, page_range = _paginate(request, qs)
    return render(request, "video/camera_list.html", {
        "page": pg, "page_range": page_range, "f": f, "statuses": CameraStatus.choices, "kinds": CameraKind.choices,
        "perms": _perms(request.user), "query": request.GET.urlencode(),
    })


@page
def camera_export(request):
    f = {k: request.GET.get(k, "").strip() for k in ("q", "region", "status", "kind")}
    f = {k: v for k, v in f.items() if v}
    buffer = io.BytesIO()
    excel.camera_export(acting_user=request.user, output=buffer, **f)
    return _xlsx(buffer.getvalue(), f"摄像机清单-{timezone.localdate():%Y%m%d}.xlsx")


@page
def import_template(request):
    if not can(request.user, "video.manage"):
        raise PermissionDenied()
    return _xlsx(excel.import_template(), "摄像机导入模板.xlsx")


@page
def camera_import(request):
    if not can(request.user, "video.manage"):
        raise PermissionDenied()
    report, error = None, ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "请选择要导入的 Excel 文件"
        elif upload.size > 10 * 1024 * 1024:
            error = "文件不能超过 10 MB"
        else:
            try:
                report = excel.camera_import(acting_user=request.user, data=upload.read(), file_name=upload.name,
                                             dry_run=bool(request.POST.get("dry_run")))
            except excel.ImportFileError as exc:
                error = exc.message
        if report is not None and report.ok and not request.POST.get("dry_run"):
            messages.success(request, f"已导入 {report.created} 台摄像机")
            return redirect("video:camera_list")
    return render(request, "video/camera_import.html", {"report": report, "error": error,
                                                        "columns": excel.COLUMNS, "required": excel.REQUIRED})


@page
def camera_detail(request, pk: int):
    camera = access_camera(request.user, pk)
    user = request.user
    views = selectors.view_log(user=user, camera=camera.code)[:10] if (
        can(user, "video.log.view") or can(user, "video.watch")) else []
    return render(request, "video/camera_detail.html", {
        "camera": camera, "maintenance": selectors.maintenance_for(camera), "views": views,
        "reviews": selectors.review_list(user=user, camera=camera.code)[:10],
        "watchable": watch_grant(user, camera) is not None, "perms": _perms(user),
        "maintenance_kinds": MaintenanceKind.choices, "today": timezone.localdate(),
    })


@page
@require_POST
def maintenance_add(request, pk: int):
    try:
        services.maintenance_record(acting_user=request.user, camera_id=pk, kind=request.POST.get("kind", ""),
                                    performed_on=_date(request.POST.get("performed_on", ""), "performed_on")
                                    or timezone.localdate(),
                                    note=request.POST.get("note", ""),
                                    status_after=request.POST.get("status_after", ""))
        messages.success(request, "维护记录已保存")
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    return redirect("video:camera_detail", pk=pk)


# --- watching ------------------------------------------------------------------------------------------

@page
def camera_watch(request, pk: int):
    """GET: the purpose form. POST: a token for this user and camera, and the player."""
    if not can(request.user, "video.watch"):
        raise PermissionDenied()
    camera = access_camera(request.user, pk)
    grant = watch_grant(request.user, camera)
    error, ticket = "", None
    if request.method == "POST":
        try:
            ticket = services.view_start(acting_user=request.user, camera_id=pk,
                                         purpose=request.POST.get("purpose", ""),
                                         case_number=request.POST.get("case_number", ""))
        except ValidationFailed as exc:
            error = exc.message
    response = render(request, "video/watch.html", {
        "camera": camera, "grant": grant, "ticket": ticket, "error": error, "form": request.POST,
    }, status=403 if grant is None else 200)
    response["Cache-Control"] = "no-store"  # the page carries the viewer's token
    return response


@page
@require_POST
def view_stop(request, pk: int):
    services.view_stop(acting_user=request.user, view_id=pk)
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect("video:view_log")


@page
def view_log(request):
    f = {k: request.GET.get(k, "").strip() for k in ("camera", "username", "case_number", "since", "until")}
    try:
        since, until = _date(f["since"], "since"), _date(f["until"], "until")
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        since = until = None
    qs = selectors.view_log(user=request.user, camera=f["camera"], username=f["username"],
                            case_number=f["case_number"], since=since, until=until,
                            open_only=bool(request.GET.get("open_only")))
    pg, page_range = _paginate(request, qs)
    return render(request, "video/view_log.html", {"page": pg, "page_range": page_range, "f": f,
                                                   "open_only": bool(request.GET.get("open_only")),
                                                   "perms": _perms(request.user)})


# --- grants --------------------------------------------------------------------------------------------

@page
def grant_list(request):
    state = request.GET.get("state", "")
    if state not in ("", "active", "pending", "expired", "revoked"):
        state = ""
    qs = selectors.grant_list(user=request.user, state=state, q=request.GET.get("q", "").strip())
    pg, page_range = _paginate(request, qs)
    return render(request, "video/grant_list.html", {"page": pg, "page_range": page_range, "state": state,
                                                     "q": request.GET.get("q", ""), "now": timezone.now(),
                                                     "perms": _perms(request.user)})


@page
def grant_new(request):
    if not can(request.user, "video.grant"):
        raise PermissionDenied()
    error = ""
    if request.method == "POST":
        p = request.POST
        try:
            kind = p.get("grantee_kind", "department")
            grant = services.grant_create(
                acting_user=request.user, purpose=p.get("purpose", ""),
                valid_from=_datetime(p.get("valid_from") or timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                                     "valid_from"),
                valid_until=_datetime(p.get("valid_until", ""), "valid_until"),
                grantee_department_code=p.get("grantee_department", "") if kind == "department" else "",
                grantee_role=p.get("grantee_role", "") if kind == "role" else "",
                grantee_region_code=p.get("grantee_region", "").strip() if kind == "role" else "",
                scope_region_code=p.get("scope_region", "").strip() if p.get("scope_kind") != "cameras" else "",
                camera_codes=p.get("camera_codes", "").replace("，", ",").replace("\n", ",").split(",")
                if p.get("scope_kind") == "cameras" else None)
            messages.success(request, f"已授权 {grant.grantee_label()}")
            return redirect("video:grant_list")
        except ValidationFailed as exc:
            error = exc.message
    return render(request, "video/grant_form.html", {
        "error": error, "form": request.POST, "roles": GRANTABLE_ROLES,
        "departments": Department.objects.filter(is_active=True).order_by("code"),
    })


@page
@require_POST
def grant_revoke(request, pk: int):
    try:
        services.grant_revoke(acting_user=request.user, grant_id=pk, reason=request.POST.get("reason", ""))
        messages.success(request, "授权已撤销，其下正在进行的查看已结束")
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    return redirect("video:grant_list")


# --- footage reviews -----------------------------------------------------------------------------------

@page
def review_list(request):
    f = {k: request.GET.get(k, "").strip() for k in ("case_number", "camera", "outcome")}
    if f["outcome"] not in ReviewOutcome.values:
        f["outcome"] = ""
    qs = selectors.review_list(user=request.user, **f)
    pg, page_range = _paginate(request, qs)
    return render(request, "video/review_list.html", {
        "page": pg, "page_range": page_range, "f": f, "outcomes": ReviewOutcome.choices,
        "stats": selectors.review_stats(user=request.user), "perms": _perms(request.user),
    })


@page
def review_new(request):
    if not can(request.user, "video.review"):
        raise PermissionDenied()
    error = ""
    initial = {"camera": request.GET.get("camera", ""), "case_number": request.GET.get("case", "")}
    if request.method == "POST":
        p = request.POST
        try:
            code = p.get("camera", "").strip()
            camera = selectors.camera_list(user=request.user).filter(code=code).first()
            if camera is None:
                raise ValidationFailed(f"摄像机“{code}”不存在或无权查看", {"field": "camera"})
            services.review_record(acting_user=request.user, camera_id=camera.pk,
                                   case_number=p.get("case_number", ""),
                                   footage_from=_datetime(p.get("footage_from", ""), "footage_from"),
                                   footage_to=_datetime(p.get("footage_to", ""), "footage_to"),
                                   outcome=p.get("outcome", ""), finding=p.get("finding", ""))
            messages.success(request, "录像查看已记录，并写入案件流转记录")
            return redirect("video:review_list")
        except ValidationFailed as exc:
            error = exc.message
            initial = p
    return render(request, "video/review_form.html", {"error": error, "form": initial,
                                                      "outcomes": ReviewOutcome.choices})
