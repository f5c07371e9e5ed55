"""The root URLs plus the people import pages, which gridgov/urls.py does not mount yet (the importer's
own tests do the same)."""

from django.urls import include, path

from gridgov.urls import urlpatterns as root

_mounted = any(getattr(p, "namespace", None) == "people_import" for p in root)
urlpatterns = list(root) if _mounted else [path("people/import/", include("gridgov.people.import_urls")), *root]
