"""Pull: what the phone keeps of the worker's own grid, to work with no signal.

`sync_pull` answers only the grid(s) the user works as grid worker — never the village or the town,
even for a worker who also holds a wider role — with personal data masked (the phone may be lost):
names as 李*艳, no ID numbers or phones, care tags only up to the sensitivity the worker may see.

Cursor: an opaque `v1:<milliseconds>` the server hands out with each pull. Cases are incremental
(changed since the cursor, by `updated_at`); today's must-visit list, the people, the points
subjects and the open applications of one grid are small (tens to a few hundred rows) and always
sent whole, which also removes what left the grid; catalogues come with a full pull (no cursor, or
a cursor from an earlier day) only.
"""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from gridgov.accounts.policy import require
from gridgov.core.errors import ValidationFailed
from gridgov.core.masking import mask_name
from gridgov.people.choices import ResidentState
from gridgov.regions.models import Region

MAX_PEOPLE = 800
MAX_CASES = 200
CASE_DAYS = 30
MAX_NOTICES = 30


def parse_cursor(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        version, millis = str(value).split(":", 1)
        if version != "v1":
            raise ValueError
        return datetime.fromtimestamp(int(millis) / 1000, tz=timezone.get_current_timezone())
    except (ValueError, OverflowError, OSError):
        raise ValidationFailed("同步游标不正确，请重新全量同步", code="invalid_cursor",
                               extra={"field": "cursor"}) from None


def make_cursor(at: datetime) -> str:
    return f"v1:{int(at.timestamp() * 1000)}"


def _age(birth, today) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _grid(user) -> Region:
    from gridgov.visits.access import worker_grid_codes

    codes = worker_grid_codes(user)
    if not codes:
        raise ValidationFailed("您没有负责的网格，无法使用网格通", code="no_grid")
    region = Region.objects.defer("geom_wkb").select_related("parent__parent").get(code=codes[0])
    return region


def _must_visit(user, grid: Region, today) -> list[dict]:
    from gridgov.visits.selectors import must_visit_list

    listing = must_visit_list(user=user, grid=grid.code, day=today)
    return [{
        "resident": i.resident_id, "name": mask_name(i.name), "gender": i.gender, "age": _age(i.birth_date, today),
        "address": i.address, "tags": [t["name"] for t in i.tags], "checklist": [c["item"] for c in i.checklist],
        "due_date": i.due_date.isoformat(), "days_overdue": i.days_overdue, "never_visited": i.never_visited,
        "done": i.done,
    } for i in listing.items]


def _people(user, grid: Region, today) -> list[dict]:
    from gridgov.people.models import CareTag, Resident
    from gridgov.visits import rules
    from gridgov.visits.access import max_tag_sensitivity

    residents = list(Resident.objects.visible_to(user).filter(region_id=grid.code, state=ResidentState.ACTIVE)
                     .values("id", "name", "gender", "birth_date", "household_id", "address__road",
                             "address__house_number").order_by("household_id", "id")[:MAX_PEOPLE])
    ids = [r["id"] for r in residents]
    tags: dict[int, list[str]] = {}
    for row in (CareTag.objects.filter(rules.tag_open_q(today), resident_id__in=ids,
                                       sensitivity__lte=max_tag_sensitivity(user))
                .values("resident_id", "tag_type__name").order_by("tag_type__sort_order")):
        tags.setdefault(row["resident_id"], []).append(row["tag_type__name"])
    return [{
        "id": r["id"], "name": mask_name(r["name"]), "gender": r["gender"], "age": _age(r["birth_date"], today),
        "household": r["household_id"],
        "address": "".join(p for p in (r["address__road"], r["address__house_number"]
                                       and f"{r['address__house_number']}号") if p),
        "tags": tags.get(r["id"], []),
    } for r in residents]


def _subjects(user, grid: Region) -> list[dict]:
    from gridgov.points.models import Subject

    rows = (Subject.objects.visible_to(user).filter(region_id=grid.code)
            .values("id", "kind", "name", "resident_id").order_by("kind", "id")[:MAX_PEOPLE])
    return [{"id": r["id"], "kind": r["kind"], "name": mask_name(r["name"]), "resident": r["resident_id"]}
            for r in rows]


def _cases(user, grid: Region, since: datetime | None, now: datetime) -> list[dict]:
    from gridgov.cases.choices import CaseState
    from gridgov.cases.models import Case

    qs = Case.objects.visible_to(user).filter(region_id=grid.code).select_related("category")
    if since is not None:
        qs = qs.filter(updated_at__gt=since)
    else:
        recent = now - timezone.timedelta(days=CASE_DAYS)
        qs = qs.filter(Q(updated_at__gte=recent) | Q(reporter=user, state__in=[
            CaseState.REPORTED, CaseState.SELF_RESOLVED, CaseState.AWAITING_VERIFICATION, CaseState.REOPENED]))
    out = []
    for case in qs.order_by("-updated_at", "-id")[:MAX_CASES]:
        actions = []
        if case.state == CaseState.REPORTED and case.reporter_id == user.pk and case.category.self_resolvable:
            actions.append("self_resolve")
        if case.state == CaseState.AWAITING_VERIFICATION:
            actions.append("verify")
        out.append({
            "id": case.pk, "number": case.number, "state": case.state, "state_label": case.get_state_display(),
            "category": case.category.name, "description": case.description[:200], "address": case.address,
            "mine": case.reporter_id == user.pk, "self_resolved": case.self_resolved,
            "created_at": case.created_at.isoformat(), "updated_at": case.updated_at.isoformat(), "actions": actions,
        })
    return out


def _applications(user, grid: Region) -> list[dict]:
    from gridgov.egov.access import application_scope_q
    from gridgov.egov.choices import OPEN_STATES, State
    from gridgov.egov.models import Application

    rows = (Application.objects.filter(application_scope_q(user), region_id=grid.code, state__in=OPEN_STATES)
            .select_related("item", "applicant").order_by("-created_at")[:MAX_CASES])
    return [{
        "id": a.pk, "number": a.number, "item": a.item.name, "applicant": mask_name(a.applicant.name),
        "state": a.state, "state_label": a.get_state_display(),
        "missing": [{"code": c, "name": a.item.material_name(c)} for c in (a.missing_materials or [])]
        if a.state == State.RETURNED else [],
    } for a in rows]


def _catalogues() -> dict:
    from gridgov.cases.models import CaseCategory
    from gridgov.egov.models import ServiceItem
    from gridgov.points.models import Item

    categories = [{"code": c.code, "name": c.name, "parent": c.parent.name if c.parent else "",
                   "self_resolvable": c.self_resolvable}
                  for c in CaseCategory.objects.filter(is_active=True, children__isnull=True)
                  .select_related("parent").order_by("parent__sort_order", "sort_order", "code")]
    items = [{"code": i.code, "name": i.name, "min": i.points_min, "max": i.points_max,
              "kinds": i.subject_kinds, "evidence_required": i.evidence_required}
             for i in Item.objects.filter(is_active=True).order_by("code")]
    services = [{"code": s.code, "name": s.name, "questions": s.questions}
                for s in ServiceItem.objects.filter(is_active=True).order_by("code")]
    return {"case_categories": categories, "points_items": items, "service_items": services}


def _notices(user) -> list[dict]:
    """The worker's latest notices (notices.selectors.inbox), those still owing an acknowledgement first."""
    from gridgov.notices.selectors import inbox

    rows = list(inbox(user)[:MAX_NOTICES])
    rows.sort(key=lambda r: not (r.notice.requires_ack and r.acked_at is None))
    return [{
        "id": r.notice_id, "title": r.notice.title, "body": (r.notice.body_text or "")[:2000],
        "unit": r.notice.author_unit, "sent_at": r.notice.sent_at.isoformat(), "requires_ack": r.notice.requires_ack,
        "acknowledged": r.acked_at is not None,
        "deadline": r.notice.ack_deadline.isoformat() if r.notice.ack_deadline else None,
    } for r in rows]


def sync_pull(*, user, cursor: str | None = None) -> dict:
    """The worker's grid as the phone keeps it, and the cursor for the next pull (module docstring)."""
    require(user, "mobile.sync")
    since = parse_cursor(cursor)
    now = timezone.now()
    today = timezone.localdate(now)
    grid = _grid(user)
    full = since is None or timezone.localdate(since) != today
    village = grid.parent
    data = {
        "cursor": make_cursor(now), "server_time": now.isoformat(), "full": full, "today": today.isoformat(),
        "worker": {"name": user.full_name or user.username},
        "grid": {"code": grid.code, "name": grid.name, "village": village.name if village else "",
                 "town": village.parent.name if village and village.parent else ""},
        "must_visit": _must_visit(user, grid, today),
        "people": _people(user, grid, today),
        "subjects": _subjects(user, grid),
        "cases": _cases(user, grid, since, now),
        "applications": _applications(user, grid),
        "notices": _notices(user),
    }
    if full:
        data["catalogues"] = _catalogues()
    return data
