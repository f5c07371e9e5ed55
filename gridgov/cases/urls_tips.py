from django.urls import path

from . import views_tips as views

app_name = "tips"

urlpatterns = [
    path("", views.index, name="index"),
    path("list/", views.tip_list, name="list"),
    path("send/", views.tip_send, name="send"),
    path("totals/", views.totals, name="totals"),
    path("funds/", views.fund_list, name="funds"),
    path("funds/<int:pk>/", views.fund_detail, name="fund_detail"),
    path("<int:pk>/", views.tip_detail, name="detail"),
    path("<int:pk>/decide/", views.tip_decide, name="decide"),
    path("<int:pk>/reward/", views.tip_reward, name="reward"),
    path("<int:pk>/pay/", views.tip_pay, name="pay"),
]
