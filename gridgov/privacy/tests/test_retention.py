"""The retention schedule: who is due, what erasure clears and keeps, dry run, holds exempt."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from gridgov.core.models import AuditEntry
from gridgov.people import services as people
from gridgov.people.models import Resident
from gridgov.people.tests.registry_helpers import new_id, place
from gridgov.privacy import retention, services
from gridgov.privacy.models import PersonalDataErasure
from gridgov.visits.models import Visit
from gridgov.visits.services import visit_record
from gridgov.visits.tests.factories import JPEG

from .helpers import aged_resident

pytestmark = pytest.mark.django_db
DAYS = 1000


@pytest.fixture
def p(settings):
    settings.PERSONAL_DATA_RETENTION_DAYS = DAYS
    return place()


def _raw_row(pk) -> str:
    """Every stored column of a resident row, as the database holds it (ciphertext, not plaintext)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM people_resident WHERE id = %s", [pk])
        return " ".join(str(v) for v in cursor.fetchone())


def test_the_schedule_picks_exactly_the_inactive_past_their_period(p):
    old, recent = DAYS + 30, DAYS - 30
    active_old = aged_resident(p, state="active", days_ago=old)
    moved_old = aged_resident(p, state="moved_out", days_ago=old)
    dead_old = aged_resident(p, state="deceased", days_ago=old)
    moved_recent = aged_resident(p, state="moved_out", days_ago=recent)
    held = aged_resident(p, state="deceased", days_ago=old)
    services.hold_set(acting_user=p.town, resident_id=held.pk, reason="诉讼中，法院调取")
    mine = {r.pk for r in (active_old, moved_old, dead_old, moved_recent, held)}

    due = set(retention.due_for_erasure().values_list("pk", flat=True))
    assert due & mine == {moved_old.pk, dead_old.pk}
    # Across the whole register, not just these five: nobody on the register, nobody inside the period.
    assert not Resident.objects.filter(pk__in=due, state="active").exists()
    assert not Resident.objects.filter(pk__in=due, updated_at__gte=retention.cutoff()).exists()


def test_a_dry_run_changes_nothing(p, capsys):
    due = aged_resident(p, state="moved_out", days_ago=DAYS + 1)
    before = _raw_row(due.pk), AuditEntry.objects.count(), PersonalDataErasure.objects.count()
    call_command("purge_personal_data", "--dry-run")
    assert "试运行" in capsys.readouterr().out
    assert (_raw_row(due.pk), AuditEntry.objects.count(), PersonalDataErasure.objects.count()) == before


def test_erasure_leaves_no_plaintext_and_keeps_the_statistics(p, settings, tmp_path,
                                                              django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    name, id_number, phone, note = "测删一", new_id(), "13907241111", "高血压，长期服药"
    resident = aged_resident(p, state="active", days_ago=0, name=name, id_number=id_number, phone=phone,
                             health_note=note, occupation="钟祥市某厂")
    tag = people.care_tag_add(acting_user=p.worker, resident_id=resident.pk, tag_type_code="severe_mental_disorder",
                              attributes={"risk_level": "3", "diagnosis": "精神分裂症"})
    visit = visit_record(acting_user=p.worker, resident=resident, visited_at=timezone.now() - timedelta(days=2),
                         findings=f"{name}在家，情绪稳定", photo=SimpleUploadedFile("a.jpg", JPEG))
    photo_path = tmp_path / visit.photo.name
    assert photo_path.exists()
    people.resident_update(acting_user=p.worker, resident_id=resident.pk, data={"state": "deceased"})
    Resident.objects.filter(pk=resident.pk).update(updated_at=timezone.now() - timedelta(days=DAYS + 5))
    residents_before, visits_before = Resident.objects.count(), Visit.objects.filter(resident=resident).count()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_personal_data", "--quiet")

    row = _raw_row(resident.pk)
    for secret in (name, id_number, id_number[-4:], phone, note, "钟祥市某厂"):
        assert secret not in row
    resident.refresh_from_db()
    assert resident.name == retention.ERASED_NAME
    assert (resident.id_number, resident.id_number_index, resident.id_tail) == ("", "", "")
    assert (resident.phone, resident.phone_index, resident.health_note, resident.birth_date) == ("", "", "", None)
    # The statistics keep their rows: the person (grid, state, gender), the care group, the visit.
    assert (resident.region_id, resident.state, resident.gender) == (p.grid.code, "deceased", "male")
    assert Resident.objects.count() == residents_before
    assert Visit.objects.filter(resident=resident).count() == visits_before
    tag.refresh_from_db()
    assert tag.attributes == "" and tag.tag_type.code == "severe_mental_disorder"
    visit.refresh_from_db()
    assert visit.findings == "" and not visit.photo and not photo_path.exists()
    erasure = PersonalDataErasure.objects.get(resident=resident)
    assert erasure.photos_deleted == 1 and erasure.state == "deceased"
    entry = AuditEntry.objects.get(action="privacy.erase", object_id=str(resident.pk))
    assert name not in str(entry.changes) + entry.message
    assert AuditEntry.objects.filter(action="privacy.purge").exists()
    # Run again: nobody is due twice.
    assert resident.pk not in set(retention.due_for_erasure().values_list("pk", flat=True))


def test_a_held_person_is_kept_until_the_hold_is_released(p):
    held = aged_resident(p, state="moved_out", days_ago=DAYS + 10, name="测冻一")
    hold = services.hold_set(acting_user=p.city, resident_id=held.pk, reason="档案法规定保存")
    result = retention.purge()
    assert held.pk not in result.resident_ids
    held.refresh_from_db()
    assert held.name == "测冻一" and held.id_number
    services.hold_release(acting_user=p.city, hold_id=hold.pk, reason="诉讼已结束")
    assert held.pk in retention.purge().resident_ids
    held.refresh_from_db()
    assert held.name == retention.ERASED_NAME
