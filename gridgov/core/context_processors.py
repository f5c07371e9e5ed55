from django.conf import settings
from django.utils.translation import gettext as _


def platform(request):
    return {
        "PLATFORM_NAME": _("钟祥市网格化管理平台"),
        "MAP_TILE_URL": settings.MAP_TILE_URL,
        "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
    }
