from django.urls import path

from . import views, webhooks, wechat

app_name = "intake"
urlpatterns = [
    path("hotline/", views.hotline, name="hotline"),
    path("messages/", views.message_list, name="messages"),
    path("messages/export", views.export, name="export"),
    path("messages/<int:pk>/", views.message_detail, name="message"),
    path("sms/inbound", webhooks.sms_inbound, name="sms-inbound"),
    path("wechat/callback", wechat.callback, name="wechat-callback"),
]
