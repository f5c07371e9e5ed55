from django.urls import path

from . import views

app_name = "selfservice"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("points/", views.points, name="points"),
    path("applications/", views.applications, name="applications"),
    path("applications/<int:application_id>/", views.application, name="application"),
    path("reports/", views.reports, name="reports"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<str:number>/", views.report, name="report"),
    path("deeds/new/", views.deed_new, name="deed_new"),
]
