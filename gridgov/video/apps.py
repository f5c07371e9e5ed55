from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "gridgov.video"
    label = "video"
    verbose_name = "雪亮工程"
    default_auto_field = "django.db.models.BigAutoField"
