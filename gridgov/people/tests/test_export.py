"""Excel export of a scope's residents: permissions, masks, sensitive columns, scope, audit."""

import io
import re
import zipfile
from xml.etree import ElementTree

import pytest
from django.test import Client

from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error
from gridgov.people import export, services

from .registry_helpers import make_resident, new_id, place

pytestmark = pytest.mark.django_db
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def read_xlsx(content: bytes) -> dict[str, list[list[str]]]:
    """{sheet name: rows of cell texts}: enough of a reader for our own files (shared or inline strings)."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        shared = []
        if "xl/sharedStrings.xml" in z.namelist():
            root = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root.findall("m:si", NS)]
        workbook = ElementTree.fromstring(z.read("xl/workbook.xml"))
        names = [s.get("name") for s in workbook.find("m:sheets", NS)]
        out = {}
        for i, name in enumerate(names, start=1):
            root = ElementTree.fromstring(z.read(f"xl/worksheets/sheet{i}.xml"))
            rows = []
            for row in root.iter(f"{{{NS['m']}}}row"):
                cells: dict[int, str] = {}
                for c in row.findall("m:c", NS):
                    col = _column(c.get("r"))
                    if c.get("t") == "s":
                        cells[col] = shared[int(c.find("m:v", NS).text)]
                    elif c.get("t") == "inlineStr":
                        cells[col] = "".join(t.text or "" for t in c.iter(f"{{{NS['m']}}}t"))
                    else:
                        v = c.find("m:v", NS)
                        cells[col] = v.text if v is not None else ""
                rows.append([cells.get(j, "") for j in range(max(cells) + 1)] if cells else [])
            out[name] = rows
        return out


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def records(book) -> list[dict[str, str]]:
    rows = [r for name, sheet in book.items() if name.startswith("人员名单") for r in sheet[1:]]
    header = book["人员名单"][0]
    return [dict(zip(header, r + [""] * (len(header) - len(r)), strict=True)) for r in rows]


@pytest.fixture
def p():
    return place()


@pytest.fixture
def people(p):
    """Two people of the village, one tagged in all three levels, and one in another town."""
    a = make_resident(p.worker, p.grid, id_number=new_id(), phone="13811112222")
    for code in ("severe_mental_disorder", "dibao", "left_behind_woman"):
        services.care_tag_add(acting_user=p.worker, resident_id=a.pk, tag_type_code=code)
    b = make_resident(p.other_worker, p.other_grid)
    far = make_resident(p.city, p.far_grid)
    return a, b, far


def get_export(user, **params):
    response = ApiClient(user).client.get("/api/v1/people/residents/export", params,
                                          **ApiClient(user).headers)
    return response


def test_village_admin_gets_a_masked_file_of_the_village_without_sensitive_groups(p, people):
    a, b, far = people
    response = get_export(p.admin, region=p.village.code)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    book = read_xlsx(content)
    rows = {r["姓名"]: r for r in records(book)}
    assert a.name in rows and b.name in rows and far.name not in rows
    row = rows[a.name]
    assert row["公民身份号码"] == a.id_number[:6] + "********" + a.id_number[-4:]
    assert row["联系电话"] == "138****2222"
    assert row["关爱对象"] == "留守妇女"
    assert "敏感关爱对象" not in book["人员名单"][0]
    raw = content.decode("latin-1")
    assert a.id_number not in raw and "13811112222" not in raw
    text = "".join(" ".join(r) for r in book["人员名单"])
    assert "低保户" not in text and "严重精神障碍患者" not in text
    entry = AuditEntry.objects.filter(action="people.export", actor=p.admin).latest("id")
    assert entry.changes["rows"] == len(records(book)) and entry.changes["masked"] is True
    assert entry.changes["sensitive_tags"] is False and entry.changes["filters"] == {"region": p.village.code}
    assert response["X-Export-Rows"] == str(len(records(book)))


def test_export_filter_by_a_group_not_exportable_gives_no_rows(p, people):
    a, _, _ = people
    book = read_xlsx(b"".join(get_export(p.admin, tag="dibao").streaming_content))
    assert records(book) == []
    book = read_xlsx(b"".join(get_export(p.admin, tag="left_behind_woman").streaming_content))
    assert a.name in {r["姓名"] for r in records(book)}


def test_unmasked_and_sensitive_only_for_the_city_centre_when_asked(p, people):
    a, _, far = people
    count = AuditEntry.objects.filter(action="people.export").count()
    assert_error(*_json(get_export(p.admin, unmasked=1)), 403, "permission_denied")
    assert_error(*_json(get_export(p.worker)), 403, "permission_denied")
    assert_error(*_json(get_export(p.cadre)), 403, "permission_denied")
    assert AuditEntry.objects.filter(action="people.export").count() == count

    masked = records(read_xlsx(b"".join(get_export(p.city, region=p.village.code).streaming_content)))
    assert {r["姓名"]: r for r in masked}[a.name]["公民身份号码"].count("*") == 8
    response = get_export(p.city, region=p.village.code, unmasked=1)
    book = read_xlsx(b"".join(response.streaming_content))
    row = {r["姓名"]: r for r in records(book)}[a.name]
    assert row["公民身份号码"] == a.id_number and row["联系电话"] == "13811112222"
    assert set(row["敏感关爱对象"].split("、")) == {"严重精神障碍患者", "低保户"}
    entry = AuditEntry.objects.filter(action="people.export", actor=p.city).latest("id")
    assert entry.changes["masked"] is False and entry.changes["sensitive_tags"] is True
    assert "未脱敏" in entry.message
    about = dict((r[0], r[1]) for r in book["说明"])
    assert about["身份证号码与电话"] == "未脱敏（已授权）" and about["记录数"] == str(entry.changes["rows"])


def test_exact_search_token_exports_without_the_number(p, people):
    from gridgov.people.selectors import exact_search_tokens

    a, _, _ = people
    token = exact_search_tokens(id_number=a.id_number)["id_index"]
    client = Client()
    client.force_login(p.admin)
    response = client.post("/people/export/", {"id_index": token})
    assert [r["姓名"] for r in records(read_xlsx(b"".join(response.streaming_content)))] == [a.name]
    entry = AuditEntry.objects.filter(action="people.export", actor=p.admin).latest("id")
    assert entry.changes["filters"] == {"id_index": "（完整身份证号码）"}


def test_exact_id_filter_is_masked_in_the_audit_log(p, people):
    a, _, _ = people
    book = read_xlsx(b"".join(get_export(p.city, id_number=a.id_number).streaming_content))
    assert [r["姓名"] for r in records(book)] == [a.name]
    entry = AuditEntry.objects.filter(action="people.export", actor=p.city).latest("id")
    assert entry.changes["filters"]["id_number"] == a.id_number[:6] + "********" + a.id_number[-4:]
    assert a.id_number not in str(entry.changes) + entry.message


def test_large_exports_continue_on_a_new_sheet(p, people, monkeypatch):
    monkeypatch.setattr(export, "SHEET_ROWS", 1)
    out = io.BytesIO()
    result = export.resident_export(acting_user=p.admin, output=out, filters={"region": p.village.code})
    book = read_xlsx(out.getvalue())
    assert result.rows >= 2 and [n for n in book if n.startswith("人员名单")][:2] == ["人员名单", "人员名单2"]
    assert all(len(book[n]) == 2 for n in book if n.startswith("人员名单"))  # header + one row each
    assert len(records(book)) == result.rows


def _json(response):
    import json

    return response.status_code, json.loads(response.content)
