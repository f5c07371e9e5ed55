from django.apps import AppConfig


class MobileConfig(AppConfig):
    name = "gridgov.mobile"
    label = "mobile"
    verbose_name = "网格通"
    default_auto_field = "django.db.models.BigAutoField"
