"""Access to one tip and one reward fund: 404 for missing and out of sight alike, 403 without the permission."""

from django.db.models import Q

from gridgov.accounts.choices import Role
from gridgov.accounts.policy import can, get_scope, require
from gridgov.cases.models.tip import RewardFund, Tip
from gridgov.core.errors import NotFound

from .scope import DEPARTMENT_ROLES


def access_tip(user, tip_id: int, *, for_update: bool = False) -> Tip:
    require(user, "tips.view")
    qs = Tip.objects.visible_to(user)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    tip = (qs.select_related("region", "sender", "station", "station__parent", "case", "informant_resident",
                             "recipient_user", "recipient_resident", "decided_by", "reward_decided_by", "paid_by")
           .filter(pk=tip_id).first())
    if tip is None:
        raise NotFound()
    return tip


def fund_scope_q(user) -> Q:
    """Funds the user may see: the city centre all; a department its own and its stations'."""
    if not can(user, "tips.fund.view"):
        return Q(pk__in=[])
    scope = get_scope(user)
    if Role.CITY_OPERATOR in scope.roles:
        return Q()
    if scope.roles & DEPARTMENT_ROLES and scope.department_ids:
        ids = list(scope.department_ids)
        return Q(department_id__in=ids) | Q(department__parent_id__in=ids)
    return Q(pk__in=[])


def manages_fund(user, fund: RewardFund) -> bool:
    """Who may pay from and deposit into a fund: the city centre any fund, a department head their own."""
    if not can(user, "tips.fund.manage"):
        return False
    scope = get_scope(user)
    if Role.CITY_OPERATOR in scope.roles:
        return True
    return fund.department_id is not None and Role.DEPT_HEAD in scope.roles \
        and fund.department_id in scope.department_ids


def access_fund(user, fund_id: int) -> RewardFund:
    require(user, "tips.fund.view")
    fund = RewardFund.objects.filter(fund_scope_q(user)).select_related("department", "region").filter(
        pk=fund_id).first()
    if fund is None:
        raise NotFound()
    return fund
