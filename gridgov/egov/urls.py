from django.urls import path

from . import views

app_name = "egov"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("items/<str:code>/", views.item_detail, name="item_detail"),
    path("items/<str:code>/apply/", views.apply, name="apply"),
    path("desk/", views.desk, name="desk"),
    path("export/", views.export, name="export"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/materials/", views.material_upload, name="material_upload"),
    path("applications/<int:pk>/materials/<int:material_id>/", views.material_download, name="material_download"),
    path("applications/<int:pk>/payments/<int:payment_id>/pay/", views.pay, name="pay"),
    path("applications/<int:pk>/<str:action>/", views.act, name="act"),
    path("matches/", views.matches, name="matches"),
    path("matches/scan/", views.match_scan, name="match_scan"),
    path("stats/", views.stats, name="stats"),
]
