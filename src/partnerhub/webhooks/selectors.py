"""Reads of webhook endpoints and deliveries (program admins only: see core.permissions)."""

from __future__ import annotations

from django.db.models import QuerySet

from partnerhub.core.permissions import require
from partnerhub.webhooks.models import WebhookDelivery, WebhookEndpoint

ADMINS_ONLY = "Only program admins manage webhooks."


def endpoint_list(*, fetched_by) -> QuerySet[WebhookEndpoint]:
    require(fetched_by, "webhooks.view_webhookendpoint", message=ADMINS_ONLY)
    return WebhookEndpoint.objects.select_related("partner").order_by("id")


def endpoint_get(*, fetched_by, endpoint_id: int) -> WebhookEndpoint:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(endpoint_list(fetched_by=fetched_by), pk=endpoint_id)


def delivery_list(
    *, fetched_by, endpoint_id: int, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    endpoint = endpoint_get(fetched_by=fetched_by, endpoint_id=endpoint_id)
    qs = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def delivery_get(*, fetched_by, delivery_id: int) -> WebhookDelivery:
    from django.shortcuts import get_object_or_404

    require(fetched_by, "webhooks.view_webhookendpoint", message=ADMINS_ONLY)
    return get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint", "event"), pk=delivery_id
    )
