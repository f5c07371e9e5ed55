"""URLs of the Excel import; mounted at people/import/ by gridgov/urls.py."""

from django.urls import path

from . import import_views as views

app_name = "people_import"

urlpatterns = [
    path("", views.import_upload, name="upload"),
    path("template.xlsx", views.import_template, name="template"),
    path("jobs/<int:job_id>/", views.import_job, name="job"),
    path("jobs/<int:job_id>/status", views.import_job_status, name="status"),
    path("jobs/<int:job_id>/report.xlsx", views.import_job_report, name="report"),
]
