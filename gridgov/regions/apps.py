from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "gridgov.regions"
    label = "regions"
    verbose_name = "行政区划与网格"
    default_auto_field = "django.db.models.BigAutoField"
