from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_security

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/2fa/", views.two_factor, name="two_factor"),
    path("login/2fa/enrol/", views.two_factor_enrol, name="two_factor_enrol"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("security/", views_security.security_admin_page, name="security_admin"),
    path("security/grant/", views_security.role_grant, name="security_role_grant"),
    path("security/revoke/<int:pk>/", views_security.role_revoke, name="security_role_revoke"),
    path("security/2fa-reset/", views_security.two_factor_reset, name="security_2fa_reset"),
]
