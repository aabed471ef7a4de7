from django.urls import path

from partnerhub.console import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("partners/", views.partner_list, name="partners"),
    path("partners/<int:partner_id>/", views.partner_detail, name="partner"),
    path("partners/<int:partner_id>/overrides/", views.override_create, name="override-create"),
    path("overrides/<int:override_id>/revoke/", views.override_revoke, name="override-revoke"),
    path("deals/review/", views.review_queue, name="review-queue"),
    path("deals/<int:registration_id>/", views.registration_detail, name="registration"),
    path(
        "deals/<int:registration_id>/approve/",
        views.registration_approve,
        name="registration-approve",
    ),
    path(
        "deals/<int:registration_id>/reject/",
        views.registration_reject,
        name="registration-reject",
    ),
    path(
        "deals/extensions/<int:extension_id>/decide/",
        views.extension_decide,
        name="extension-decide",
    ),
    path("programs/", views.programs, name="programs"),
    path("audit/", views.audit_log, name="audit"),
]
