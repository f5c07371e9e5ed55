"""The retention schedule of personal data (PIPL art. 19 and 47, 最小必要 / 及时删除).

Rule: a resident who is no longer on the register (迁出 moved out, 死亡 deceased) keeps their
personal fields for PERSONAL_DATA_RETENTION_DAYS after the last change to their record (the
state change, or a later correction: the clock restarts, erring on the side of keeping), unless an
open hold (法定保存) exempts them. Then `erase_resident` clears what identifies the person and keeps
the rows that statistics count (the resident row with grid, state, gender and residency type; care
tags; visits; cases; households).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from gridgov.core.audit import audit_record
from gridgov.people.choices import ResidentState
from gridgov.people.models import CareTag, House, Resident

from .models import PersonalDataErasure, PersonalDataHold
from .sweeps import SweepResult, sweep

ERASED_NAME = "已删除"
INACTIVE_STATES = (ResidentState.MOVED_OUT, ResidentState.DECEASED)
# What identifies a person on their own row; each becomes empty (or None). Gender, state, grid and
# residency type stay: they are what the statistics count, and identify nobody on their own.
ERASED_FIELDS = {
    "name": ERASED_NAME, "id_number": "", "id_number_index": "", "id_tail": "", "phone": "", "phone_index": "",
    "health_note": "", "occupation": "", "guardian_note": "", "guardian": None, "birth_date": None,
    "ethnicity": "",
}


def cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)


def due_for_erasure(now: datetime | None = None) -> QuerySet[Resident]:
    """The residents whose personal data is past its retention period, held by no open hold and
    not erased yet, in primary-key order."""
    held = PersonalDataHold.objects.filter(released_at__isnull=True).values("resident_id")
    erased = PersonalDataErasure.objects.values("resident_id")
    return (Resident.objects.filter(state__in=INACTIVE_STATES, updated_at__lt=cutoff(now))
            .exclude(pk__in=held).exclude(pk__in=erased).order_by("pk"))


@dataclass
class PurgeResult:
    due: int = 0
    erased: int = 0
    photos: int = 0
    resident_ids: list[int] = field(default_factory=list)
    beyond: SweepResult = field(default_factory=SweepResult)  # cases, intake, sessions, files (sweeps.py)


def _delete_files_after_commit(files: list) -> None:
    # After the commit: a rolled-back erasure must not leave rows pointing at deleted files.
    def delete():
        for f in files:
            f.storage.delete(f.name)
    transaction.on_commit(delete)


def erase_resident(resident: Resident, *, now: datetime) -> PersonalDataErasure | None:
    """Clears one person's personal data, in the caller's transaction, and records it (audited).

    Re-checks the schedule under a row lock: a hold set or a state restored since the list was
    read wins, and the person is left alone (returns None)."""
    from gridgov.visits.models import Visit

    locked = (due_for_erasure(now).select_for_update().filter(pk=resident.pk)
              .only("pk", "region", "state", "updated_at").first())
    if locked is None:
        return None
    Resident.objects.filter(pk=locked.pk).update(**ERASED_FIELDS)
    CareTag.objects.filter(resident_id=locked.pk).update(attributes="")
    House.objects.filter(owner_id=locked.pk).update(owner_name="")
    visits = Visit.objects.filter(resident_id=locked.pk)
    photos = [v.photo for v in visits.exclude(photo="").only("pk", "photo")]
    # The visit stays (it counts toward coverage); what was written or photographed about the person goes.
    visits.update(photo="", findings="")
    _delete_files_after_commit(photos)
    from gridgov.selfservice.models import OtpChallenge, ResidentSession

    OtpChallenge.objects.filter(resident_id=locked.pk).delete()
    ResidentSession.objects.filter(resident_id=locked.pk).delete()
    erasure = PersonalDataErasure.objects.create(
        resident_id=locked.pk, region_id=locked.region_id, state=locked.state, inactive_since=locked.updated_at,
        erased_at=now, photos_deleted=len(photos))
    audit_record(actor=None, username="system", action="privacy.erase", object_type="people.resident",
                 object_id=str(locked.pk), region_code=locked.region_id,
                 changes={"fields": sorted(ERASED_FIELDS), "photos": len(photos), "state": locked.state},
                 message=f"保存期限（{settings.PERSONAL_DATA_RETENTION_DAYS} 天）届满，已删除个人信息")
    return erasure


def purge(*, dry_run: bool = False, batch_size: int = 200, now: datetime | None = None,
          progress: Callable[[int, int, str], None] | None = None) -> PurgeResult:
    """Erases everyone due (see module docstring), one transaction per batch; audited per person
    and once per run; then the sweeps beyond residents (sweeps.py). A dry run reads the schedule
    and changes nothing."""
    now = now or timezone.now()
    ids = list(due_for_erasure(now).values_list("pk", flat=True))
    result = PurgeResult(due=len(ids))
    if dry_run:
        result.resident_ids = ids
        result.beyond = sweep(cutoff=cutoff(now), now=now, dry_run=True, batch_size=batch_size, progress=None,
                              due_resident_ids=ids)
        return result
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        with transaction.atomic():
            for resident in Resident.objects.filter(pk__in=chunk).only("pk").order_by("pk"):
                erasure = erase_resident(resident, now=now)
                if erasure is not None:
                    result.erased += 1
                    result.photos += erasure.photos_deleted
                    result.resident_ids.append(resident.pk)
        if progress:
            progress(min(start + batch_size, len(ids)), len(ids), "人")
    result.beyond = sweep(cutoff=cutoff(now), now=now, dry_run=False, batch_size=batch_size, progress=progress,
                          due_resident_ids=[])
    with transaction.atomic():
        audit_record(actor=None, username="system", action="privacy.purge", object_type="people.resident",
                     changes={"due": result.due, "erased": result.erased, "photos": result.photos,
                              "retention_days": settings.PERSONAL_DATA_RETENTION_DAYS, **result.beyond.counts()})
    return result
