from django.urls import path

from partnerhub.directory import views

app_name = "directory"
urlpatterns = [
    path("", views.partner_list, name="list"),
    path("<int:partner_id>/", views.partner_detail, name="detail"),
]
