from django.urls import path

from . import views

app_name = "people"

urlpatterns = [
    path("", views.resident_list, name="resident_list"),
    path("export/", views.resident_export_view, name="resident_export"),
    path("residents/<int:pk>/", views.resident_detail, name="resident_detail"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident_reveal"),
    path("residents/<int:pk>/correct/", views.resident_correct, name="resident_correct"),
    path("residents/<int:pk>/subject-access/", views.resident_subject_access, name="resident_subject_access"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("organisations/", views.organisation_list, name="organisation_list"),
]
