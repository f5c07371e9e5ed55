"""Opening points accounts (积分主体) for the registry's residents, households and organisations, and
for party members and cadres. Opening is idempotent: asking again returns the open account."""

from django.db import IntegrityError, transaction

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User
from gridgov.accounts.policy import get_scope, require
from gridgov.core.audit import audit_record
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.people.choices import PoliticalStatus, ResidentState
from gridgov.people.models import Household, Organisation, Resident

from ..access import _pk
from ..choices import SubjectKind
from ..models import Balance, Subject

PARTY = (PoliticalStatus.PARTY_MEMBER, PoliticalStatus.PROBATIONARY)


def household_name(household: Household) -> str:
    head = household.head
    return f"{head.name}户" if head is not None else f"{household.number}号户"


def _lookup(kind: str, **target) -> Subject | None:
    return Subject.objects.filter(kind=kind, **target).select_related("balance").first()


def _create(*, kind: str, region_id: str, name: str, actor, **target) -> tuple[Subject, bool]:
    """The subject and its zero balance, or the one a concurrent request just opened."""
    existing = _lookup(kind, **target)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            subject = Subject(kind=kind, region_id=region_id, name=name[:100],
                              created_by=actor if getattr(actor, "is_authenticated", False) else None, **target)
            subject.full_clean(exclude=["region", "created_by", *target], validate_unique=False,
                               validate_constraints=False)
            subject.save(force_insert=True)
            Balance.objects.create(subject=subject)
    except IntegrityError:
        existing = _lookup(kind, **target)
        if existing is None:
            raise
        return existing, False
    return subject, True


def _visible(model, acting_user, value, **extra):
    obj = model.objects.visible_to(acting_user).filter(pk=_pk(value), **extra).first()
    if obj is None:
        raise NotFound()
    return obj


@transaction.atomic
def subject_open(*, acting_user, kind: str, resident=None, household=None, organisation=None,
                 user=None) -> Subject:
    """Opens (or returns) the points account of a registry row or a cadre inside the actor's scope.

    Guarantees: one account per resident and kind, per household, per organisation and per cadre
    (constraints, also under concurrent requests); a party-member account only for a resident
    whose political status is 中共党员/预备党员; a cadre account only for a user holding a village
    cadre post inside the actor's scope. `subject.created` tells whether it was opened now.
    """
    require(acting_user, "points.subject.open")
    if kind not in SubjectKind.values:
        raise ValidationFailed("积分主体类别不正确", code="invalid_kind", extra={"field": "kind"})
    if kind in (SubjectKind.RESIDENT, SubjectKind.PARTY_MEMBER):
        if resident is None:
            raise ValidationFailed("请指定居民", code="resident_required", extra={"field": "resident"})
        person = _visible(Resident, acting_user, resident, state=ResidentState.ACTIVE)
        if kind == SubjectKind.PARTY_MEMBER and person.political_status not in PARTY:
            raise ValidationFailed("该居民的政治面貌不是中共党员，不能开立党员积分账户", code="not_a_party_member",
                                   extra={"field": "resident"})
        subject, created = _create(kind=kind, region_id=person.region_id, name=person.name, actor=acting_user,
                                   resident=person)
    elif kind == SubjectKind.HOUSEHOLD:
        if household is None:
            raise ValidationFailed("请指定家庭（户）", code="household_required", extra={"field": "household"})
        home = _visible(Household, acting_user, household)
        subject, created = _create(kind=kind, region_id=home.region_id, name=household_name(home), actor=acting_user,
                                   household=home)
    elif kind == SubjectKind.ORGANISATION:
        if organisation is None:
            raise ValidationFailed("请指定单位", code="organisation_required", extra={"field": "organisation"})
        org = _visible(Organisation, acting_user, organisation)
        subject, created = _create(kind=kind, region_id=org.region_id, name=org.name, actor=acting_user,
                                   organisation=org)
    else:
        if user is None:
            raise ValidationFailed("请指定干部账号", code="user_required", extra={"field": "user"})
        post = (Assignment.objects.filter(user_id=_pk(user), role=Role.VILLAGE_CADRE, is_active=True)
                .select_related("user").order_by("region_id").first())
        if post is None or not get_scope(acting_user).covers(post.region_id):
            raise NotFound()
        cadre: User = post.user
        subject, created = _create(kind=kind, region_id=post.region_id, name=cadre.full_name or cadre.username,
                                   actor=acting_user, user=cadre)
    if created:
        audit_record(actor=acting_user, action="points.subject.open", obj=subject,
                     changes={"kind": kind, "name": subject.name})
    subject.created = created
    return subject


def household_subject_for(resident_id: int) -> Subject | None:
    """The household account a resident's points roll up to (opened on first use), or None."""
    person = Resident.objects.filter(pk=resident_id).select_related("household__head").first()
    if person is None or person.household is None:
        return None
    home = person.household
    subject, _ = _create(kind=SubjectKind.HOUSEHOLD, region_id=home.region_id, name=household_name(home), actor=None,
                         household=home)
    return subject
