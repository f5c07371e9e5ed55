from django.urls import path

from . import views

app_name = "mobile"
urlpatterns = [
    path("", views.shell, name="shell"),
    path("login/", views.MobileLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
]
