from django.urls import path

from . import views

app_name = "visits"

urlpatterns = [
    path("", views.index, name="index"),
    path("today/", views.today, name="today"),
    path("record/<int:resident_id>/", views.record, name="record"),
    path("coverage/", views.coverage, name="coverage"),
    path("overdue/", views.overdue, name="overdue"),
    path("workers/<int:user_id>/month/", views.worker_month, name="worker_month"),
    path("<int:pk>/", views.visit_detail, name="detail"),
    path("<int:pk>/photo/", views.visit_photo, name="photo"),
]
