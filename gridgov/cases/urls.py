from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.desk, name="desk"),
    path("export/", views.export, name="export"),
    path("inbox/", views.inbox, name="inbox"),
    path("report/", views.report, name="report"),
    path("self-resolve/", views.self_resolve, name="self_resolve"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/<slug:action>/", views.act, name="act"),
    path("<int:pk>/attach/", views.attach, name="attach"),
]
