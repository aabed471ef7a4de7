"""Webhooks: endpoints that receive the domain events of the outbox (``core.Event``) as signed
HTTP POSTs, and one delivery row per (endpoint, event) with its attempts.

An endpoint receives the events created after it, whose name matches one of its patterns
(``deal.*``, ``partner.tier_changed``, ``*``) and, when it is limited to a partner, only
that partner's events. Deliveries are retried with back-off and end ``succeeded`` or
``failed``; a failed one can be sent again by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from partnerhub.core.models import TimeStampedModel


class WebhookEndpoint(TimeStampedModel):
    url = models.CharField(max_length=500)  # checked by services._clean_url
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(
        default=list, help_text='Event name patterns: "deal.approved", "deal.*" or "*".'
    )
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Only this partner's events (empty: every partner's and the vendor's).",
    )
    secret = models.CharField(max_length=80, editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey("core.Event", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"
