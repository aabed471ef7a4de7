"""Webhook endpoints (program admins keep them) and the delivery of outbox events.

    endpoint_create(actor=, url=, event_types=, description="", partner=None) -> endpoint
    endpoint_update(actor=, endpoint=, **changes) -> endpoint
    endpoint_delete(actor=, endpoint=)
    secret_rotate(actor=, endpoint=) -> endpoint
    dispatch(limit=) -> deliveries created     (fan the new events out to matching endpoints)
    deliver_due(limit=, now=) -> attempts made (POST what is due; back-off on failure)
    delivery_retry(actor=, delivery=)          (send a failed delivery again)
    tick() -> (created, attempted)             (both; what the background task runs)

Each event is dispatched once: ``core.Event.delivered_at`` marks it as fanned out, whether or
not an endpoint wanted it. An endpoint gets only the events created after it.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import ipaddress
import json
import re
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from partnerhub.core.errors import ServiceError
from partnerhub.core.models import Event
from partnerhub.webhooks import signing
from partnerhub.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

# Seconds to wait before attempt n+1 after n failed attempts; after the last, the delivery
# is failed (8 attempts over about 45 hours).
BACKOFF_SECONDS = [60, 300, 1_800, 7_200, 21_600, 43_200, 86_400]
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
TIMEOUT_SECONDS = 10
LEASE_SECONDS = 120  # a claimed delivery is not picked again for this long (worker crash)
MAX_PATTERNS = 50
PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


# --- endpoints ---------------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceError("Give an absolute http(s) URL.", field="url")
    if parts.username or parts.password:
        raise ServiceError(
            "Put no credentials in the URL; verify the signature instead.", field="url"
        )
    allow_http = getattr(settings, "PARTNERHUB_WEBHOOKS_ALLOW_HTTP", False)
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS and not allow_http:
        raise ServiceError(
            "Webhook URLs must use https (plain http is accepted for localhost only).", field="url"
        )
    if len(url) > 500:
        raise ServiceError("The URL is longer than 500 characters.", field="url")
    if parts.hostname not in LOCAL_HOSTS and not _allow_private():
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            address = None  # a name: checked when it is resolved, at each delivery
        if address is not None and not address.is_global:
            raise ServiceError(
                f"{address} is a private or reserved address: webhooks go to public hosts "
                "(set PARTNERHUB_WEBHOOKS_ALLOW_PRIVATE=1 to allow internal receivers).",
                field="url",
            )
    return url


def _allow_private() -> bool:
    return bool(getattr(settings, "PARTNERHUB_WEBHOOKS_ALLOW_PRIVATE", False))


def _private_address(url: str) -> str:
    """Why ``url`` may not be posted to: its host resolves to a private, loopback, link-local
    or reserved address (a receiver inside the operator's network, or a cloud metadata
    service); "" when it may. Hosts named localhost / 127.0.0.1 / ::1 are allowed (local
    development), as is everything with PARTNERHUB_WEBHOOKS_ALLOW_PRIVATE."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in LOCAL_HOSTS or _allow_private():
        return ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return f"{host} does not resolve: {exc}"[:500]
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            return (
                f"Refused: {host} resolves to {address}, a private or reserved address "
                "(PARTNERHUB_WEBHOOKS_ALLOW_PRIVATE=1 allows internal receivers)."
            )
    return ""


# The families of the events PartnerHub emits (the part before the dot); a pattern naming
# another one would never match anything (``tests/test_event_families.py`` keeps this true).
EVENT_FAMILIES = (
    "charging", "contract", "credit_line", "deal", "incentives", "mdf", "nfr", "partner",
    "quote", "settlement", "webhook",
)  # fmt: skip


def _clean_patterns(event_types) -> list[str]:
    if not isinstance(event_types, list) or not event_types:
        raise ServiceError(
            'Name at least one event pattern, such as "deal.*" or "*".', field="event_types"
        )
    if len(event_types) > MAX_PATTERNS:
        raise ServiceError(f"At most {MAX_PATTERNS} patterns.", field="event_types")
    out = []
    for value in event_types:
        text = str(value).strip()
        if not PATTERN.match(text):
            raise ServiceError(
                f'"{text}" is not an event pattern: use a name such as "deal.approved", a '
                'family such as "deal.*", or "*".',
                field="event_types",
            )
        family = text.split(".", 1)[0]
        if text != "*" and family not in EVENT_FAMILIES:
            raise ServiceError(
                f'"{text}" would never match: there is no event family "{family}". The '
                f"families are {', '.join(EVENT_FAMILIES)} (docs/webhooks.md lists the events).",
                field="event_types",
            )
        if text not in out:
            out.append(text)
    return out


def matches(patterns: list[str], name: str) -> bool:
    return any(p == "*" or p == name or fnmatch.fnmatchcase(name, p) for p in patterns)


