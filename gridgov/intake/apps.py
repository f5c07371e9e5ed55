from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "gridgov.intake"
    label = "intake"
    verbose_name = "渠道接入"
    default_auto_field = "django.db.models.BigAutoField"
