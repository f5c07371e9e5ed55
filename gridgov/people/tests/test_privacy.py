"""Least sight: encryption at rest, masks, logged reveals, sensitive tags, subject access, key rotation."""

import base64
import io
import json
import re
import secrets
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from gridgov.core import crypto
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied
from gridgov.core.models import AuditEntry
from gridgov.people import selectors, services
from gridgov.people.models import CareTag, Organisation, Resident

from .registry_helpers import make_resident, new_id, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def p():
    return place()


def raw_row(table: str, pk: int, columns: list[str]) -> dict:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(qn(c) for c in columns)} FROM {qn(table)} WHERE id = %s", [pk])
        return dict(zip(columns, cursor.fetchone(), strict=True))


def raw_text_of_table(table: str) -> str:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {qn(table)}")
        return "\n".join(" ".join(str(v) for v in row) for row in cursor.fetchall())


# --- encryption at rest ----------------------------------------------------------------------------------------------

def test_the_database_holds_no_plaintext_id_phone_or_health(p):
    number = new_id()
    resident = make_resident(p.worker, p.grid, id_number=number, phone="13712345678", health_note="慢性肾衰竭")
    tag = services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="serious_illness",
                                attributes={"illness": "尿毒症"})
    org = services.organisation_create(acting_user=p.worker, region_code=p.grid.code,
                                       data={"name": "湖山村小卖部", "kind": "shop", "contact_phone": "13698765432"})
    row = raw_row(Resident._meta.db_table, resident.pk, ["id_number", "phone", "health_note", "id_number_index",
                                                         "phone_index", "id_tail"])
    for column in ("id_number", "phone", "health_note"):
        assert row[column].startswith("g1$"), row[column]
    assert row["id_tail"] == number[-4:] and number not in row["id_number_index"]
    assert raw_row(CareTag._meta.db_table, tag.pk, ["attributes"])["attributes"].startswith("g1$")
    assert raw_row(Organisation._meta.db_table, org.pk, ["contact_phone"])["contact_phone"].startswith("g1$")
    everything = "\n".join(raw_text_of_table(t) for t in (
        Resident._meta.db_table, CareTag._meta.db_table, Organisation._meta.db_table, AuditEntry._meta.db_table))
    # The audit chain's SHA-256 hex digests can spell an 8-digit birth date by chance: leave them out.
    everything = re.sub(r"\b[0-9a-f]{64}\b", "", everything)
    for secret in (number, number[6:14], "13712345678", "慢性肾衰竭", "尿毒症", "13698765432"):
        assert secret not in everything, secret
    # …and the ORM reads them back in clear, for the code that may.
    resident.refresh_from_db()
    assert (resident.id_number, resident.phone, resident.health_note) == (number, "13712345678", "慢性肾衰竭")


def test_exact_search_goes_through_the_blind_index(p):
    number = new_id()
    resident = make_resident(p.worker, p.grid, id_number=number, phone="13755556666")
    assert list(selectors.resident_list(user=p.worker, id_number=number.lower())) == [resident]
    assert list(selectors.resident_list(user=p.worker, phone="137 5555 6666")) == [resident]
    assert list(selectors.resident_list(user=p.worker, id_tail=number[-4:], q=resident.name)) == [resident]
    assert not selectors.resident_list(user=p.other_worker, id_number=number).exists()


# --- reveal ----------------------------------------------------------------------------------------------------------

def test_reveal_needs_permission_and_reason_and_is_logged(p):
    number = new_id()
    resident = make_resident(p.worker, p.grid, id_number=number, phone="13711112222", health_note="抑郁")
    reveals = AuditEntry.objects.filter(action="people.reveal", object_id=str(resident.pk))

    with pytest.raises(ApplicationError) as exc:
        services.resident_reveal(acting_user=p.worker, resident_id=resident.pk, fields=["id_number"], reason="看看")
    assert exc.value.status == 400 or exc.value.code == "reason_required"
    with pytest.raises(ApplicationError) as exc:
        services.resident_reveal(acting_user=p.worker, resident_id=resident.pk, fields=["id_number"], reason=" 看 ")
    assert exc.value.code == "reason_required" and "至少 4 个字" in exc.value.message
    with pytest.raises(ApplicationError) as exc:
        services.resident_reveal(acting_user=p.worker, resident_id=resident.pk, fields=["name", "bank"],
                                 reason="协助办理临时救助")
    assert exc.value.code == "invalid_fields"
    assert not reveals.filter(outcome="success").exists()

    # The village cadre sees the person but may not reveal: refused, and the attempt is on record.
    with pytest.raises(PermissionDenied):
        services.resident_reveal(acting_user=p.cadre, resident_id=resident.pk, fields=["phone"],
                                 reason="想联系一下本人")
    refused = reveals.get()
    assert refused.outcome == "failure" and refused.actor == p.cadre
    # Out of scope: missing, and nothing recorded against a person the actor cannot see.
    with pytest.raises(NotFound):
        services.resident_reveal(acting_user=p.other_worker, resident_id=resident.pk, fields=["phone"],
                                 reason="协助办理临时救助")
    assert reveals.count() == 1

    values = services.resident_reveal(acting_user=p.worker, resident_id=resident.pk,
                                      fields=["id_number", "phone", "health_note"], reason="协助办理临时救助申请")
    assert values == {"id_number": number, "phone": "13711112222", "health_note": "抑郁"}
    entry = reveals.get(outcome="success")
    assert entry.actor == p.worker and entry.message == "协助办理临时救助申请"
    assert entry.object_type == "people.resident" and entry.region_code == p.grid.code
    assert entry.changes == {"fields": ["id_number", "phone", "health_note"]}


