"""Imports started from the web page: an ImportJob row, the upload on disk, a background thread.

The request saves the upload and answers at once; a thread of the web process runs the import
and writes its progress to the job row, which the page polls. Uploads hold plain ID numbers, so
they live under MEDIA_ROOT/imports/<job>/ with owner-only permissions and are deleted when the
run ends; the report keeps names and masked ID numbers only.

If the process dies mid-run (a restart), the job's heartbeat stops and the status page calls it
failed after STALE_AFTER; the rows of the batches committed before stay imported, and uploading
the same file again completes the rest (the import is idempotent).
"""

import logging
import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.errors import ApplicationError, NotFound, ValidationFailed

from .models import ImportJob, ImportJobSource, ImportJobStatus
from .reader import WorkbookError
from .service import residents_import

logger = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
MAX_UPLOAD_BYTES = 300 * 1024 * 1024
STALE_AFTER = timedelta(minutes=5)
SAMPLE_ERRORS = 20
PROGRESS_EVERY_SECONDS = 1.0


def job_dir(job: ImportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / str(job.pk)


def report_path(job: ImportJob) -> Path | None:
    if not job.report_name:
        return None
    path = Path(settings.MEDIA_ROOT) / job.report_name
    return path if path.exists() else None


def import_job_start(*, acting_user, upload, dry_run: bool = False) -> ImportJob:
    """Saves the upload and starts the import in the background (after the transaction commits).

    Refuses without people.import, a file that is not a spreadsheet by name or too large, and a
    second import while the user's previous one is still running.
    """
    require(acting_user, "people.import")
    name = os.path.basename(getattr(upload, "name", "") or "upload.xlsx")[:200]
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise ValidationFailed("请上传 Excel 文件（.xlsx）", extra={"errors": {"file": "请上传 Excel 文件（.xlsx）"}},
                               code="bad_file_type")
    if getattr(upload, "size", 0) > MAX_UPLOAD_BYTES:
        raise ValidationFailed("文件超过 300 MB，请拆分后上传", code="file_too_large")
    running = ImportJob.objects.filter(created_by=acting_user,
                                       status__in=[ImportJobStatus.PENDING, ImportJobStatus.RUNNING])
    for job in running:
        mark_if_stale(job)
        if not job.is_finished:
            raise ApplicationError("import_running", "您有一个导入任务正在进行，请等它完成后再上传", status=409)
    with transaction.atomic():
        job = ImportJob.objects.create(created_by=acting_user, source=ImportJobSource.WEB, file_name=name,
                                       dry_run=dry_run)
        directory = job_dir(job)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        suffix = Path(name).suffix.lower()
        target = directory / f"upload{suffix}"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        job.upload_name = str(target.relative_to(settings.MEDIA_ROOT))
        job.save(update_fields=["upload_name"])
        transaction.on_commit(lambda: launch(job.pk))
    return job


def launch(job_id: int) -> None:
    if getattr(settings, "PEOPLE_IMPORT_INLINE", False):
        run_job(job_id)
        return
    threading.Thread(target=_thread_main, args=(job_id,), name=f"people-import-{job_id}", daemon=True).start()


def _thread_main(job_id: int) -> None:
    close_old_connections()
    try:
        run_job(job_id)
    finally:
        connection.close()


def run_job(job_id: int) -> ImportJob:
    """Runs one pending job to the end; never raises (the job row carries the outcome)."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != ImportJobStatus.PENDING:
        return job
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJobStatus.RUNNING, started_at=now, heartbeat_at=now)
    upload = Path(settings.MEDIA_ROOT) / job.upload_name
    job_dir(job).mkdir(parents=True, exist_ok=True, mode=0o700)
    report = job_dir(job) / "report.xlsx"
    last = [0.0]

    def progress(done: int, total: int) -> None:
        moment = timezone.now()
        if moment.timestamp() - last[0] < PROGRESS_EVERY_SECONDS and done < total:
            return
        last[0] = moment.timestamp()
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done, total_rows=total, heartbeat_at=moment)

    fields = {}
    try:
        result = residents_import(acting_user=job.created_by, path=upload, file_name=job.file_name,
                                  dry_run=job.dry_run, report_path=report, progress=progress,
                                  audit_object_id=str(job.pk))
        c = result.counts
        fields = {
            "status": ImportJobStatus.DONE, "created": c.created, "updated": c.updated, "unchanged": c.unchanged,
            "rejected": c.rejected, "households_created": c.households_created,
            "processed_rows": c.read + c.skipped, "total_rows": c.read + c.skipped,
            "sample_errors": [{"sheet": r.sheet, "row": r.row, "reasons": r.reasons}
                              for r in result.rejections[:SAMPLE_ERRORS]],
            "message": f"读取 {c.read} 行，用时 {result.seconds:.1f} 秒",
        }
    except WorkbookError as exc:
        fields = {"status": ImportJobStatus.FAILED, "message": exc.message[:500]}
    except ApplicationError as exc:
        fields = {"status": ImportJobStatus.FAILED, "message": exc.message[:500]}
    except Exception:  # noqa: BLE001 - the job row must say it failed, whatever happened
        logger.exception("people import job %s failed", job.pk)
        fields = {"status": ImportJobStatus.FAILED,
                  "message": "导入中断（系统错误）。已导入的行不会重复导入，"
                             "请稍后重新上传同一文件；如仍失败请联系管理员。"}
    finally:
        try:
            upload.unlink(missing_ok=True)
        except OSError:
            logger.warning("could not delete upload %s", upload)
        fields.setdefault("status", ImportJobStatus.FAILED)
        fields["finished_at"] = fields["heartbeat_at"] = timezone.now()
        if report.exists():
            fields["report_name"] = str(report.relative_to(settings.MEDIA_ROOT))
        ImportJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def mark_if_stale(job: ImportJob) -> ImportJob:
    """A job whose runner stopped reporting (process restarted) is failed, so it can be redone."""
    if job.is_finished:
        return job
    beat = job.heartbeat_at or job.created_at
    if timezone.now() - beat > STALE_AFTER:
        ImportJob.objects.filter(pk=job.pk, status=job.status).update(
            status=ImportJobStatus.FAILED, finished_at=timezone.now(),
            message="导入进程已中断（如服务重启）。已导入的行不会重复导入，请重新上传同一文件完成其余部分。")
        job.refresh_from_db()
    return job


def import_job_get(*, user, job_id: int) -> ImportJob:
    """The user's own job; someone else's or a missing one is a 404 alike."""
    job = ImportJob.objects.filter(pk=job_id, created_by=user).first() if user.is_authenticated else None
    if job is None:
        raise NotFound()
    return mark_if_stale(job)


def import_job_list(*, user, limit: int = 10) -> list[ImportJob]:
    return list(ImportJob.objects.filter(created_by=user).order_by("-created_at", "-id")[:limit])


def remove_job_files(job: ImportJob) -> None:
    shutil.rmtree(job_dir(job), ignore_errors=True)
