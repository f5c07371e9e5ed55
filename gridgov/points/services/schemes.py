"""The scheme's settings per town or village (集体审议门槛, 同意人数, 家庭汇总, 公示)."""

from django.db import transaction

from gridgov.core.audit import audit_record
from gridgov.core.errors import ValidationFailed
from gridgov.regions.choices import RegionLevel

from ..access import access_region
from ..models import PointsScheme


@transaction.atomic
def scheme_set(*, acting_user, region: str, collective_threshold: int, committee_quorum: int,
               household_rollup: bool, notice_full_names: bool, notice_days: int) -> PointsScheme:
    """Sets the scheme for a county, town or village in the actor's scope (points.scheme.manage).
    Claims already entered keep the threshold and quorum they were entered under."""
    node = access_region(acting_user, region, permission="points.scheme.manage")
    if node.level == RegionLevel.GRID:
        raise ValidationFailed("积分制按村（社区）、镇（街道）或全市设置", code="invalid_scheme_region",
                               extra={"field": "region"})
    for field, value, lo, hi in (("collective_threshold", collective_threshold, 1, 100_000),
                                 ("committee_quorum", committee_quorum, 1, 15), ("notice_days", notice_days, 1, 366)):
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ValidationFailed(f"{field} 应在 {lo}~{hi} 之间", code="out_of_range", extra={"field": field})
    scheme = PointsScheme.objects.select_for_update().filter(region=node).first() or PointsScheme(region=node)
    before = {f: getattr(scheme, f, None) for f in ("collective_threshold", "committee_quorum", "household_rollup",
                                                    "notice_full_names", "notice_days")}
    scheme.collective_threshold = collective_threshold
    scheme.committee_quorum = committee_quorum
    scheme.household_rollup = bool(household_rollup)
    scheme.notice_full_names = bool(notice_full_names)
    scheme.notice_days = notice_days
    scheme.updated_by = acting_user
    scheme.full_clean(exclude=["region", "updated_by"], validate_unique=False)
    scheme.save()
    after = {f: getattr(scheme, f) for f in before}
    audit_record(actor=acting_user, action="points.scheme.set", obj=scheme, region_code=node.code,
                 changes={k: [before[k], v] for k, v in after.items() if before[k] != v})
    return scheme
