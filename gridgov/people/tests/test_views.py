"""The people pages: search, person, household, organisations, reveal, correction, export."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridgov.core.models import AuditEntry
from gridgov.people import services
from gridgov.people.models import Resident

from .registry_helpers import make_resident, new_id, place, unique_name

pytestmark = pytest.mark.django_db


@pytest.fixture
def p():
    return place()


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def person(p):
    number = new_id()
    resident = make_resident(p.worker, p.grid, id_number=number, phone="13966667777", health_note="肝硬化")
    for code in ("severe_mental_disorder", "dibao", "left_behind_elderly"):
        services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code=code,
                              attributes={"risk_level": 3} if code == "severe_mental_disorder" else {})
    return resident


def html(response) -> str:
    return response.content.decode()


def test_search_page_masks_and_filters(p, person):
    page = browser(p.worker).get("/people/", {"q": person.name})
    assert page.status_code == 200
    text = html(page)
    assert person.name in text and person.id_number[:6] + "********" + person.id_number[-4:] in text
    assert "139****7777" in text and person.id_number not in text and "13966667777" not in text
    assert "严重精神障碍患者" in text and '<html lang="zh-CN">' in text
    # An exact-number search finds them, but the number is neither in the page nor in the URL:
    # the form posts, and the search continues under the blind-index token.
    client = browser(p.worker)
    posted = client.post("/people/", {"id_number": person.id_number})
    assert posted.status_code == 302 and person.id_number not in posted["Location"]
    assert "id_index=" in posted["Location"]
    page = client.get(posted["Location"])
    assert person.name in html(page) and person.id_number not in html(page) and "已按完整身份证号码" in html(page)
    legacy = client.get("/people/", {"phone": "139 6666 7777", "q": person.name})
    assert legacy.status_code == 302 and "phone_index=" in legacy["Location"]
    assert "13966667777" not in legacy["Location"]
    assert person.name in html(client.get(legacy["Location"]))
    assert f"/people/residents/{person.pk}/" not in html(browser(p.other_worker).get(posted["Location"]))
    empty = browser(p.worker).get("/people/", {"q": "查无此人"})
    assert "没有符合条件的人员" in html(empty)
    bad = browser(p.worker).get("/people/", {"id_tail": "12"})
    assert "身份证后四位应为 4 位数字" in html(bad) and "查询条件有误" in html(bad)
    bad = browser(p.worker).post("/people/", {"id_number": person.id_number, "id_tail": "12"})
    assert bad.status_code == 400 and person.id_number not in html(bad)


def test_search_respects_scope_and_tag_visibility(p, person):
    link = f"/people/residents/{person.pk}/"
    assert link not in html(browser(p.other_worker).get("/people/", {"q": person.name}))
    admin_page = html(browser(p.admin).get("/people/", {"q": person.name}))
    assert person.name in admin_page and "低保户" in admin_page and "严重精神障碍患者" not in admin_page
    cadre_page = html(browser(p.cadre).get("/people/", {"q": person.name}))
    assert "低保户" not in cadre_page and "留守老人" in cadre_page
    # The hidden group is not even offered as a filter, and asking for it finds nobody.
    hidden = html(browser(p.admin).get("/people/", {"tag": "severe_mental_disorder"}))
    assert link not in hidden and 'value="severe_mental_disorder"' not in hidden
    assert browser(p.auditor).get("/people/").status_code == 403
    assert browser(p.worker).get("/people/organisations/").status_code == 200


def test_resident_page(p, person):
    services.resident_correct(acting_user=p.admin, resident_id=person.pk, data={"occupation": "务农"},
                              reason="本人申请更正职业")
    page = browser(p.worker).get(f"/people/residents/{person.pk}/")
    assert page.status_code == 200
    text = html(page)
    assert person.id_number not in text and "13966667777" not in text and "肝硬化" not in text
    assert "已记录（说明原因后可查看）" in text and 'id="reveal-form"' in text
    assert "危险性评估等级：3" in text
    assert "本人申请更正职业" in text and "更正人员信息" in text  # the history
    admin_text = html(browser(p.admin).get(f"/people/residents/{person.pk}/"))
    assert "严重精神障碍患者" not in admin_text and "危险性评估等级" not in admin_text and "低保户" in admin_text
    cadre_text = html(browser(p.cadre).get(f"/people/residents/{person.pk}/"))
    assert "低保户" not in cadre_text and 'id="reveal-form"' not in cadre_text and "无权查看" in cadre_text
    assert browser(p.other_worker).get(f"/people/residents/{person.pk}/").status_code == 404
    assert browser(p.worker).get("/people/residents/99999999/").status_code == 404
    assert Client().get(f"/people/residents/{person.pk}/").status_code == 302  # to the login page


def test_visit_history_section_when_the_visits_module_is_there(p, person):
    text = html(browser(p.worker).get(f"/people/residents/{person.pk}/"))
    try:
        import gridgov.visits.selectors  # noqa: F401
    except ImportError:
        assert 'id="visit-history"' not in text
    else:
        assert 'id="visit-history"' in text and "暂无走访记录" in text


def test_reveal_on_the_page_needs_a_reason_and_is_logged(p, person):
    url = f"/people/residents/{person.pk}/reveal/"
    worker = browser(p.worker)
    refused = worker.post(url, {"what": ["id_number"], "reason": "看"})
    assert refused.status_code == 400 and "查看原因至少 4 个字" in html(refused)
    assert person.id_number not in html(refused)
    assert worker.get(url).status_code == 405
    assert browser(p.cadre).post(url, {"what": ["id_number"], "reason": "核对身份信息"}).status_code == 403
    assert browser(p.other_worker).post(url, {"what": ["id_number"], "reason": "核对身份信息"}).status_code == 404
    assert not AuditEntry.objects.filter(action="people.reveal", outcome="success", object_id=str(person.pk)).exists()
    shown = worker.post(url, {"what": ["id_number", "health_note"], "reason": "协助申请大病救助"})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert person.id_number in html(shown) and "肝硬化" in html(shown) and "13966667777" not in html(shown)
    entry = AuditEntry.objects.get(action="people.reveal", outcome="success", object_id=str(person.pk))
    assert entry.message == "协助申请大病救助" and entry.actor == p.worker
    # The next ordinary view is masked again.
    assert person.id_number not in html(worker.get(f"/people/residents/{person.pk}/"))


def test_correction_page(p, person):
    url = f"/people/residents/{person.pk}/correct/"
    admin = browser(p.admin)
    form = admin.get(url)
    assert form.status_code == 200 and person.id_number not in html(form)
    data = {"name": person.name, "ethnicity": "汉族", "residency_status": "permanent", "political_status": "masses",
            "occupation": "个体经营", "state": "active", "id_number": "", "phone": "", "reason": ""}
    refused = admin.post(url, data)
    assert refused.status_code == 400 and "请填写更正原因" in html(refused)
    assert Resident.objects.get(pk=person.pk).occupation == ""
    bad = admin.post(url, {**data, "phone": "999", "reason": "本人申请更正"})
    assert bad.status_code == 400 and "联系电话" in html(bad)
    done = admin.post(url, {**data, "reason": "本人申请更正人口类型"})
    assert done.status_code == 302
    person.refresh_from_db()
    assert person.residency_status == "permanent" and person.occupation == "个体经营"
    assert person.phone == "13966667777"  # an empty phone field means "unchanged"
    assert browser(p.cadre).get(url).status_code == 403
    assert browser(p.other_worker).get(url).status_code == 404


def test_household_page(p, person):
    child = make_resident(p.worker, p.grid)
    household = services.household_create(acting_user=p.worker, region_code=p.grid.code, data={
        "number": unique_name("户"), "members": [{"resident_id": person.pk, "relation_to_head": "户主"},
                                                 {"resident_id": child.pk, "relation_to_head": "孙子女"}]})
    text = html(browser(p.worker).get(f"/people/households/{household.pk}/"))
    assert household.number in text and child.name in text and "孙子女" in text
    assert person.id_number not in text and child.id_number not in text
    assert browser(p.other_worker).get(f"/people/households/{household.pk}/").status_code == 404
    person_page = html(browser(p.worker).get(f"/people/residents/{person.pk}/"))
    assert "同户成员" in person_page and child.name in person_page


def test_export_button_and_download(p, person):
    assert 'id="export-button"' not in html(browser(p.worker).get("/people/"))
    admin_page = html(browser(p.admin).get("/people/", {"q": person.name}))
    assert 'id="export-button"' in admin_page and 'name="unmasked"' not in admin_page
    assert 'name="unmasked"' in html(browser(p.city).get("/people/"))
    response = browser(p.admin).post("/people/export/", {"q": person.name})
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    content = b"".join(response.streaming_content)
    assert content[:2] == b"PK" and person.id_number.encode() not in content
    entry = AuditEntry.objects.filter(action="people.export", actor=p.admin).latest("id")
    assert entry.changes["rows"] == 1
    assert browser(p.worker).post("/people/export/", {}).status_code == 403
    assert browser(p.admin).post("/people/export/", {"unmasked": "1"}).status_code == 403
    assert browser(p.admin).get("/people/export/").status_code == 405


def test_subject_access_download(p, person):
    url = f"/people/residents/{person.pk}/subject-access/"
    response = browser(p.admin).post(url, {"reason": "本人申请复制个人信息"})
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert browser(p.admin).post(url, {"reason": ""}).status_code == 400
    assert browser(p.worker).post(url, {"reason": "本人申请复制个人信息"}).status_code == 403
    assert browser(p.other_worker).post(url, {"reason": "本人申请复制个人信息"}).status_code == 404


def test_search_page_query_count_does_not_grow_with_rows(p):
    household = services.household_create(acting_user=p.worker, region_code=p.grid.code,
                                          data={"number": unique_name("户")})
    lone = make_resident(p.worker, p.grid)
    for i in range(24):
        resident = make_resident(p.worker, p.grid, household_id=household.pk)
        services.care_tag_add(acting_user=p.worker, resident_id=resident.pk,
                              tag_type_code=["dibao", "left_behind_elderly"][i % 2])
    client = browser(p.worker)
    client.get("/people/")
    with CaptureQueriesContext(connection) as one:
        assert lone.name in html(client.get("/people/", {"q": lone.name}))
    with CaptureQueriesContext(connection) as many:
        client.get("/people/", {"region": p.grid.code})
    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]
