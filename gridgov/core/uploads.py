"""What an uploaded file really is, read from its bytes.

The file name and the declared content type come from the sender and are never trusted: every
module that takes files (case attachments, visit photos, service materials, points evidence,
notices, reports up, the phone's outbox, WeChat images) asks `real_type` and accepts only the
types it lists, so a script or an executable renamed to .jpg is refused wherever it is sent.
Size limits and messages stay with each module (they differ by purpose).
"""

import zipfile

PHOTOS = frozenset({"jpg", "png", "webp"})

_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
)


def real_type(upload) -> str | None:
    """The file's type by content: "jpg", "png", "webp", "pdf", "docx", or None for anything else.

    A DOCX is a zip holding word/document.xml and [Content_Types].xml; any other zip is None. The
    upload's position is left at the start.
    """
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(upload) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            names = set()
        finally:
            upload.seek(0)
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return "docx"
    return None
