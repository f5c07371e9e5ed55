from django.urls import path

from . import webhooks

app_name = "intake"
urlpatterns = [
    path("sms/inbound", webhooks.sms_inbound, name="sms-inbound"),
]
