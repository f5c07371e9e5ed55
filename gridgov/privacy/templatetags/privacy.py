from django import template

from gridgov.privacy.notices import notice_for

register = template.Library()


@register.inclusion_tag("privacy/_purpose_notice.html")
def purpose_notice(kind: str):
    """{% purpose_notice "resident" %}: what is collected, why, on what legal basis, how long."""
    return notice_for(kind)
