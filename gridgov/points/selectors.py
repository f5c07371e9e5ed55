"""Reads of the points scheme. Every list starts from the user's scope (or, for the public pages,
from one village and only what the scheme publishes)."""

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from gridgov.accounts.policy import get_scope, require
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.core.masking import mask_name
from gridgov.people.choices import ResidentState
from gridgov.people.models import Household, Organisation, Resident
from gridgov.people.presenters import display_name, shows_names
from gridgov.regions import codes
from gridgov.regions.choices import RegionLevel
from gridgov.regions.models import Region

from .access import access_region, committee_members, shop_scope_q, valid_region_code
from .choices import (
    SCORE_KINDS,
    ClaimStatus,
    EntryKind,
    RankingPeriod,
    SubjectKind,
    Vote,
)
from .models import Certificate, Claim, ClaimVote, Goods, Item, LedgerEntry, Order, Shop, Subject
from .services._common import EffectiveScheme, scheme_for

ADULT_AGE = 18


def _region_filter(qs: QuerySet, user, region: str | None) -> QuerySet:
    if region:
        access_region(user, region)
        qs = qs.filter(region__code__startswith=region)
    return qs


# --- catalogue and subjects ----------------------------------------------------------------------------


def item_list(*, user, category: str | None = None, kind: str | None = None, q: str | None = None,
              include_inactive: bool = False) -> list[Item]:
    """The catalogue (not scoped: the same 104 items everywhere), optionally for one subject kind."""
    require(user, "points.view")
    qs = Item.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if category:
        qs = qs.filter(category=category)
    if q:
        qs = qs.filter(Q(name__contains=q.strip()) | Q(code__iexact=q.strip()))
    items = list(qs)
    if kind:
        items = [i for i in items if kind in (i.subject_kinds or [])]
    return items


def subject_list(*, user, q: str | None = None, kind: str | None = None, region: str | None = None) -> QuerySet:
    """Points accounts in scope, with balances; by name, kind and region."""
    require(user, "points.view")
    qs = Subject.objects.visible_to(user).select_related("balance", "region").defer("region__geom_wkb")
    qs = _region_filter(qs, user, region)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__contains=q.strip())
    return qs.order_by("-balance__earned", "id")


@dataclass
class Candidate:
    kind: str
    kind_label: str
    target: str  # resident / household / organisation
    target_id: int
    name: str
    region_code: str
    subject_id: int | None


def registry_candidates(*, user, q: str, limit: int = 20) -> list[Candidate]:
    """Registry rows in scope whose name matches, with their points account if one is open: the page
    for entering a claim offers them, so nobody types a person twice (基层减负)."""
    require(user, "points.view")
    q = (q or "").strip()
    if not q:
        return []
    out: list[Candidate] = []
    residents = (Resident.objects.visible_to(user).filter(name__contains=q, state=ResidentState.ACTIVE)
                 .only("id", "name", "region_id", "political_status", "household_id").order_by("name", "id")[:limit])
    open_ = {(s.kind, s.resident_id): s.pk for s in Subject.objects.filter(resident__in=[r.pk for r in residents])}
    for r in residents:
        out.append(Candidate(SubjectKind.RESIDENT, str(SubjectKind.RESIDENT.label), "resident", r.pk, r.name,
                             r.region_id, open_.get((SubjectKind.RESIDENT, r.pk))))
        if r.political_status in ("party_member", "probationary"):
            out.append(Candidate(SubjectKind.PARTY_MEMBER, str(SubjectKind.PARTY_MEMBER.label), "resident", r.pk,
                                 r.name, r.region_id, open_.get((SubjectKind.PARTY_MEMBER, r.pk))))
    homes = (Household.objects.visible_to(user).filter(Q(head__name__contains=q) | Q(number=q))
             .select_related("head").only("id", "number", "region_id", "head__name").order_by("id")[:limit])
    open_h = dict(Subject.objects.filter(household__in=[h.pk for h in homes]).values_list("household_id", "pk"))
    for h in homes:
        name = f"{h.head.name}户" if h.head else f"{h.number}号户"
        out.append(Candidate(SubjectKind.HOUSEHOLD, str(SubjectKind.HOUSEHOLD.label), "household", h.pk, name,
                             h.region_id, open_h.get(h.pk)))
    orgs = (Organisation.objects.visible_to(user).filter(name__contains=q).only("id", "name", "region_id")
            .order_by("name", "id")[:limit])
    open_o = dict(Subject.objects.filter(organisation__in=[o.pk for o in orgs]).values_list("organisation_id", "pk"))
    for o in orgs:
        out.append(Candidate(SubjectKind.ORGANISATION, str(SubjectKind.ORGANISATION.label), "organisation", o.pk,
                             o.name, o.region_id, open_o.get(o.pk)))
    return out


