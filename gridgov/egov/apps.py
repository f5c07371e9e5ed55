from django.apps import AppConfig


class EgovConfig(AppConfig):
    name = "gridgov.egov"
    label = "egov"
    verbose_name = "政务网上办"
    default_auto_field = "django.db.models.BigAutoField"
