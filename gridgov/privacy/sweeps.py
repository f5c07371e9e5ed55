"""Retention beyond the resident register: what `purge_personal_data` clears besides residents.

Each sweep has a `*_due(now)` query (what it would touch; a dry run only counts it) and a function
that works through the due ids in batches. A batch re-applies the due query inside its UPDATE, so a
hold set (or a case reopened) since the ids were read wins. Each batch writes one audit row listing
the ids (no personal values).

- Cases a resident reported (hotline, SMS, WeChat, Open311, self-service): final for longer than the
  retention → reporter name, phone and its blind index emptied; the case stays (statistics).
- Intake logs older than the retention: the inbound message's sender, name, text and reply, and the
  outbound SMS's phone and text, emptied. Cleared rather than deleted: the rows are what the channel
  statistics count and what an SMS bill is reconciled against (provider message id, status).
- Self-service sessions, one-time codes, WeChat report drafts and unconfirmed WeChat bindings older
  than SHORT_LIVED_DAYS: deleted. They are login mechanics, not records the law keeps (each sign-in
  is in the audit log), and a session dies after 12 hours anyway.
- Files of erased residents: egov application materials and points evidence files: the file is
  deleted (after commit), the row stays with the file field empty. Skipped while the application
  (or the claim) is still open; the command says how many and which.

Holds: a person under an open hold keeps their phone's traces too: cases and intake messages whose
phone blind index is that person's phone are skipped (matched per purpose; a WeChat OpenID cannot be
matched to a person and is not held). Sessions and codes are not held (see above).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet

from gridgov.core.audit import audit_record
from gridgov.core.crypto import blind_index

from .models import PersonalDataErasure, PersonalDataHold

SHORT_LIVED_DAYS = 30
# The channels through which a resident (not a staff member) reports a case.
RESIDENT_SOURCES = ("hotline", "sms", "wechat", "open311", "selfservice")
CASE_PHONE_PURPOSE = "case.reporter_phone"  # cases/services/report.py
SMS_PHONE_PURPOSE = "intake.sms.phone"  # intake/sms.py
SENDER_PURPOSE = "intake.sender"  # intake/services.sender_index: blind_index("<channel>:<phone>")

Progress = Callable[[int, int, str], None] | None


@dataclass
class SweepResult:
    cases: int = 0
    inbound: int = 0
    outbound: int = 0
    sessions: int = 0
    materials: int = 0
    evidence: int = 0
    # (kind, number) of what was skipped because it is still open: ("申请", "SQ…"), ("积分申报", "12").
    skipped_open: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict:
        return {"cases": self.cases, "inbound": self.inbound, "outbound": self.outbound, "sessions": self.sessions,
                "materials": self.materials, "evidence": self.evidence, "skipped_open": len(self.skipped_open)}


def held_phones() -> list[str]:
    """The phones of people under an open hold (plaintext, in memory only; holds are few)."""
    from gridgov.people.models import Resident

    held = PersonalDataHold.objects.filter(released_at__isnull=True).values("resident_id")
    return [p for p in Resident.objects.filter(pk__in=held).exclude(phone_index="").values_list("phone", flat=True)
            if p]


# --- what is due ----------------------------------------------------------------------------------------


def cases_due(cutoff: datetime) -> QuerySet:
    from gridgov.cases.choices import FINAL_STATES
    from gridgov.cases.models import Case

    held = [blind_index(p, CASE_PHONE_PURPOSE) for p in held_phones()]
    # A case's last change is when it became final (or a later note): the clock starts there.
    return (Case.objects.filter(source__in=RESIDENT_SOURCES, state__in=FINAL_STATES, updated_at__lt=cutoff)
            .filter(~Q(reporter_phone_index="") | ~Q(reporter_phone="") | ~Q(reporter_name=""))
            .exclude(reporter_phone_index__in=held).order_by("pk"))


def inbound_due(cutoff: datetime) -> QuerySet:
    from gridgov.intake.models import Channel, InboundMessage

    held = [blind_index(f"{channel}:{p}", SENDER_PURPOSE) for p in held_phones()
            for channel in (Channel.SMS, Channel.HOTLINE)]
    return (InboundMessage.objects.filter(created_at__lt=cutoff)
            .filter(~Q(sender_index="") | ~Q(sender="") | ~Q(sender_name="") | ~Q(body="") | ~Q(reply=""))
            .exclude(sender_index__in=held).order_by("pk"))


def outbound_due(cutoff: datetime) -> QuerySet:
    from gridgov.intake.models import OutboundSms

    held = [blind_index(p, SMS_PHONE_PURPOSE) for p in held_phones()]
    return (OutboundSms.objects.filter(created_at__lt=cutoff)
            .filter(~Q(phone_index="") | ~Q(phone="") | ~Q(text=""))
            .exclude(phone_index__in=held).order_by("pk"))


def short_lived_due(now: datetime) -> list[QuerySet]:
    from gridgov.intake.models import WechatBinding, WechatSession
    from gridgov.selfservice.models import OtpChallenge, ResidentSession

    before = now - timedelta(days=SHORT_LIVED_DAYS)
    return [OtpChallenge.objects.filter(created_at__lt=before),
            ResidentSession.objects.filter(created_at__lt=before),
            WechatSession.objects.filter(updated_at__lt=before),
            WechatBinding.objects.filter(verified_at__isnull=True, created_at__lt=before)]


def _erased_or_due(extra_ids: list[int]) -> Q:
    return Q(pk__in=PersonalDataErasure.objects.values("resident_id")) | Q(pk__in=extra_ids)


def materials_of(resident_ids: Q) -> tuple[QuerySet, QuerySet]:
    """(due, still open) application materials with a file, of the residents matched by `resident_ids`."""
    from gridgov.egov.choices import OPEN_STATES
    from gridgov.egov.models import ApplicationMaterial
    from gridgov.people.models import Resident

    mine = (ApplicationMaterial.objects.exclude(file="")
            .filter(application__applicant__in=Resident.objects.filter(resident_ids).values("pk")))
    return (mine.exclude(application__state__in=OPEN_STATES).order_by("pk"),
            mine.filter(application__state__in=OPEN_STATES).order_by("pk"))


def evidence_of(resident_ids: Q) -> tuple[QuerySet, QuerySet]:
    """(due, still open) points claims with an evidence file, of those residents' own points accounts."""
    from gridgov.people.models import Resident
    from gridgov.points.choices import ClaimStatus
    from gridgov.points.models import Claim

    open_states = (ClaimStatus.PENDING, ClaimStatus.COLLECTIVE)
    mine = (Claim.objects.exclude(evidence_file="")
            .filter(subject__resident__in=Resident.objects.filter(resident_ids).values("pk")))
    return mine.exclude(status__in=open_states).order_by("pk"), mine.filter(status__in=open_states).order_by("pk")


