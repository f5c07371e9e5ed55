from django.apps import AppConfig


class SelfserviceConfig(AppConfig):
    name = "gridgov.selfservice"
    label = "selfservice"
    verbose_name = "居民自助"
    default_auto_field = "django.db.models.BigAutoField"
