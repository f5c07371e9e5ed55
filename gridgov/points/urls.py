from django.urls import path

from . import views

app_name = "points"

urlpatterns = [
    path("", views.index, name="index"),
    path("items/", views.item_list, name="item_list"),
    path("subjects/", views.subject_list, name="subject_list"),
    path("subjects/open/", views.subject_open, name="subject_open"),
    path("subjects/<int:pk>/", views.subject_detail, name="subject_detail"),
    path("subjects/<int:pk>/redeem/", views.subject_redeem, name="subject_redeem"),
    path("subjects/<int:pk>/certificate/", views.subject_certificate, name="subject_certificate"),
    path("subjects/<int:subject_id>/claim/", views.claim_new, name="claim_new"),
    path("claims/", views.claim_list, name="claim_list"),
    path("claims/<int:pk>/", views.claim_detail, name="claim_detail"),
    path("claims/<int:pk>/approve/", views.claim_approve, name="claim_approve"),
    path("claims/<int:pk>/reject/", views.claim_reject, name="claim_reject"),
    path("claims/<int:pk>/evidence/", views.claim_evidence, name="claim_evidence"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/<int:pk>/reverse/", views.entry_reverse, name="entry_reverse"),
    path("rankings/", views.rankings, name="rankings"),
    path("shops/", views.shop_list, name="shop_list"),
    path("shops/<int:pk>/", views.shop_detail, name="shop_detail"),
    path("goods/<int:pk>/stock/", views.goods_stock, name="goods_stock"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:pk>/<str:action>/", views.order_action, name="order_action"),
    path("certificates/<int:pk>/pdf/", views.certificate_pdf_view, name="certificate_pdf"),
    # Public: no login.
    path("notice/", views.notice_index, name="notice_index"),
    path("notice/<str:code>/", views.notice_board, name="notice_board"),
    path("verify/", views.verify, name="verify"),
    path("verify/<str:code>", views.verify, name="verify_code"),
]
