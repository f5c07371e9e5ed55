from django.urls import path

from . import views

app_name = "dashboard"
urlpatterns = [
    path("", views.index, name="index"),
    path("<str:code>/", views.node, name="node"),
    path("<str:code>/wall/", views.wall, name="wall"),
    path("<str:code>/workers/", views.workers, name="workers"),
    path("<str:code>/report/", views.report, name="report"),
]
