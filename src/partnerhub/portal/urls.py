from django.urls import path

from partnerhub.portal import views

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
]
