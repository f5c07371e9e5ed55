from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "gridgov.points"
    label = "points"
    verbose_name = "积分制"
    default_auto_field = "django.db.models.BigAutoField"