# --- claims --------------------------------------------------------------------------------------------


def claim_list(*, user, status: str | None = None, region: str | None = None, subject: int | None = None,
               awaiting_me: bool = False) -> QuerySet:
    """Claims in scope, newest first. `awaiting_me`: open claims of the user's committees the user
    has not voted on yet (and may vote on)."""
    require(user, "points.view")
    qs = (Claim.objects.visible_to(user).select_related("subject", "item", "entered_by", "region")
          .defer("region__geom_wkb", "description")
          .annotate(approvals=Count("votes", filter=Q(votes__decision=Vote.APPROVE))))
    qs = _region_filter(qs, user, region)
    if status:
        qs = qs.filter(status=status)
    if subject:
        qs = qs.filter(subject_id=subject)
    if awaiting_me:
        from gridgov.accounts.choices import Role
        from gridgov.accounts.models import Assignment

        villages = list(Assignment.objects.filter(user=user, role=Role.VILLAGE_CADRE, is_active=True)
                        .values_list("region_id", flat=True))
        village_q = Q(pk__in=[])
        for code in villages:
            village_q |= Q(region__code__startswith=code)
        qs = (qs.filter(village_q, status__in=[ClaimStatus.PENDING, ClaimStatus.COLLECTIVE])
              .exclude(Exists(ClaimVote.objects.filter(claim=OuterRef("pk"), member=user)))
              .exclude(entered_by=user).exclude(subject__user=user))
    return qs.order_by("-created_at", "-id")


@dataclass
class ClaimDetail:
    claim: Claim
    votes: list
    events: list
    entries: list
    approvals: int
    rejections: int
    committee_size: int
    my_vote: str | None
    can_vote: bool


def claim_detail(*, user, claim: Claim) -> ClaimDetail:
    from .access import is_committee_member

    votes = list(claim.votes.select_related("member"))
    events = list(claim.events.select_related("actor"))
    entries = list(claim.entries.select_related("subject").order_by("id"))
    mine = next((v.decision for v in votes if v.member_id == user.pk), None)
    conflicted = user.pk == claim.entered_by_id or (claim.subject.user_id and user.pk == claim.subject.user_id)
    from gridgov.accounts.policy import can

    can_vote = (claim.status in (ClaimStatus.PENDING, ClaimStatus.COLLECTIVE) and can(user, "points.verify")
                and mine is None and not conflicted and is_committee_member(user, claim.village_code))
    return ClaimDetail(claim, votes, events, entries,
                       approvals=sum(1 for v in votes if v.decision == Vote.APPROVE),
                       rejections=sum(1 for v in votes if v.decision == Vote.REJECT),
                       committee_size=len(committee_members(claim.village_code)), my_vote=mine, can_vote=can_vote)


# --- ledger --------------------------------------------------------------------------------------------


def ledger_list(*, user, region: str | None = None, subject: int | None = None, kind: str | None = None,
                item: int | None = None, date_from: date | None = None, date_to: date | None = None) -> QuerySet:
    """Ledger entries in scope, newest first."""
    require(user, "points.view")
    qs = (LedgerEntry.objects.visible_to(user)
          .select_related("subject", "item", "actor")
          .annotate(is_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("pk")))))
    qs = _region_filter(qs, user, region)
    if subject:
        qs = qs.filter(subject_id=subject)
    if kind:
        qs = qs.filter(kind=kind)
    if item:
        qs = qs.filter(item_id=item)
    if date_from:
        qs = qs.filter(occurred_on__gte=date_from)
    if date_to:
        qs = qs.filter(occurred_on__lte=date_to)
    return qs.order_by("-posted_at", "-id")


# --- rankings ------------------------------------------------------------------------------------------


def period_range(period: str, year: int | None = None, month: int | None = None) -> tuple[date, date, str]:
    today = timezone.localdate()
    year = year or today.year
    if not 2000 <= year <= 2100:
        raise ValidationFailed("年份不正确", code="invalid_period", extra={"field": "year"})
    if period == RankingPeriod.YEAR:
        return date(year, 1, 1), date(year, 12, 31), f"{year}年"
    if period != RankingPeriod.MONTH:
        raise ValidationFailed("排名周期只能是 month 或 year", code="invalid_period", extra={"field": "period"})
    month = month or (today.month if year == today.year else 12)
    if not 1 <= month <= 12:
        raise ValidationFailed("月份不正确", code="invalid_period", extra={"field": "month"})
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]), f"{year}年{month}月"


@dataclass
class RankingRow:
    rank: int
    subject_id: int
    name: str
    kind: str
    region_code: str
    village_name: str
    points: int


