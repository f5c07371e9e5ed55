from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

# The top bar: (label, url name, permission). Each module adds its entry; an entry shows only to
# users whose roles hold the permission, so nobody is offered a page that would refuse them.
NAV = [
    ("地图", "home", "regions.view"),
    ("人口", "people:resident_list", "people.view"),
    ("走访", "visits:index", "visits.view"),
    ("案件", "cases:desk", "cases.view"),
    ("部件", "components:list", "components.view"),
    ("助警", "tips:index", "tips.view"),
    ("政务", "egov:desk", "egov.view"),
    ("积分", "points:index", "points.view"),
    ("视频", "video:index", "video.view"),
    ("通知", "notices:inbox", "notices.view"),
    ("来电登记", "intake:hotline", "intake.hotline"),
    ("驾驶舱", "dashboard:index", "dashboard.view"),
    ("网格通", "mobile:shell", "mobile.sync"),
    ("审计日志", "core:audit", "audit.view"),
]


def _nav(request) -> list[dict]:
    from gridgov.accounts.policy import can

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = []
    for label, name, permission in NAV:
        if not can(user, permission):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": _(label), "url": url, "active": url != "/" and request.path.startswith(url)})
    return items


def platform(request):
    return {
        "PLATFORM_NAME": _("钟祥市网格化管理平台"),
        "MAP_TILE_URL": settings.MAP_TILE_URL,
        "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
        "NAV": _nav(request),
    }
