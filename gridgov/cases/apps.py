from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "gridgov.cases"
    label = "cases"
    verbose_name = "事件案件"
    default_auto_field = "django.db.models.BigAutoField"
