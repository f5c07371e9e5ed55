from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "gridgov.privacy"
    verbose_name = "个人信息保护"
