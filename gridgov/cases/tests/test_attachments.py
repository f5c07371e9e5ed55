"""Attachments: type by content, size limits, private storage, permission-checked download."""

import pytest
from django.test import Client

from gridgov.cases import services
from gridgov.cases.choices import CaseState
from gridgov.cases.models import Case, CaseAttachment, CaseEvent
from gridgov.core.errors import ApplicationError
from gridgov.core.testing import ApiClient, assert_error

from . import factories as f

pytestmark = pytest.mark.django_db


def files_on_disk(root):
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize("content,name,kind,content_type", [
    (f.JPEG, "a.jpg", "photo", "image/jpeg"),
    (f.PNG, "a.png", "photo", "image/png"),
    (f.WEBP, "a.webp", "photo", "image/webp"),
    (f.PDF, "a.pdf", "document", "application/pdf"),
    (None, "a.docx", "document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (f.PNG, "named-wrongly.jpg", "photo", "image/png"),  # the content decides, not the name
])
def test_accepted_types_are_stored_privately(world, _private_media, content, name, kind, content_type):
    content = content if content is not None else f.docx_bytes()
    case = f.report(world.grid, files=[f.upload(content, name, "application/octet-stream")])
    attachment = CaseAttachment.objects.get(case=case)
    assert (attachment.kind, attachment.content_type, attachment.size) == (kind, content_type, len(content))
    assert attachment.original_name == name and attachment.event.action == "report"
    path = _private_media / attachment.file.name
    assert attachment.file.name.startswith("cases/") and path.read_bytes() == content
    stem = attachment.file.name.rsplit("/", 1)[-1].split(".")[0]
    assert len(stem) == 32 and stem != name.split(".")[0]  # stored under a random name


@pytest.mark.parametrize("content,name", [
    (f.EXE, "holiday.jpg"),  # an executable renamed .jpg
    (b"<html><script>alert(1)</script></html>", "page.png"),
    (f.zip_bytes(), "report.docx"),  # a zip that is not a Word document
    (b"GIF89a" + b"\x00" * 20, "anim.gif"),
])
def test_other_types_are_refused_and_nothing_is_written(world, _private_media, content, name):
    cases, events = Case.objects.count(), CaseEvent.objects.count()
    with pytest.raises(ApplicationError) as caught:
        f.report(world.grid, files=[f.upload(f.JPEG), f.upload(content, name, "image/jpeg")])
    assert (caught.value.status, caught.value.code) == (400, "invalid_attachment")
    assert (Case.objects.count(), CaseEvent.objects.count()) == (cases, events)
    assert files_on_disk(_private_media) == []


def test_size_limit(world, settings, _private_media):
    settings.CASE_ATTACHMENT_MAX_BYTES = 1024
    big = f.JPEG + b"\x00" * 2048
    with pytest.raises(ApplicationError) as caught:
        f.report(world.grid, files=[f.upload(big)])
    assert caught.value.code == "attachment_too_large"
    with pytest.raises(ApplicationError) as caught:
        f.report(world.grid, files=[f.upload(b"", "empty.jpg")])
    assert caught.value.code == "invalid_attachment"
    with pytest.raises(ApplicationError) as caught:
        f.report(world.grid, files=[f.upload() for _ in range(10)])
    assert caught.value.code == "too_many_attachments"
    assert files_on_disk(_private_media) == []


def test_api_upload_refusals_are_json(world):
    case = world.case_in(CaseState.REPORTED)
    client = ApiClient(world.worker)
    response = client.client.post(f"/api/v1/cases/{case.pk}/attachments",
                                  {"files": [f.upload(f.EXE, "x.jpg")]}, **client.headers)
    assert_error(response.status_code, response.json(), 400, "invalid_attachment")
    response = client.client.post(f"/api/v1/cases/{case.pk}/attachments",
                                  {"files": [f.upload(f.PDF, "x.pdf")]}, **client.headers)
    assert response.status_code == 201
    assert [a["content_type"] for a in response.json()["attachments"]] == ["application/pdf"]


def test_download_only_through_the_checked_endpoint(world, settings):
    case = f.report(world.grid, files=[f.upload(f.PNG, "scene.png")])
    attachment = case.attachments.get()
    url = f"/api/v1/cases/{case.pk}/attachments/{attachment.pk}"
    client = ApiClient(world.town_op)
    response = client.client.get(url, **client.headers)
    assert response.status_code == 200 and b"".join(response.streaming_content) == f.PNG
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    for user in (world.worker2, world.far_town_op, world.mzj_staff):
        other = ApiClient(user)
        r = other.client.get(url, **other.headers)
        assert r.status_code == 404, user
    r = Client().get(url)
    assert r.status_code == 401
    # another case's id with this attachment: 404
    other_case = f.report(world.grid, category="E0104")
    r = client.client.get(f"/api/v1/cases/{other_case.pk}/attachments/{attachment.pk}", **client.headers)
    assert r.status_code == 404
    # the media URL is not served at all
    assert Client().get(settings.MEDIA_URL + attachment.file.name).status_code == 404


def test_documents_download_as_attachments(world):
    case = f.report(world.grid, files=[f.upload(f.PDF, "说明.pdf", "application/pdf")])
    attachment = case.attachments.get()
    client = ApiClient(world.worker)
    r = client.client.get(f"/api/v1/cases/{case.pk}/attachments/{attachment.pk}", **client.headers)
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")


def test_self_resolve_needs_photo_evidence(world):
    case = f.report(world.grid, category="E0102")
    with pytest.raises(ApplicationError) as caught:
        services.case_self_resolve(acting_user=world.worker, case=case, note="已清理")
    assert caught.value.code == "evidence_required"
    with pytest.raises(ApplicationError) as caught:
        services.case_self_resolve(acting_user=world.worker, case=case, note="已清理",
                                   files=[f.upload(f.PDF, "a.pdf")])
    assert caught.value.code == "evidence_required"
    services.case_self_resolve(acting_user=world.worker, case=case, note="已清理", files=[f.upload()])
    case.refresh_from_db()
    assert case.state == CaseState.SELF_RESOLVED and case.self_resolved


def test_report_and_self_resolve_in_one_request(world):
    client = ApiClient(world.worker)
    response = client.client.post("/api/v1/cases", {
        "category": "E0201", "description": "电线杆上的小广告", "lon": world.grid.centroid_lon,
        "lat": world.grid.centroid_lat, "self_resolved": "true", "resolution_note": "已铲除", "files": [f.upload()],
    }, **client.headers)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "self_resolved" and body["source"] == "self_resolved"
    assert [e["action"] for e in body["events"]] == ["report", "self_resolve"]
    assert len(body["attachments"]) == 1 and body["events"][0]["attachments"] == [body["attachments"][0]["id"]]
    # not self-resolvable: refused, nothing created
    count = Case.objects.count()
    response = client.client.post("/api/v1/cases", {
        "category": "G0104", "description": "x", "grid": world.grid.code, "self_resolved": "true",
        "files": [f.upload()]}, **client.headers)
    assert_error(response.status_code, response.json(), 400, "not_self_resolvable")
    assert Case.objects.count() == count
