"""Retention beyond residents: case reporters, intake logs, short-lived sessions, files of erased people."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from gridgov.cases.models import Case
from gridgov.cases.tests.factories import grid_in, report, town_operator
from gridgov.core.models import AuditEntry
from gridgov.egov.models import Application, ApplicationMaterial
from gridgov.egov.tests.factories import Flow, attach_required
from gridgov.egov.tests.factories import resident as egov_resident
from gridgov.intake.models import Channel, InboundMessage, OutboundSms, Outcome, WechatBinding, WechatSession
from gridgov.intake.services import sender_index
from gridgov.intake.sms import send_sms
from gridgov.people.models import Resident
from gridgov.people.tests.registry_helpers import place
from gridgov.points.models import Claim
from gridgov.points.tests.factories import Village, credit, submit
from gridgov.privacy import retention, services, sweeps
from gridgov.selfservice.models import OtpChallenge, ResidentSession
from gridgov.visits.tests.factories import JPEG

from .helpers import aged_resident

pytestmark = pytest.mark.django_db
DAYS = 1000
TOWN = "420881001"


@pytest.fixture(autouse=True)
def retention_days(settings, tmp_path):
    settings.PERSONAL_DATA_RETENTION_DAYS = DAYS
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EGOV_MATERIALS_ROOT = str(tmp_path / "egov")


def _ago(days: int):
    return timezone.now() - timedelta(days=days)


def _raw(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608 (table names are ours)
        return " ".join(str(v) for v in cursor.fetchone())


def _case(*, source: str, state: str, days_ago: int, name: str = "王反映", phone: str = "13907249876") -> Case:
    grid = grid_in(TOWN)
    case = report(grid, by=town_operator(TOWN), source=source, reporter_name=name, reporter_phone=phone)
    Case.objects.filter(pk=case.pk).update(state=state, updated_at=_ago(days_ago))
    return Case.objects.get(pk=case.pk)


def test_case_reporters_exactly_the_final_resident_reports_past_the_period():
    old, recent = DAYS + 10, DAYS - 10
    closed_old = _case(source="hotline", state="closed", days_ago=old)
    voided_old = _case(source="open311", state="voided", days_ago=old)
    closed_recent = _case(source="sms", state="closed", days_ago=recent)
    open_old = _case(source="wechat", state="handling", days_ago=old)
    staff_old = _case(source="grid_worker", state="closed", days_ago=old)
    mine = {c.pk for c in (closed_old, voided_old, closed_recent, open_old, staff_old)}

    due = set(sweeps.cases_due(retention.cutoff()).values_list("pk", flat=True))
    assert due & mine == {closed_old.pk, voided_old.pk}

    before = _raw("cases_case", closed_old.pk), AuditEntry.objects.count()
    call_command("purge_personal_data", "--dry-run")
    assert (_raw("cases_case", closed_old.pk), AuditEntry.objects.count()) == before

    result = retention.purge()
    assert result.beyond.cases >= 2
    for case in (closed_old, voided_old):
        row = _raw("cases_case", case.pk)
        case.refresh_from_db()
        assert (case.reporter_name, case.reporter_phone, case.reporter_phone_index) == ("", "", "")
        assert case.description and case.state in ("closed", "voided")  # the case itself stays
        assert "13907249876" not in row and "王反映" not in row
    for case in (closed_recent, open_old, staff_old):
        assert Case.objects.get(pk=case.pk).reporter_phone == "13907249876"
    entry = AuditEntry.objects.filter(action="privacy.erase_reporter").latest("id")
    assert closed_old.pk in entry.changes["ids"] and "13907249876" not in str(entry.changes)
    assert retention.purge().beyond.cases == 0  # nothing is due twice


def test_a_held_persons_phone_keeps_their_cases_and_messages():
    p = place()
    held = aged_resident(p, state="moved_out", days_ago=0, phone="13907245555")
    services.hold_set(acting_user=p.town, resident_id=held.pk, reason="诉讼中，法院调取")
    theirs = _case(source="hotline", state="closed", days_ago=DAYS + 5, phone="13907245555")
    other = _case(source="hotline", state="closed", days_ago=DAYS + 5, phone="13907246666")
    message = InboundMessage.objects.create(channel=Channel.SMS, external_id="held-1", sender="13907245555",
                                            sender_index=sender_index(Channel.SMS, "13907245555"),
                                            body="举报", outcome=Outcome.CASE)
    InboundMessage.objects.filter(pk=message.pk).update(created_at=_ago(DAYS + 5))

    retention.purge()
    assert Case.objects.get(pk=theirs.pk).reporter_phone == "13907245555"
    assert Case.objects.get(pk=other.pk).reporter_phone == ""
    assert InboundMessage.objects.get(pk=message.pk).body == "举报"


def test_intake_logs_past_the_period_are_cleared_and_kept():
    def inbound(ext, days):
        m = InboundMessage.objects.create(
            channel=Channel.HOTLINE, external_id=ext, sender="13907243333", sender_name="赵来电",
            sender_index=sender_index(Channel.HOTLINE, "13907243333"), body="楼道堆放杂物", reply="已受理",
            outcome=Outcome.CASE, region_code=TOWN)
        InboundMessage.objects.filter(pk=m.pk).update(created_at=_ago(days))
        return m

    old, recent = inbound("purge-old", DAYS + 1), inbound("purge-new", DAYS - 1)
    sms_old = send_sms("13907243333", "赵来电您好，您反映的问题已受理", purpose="test")
    sms_new = send_sms("13907243333", "赵来电您好，已办结", purpose="test")
    OutboundSms.objects.filter(pk=sms_old.pk).update(created_at=_ago(DAYS + 1))
    assert set(sweeps.inbound_due(retention.cutoff()).values_list("pk", flat=True)) & {old.pk, recent.pk} == {old.pk}

    call_command("purge_personal_data", "--dry-run")
    assert InboundMessage.objects.get(pk=old.pk).body == "楼道堆放杂物"

    call_command("purge_personal_data", "--quiet")
    for table, pk in (("intake_inboundmessage", old.pk), ("intake_outboundsms", sms_old.pk)):
        row = _raw(table, pk)
        assert "13907243333" not in row and "赵来电" not in row and "楼道" not in row
    kept = InboundMessage.objects.get(pk=old.pk)
    assert (kept.sender, kept.sender_index, kept.body, kept.reply) == ("", "", "", "")
    assert (kept.channel, kept.outcome, kept.region_code) == (Channel.HOTLINE, Outcome.CASE, TOWN)
    assert OutboundSms.objects.get(pk=sms_old.pk).status  # the row stays for the SMS bill
    assert InboundMessage.objects.get(pk=recent.pk).body == "楼道堆放杂物"
    assert OutboundSms.objects.get(pk=sms_new.pk).phone == "13907243333"
    again = retention.purge().beyond
    assert (again.inbound, again.outbound) == (0, 0)


def test_short_lived_sessions_and_codes_are_deleted_after_the_bound():
    person = egov_resident()
    now = timezone.now()
    old, new = now - timedelta(days=sweeps.SHORT_LIVED_DAYS + 1), now - timedelta(days=1)
    otps = [OtpChallenge.objects.create(phone_index="x", resident=person, code_hash="h", created_at=t,
                                        expires_at=t + timedelta(minutes=5)) for t in (old, new)]
    sessions = [ResidentSession.objects.create(key_hash=f"k{i}{person.pk}", resident=person, created_at=t,
                                               last_seen_at=t) for i, t in enumerate((old, new))]
    draft = WechatSession.objects.create(openid_index=f"o{person.pk}")
    WechatSession.objects.filter(pk=draft.pk).update(updated_at=old)
    pending = WechatBinding.objects.create(openid_index=f"p{person.pk}", phone="13907241234", phone_index="i")
    bound = WechatBinding.objects.create(openid_index=f"b{person.pk}", phone="13907241234", phone_index="i",
                                         verified_at=old)
    WechatBinding.objects.filter(pk__in=[pending.pk, bound.pk]).update(created_at=old)

    dry = retention.purge(dry_run=True)
    assert dry.beyond.sessions >= 4 and OtpChallenge.objects.filter(pk=otps[0].pk).exists()

    retention.purge()
    assert not OtpChallenge.objects.filter(pk=otps[0].pk).exists()
    assert not ResidentSession.objects.filter(pk=sessions[0].pk).exists()
    assert not WechatSession.objects.filter(pk=draft.pk).exists()
    assert not WechatBinding.objects.filter(pk=pending.pk).exists()
    assert OtpChallenge.objects.filter(pk=otps[1].pk).exists()
    assert ResidentSession.objects.filter(pk=sessions[1].pk).exists()
    assert WechatBinding.objects.filter(pk=bound.pk).exists()  # a confirmed binding is in use, not a session


def _photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("e.jpg", JPEG, content_type="image/jpeg")


def _age(person: Resident) -> None:
    Resident.objects.filter(pk=person.pk).update(state="moved_out", updated_at=_ago(DAYS + 3))


def test_files_of_erased_residents_go_except_while_still_open(tmp_path, capsys, django_capture_on_commit_callbacks):
    done, still_open = Flow(), Flow()
    for flow in (done, still_open):
        flow.start()
        attach_required(flow.admin, flow.app)
    Application.objects.filter(pk=done.app.pk).update(state="completed")
    done_files = [tmp_path / "egov" / m.file.name for m in ApplicationMaterial.objects.filter(application=done.app)]
    open_files = [tmp_path / "egov" / m.file.name
                  for m in ApplicationMaterial.objects.filter(application=still_open.app)]
    assert done_files and all(f.exists() for f in done_files + open_files)

    village = Village()
    subject = village.subject()
    posted = credit(village, subject, 20, evidence_file=_photo())
    pending = submit(village, subject, points=20, evidence_file=_photo())
    posted_file = tmp_path / "media" / posted.evidence_file.name
    assert posted_file.exists()
    active = Flow()
    active.start()
    attach_required(active.admin, active.app)
    Application.objects.filter(pk=active.app.pk).update(state="completed")  # applicant still on the register
    for person in (done.person, still_open.person, Resident.objects.get(pk=subject.resident_id)):
        _age(person)

    dry = retention.purge(dry_run=True)
    assert dry.beyond.materials >= len(done_files) and dry.beyond.evidence >= 1
    assert all(f.exists() for f in done_files) and posted_file.exists()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_personal_data", "--quiet")
    out = capsys.readouterr().out
    assert not any(f.exists() for f in done_files) and not posted_file.exists()
    assert all(not m.file for m in ApplicationMaterial.objects.filter(application=done.app))
    assert ApplicationMaterial.objects.filter(application=done.app).count() == len(done_files)  # rows stay
    assert Claim.objects.get(pk=posted.pk).evidence_file == "" and Claim.objects.get(pk=posted.pk).status == "posted"
    # Still open: kept, and the command says which.
    assert all(f.exists() for f in open_files) and Claim.objects.get(pk=pending.pk).evidence_file
    assert still_open.app.number in out and "尚在办理中" in out
    assert all(m.file for m in ApplicationMaterial.objects.filter(application=active.app))
    # Once the application is closed, the next run takes its files.
    Application.objects.filter(pk=still_open.app.pk).update(state="withdrawn")
    with django_capture_on_commit_callbacks(execute=True):
        again = retention.purge().beyond
    assert again.materials == len(open_files) and not any(f.exists() for f in open_files)
    assert retention.purge().beyond.materials == 0
