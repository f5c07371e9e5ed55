from django.urls import path

from . import views_audit

app_name = "core"

urlpatterns = [
    path("", views_audit.audit_list, name="audit"),
]
