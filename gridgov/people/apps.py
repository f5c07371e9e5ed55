from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "gridgov.people"
    label = "people"
    verbose_name = "一标三实"
    default_auto_field = "django.db.models.BigAutoField"
