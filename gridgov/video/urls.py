from django.urls import path

from . import views, views_media

app_name = "video"
urlpatterns = [
    path("", views.index, name="index"),
    path("cameras/", views.camera_list, name="camera_list"),
    path("cameras/export/", views.camera_export, name="camera_export"),
    path("cameras/import/", views.camera_import, name="camera_import"),
    path("cameras/import/template/", views.import_template, name="import_template"),
    path("cameras/<int:pk>/", views.camera_detail, name="camera_detail"),
    path("cameras/<int:pk>/maintenance/", views.maintenance_add, name="maintenance_add"),
    path("cameras/<int:pk>/watch/", views.camera_watch, name="camera_watch"),
    path("views/", views.view_log, name="view_log"),
    path("views/<int:pk>/stop/", views.view_stop, name="view_stop"),
    path("grants/", views.grant_list, name="grant_list"),
    path("grants/new/", views.grant_new, name="grant_new"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("reviews/", views.review_list, name="review_list"),
    path("reviews/new/", views.review_new, name="review_new"),
    # The media server's questions (nginx-rtmp notifications and auth_request).
    path("media/rtmp/", views_media.rtmp_notify, name="media_rtmp"),
    path("media/hls-auth/", views_media.hls_auth, name="media_hls_auth"),
]
