from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "gridgov.demo"
    label = "demo"
    verbose_name = "演示数据"
    default_auto_field = "django.db.models.BigAutoField"
