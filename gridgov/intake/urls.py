from django.urls import path

from . import webhooks, wechat

app_name = "intake"
urlpatterns = [
    path("sms/inbound", webhooks.sms_inbound, name="sms-inbound"),
    path("wechat/callback", wechat.callback, name="wechat-callback"),
]
