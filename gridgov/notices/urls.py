from django.urls import path

from . import views

app_name = "notices"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("compose/", views.compose, name="compose"),
    path("sent/", views.sent, name="sent"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/ack/", views.ack, name="ack"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/stats/", views.stats, name="stats"),
    path("reports/", views.report_desk, name="report_desk"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/<int:pk>/read/", views.report_read, name="report_read"),
    path("reports/<int:pk>/handle/", views.report_handle, name="report_handle"),
    path("reports/<int:pk>/case/", views.report_case, name="report_case"),
]