# --- sensitive tags --------------------------------------------------------------------------------------------------

@pytest.fixture
def tagged(p):
    """李春艳's case: a severe mental disorder (3), 低保 (2) and left-behind woman (1)."""
    resident = make_resident(p.worker, p.grid, name="李春艳")
    for code, attributes in (("severe_mental_disorder", {"risk_level": 3, "in_hospital": True}),
                             ("dibao", {"monthly_amount": 420}), ("left_behind_woman", {})):
        services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code=code,
                              attributes=attributes)
    return resident


def codes_seen(user, resident) -> set[str]:
    row = selectors.resident_list(user=user, q=resident.name).get(pk=resident.pk)
    return {t.tag_type.code for t in row.visible_tags}


def test_each_role_sees_the_tags_its_work_needs(p, tagged):
    assert codes_seen(p.worker, tagged) == {"severe_mental_disorder", "dibao", "left_behind_woman"}
    assert codes_seen(p.town, tagged) == {"severe_mental_disorder", "dibao", "left_behind_woman"}
    assert codes_seen(p.admin, tagged) == {"dibao", "left_behind_woman"}
    assert codes_seen(p.cadre, tagged) == {"left_behind_woman"}
    detail = selectors.resident_get(user=p.admin, resident_id=tagged.pk)
    assert {t.tag_type.code for t in detail.visible_tags} == {"dibao", "left_behind_woman"}
    assert "severe_mental_disorder" not in {t.code for t in selectors.care_tag_type_list(user=p.admin)}


def test_filtering_by_a_hidden_tag_finds_nobody(p, tagged):
    assert selectors.resident_list(user=p.worker, tag="severe_mental_disorder").filter(pk=tagged.pk).exists()
    assert not selectors.resident_list(user=p.admin, tag="severe_mental_disorder").exists()
    assert selectors.resident_list(user=p.admin, tag="dibao").filter(pk=tagged.pk).exists()
    assert not selectors.resident_list(user=p.cadre, tag="dibao").exists()
    assert selectors.resident_list(user=p.cadre, tag="left_behind_woman").filter(pk=tagged.pk).exists()
    # The same empty answer as a group nobody belongs to: the filter says nothing about membership.
    assert not selectors.resident_list(user=p.cadre, tag="no_such_group").exists()


def test_history_hides_changes_of_hidden_tags(p, tagged):
    admin_actions = {e.action for e in selectors.resident_history(user=p.admin, resident=tagged)}
    worker_rows = list(selectors.resident_history(user=p.worker, resident=tagged))
    admin_rows = list(selectors.resident_history(user=p.admin, resident=tagged))
    assert "people.care_tag.add" in admin_actions
    assert len(worker_rows) == len(admin_rows) + 1  # the mental-disorder tag entry


# --- PIPL access request ---------------------------------------------------------------------------------------------

def test_subject_access_export_gives_the_person_their_data_and_is_logged(p, tagged):
    services.resident_reveal(acting_user=p.worker, resident_id=tagged.pk, fields=["phone"], reason="联系本人核实情况")
    with pytest.raises(PermissionDenied):
        services.resident_subject_access_export(acting_user=p.worker, resident_id=tagged.pk, reason="本人申请查阅")
    with pytest.raises(ApplicationError) as exc:
        services.resident_subject_access_export(acting_user=p.town, resident_id=tagged.pk, reason="")
    assert exc.value.code == "reason_required"
    with pytest.raises(NotFound):
        services.resident_subject_access_export(acting_user=user_elsewhere(p), resident_id=tagged.pk,
                                                reason="本人申请查阅")

    full = services.resident_subject_access_export(acting_user=p.town, resident_id=tagged.pk,
                                                   reason="本人到镇综治中心申请查阅")
    tagged.refresh_from_db()
    assert full.data["person"]["id_number"] == tagged.id_number and full.data["person"]["phone"] == "13807241234"
    assert {t["type"] for t in full.data["care_tags"]} == {"严重精神障碍患者", "低保户", "留守妇女"}
    assert full.data["notice"] == ""
    purposes = [r["purpose"] for r in full.data["processing_records"]]
    assert "联系本人核实情况" in purposes
    assert all("actor" not in r for r in full.data["processing_records"])
    with zipfile.ZipFile(io.BytesIO(full.xlsx)) as z:
        names = z.namelist()
        text = "".join(z.read(n).decode("utf-8", "ignore") for n in names if n.endswith(".xml"))
    assert "xl/workbook.xml" in names and tagged.id_number in text and "处理记录" in text
    json.dumps(full.data, ensure_ascii=False)  # JSON-ready as it is

    # At the village, the restricted group is left out, with a note where to ask for everything.
    village = services.resident_subject_access_export(acting_user=p.admin, resident_id=tagged.pk,
                                                      reason="本人到村委会申请查阅")
    assert {t["type"] for t in village.data["care_tags"]} == {"低保户", "留守妇女"}
    assert "钟祥市网格化管理中心" in village.data["notice"]
    entries = AuditEntry.objects.filter(action="people.subject_access", object_id=str(tagged.pk))
    assert sorted(e.message for e in entries) == ["本人到村委会申请查阅", "本人到镇综治中心申请查阅"]


