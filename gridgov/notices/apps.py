from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "gridgov.notices"
    label = "notices"
    verbose_name = "上情下达"
    default_auto_field = "django.db.models.BigAutoField"
