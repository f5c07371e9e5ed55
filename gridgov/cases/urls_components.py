from django.urls import path

from . import views_components as views

app_name = "components"

urlpatterns = [
    path("", views.component_list, name="list"),
    path("import/", views.component_import, name="import"),
    path("<int:pk>/", views.component_detail, name="detail"),
]
