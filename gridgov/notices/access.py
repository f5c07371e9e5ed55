"""access_<entity>(user, id): the one check per entity; missing and forbidden are the same 404."""

from django.db.models import Q

from gridgov.accounts.choices import Role
from gridgov.accounts.policy import can, get_scope
from gridgov.core.errors import NotFound

from .models import Notice, Report


def _pk(value) -> int:
    try:
        return int(getattr(value, "pk", value))
    except (TypeError, ValueError):
        raise NotFound() from None


def sees_whole(user, notice: Notice) -> bool:
    """The author and the city centre see every receipt of a notice; other supervisors their own area's."""
    return notice.author_id == user.pk or Role.CITY_OPERATOR in get_scope(user).roles


def supervision_q(user) -> Q:
    """Notices a supervisor (notices.stats) may follow: addressed to a region that overlaps their scope.
    A town follows a city-wide notice in its town; the city follows a town's notice."""
    if not can(user, "notices.stats"):
        return Q(pk__in=[])
    q = Q()
    for prefix in get_scope(user).region_prefixes:
        q |= Q(target_region__code__startswith=prefix)
        # the target region is an ancestor of the prefix: one of the prefix's own ancestors (6, 9, 12 digits)
        q |= Q(target_region__code__in=[prefix[:n] for n in (6, 9, 12) if n < len(prefix)])
    return q or Q(pk__in=[])


def access_notice(user, notice_id) -> Notice:
    """A notice its recipient, its author or a supervisor of an overlapping area may open."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    pk = _pk(notice_id)
    base = Notice.objects.select_related("author", "target_region", "withdrawn_by")
    found = base.filter(pk=pk).filter(Q(author=user) | supervision_q(user)).first()
    if found is None:
        found = base.filter(pk=pk, receipts__user=user).first()
    if found is None:
        raise NotFound()
    return found


def access_report(user, report_id) -> Report:
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    found = (Report.objects.visible_to(user).select_related("author", "region", "read_by", "handled_by", "case")
             .filter(pk=_pk(report_id)).first())
    if found is None:
        raise NotFound()
    return found
