from django.urls import path

from partnerhub.console import (
    picker,
    views,
    views_incentives,
    views_mdf,
    views_quotes,
    views_settlements,
    views_webhooks,
)

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("partners/", views.partner_list, name="partners"),
    path("partners/search/", picker.search_view, name="partner-search"),
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
    # Market development funds (views_mdf.py).
    path("mdf/", views_mdf.queue, name="mdf"),
    path("mdf/allocate/", views_mdf.allocate, name="mdf-allocate"),
    path("mdf/requests/<int:pk>/approve/", views_mdf.request_approve, name="mdf-request-approve"),
    path("mdf/requests/<int:pk>/reject/", views_mdf.request_reject, name="mdf-request-reject"),
    path("mdf/claims/<int:pk>/approve/", views_mdf.claim_approve, name="mdf-claim-approve"),
    path("mdf/claims/<int:pk>/reject/", views_mdf.claim_reject, name="mdf-claim-reject"),
    path(
        "mdf/claims/<int:claim_id>/proofs/<int:proof_id>/",
        views_mdf.proof_download,
        name="mdf-proof",
    ),
    path("programs/", views.programs, name="programs"),
    path("audit/", views.audit_log, name="audit"),
    # Credit lines and quotes (views_quotes.py).
    path("credit-lines/", views_quotes.credit_line_list, name="credit-lines"),
    path("credit-lines/<int:partner_id>/", views_quotes.credit_line_edit, name="credit-line"),
    path("quotes/", views_quotes.quote_list, name="quotes"),
    # Webhook endpoints and their deliveries (views_webhooks.py; program admins).
    path("webhooks/", views_webhooks.endpoint_list, name="webhooks"),
    path("webhooks/<int:endpoint_id>/", views_webhooks.endpoint_detail, name="webhook"),
    path(
        "webhooks/deliveries/<int:delivery_id>/retry/",
        views_webhooks.delivery_retry,
        name="webhook-delivery-retry",
    ),
    # Site-host contracts and settlement (views_settlements.py).
    path("contracts/", views_settlements.contract_list, name="contracts"),
    path("contracts/new/", views_settlements.contract_new, name="contract-new"),
    path("contracts/<int:contract_id>/", views_settlements.contract_detail, name="contract"),
    path(
        "contracts/<int:contract_id>/edit/",
        views_settlements.contract_edit,
        name="contract-edit",
    ),
    path("settlement/runs/", views_settlements.run_list, name="settlement-runs"),
    path("settlement/runs/<int:run_id>/", views_settlements.run_detail, name="settlement-run"),
    path(
        "settlement/statements/",
        views_settlements.statement_list,
        name="settlement-statements",
    ),
    path(
        "settlement/statements/finalise/",
        views_settlements.month_finalise,
        name="settlement-month-finalise",
    ),
    path(
        "settlement/statements/<int:statement_id>/",
        views_settlements.statement_detail,
        name="settlement-statement",
    ),
    path(
        "settlement/statements/<int:statement_id>/finalise/",
        views_settlements.statement_finalise,
        name="settlement-statement-finalise",
    ),
    path(
        "settlement/statements/<int:statement_id>/payments/",
        views_settlements.payment_create,
        name="settlement-payment",
    ),
    path(
        "settlement/statements/<int:statement_id>/pdf/",
        views_settlements.statement_pdf,
        name="settlement-statement-pdf",
    ),
    path(
        "settlement/statements/<int:statement_id>/csv/",
        views_settlements.statement_csv,
        name="settlement-statement-csv",
    ),
    path(
        "settlement/statements/<int:statement_id>/sessions.csv",
        views_settlements.statement_sessions_csv,
        name="settlement-statement-sessions-csv",
    ),
    path("settlement/sessions/", views_settlements.session_list, name="settlement-sessions"),
    # Incentives (views_incentives.py).
    path("incentives/", views_incentives.overview, name="incentives"),
    path("incentives/accruals/", views_incentives.accruals, name="incentives-accruals"),
    path("incentives/payouts/", views_incentives.payouts, name="incentives-payouts"),
    path("incentives/rebates/", views_incentives.rebates, name="incentives-rebates"),
    path("incentives/spiffs/", views_incentives.spiffs, name="incentives-spiffs"),
    path("incentives/claims/", views_incentives.claims, name="incentives-claims"),
    path("incentives/adjustments/", views_incentives.adjustments, name="incentives-adjustments"),
    path("incentives/payments/", views_incentives.payments, name="incentives-payments"),
    path(
        "incentives/claims/<int:claim_id>/decide/",
        views_incentives.claim_decide,
        name="incentives-claim-decide",
    ),
    path(
        "incentives/partners/<int:partner_id>/statement/",
        views_incentives.statement,
        name="incentives-statement",
    ),
    path(
        "incentives/partners/<int:partner_id>/statement.csv",
        views_incentives.statement_csv,
        name="incentives-statement-csv",
    ),
    path(
        "incentives/partners/<int:partner_id>/statement.pdf",
        views_incentives.statement_pdf,
        name="incentives-statement-pdf",
    ),
]
