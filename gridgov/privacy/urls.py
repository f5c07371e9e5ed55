from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("holds/", views.hold_list, name="hold_list"),
    path("holds/<int:pk>/release/", views.hold_release, name="hold_release"),
]
