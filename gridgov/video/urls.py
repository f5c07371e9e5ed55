from django.urls import path

from . import views_media

app_name = "video"
urlpatterns = [
    # The media server's questions (nginx-rtmp notifications and auth_request).
    path("media/rtmp/", views_media.rtmp_notify, name="media_rtmp"),
    path("media/hls-auth/", views_media.hls_auth, name="media_hls_auth"),
]
