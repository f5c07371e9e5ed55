"""GeoReport v2 bodies in JSON and XML: lists of flat records under a root element, errors as
[{code, description}] or <errors><error>…</error></errors>."""

import json
import re
from datetime import datetime
from xml.etree import ElementTree as ET

from django.http import HttpResponse
from django.utils import timezone

# Characters XML 1.0 cannot carry at all (C0 controls other than tab, newline, carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def w3c(value: datetime | None) -> str | None:
    """W3C datetime with the offset, in local time (2026-12-04T19:16:30+08:00)."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _xml_value(parent: ET.Element, tag: str, value) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            _xml_value(node, key, inner)
    elif isinstance(value, list):
        child = tag[:-1] if tag.endswith("s") else "item"
        for inner in value:
            _xml_value(node, child, inner)
    else:
        node.text = _text(value)


def render(fmt: str, root: str, item: str | None, data, status: int = 200) -> HttpResponse:
    """`data` is a list of records (rendered as <root><item>…</item></root>) or, with item None, one
    record rendered as <root>…</root> (service definition, discovery)."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False).encode()
    else:
        top = ET.Element(root)
        if item is None:
            for key, value in data.items():
                _xml_value(top, key, value)
        else:
            for record in data:
                node = ET.SubElement(top, item)
                for key, value in record.items():
                    _xml_value(node, key, value)
        body = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, status: int, description: str, headers: dict | None = None) -> HttpResponse:
    response = render(fmt, "errors", "error", [{"code": status, "description": description}], status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response