# --- doing it -------------------------------------------------------------------------------------------


def _batched(due: Callable[[], QuerySet], *, batch_size: int, unit: str, progress: Progress,
             apply: Callable[[QuerySet], int]) -> int:
    ids = list(due().values_list("pk", flat=True))
    done = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        with transaction.atomic():
            # The due query read again (holds included): what a hold or a reopening took out meanwhile stays.
            done += apply(due().filter(pk__in=chunk).select_for_update(of=("self",)))
        if progress:
            progress(min(start + batch_size, len(ids)), len(ids), unit)
    return done


def _audit(action: str, object_type: str, ids: list[int], message: str) -> None:
    audit_record(actor=None, username="system", action=action, object_type=object_type,
                 changes={"ids": ids, "count": len(ids)}, message=message)


def _clear(fields: dict, action: str, object_type: str, message: str):
    def apply(qs: QuerySet) -> int:
        ids = list(qs.values_list("pk", flat=True))
        n = qs.model.objects.filter(pk__in=ids).update(**fields)
        if n:
            _audit(action, object_type, ids, message)
        return n
    return apply


def _delete_files(field_name: str, action: str, object_type: str, message: str):
    def apply(qs: QuerySet) -> int:
        rows = list(qs.only("pk", field_name))
        files = [getattr(r, field_name) for r in rows]
        ids = [r.pk for r in rows]
        qs.model.objects.filter(pk__in=ids).update(**{field_name: ""})

        def delete():
            for f in files:
                f.storage.delete(f.name)
        # After the commit: a rolled-back batch must not leave rows pointing at deleted files.
        transaction.on_commit(delete)
        if ids:
            _audit(action, object_type, ids, message)
        return len(ids)
    return apply


def sweep(*, cutoff: datetime, now: datetime, dry_run: bool, batch_size: int, progress: Progress,
          due_resident_ids: list[int]) -> SweepResult:
    """Everything beyond the resident rows (module docstring). In a dry run, counts only; the files
    counted then are those of the residents erased already and of those the run would erase."""
    result = SweepResult()
    residents = _erased_or_due(due_resident_ids if dry_run else [])
    materials, open_materials = materials_of(residents)
    evidence, open_evidence = evidence_of(residents)
    # Still open: skipped now, taken by the first run after they close.
    result.skipped_open = ([("申请", n) for n in open_materials.values_list("application__number", flat=True)
                            .distinct()] +
                           [("积分申报", str(pk)) for pk in open_evidence.values_list("pk", flat=True)])
    if dry_run:
        result.cases = cases_due(cutoff).count()
        result.inbound = inbound_due(cutoff).count()
        result.outbound = outbound_due(cutoff).count()
        result.sessions = sum(qs.count() for qs in short_lived_due(now))
        result.materials, result.evidence = materials.count(), evidence.count()
        return result

    def run(due, unit, apply):
        return _batched(due, batch_size=batch_size, unit=unit, progress=progress, apply=apply)

    result.cases = run(lambda: cases_due(cutoff), "件案件",
                       _clear({"reporter_name": "", "reporter_phone": "", "reporter_phone_index": ""},
                              "privacy.erase_reporter", "cases.case", "保存期限届满，已删除反映人姓名和电话"))
    result.inbound = run(lambda: inbound_due(cutoff), "条接入消息",
                         _clear({"sender": "", "sender_index": "", "sender_name": "", "body": "", "reply": ""},
                                "privacy.erase_intake", "intake.inboundmessage", "保存期限届满，已删除发送方和内容"))
    result.outbound = run(lambda: outbound_due(cutoff), "条外发短信",
                          _clear({"phone": "", "phone_index": "", "text": ""},
                                 "privacy.erase_intake", "intake.outboundsms", "保存期限届满，已删除号码和内容"))
    with transaction.atomic():
        for qs in short_lived_due(now):
            result.sessions += qs.delete()[0]
    result.materials = run(lambda: materials_of(residents)[0], "份申请材料",
                           _delete_files("file", "privacy.erase_files", "egov.applicationmaterial",
                                         "已删除个人信息人员的申请材料文件"))
    result.evidence = run(lambda: evidence_of(residents)[0], "份积分证明",
                          _delete_files("evidence_file", "privacy.erase_files", "points.claim",
                                        "已删除个人信息人员的积分证明文件"))
    return result
