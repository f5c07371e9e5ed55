"""Pages of the Excel import: upload, progress (polled), template and report downloads.

Thin: permission and scope are decided by the policy and the importing services; a user sees
only the jobs they started (someone else's job is a 404, as a missing one).
"""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from gridgov.accounts.policy import can
from gridgov.core.errors import ApplicationError, NotFound

from .importing import columns as cols
from .importing import jobs
from .template_xlsx import build_template, grids_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _forbidden(request):
    return render(request, "core/forbidden.html", status=403)


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    """GET: the upload form and the user's recent imports. POST: start an import, go to its page."""
    if not can(request.user, "people.import"):
        return _forbidden(request)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "请选择要上传的 Excel 文件"
        else:
            try:
                job = jobs.import_job_start(acting_user=request.user, upload=upload,
                                            dry_run=request.POST.get("dry_run") == "1")
            except ApplicationError as exc:
                error = exc.message
            else:
                return redirect("people_import:job", job_id=job.pk)
    return render(request, "people/import_upload.html", {
        "error": error, "jobs": jobs.import_job_list(user=request.user), "columns": cols.COLUMNS,
    }, status=400 if error else 200)


@login_required
def import_job(request, job_id: int):
    if not can(request.user, "people.import"):
        return _forbidden(request)
    try:
        job = jobs.import_job_get(user=request.user, job_id=job_id)
    except NotFound:
        raise Http404 from None
    return render(request, "people/import_job.html", {
        "job": job, "status": _status(job),
        "status_url": reverse("people_import:status", kwargs={"job_id": job.pk}),
    })


@login_required
def import_job_status(request, job_id: int):
    """JSON for the progress poller."""
    if not can(request.user, "people.import"):
        return JsonResponse({"code": "permission_denied", "message": "没有执行此操作的权限"}, status=403)
    try:
        job = jobs.import_job_get(user=request.user, job_id=job_id)
    except NotFound:
        return JsonResponse({"code": "not_found", "message": "对象不存在或无权访问"}, status=404)
    response = JsonResponse(_status(job))
    response["Cache-Control"] = "no-store"
    return response


def _status(job) -> dict:
    report = jobs.report_path(job) is not None
    return {
        "id": job.pk, "status": job.status, "status_label": job.get_status_display(), "finished": job.is_finished,
        "processed": job.processed_rows, "total": job.total_rows, "percent": job.percent, "dry_run": job.dry_run,
        "created": job.created, "updated": job.updated, "unchanged": job.unchanged, "rejected": job.rejected,
        "households_created": job.households_created, "message": job.message, "errors": job.sample_errors,
        "report_url": reverse("people_import:report", kwargs={"job_id": job.pk}) if report else "",
    }


@login_required
def import_job_report(request, job_id: int):
    if not can(request.user, "people.import"):
        return _forbidden(request)
    try:
        job = jobs.import_job_get(user=request.user, job_id=job_id)
    except NotFound:
        raise Http404 from None
    path = jobs.report_path(job)
    if path is None:
        raise Http404
    stem = job.file_name.rsplit(".", 1)[0]
    response = FileResponse(open(path, "rb"), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, f"导入结果-{stem}.xlsx")
    response["Cache-Control"] = "no-store"
    return response


@login_required
def import_template(request):
    """The template, with the grids the user may import into."""
    if not can(request.user, "people.import"):
        return _forbidden(request)
    response = HttpResponse(build_template(grids_for(request.user)), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, "实有人口导入模板.xlsx")
    return response
