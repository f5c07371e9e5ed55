"""Attachment files: type by content (magic bytes), size limits, private storage.

Accepted: JPEG, PNG, WebP photos; PDF and DOCX documents (a DOCX is a zip holding
word/document.xml). The declared content type and the file name are never trusted. Files are
written under MEDIA_ROOT/cases/YYYY/MM/<random>.<ext>; MEDIA_URL is not served, so a file is read
only through the permission-checked download endpoint.
"""

import hashlib
import uuid

from django.conf import settings
from django.core.files.base import File
from django.utils import timezone

from gridgov.core.errors import ValidationFailed
from gridgov.core.uploads import real_type

from .choices import AttachmentKind

TYPES = {
    "jpg": ("image/jpeg", AttachmentKind.PHOTO),
    "png": ("image/png", AttachmentKind.PHOTO),
    "webp": ("image/webp", AttachmentKind.PHOTO),
    "pdf": ("application/pdf", AttachmentKind.DOCUMENT),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", AttachmentKind.DOCUMENT),
}
MAX_FILES = 9


def max_bytes() -> int:
    return int(getattr(settings, "CASE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def sniff(upload) -> str:
    """The file's real extension from its first bytes, or a ValidationFailed naming what is accepted."""
    size = getattr(upload, "size", None)
    limit = max_bytes()
    if size is not None and size > limit:
        raise ValidationFailed(f"附件不能超过 {limit // (1024 * 1024)} MB", code="attachment_too_large",
                               extra={"field": "files", "name": getattr(upload, "name", "")[:100]})
    if not size:
        raise ValidationFailed("附件为空", code="invalid_attachment", extra={"field": "files"})
    kind = real_type(upload)
    if kind in TYPES:
        return kind
    raise ValidationFailed("附件类型不支持：只接受 JPEG、PNG、WebP 图片和 PDF、DOCX 文档", code="invalid_attachment",
                           extra={"field": "files", "name": getattr(upload, "name", "")[:100]})


def check_all(uploads) -> list[tuple[object, str]]:
    """(upload, extension) for each file, all checked before any is stored (nothing half-written)."""
    uploads = [u for u in uploads or [] if u is not None]
    if len(uploads) > MAX_FILES:
        raise ValidationFailed(f"一次最多上传 {MAX_FILES} 个附件", code="too_many_attachments",
                               extra={"field": "files"})
    return [(u, sniff(u)) for u in uploads]


def store(*, case, upload, ext: str, uploaded_by, event=None):
    """Writes one checked file and its row; the caller runs inside the transaction."""
    from .models import CaseAttachment

    content_type, kind = TYPES[ext]
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1 << 16), b""):
        digest.update(chunk)
    upload.seek(0)
    now = timezone.now()
    attachment = CaseAttachment(
        case=case, event=event, kind=kind, content_type=content_type, size=upload.size, sha256=digest.hexdigest(),
        original_name=(getattr(upload, "name", "") or "")[-200:], uploaded_by=uploaded_by, created_at=now,
    )
    name = f"{uuid.uuid4().hex}.{ext}"
    attachment.file.save(name, File(upload, name=name), save=False)
    attachment.save()
    return attachment