@dataclass
class Ranking:
    region: Region
    period: str
    label: str
    start: date
    end: date
    kind: str
    rows: list[RankingRow] = field(default_factory=list)


def _rank(rows: Iterable[dict], names: dict[str, str], show) -> list[RankingRow]:
    out, rank, last = [], 0, None
    for i, row in enumerate(rows, 1):
        if row["points"] != last:
            rank, last = i, row["points"]
        out.append(RankingRow(rank, row["subject_id"], show(row), row["subject__kind"], row["subject__region_id"],
                              names.get(row["subject__region_id"][:12], ""), row["points"]))
    return out


def ranking(*, user, region: str | None = None, period: str = RankingPeriod.MONTH, year: int | None = None,
            month: int | None = None, kind: str = SubjectKind.RESIDENT, limit: int = 100) -> Ranking:
    """Subjects of one kind ranked by the points they earned in a month or a year inside a village,
    a town or the county (competition ranking: 1, 2, 2, 4). Deductions and corrections count."""
    require(user, "points.view")
    code = region or (get_scope(user).root_codes[0] if get_scope(user).root_codes else "")
    node = access_region(user, code)
    if kind not in SubjectKind.values:
        raise ValidationFailed("主体类别不正确", code="invalid_kind", extra={"field": "kind"})
    start, end, label = period_range(period, year, month)
    rows = (LedgerEntry.objects.filter(region__code__startswith=node.code, occurred_on__range=(start, end),
                                       kind__in=SCORE_KINDS, subject__kind=kind)
            .values("subject_id", "subject__name", "subject__kind", "subject__region_id")
            .annotate(points=Sum("score_delta")).filter(points__gt=0)
            .order_by("-points", "subject_id")[: max(1, min(limit, 1000))])
    rows = list(rows)
    names = dict(Region.objects.filter(code__in={r["subject__region_id"][:12] for r in rows})
                 .values_list("code", "name"))
    full = shows_names(user)
    return Ranking(node, period, label, start, end, kind,
                   _rank(rows, names, lambda r: display_name(r["subject__name"], full=full)))


@dataclass
class RegionTotal:
    code: str
    name: str
    points: int
    awards: int
    subjects: int


def region_totals(*, user, region: str, period: str = RankingPeriod.MONTH, year: int | None = None,
                  month: int | None = None) -> list[RegionTotal]:
    """The points earned in each child of a node (towns of the county, villages of a town …)."""
    node = access_region(user, region)
    if node.level >= RegionLevel.GRID:
        return []
    start, end, _ = period_range(period, year, month)
    width = {RegionLevel.COUNTY: 9, RegionLevel.TOWN: 12, RegionLevel.VILLAGE: 15}[node.level]
    rows = (LedgerEntry.objects.filter(region__code__startswith=node.code, occurred_on__range=(start, end),
                                       kind__in=SCORE_KINDS)
            .exclude(kind=EntryKind.ROLLUP)
            .annotate(child=Substr("region_id", 1, width)).values("child")
            .annotate(points=Sum("score_delta"), awards=Count("id", filter=Q(kind=EntryKind.AWARD)),
                      subjects=Count("subject_id", distinct=True)))
    found = {r["child"]: r for r in rows}
    children = Region.objects.filter(parent_id=node.code).order_by("code").values_list("code", "name")
    out = [RegionTotal(c, n, found.get(c, {}).get("points") or 0, found.get(c, {}).get("awards") or 0,
                       found.get(c, {}).get("subjects") or 0) for c, n in children]
    return sorted(out, key=lambda r: (-r.points, r.code))


# --- shops and orders ----------------------------------------------------------------------------------


def shop_list(*, user, region: str | None = None) -> QuerySet:
    """Shops the user can reach: in scope, or at the village or town above it."""
    require(user, "points.view")
    qs = Shop.objects.filter(shop_scope_q(user)).select_related("region").defer("region__geom_wkb")
    if region:
        if not valid_region_code(region):
            raise NotFound()
        qs = qs.filter(Q(region__code__startswith=region) | Q(region__code__in=[region[:9], region[:12]]))
    return qs.annotate(goods_count=Count("goods", filter=Q(goods__is_active=True))).order_by("region_id", "name")


def goods_list(*, user, shop: Shop, include_inactive: bool = False) -> QuerySet:
    qs = Goods.objects.filter(shop=shop)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("sort_order", "cost", "id")


