from django.urls import include, path, re_path

from gridgov.api import api
from gridgov.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", core_views.api_not_found),
    path("accounts/", include("gridgov.accounts.urls")),
    path("regions/", include("gridgov.regions.urls")),
    path("people/import/", include("gridgov.people.import_urls")),
    path("people/", include("gridgov.people.urls")),
    path("visits/", include("gridgov.visits.urls")),
    path("cases/", include("gridgov.cases.urls")),
    path("points/", include("gridgov.points.urls")),
    path("egov/", include("gridgov.egov.urls")),
    path("components/", include("gridgov.cases.urls_components")),
    path("tips/", include("gridgov.cases.urls_tips")),
    path("audit/", include("gridgov.core.urls")),
    path("video/", include("gridgov.video.urls")),
    path("notices/", include("gridgov.notices.urls")),
    path("intake/", include("gridgov.intake.urls")),
    path("dashboard/", include("gridgov.dashboard.urls")),
    path("m/", include("gridgov.mobile.urls")),
    path("my/", include("gridgov.selfservice.urls")),
    path("privacy/", include("gridgov.privacy.urls")),
    path("open311/v2/", include("gridgov.open311.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
