"""政策找人: run the items' eligibility rules over the residents of a grid, one grid per batch.

Reading a care tag's attributes (a mental disorder's risk level, a disability grade) means
decrypting them, so matching is a batch over one grid at a time — a few hundred people, two
queries and a decryption per open tag — run by `gridgov egov_match` (nightly, or after an import)
or from the 政策找人 page for one grid. Only the fact of a match is stored, never the values that
made it; the list of people to approach is then an indexed read (selectors.match_list).
"""

from collections import defaultdict
from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gridgov.accounts.policy import get_scope, require
from gridgov.core.audit import audit_record
from gridgov.core.errors import NotFound
from gridgov.people.choices import ResidentState
from gridgov.people.models import CareTag, Resident
from gridgov.people.presenters import tag_attributes
from gridgov.regions.choices import RegionLevel
from gridgov.regions.models import Region

from .. import rules
from ..models import EligibilityMatch, EligibilityScan, ServiceItem
from ._common import invalid


@transaction.atomic
def eligibility_scan_grid(*, grid_code: str, acting_user=None, today: date | None = None) -> EligibilityScan:
    """Re-evaluates every active rule for every active resident of the grid and brings the stored
    matches up to date (new ones added, ones that no longer hold removed). With `acting_user` (the
    page's 重新匹配), the user needs egov.match.view and the grid in their scope; without (the
    command), it runs as the system."""
    code = str(grid_code or "")
    if acting_user is not None:
        require(acting_user, "egov.match.view")
        if not get_scope(acting_user).covers(code):
            raise NotFound()
    grid = Region.objects.filter(code=code).only("code", "level").first()
    if grid is None:
        raise NotFound()
    if grid.level != RegionLevel.GRID:
        raise invalid({"grid": "请选择一个网格（15 位代码）"}, "not_a_grid")
    now = timezone.now()
    today = today or timezone.localdate()
    items = [i for i in ServiceItem.objects.filter(is_active=True, eligibility_rule__isnull=False)
             .only("id", "eligibility_rule") if isinstance(i.eligibility_rule, dict)]
    residents = list(Resident.objects.filter(region_id=code, state=ResidentState.ACTIVE)
                     .only("id", "birth_date", "gender", "residency_status", "region_id"))
    tags: dict[int, dict[str, dict]] = defaultdict(dict)
    open_tags = (CareTag.objects.filter(resident__region_id=code, resident__state=ResidentState.ACTIVE,
                                        ended_on__isnull=True)
                 .filter(Q(since__isnull=True) | Q(since__lte=today))
                 .select_related("tag_type").only("resident_id", "attributes", "tag_type__code"))
    for tag in open_tags:
        tags[tag.resident_id][tag.tag_type.code] = tag_attributes(tag)
    matched: set[tuple[int, int]] = set()
    for resident in residents:
        data = rules.facts(birth_date=resident.birth_date, gender=resident.gender,
                           residency_status=resident.residency_status, tags=tags.get(resident.pk, {}), today=today)
        for item in items:
            if rules.evaluate(item.eligibility_rule, data):
                matched.add((item.pk, resident.pk))
    existing = {(item_id, resident_id): (pk, region_id) for pk, item_id, resident_id, region_id in
                EligibilityMatch.objects.filter(Q(region_id=code) | Q(resident__region_id=code))
                .values_list("pk", "item_id", "resident_id", "region_id")}
    gone = [pk for pair, (pk, _) in existing.items() if pair not in matched]
    if gone:
        EligibilityMatch.objects.filter(pk__in=gone).delete()
    kept = [pk for pair, (pk, _) in existing.items() if pair in matched]
    if kept:
        EligibilityMatch.objects.filter(pk__in=kept).update(last_seen_at=now, region_id=code)
    new = [EligibilityMatch(item_id=item_id, resident_id=resident_id, region_id=code, first_found_at=now,
                            last_seen_at=now) for item_id, resident_id in sorted(matched - set(existing))]
    EligibilityMatch.objects.bulk_create(new)
    scan = EligibilityScan.objects.create(region_id=code, started_at=now, finished_at=timezone.now(),
                                          residents=len(residents), rules=len(items), matches=len(matched),
                                          started_by=acting_user)
    audit_record(actor=acting_user, action="egov.match.scan", object_type="egov.eligibilityscan",
                 object_id=str(scan.pk), region_code=code,
                 changes={"residents": len(residents), "rules": len(items), "matches": len(matched),
                          "new": len(new), "removed": len(gone)})
    return scan


def eligibility_scan_region(*, prefix: str, today: date | None = None, progress=None) -> dict[str, int]:
    """Scans every grid with residents under a region prefix, each grid in its own transaction."""
    grids = sorted(set(Resident.objects.filter(region__code__startswith=prefix, state=ResidentState.ACTIVE)
                       .values_list("region_id", flat=True)))
    totals = {"grids": 0, "residents": 0, "matches": 0}
    for code in grids:
        scan = eligibility_scan_grid(grid_code=code, today=today)
        totals["grids"] += 1
        totals["residents"] += scan.residents
        totals["matches"] += scan.matches
        if progress:
            progress(code, scan)
    return totals
