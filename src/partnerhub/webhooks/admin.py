"""Back office for webhooks: read-only (endpoints are kept through the API, so URL and
pattern checks always apply; the secret is never shown here)."""

from django.contrib import admin

from partnerhub.core.admin import ReadOnlyMixin as ReadOnly
from partnerhub.core.admin import ScopedAdmin
from partnerhub.webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnly, ScopedAdmin):
    list_display = ("url", "description", "partner", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    exclude = ("secret",)
    list_select_related = ("partner",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly, ScopedAdmin):
    list_display = (
        "id",
        "endpoint",
        "event",
        "status",
        "attempts",
        "response_status",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status",)
    search_fields = ("endpoint__url", "event__name", "last_error")
    list_select_related = ("endpoint", "event")
