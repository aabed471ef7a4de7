from django.urls import path

from partnerhub.portal import views, views_sitehost

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("deals/", views.deal_list, name="deals"),
    path("deals/new/", views.deal_new, name="deal-new"),
    path("deals/conflict-hints/", views.conflict_hints, name="deal-conflict-hints"),
    path("deals/<int:pk>/", views.deal_detail, name="deal-detail"),
    path("deals/<int:pk>/edit/", views.deal_edit, name="deal-edit"),
    path("deals/<int:pk>/submit/", views.deal_submit, name="deal-submit"),
    path("deals/<int:pk>/delete/", views.deal_delete, name="deal-delete"),
    path("deals/<int:pk>/close/", views.deal_close, name="deal-close"),
    path("deals/<int:pk>/extensions/", views.deal_extend, name="deal-extend"),
    path("deals/<int:pk>/attachments/", views.deal_attach, name="deal-attach"),
    path(
        "deals/<int:pk>/attachments/<int:attachment_id>/",
        views.deal_attachment,
        name="deal-attachment",
    ),
    path("users/", views.users, name="users"),
    path("users/invitations/", views.invitation_create, name="users-invite"),
    path(
        "users/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="users-invitation-revoke",
    ),
    path("users/<int:user_id>/", views.user_update, name="users-update"),
    path("training/", views.training, name="training"),
    # Site hosts (views_sitehost.py).
    path("site/", views_sitehost.overview, name="site"),
    path("site/tariffs/", views_sitehost.tariff_list, name="site-tariffs"),
    path("site/tariffs/<int:pk>/", views_sitehost.tariff_detail, name="site-tariff"),
    path("site/drivers/", views_sitehost.drivers, name="site-drivers"),
    path("site/drivers/<int:pk>/", views_sitehost.driver_update, name="site-driver-update"),
    path("site/month/", views_sitehost.running_month, name="site-month"),
    path("site/statements/", views_sitehost.statement_list, name="site-statements"),
    path("site/statements/<int:pk>/", views_sitehost.statement_detail, name="site-statement"),
    path("site/statements/<int:pk>/pdf/", views_sitehost.statement_pdf, name="site-statement-pdf"),
    path("site/statements/<int:pk>/csv/", views_sitehost.statement_csv, name="site-statement-csv"),
    path(
        "site/statements/<int:pk>/sessions.csv",
        views_sitehost.statement_sessions_csv,
        name="site-statement-sessions-csv",
    ),
]
