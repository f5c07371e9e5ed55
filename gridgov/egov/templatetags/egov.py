from django import template

from gridgov.accounts.policy import can

from ..answers import yuan as _yuan

register = template.Library()


@register.simple_tag
def egov_can(user, permission: str) -> bool:
    """{% egov_can request.user "egov.view" as can_view %}: the policy's answer, for navigation."""
    return bool(user and user.is_authenticated and can(user, permission))


@register.filter
def yuan(fen):
    return _yuan(fen)
