"""Reads of resident self-service. Every read starts from the signed-in resident: their household's
points, their household's applications, the cases reported from their phone. Anything else is 404."""

from dataclasses import dataclass

from django.db.models import Q

from gridgov.cases.models import Case, CaseCategory
from gridgov.core.crypto import blind_index
from gridgov.core.errors import NotFound
from gridgov.egov.models import Application
from gridgov.people.models import Resident
from gridgov.points.choices import ClaimStatus, SubjectKind
from gridgov.points.models import Balance, Claim, Item, LedgerEntry, Subject

CASE_PHONE_PURPOSE = "case.reporter_phone"
PAGE = 20


def members(resident: Resident) -> list[Resident]:
    if resident.household_id is None:
        return [resident]
    return list(Resident.objects.filter(household_id=resident.household_id).order_by("id"))


def _subjects(resident: Resident) -> list[Subject]:
    """The household's points account and its members' own accounts."""
    q = Q(resident_id__in=[m.pk for m in members(resident)])
    if resident.household_id:
        q |= Q(household_id=resident.household_id)
    return list(Subject.objects.select_related("resident").filter(q).order_by("kind", "id"))


@dataclass(frozen=True)
class Points:
    household: Subject | None
    earned: int
    spendable: int
    rank: int | None
    ranked: int
    accounts: list[tuple[Subject, Balance | None]]
    entries: list[LedgerEntry]
    pending: list[Claim]


def household_points(resident: Resident) -> Points:
    """The household's score and its place among the village's households (by total score), the
    members' own accounts, the latest ledger entries and the claims still being verified."""
    subjects = _subjects(resident)
    balances = {b.subject_id: b for b in Balance.objects.filter(subject__in=subjects)}
    household = next((s for s in subjects if s.kind == SubjectKind.HOUSEHOLD), None)
    earned = spendable = 0
    rank, ranked = None, 0
    if household is not None:
        mine = balances.get(household.pk)
        earned, spendable = (mine.earned, mine.spendable) if mine else (0, 0)
        village = Balance.objects.filter(subject__kind=SubjectKind.HOUSEHOLD,
                                         subject__region__code__startswith=household.region_id[:12])
        ranked = village.count()
        rank = village.filter(earned__gt=earned).count() + 1 if mine else None
    entries = list(LedgerEntry.objects.select_related("subject", "item").filter(subject__in=subjects)
                   .order_by("-posted_at", "-id")[:PAGE])
    pending = list(Claim.objects.select_related("item").filter(
        subject__in=subjects, status__in=[ClaimStatus.PENDING, ClaimStatus.COLLECTIVE]).order_by("-created_at")[:PAGE])
    return Points(household, earned, spendable, rank, ranked, [(s, balances.get(s.pk)) for s in subjects], entries,
                  pending)


def claimable_items() -> list[Item]:
    """Items a resident may report themselves: active, a fixed value, for residents or households."""
    items = Item.objects.filter(is_active=True).order_by("category", "code")
    return [i for i in items if i.points_min == i.points_max > 0
            and {SubjectKind.RESIDENT, SubjectKind.HOUSEHOLD} & set(i.subject_kinds or [])]


def item_by_code(code: str) -> Item | None:
    return next((i for i in claimable_items() if i.code == code), None)


def subject_for(resident: Resident, item: Item) -> Subject | None:
    kinds = set(item.subject_kinds or [])
    if SubjectKind.RESIDENT in kinds:
        own = Subject.objects.filter(kind=SubjectKind.RESIDENT, resident=resident).first()
        if own is not None:
            return own
    if SubjectKind.HOUSEHOLD in kinds and resident.household_id:
        return Subject.objects.filter(kind=SubjectKind.HOUSEHOLD, household_id=resident.household_id).first()
    return None


def application_list(resident: Resident):
    """The household's applications (政务网上办), newest first."""
    if resident.household_id:
        qs = Application.objects.filter(applicant__household_id=resident.household_id)
    else:
        qs = Application.objects.filter(applicant=resident)
    return qs.select_related("item", "applicant").order_by("-created_at", "-id")


def application_get(resident: Resident, pk) -> Application:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    found = application_list(resident).filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found


def report_list(resident: Resident):
    """Cases reported from the resident's phone (self-service, hotline, SMS, WeChat), newest first."""
    phone = (resident.phone or "").strip()
    if not phone:
        return Case.objects.none()
    return (Case.objects.filter(reporter_phone_index=blind_index(phone, CASE_PHONE_PURPOSE))
            .select_related("category").order_by("-created_at", "-id"))


def report_get(resident: Resident, number: str) -> Case:
    found = report_list(resident).filter(number=str(number)[:20]).first()
    if found is None:
        raise NotFound()
    return found


def report_timeline(case: Case) -> list:
    """What a resident may read of the timeline: when and which step, not who or internal notes."""
    return list(case.events.exclude(action__in=["supervise", "note", "flag_duplicate"])
                .values("action", "to_state", "created_at").order_by("created_at", "id"))


def report_categories() -> list[CaseCategory]:
    """Categories a resident chooses from: the active leaves, grouped by their parent."""
    return list(CaseCategory.objects.select_related("parent").filter(is_active=True, children__isnull=True)
                .order_by("kind", "parent__sort_order", "sort_order", "code"))