def order_list(*, user, region: str | None = None, subject: int | None = None, status: str | None = None,
               shop: int | None = None) -> QuerySet:
    require(user, "points.view")
    qs = Order.objects.visible_to(user).select_related("subject", "goods", "shop", "placed_by")
    qs = _region_filter(qs, user, region)
    if subject:
        qs = qs.filter(subject_id=subject)
    if status:
        qs = qs.filter(status=status)
    if shop:
        qs = qs.filter(shop_id=shop)
    return qs.order_by("-placed_at", "-id")


def certificate_list(*, user, subject: int | None = None) -> QuerySet:
    require(user, "points.view")
    qs = Certificate.objects.visible_to(user).select_related("subject", "issued_by")
    if subject:
        qs = qs.filter(subject_id=subject)
    return qs.order_by("-issued_at", "-id")


# --- public pages --------------------------------------------------------------------------------------


def is_minor(subject: Subject, today: date) -> bool:
    resident = subject.resident if subject.resident_id else None
    if resident is None or resident.birth_date is None:
        return False
    born = resident.birth_date
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age < ADULT_AGE


def public_name(subject: Subject, scheme: EffectiveScheme, today: date) -> str:
    """The name the notice board may show: full per the scheme, masked for minors (always)."""
    if not scheme.notice_full_names or is_minor(subject, today):
        return mask_name(subject.name)
    return subject.name


@dataclass
class NoticeRow:
    occurred_on: date
    name: str
    kind_label: str
    category: str
    item: str
    reason: str
    points: int
    reversed: bool


@dataclass
class NoticeBoard:
    village: Region
    town_name: str
    scheme: EffectiveScheme
    since: date
    rows: list[NoticeRow]
    top: list[tuple[int, str, int]]  # rank, name, points this month


def public_village(code: str) -> Region:
    if not valid_region_code(code) or len(code) != 12:
        raise NotFound()
    village = Region.objects.filter(code=code, level=RegionLevel.VILLAGE).defer("geom_wkb").first()
    if village is None:
        raise NotFound()
    return village


def notice_board(*, village_code: str, today: date | None = None) -> NoticeBoard:
    """积分公示 of one village for anyone: the awards of the last `notice_days` days with name, reason
    and points — never ID numbers, phones, addresses or care tags; and this month's top ten."""
    village = public_village(village_code)
    today = today or timezone.localdate()
    scheme = scheme_for(village.code)
    since = today - timedelta(days=scheme.notice_days)
    entries = (LedgerEntry.objects.filter(region__code__startswith=village.code, kind=EntryKind.AWARD,
                                          occurred_on__gte=since, occurred_on__lte=today)
               .select_related("subject__resident", "item", "claim")
               .only("occurred_on", "delta", "score_delta", "subject__name", "subject__kind", "subject__resident_id",
                     "subject__resident__birth_date", "item__name", "item__category", "claim__public_reason")
               .annotate(is_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("pk"))))
               .order_by("-occurred_on", "-id")[:500])
    rows = [NoticeRow(e.occurred_on, public_name(e.subject, scheme, today), e.subject.get_kind_display(),
                      e.item.get_category_display() if e.item else "", e.item.name if e.item else "",
                      e.claim.public_reason if e.claim else "", e.score_delta, e.is_reversed) for e in entries]
    start = today.replace(day=1)
    top_rows = (LedgerEntry.objects.filter(region__code__startswith=village.code, occurred_on__range=(start, today),
                                           kind__in=SCORE_KINDS, subject__kind=SubjectKind.RESIDENT)
                .values("subject_id").annotate(points=Sum("score_delta")).filter(points__gt=0)
                .order_by("-points", "subject_id")[:10])
    top_rows = list(top_rows)
    subjects = {s.pk: s for s in Subject.objects.filter(pk__in=[r["subject_id"] for r in top_rows])
                .select_related("resident").only("name", "kind", "resident__birth_date")}
    top, rank, last = [], 0, None
    for i, r in enumerate(top_rows, 1):
        if r["points"] != last:
            rank, last = i, r["points"]
        top.append((rank, public_name(subjects[r["subject_id"]], scheme, today), r["points"]))
    town = Region.objects.filter(code=village.code[:9]).values_list("name", flat=True).first() or ""
    return NoticeBoard(village, town, scheme, since, rows, top)


def notice_index() -> list[dict]:
    """Towns with their villages, for the public notice board's index (names only)."""
    towns = dict(Region.objects.filter(level=RegionLevel.TOWN).values_list("code", "name"))
    out: dict[str, dict] = {}
    for code, name in (Region.objects.filter(level=RegionLevel.VILLAGE).order_by("code")
                       .values_list("code", "name")):
        town = codes.parent_code(code)
        entry = out.setdefault(town, {"code": town, "name": towns.get(town, town), "villages": []})
        entry["villages"].append({"code": code, "name": name})
    return list(out.values())
