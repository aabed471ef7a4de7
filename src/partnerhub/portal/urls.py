from django.urls import path

from partnerhub.portal import (
    views,
    views_incentives,
    views_mdf,
    views_quotes,
    views_sitehost,
)

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
    # Quotes and NFR (views_quotes.py).
    path("quotes/", views_quotes.quote_list, name="quotes"),
    path("quotes/new/", views_quotes.quote_new, name="quote-new"),
    path("quotes/nfr/", views_quotes.nfr, name="quote-nfr"),
    path("quotes/<int:pk>/", views_quotes.quote_detail, name="quote-detail"),
    path("quotes/<int:pk>/accept/", views_quotes.quote_accept, name="quote-accept"),
    path("users/", views.users, name="users"),
    path("users/invitations/", views.invitation_create, name="users-invite"),
    path(
        "users/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="users-invitation-revoke",
    ),
    path("users/<int:user_id>/", views.user_update, name="users-update"),
    path("training/", views.training, name="training"),
    # Market development funds (views_mdf.py).
    path("mdf/", views_mdf.home, name="mdf"),
    path("mdf/new/", views_mdf.request_new, name="mdf-new"),
    path("mdf/<int:pk>/", views_mdf.request_detail, name="mdf-request"),
    path("mdf/<int:pk>/claim/", views_mdf.claim_submit, name="mdf-claim"),
    path("mdf/<int:pk>/close/", views_mdf.request_close, name="mdf-close"),
    path(
        "mdf/claims/<int:claim_id>/proofs/<int:proof_id>/",
        views_mdf.proof_download,
        name="mdf-proof",
    ),
    # Site hosts (views_sitehost.py).
    path("site/", views_sitehost.overview, name="site"),
    path("site/tariffs/", views_sitehost.tariff_list, name="site-tariffs"),
    path("site/tariffs/<int:pk>/", views_sitehost.tariff_detail, name="site-tariff"),
    path("site/drivers/", views_sitehost.drivers, name="site-drivers"),
    path("site/drivers/<int:pk>/", views_sitehost.driver_update, name="site-driver-update"),
    path("site/month/", views_sitehost.running_month, name="site-month"),
    path("site/receipts/", views_sitehost.receipts, name="site-receipts"),
    path("site/receipts/<int:pk>/pdf/", views_sitehost.receipt_pdf, name="site-receipt-pdf"),
    path(
        "site/receipts/issued/<int:pk>/pdf/",
        views_sitehost.issued_receipt_pdf,
        name="site-issued-receipt-pdf",
    ),
    path("site/statements/", views_sitehost.statement_list, name="site-statements"),
    path("site/statements/<int:pk>/", views_sitehost.statement_detail, name="site-statement"),
    path("site/statements/<int:pk>/pdf/", views_sitehost.statement_pdf, name="site-statement-pdf"),
    path("site/statements/<int:pk>/csv/", views_sitehost.statement_csv, name="site-statement-csv"),
    path(
        "site/statements/<int:pk>/sessions.csv",
        views_sitehost.statement_sessions_csv,
        name="site-statement-sessions-csv",
    ),
    # Incentives (views_incentives.py).
    path("incentives/", views_incentives.overview, name="incentives"),
    path("incentives/statement/", views_incentives.statement, name="incentives-statement"),
    path(
        "incentives/statement.csv",
        views_incentives.statement_csv,
        name="incentives-statement-csv",
    ),
    path(
        "incentives/statement.pdf",
        views_incentives.statement_pdf,
        name="incentives-statement-pdf",
    ),
    path("incentives/referral/", views_incentives.referral, name="incentives-referral"),
    path("incentives/spiffs/", views_incentives.spiffs, name="incentives-spiffs"),
    path(
        "incentives/spiffs/<int:pk>/claim/",
        views_incentives.spiff_claim,
        name="incentives-spiff-claim",
    ),
]