def user_elsewhere(p):
    from gridgov.accounts.choices import Role
    from gridgov.core.testing import user_with_role

    return user_with_role(Role.GRID_ADMIN, p.far_grid.parent_id)


# --- key rotation ----------------------------------------------------------------------------------------------------

@pytest.fixture
def fresh_crypto():
    crypto.clear_caches()
    yield
    crypto.clear_caches()


def _token(pk: int, column: str = "id_number") -> str:
    return raw_row(Resident._meta.db_table, pk, [column])[column]


def test_rotate_field_keys_re_encrypts_under_the_active_key(p, settings, fresh_crypto):
    number = new_id()
    resident = make_resident(p.worker, p.grid, id_number=number, health_note="高血压")
    tag = services.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="disabled",
                                attributes={"grade": "一级"})
    old_key_id = settings.FIELD_ENCRYPTION_KEY_ID
    assert f"${old_key_id}$" in _token(resident.pk)
    index_before = Resident.objects.get(pk=resident.pk).id_number_index

    settings.FIELD_ENCRYPTION_KEYS = {"k2": base64.b64encode(secrets.token_bytes(32)).decode(),
                                      **settings.FIELD_ENCRYPTION_KEYS}
    settings.FIELD_ENCRYPTION_KEY_ID = "k2"
    crypto.clear_caches()
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_field_keys", "--dry-run", "--app", "people", stdout=out, stderr=err)
    assert f"${old_key_id}$" in _token(resident.pk)  # a dry run writes nothing
    assert "需要重新加密" in out.getvalue()

    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_field_keys", "--batch-size", "50", stdout=out, stderr=err)
    assert "people.resident（id_number、phone、health_note）: 已检查" in err.getvalue()
    assert "已重新加密" in out.getvalue()
    for column in ("id_number", "phone", "health_note"):
        assert "$k2$" in _token(resident.pk, column)
    assert "$k2$" in raw_row(CareTag._meta.db_table, tag.pk, ["attributes"])["attributes"]

    # The old key can go now: everything reads under the new one; the blind index did not move.
    settings.FIELD_ENCRYPTION_KEYS = {"k2": settings.FIELD_ENCRYPTION_KEYS["k2"]}
    crypto.clear_caches()
    resident = Resident.objects.get(pk=resident.pk)
    assert resident.id_number == number and resident.health_note == "高血压"
    assert resident.id_number_index == index_before
    assert list(selectors.resident_list(user=p.worker, id_number=number)) == [resident]
    assert CareTag.objects.get(pk=tag.pk).attributes == '{"grade": "一级"}'
    out = io.StringIO()
    call_command("rotate_field_keys", "--app", "people", stdout=out, stderr=io.StringIO())
    assert "已重新加密 0 个" in out.getvalue()
    assert AuditEntry.objects.filter(action="crypto.rotate_field_keys").count() == 2


def test_rotation_to_sm4_and_refusal_without_the_old_key(p, settings, fresh_crypto):
    resident = make_resident(p.worker, p.grid)
    settings.FIELD_ENCRYPTION_ALGORITHM = "sm4-gcm"
    crypto.clear_caches()
    call_command("rotate_field_keys", "--app", "people", stdout=io.StringIO(), stderr=io.StringIO())
    assert _token(resident.pk).startswith("g1$sm4gcm$")
    assert Resident.objects.get(pk=resident.pk).phone == "13807241234"

    # A value under a key that is no longer configured cannot be rotated: reported, not lost.
    settings.FIELD_ENCRYPTION_KEYS = {"k9": base64.b64encode(secrets.token_bytes(32)).decode(),
                                      **settings.FIELD_ENCRYPTION_KEYS}
    crypto.clear_caches()
    stray = crypto.encrypt("13800000000", "resident.phone", key_id="k9")
    Resident.objects.filter(pk=resident.pk).update(phone_index="")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Resident._meta.db_table} SET phone = %s WHERE id = %s", [stray, resident.pk])
    del settings.FIELD_ENCRYPTION_KEYS["k9"]
    crypto.clear_caches()
    with pytest.raises(CommandError) as exc:
        call_command("rotate_field_keys", "--app", "people", stdout=io.StringIO(), stderr=io.StringIO())
    assert "无法解密 1 个" in str(exc.value)
    assert _token(resident.pk, "phone") == stray