@transaction.atomic
def endpoint_create(*, actor, url: str, event_types, description: str = "", partner=None):
    from partnerhub.core.events import emit

    endpoint = WebhookEndpoint.objects.create(
        url=_clean_url(url),
        event_types=_clean_patterns(event_types),
        description=(description or "").strip()[:200],
        partner=partner,
        secret=signing.new_secret(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    emit("webhook.endpoint_created", payload={"endpoint": endpoint.pk, "url": endpoint.url})
    return endpoint


@transaction.atomic
def endpoint_update(*, actor, endpoint: WebhookEndpoint, **changes):
    fields = []
    if "url" in changes:
        endpoint.url = _clean_url(changes["url"])
        fields.append("url")
    if "event_types" in changes:
        endpoint.event_types = _clean_patterns(changes["event_types"])
        fields.append("event_types")
    if "description" in changes:
        endpoint.description = (changes["description"] or "").strip()[:200]
        fields.append("description")
    if "is_active" in changes:
        endpoint.is_active = bool(changes["is_active"])
        fields.append("is_active")
    if "partner" in changes:
        endpoint.partner = changes["partner"]
        fields.append("partner")
    if fields:
        endpoint.save(update_fields=[*fields, "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor, endpoint: WebhookEndpoint) -> None:
    from partnerhub.core.events import emit

    emit("webhook.endpoint_deleted", payload={"endpoint": endpoint.pk, "url": endpoint.url})
    endpoint.delete()


@transaction.atomic
def secret_rotate(*, actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.secret = signing.new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


# --- dispatch ----------------------------------------------------------------------------------


def dispatch(*, limit: int = 5_000, now: dt.datetime | None = None) -> int:
    """Fan the events not yet dispatched (oldest first, at most ``limit``) out to the active
    endpoints that want them; mark them dispatched. Returns the deliveries created."""
    now = now or timezone.now()
    with transaction.atomic():
        qs = Event.objects.filter(delivered_at__isnull=True).order_by("id")
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        events = list(qs.values("id", "name", "partner_id", "created_at")[:limit])
        if not events:
            return 0
        endpoints = list(
            WebhookEndpoint.objects.filter(is_active=True).values(
                "id", "event_types", "partner_id", "created_at"
            )
        )
        deliveries = [
            WebhookDelivery(endpoint_id=ep["id"], event_id=ev["id"], next_attempt_at=now)
            for ev in events
            for ep in endpoints
            if ev["created_at"] >= ep["created_at"]
            and (ep["partner_id"] is None or ep["partner_id"] == ev["partner_id"])
            and matches(ep["event_types"], ev["name"])
        ]
        WebhookDelivery.objects.bulk_create(deliveries, batch_size=1_000, ignore_conflicts=True)
        Event.objects.filter(id__in=[ev["id"] for ev in events]).update(delivered_at=now)
    return len(deliveries)


def body_of(event: Event) -> bytes:
    return json.dumps(
        {
            "id": event.pk,
            "name": event.name,
            "partner_id": event.partner_id,
            "created_at": event.created_at,
            "payload": event.payload,
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    ).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is a failed delivery
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """(HTTP status or None, error text). Never raises for network trouble."""
    if refused := _private_address(url):
        return None, refused
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"[:500]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:500]


def _claim(limit: int, now: dt.datetime) -> list[int]:
    """Take up to ``limit`` due deliveries and lease them (so a second worker skips them)."""
    with transaction.atomic():
        qs = WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("id", flat=True)[:limit])
        WebhookDelivery.objects.filter(id__in=ids).update(
            next_attempt_at=now + dt.timedelta(seconds=LEASE_SECONDS)
        )
    return ids


def _attempt(delivery: WebhookDelivery, now: dt.datetime) -> None:
    body = body_of(delivery.event)
    stamp = int(now.timestamp())
    status, error = _post(
        delivery.endpoint.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": "PartnerHub-Webhooks/1",
            "X-PartnerHub-Event": delivery.event.name,
            "X-PartnerHub-Delivery": str(delivery.pk),
            "X-PartnerHub-Signature": signing.sign(delivery.endpoint.secret, body, stamp),
        },
    )
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = status
    if status is not None and 200 <= status < 300:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
    else:
        delivery.last_error = error or f"HTTP {status}"
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            wait = BACKOFF_SECONDS[delivery.attempts - 1]
            delivery.next_attempt_at = now + dt.timedelta(seconds=wait)
    delivery.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "response_status",
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_error",
        ]
    )


def deliver_due(*, limit: int = 100, now: dt.datetime | None = None) -> int:
    """POST every due delivery (outside any transaction: a slow receiver holds no lock)."""
    now = now or timezone.now()
    ids = _claim(limit, now)
    deliveries = WebhookDelivery.objects.filter(id__in=ids).select_related("endpoint", "event")
    for delivery in deliveries.order_by("id"):
        if not delivery.endpoint.is_active:
            delivery.next_attempt_at = None
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "Not sent: the endpoint was deactivated."
            delivery.response_status = None  # an earlier attempt's status is not the reason
            delivery.save(
                update_fields=["next_attempt_at", "status", "last_error", "response_status"]
            )
            continue
        _attempt(delivery, now)
    return len(ids)


@transaction.atomic
def delivery_retry(*, actor, delivery: WebhookDelivery) -> WebhookDelivery:
    from partnerhub.core.errors import Conflict

    if delivery.status == DeliveryStatus.SUCCEEDED:
        raise Conflict("This delivery succeeded; it is not sent again.", field="delivery_id")
    if not delivery.endpoint.is_active:
        raise Conflict("Activate the endpoint first.", field="delivery_id")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    return delivery


def tick(*, now: dt.datetime | None = None) -> tuple[int, int]:
    now = now or timezone.now()
    return dispatch(now=now), deliver_due(now=now)
