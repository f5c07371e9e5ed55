"""The one place that says what an uploaded file is: by its bytes, never by its name."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridgov.core.uploads import real_type


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(("content", "expected"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32, "jpg"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "png"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32, "webp"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "pdf"),
    (_zip(["[Content_Types].xml", "word/document.xml"]), "docx"),
    # what an attacker renames to .jpg / .pdf / .docx
    (b"<html><script>alert(1)</script></html>", None),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', None),
    (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 32, None),
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 32, None),
    (_zip(["payload.exe"]), None),
    (b"PK\x03\x04 not really a zip", None),
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32, None),
    (b"", None),
])
def test_type_comes_from_the_bytes_not_the_name(content, expected):
    upload = SimpleUploadedFile("photo.jpg", content, content_type="image/jpeg")
    assert real_type(upload) == expected
    assert upload.tell() == 0  # the caller stores the file from its start
