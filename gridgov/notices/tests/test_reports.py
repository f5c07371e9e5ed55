"""下情上报: a grid worker's report reaches their village and town desk, which reads, handles or turns it
into a case in one step."""

import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridgov.cases.models import Case
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditEntry
from gridgov.notices import selectors, services
from gridgov.notices.models import Report

pytestmark = pytest.mark.django_db


def png() -> SimpleUploadedFile:
    # a real 1×1 PNG
    data = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
            b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
    return SimpleUploadedFile("现场.png", data, content_type="image/png")


def test_report_reaches_village_and_town_desks_only(worker, grid, village_admin, town_op, other_town_op):
    report = services.report_send(acting_user=worker, category="situation", text="3组有两户因宅基地起纠纷")
    assert report.region_id == grid.code and report.status == "new"
    assert report in selectors.report_list(village_admin)
    assert report in selectors.report_list(town_op)
    assert report in selectors.report_list(worker, mine=True)
    assert report not in selectors.report_list(other_town_op)
    assert AuditEntry.objects.filter(action="report.send", object_id=str(report.pk)).exists()


def test_report_validation_and_replay(worker, town_op):
    before = Report.objects.count()
    for kwargs, code in [({"category": "nope", "text": "x"}, "invalid_category"),
                         ({"category": "situation", "text": "  "}, "required"),
                         ({"category": "situation", "text": "x" * 2001}, "too_long"),
                         ({"category": "situation", "text": "x", "lon": "abc", "lat": 1}, "invalid_position"),
                         ({"category": "situation", "text": "x", "lon": 112.5, "lat": None}, "invalid_position"),
                         ({"category": "situation", "text": "x", "lon": "nan", "lat": "nan"}, "invalid_position"),
                         ({"category": "situation", "text": "x", "grid": "420881002001001"}, "invalid_grid"),
                         ({"category": "situation", "text": "x",
                           "photo": SimpleUploadedFile("a.jpg", b"GIF89a....")}, "invalid_attachment"),
                         ({"category": "situation", "text": "x",
                           "photo": SimpleUploadedFile("a.pdf", b"%PDF-1.4 doc")}, "invalid_attachment")]:
        with pytest.raises(ValidationFailed) as err:
            services.report_send(acting_user=worker, **kwargs)
        assert err.value.code == code, kwargs
    with pytest.raises(PermissionDenied):
        services.report_send(acting_user=town_op, category="situation", text="镇里不写民情日志")
    assert Report.objects.count() == before
    cid = uuid.uuid4()
    first = services.report_send(acting_user=worker, category="daily_log", text="走访 5 户", client_id=cid)
    again = services.report_send(acting_user=worker, category="daily_log", text="走访 5 户", client_id=str(cid))
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert Report.objects.count() == before + 1


def test_desk_reads_handles_and_refuses(worker, village_admin, other_town_op):
    report = services.report_send(acting_user=worker, category="opinion", text="希望村口装路灯")
    with pytest.raises(NotFound):
        services.report_mark_read(acting_user=other_town_op, report=report.pk)
    with pytest.raises(PermissionDenied):
        services.report_handle(acting_user=worker, report=report.pk, note="自己处理")
    services.report_mark_read(acting_user=village_admin, report=report.pk)
    report.refresh_from_db()
    assert report.status == "read" and report.read_by == village_admin
    with pytest.raises(ValidationFailed):
        services.report_handle(acting_user=village_admin, report=report.pk, note="")
    services.report_handle(acting_user=village_admin, report=report.pk, note="已报村委会研究")
    report.refresh_from_db()
    assert report.status == "handled" and report.handle_note == "已报村委会研究"
    with pytest.raises(services.Conflict):
        services.report_handle(acting_user=village_admin, report=report.pk, note="再处理")


def test_report_becomes_a_case_in_one_step(worker, village_admin, grid):
    report = services.report_send(acting_user=worker, category="hazard", text="桥面护栏断裂，有坠落风险",
                                  photo=png())
    assert report.photo and report.photo_type == "image/png"
    case = services.report_to_case(acting_user=village_admin, report=report.pk, category="G0403")
    report.refresh_from_db()
    assert report.status == "case" and report.case_id == case.pk
    assert case.external_ref == f"report:{report.pk}" and case.region_id == grid.code
    assert case.description == report.text
    assert case.attachments.count() == 1  # the photo went along
    assert Case.objects.get(pk=case.pk).source_report == report
    with pytest.raises(services.Conflict):
        services.report_to_case(acting_user=village_admin, report=report.pk, category="G0403")
    assert Case.objects.filter(external_ref=f"report:{report.pk}").count() == 1


def test_case_refusal_leaves_the_report_untouched(worker, village_admin):
    report = services.report_send(acting_user=worker, category="hazard", text="井盖缺失")
    with pytest.raises(ValidationFailed):
        services.report_to_case(acting_user=village_admin, report=report.pk, category="NO-SUCH")
    report.refresh_from_db()
    assert report.status == "new" and report.case_id is None
    assert not Case.objects.filter(external_ref=f"report:{report.pk}").exists()


def test_photo_bytes_roundtrip(worker):
    report = services.report_send(acting_user=worker, category="situation", text="有照片", photo=png())
    with report.photo.open("rb") as f:
        assert io.BytesIO(f.read()).getvalue().startswith(b"\x89PNG")
