"""The console's webhook pages: only program admins reach them (like the API); subscribing
shows the signing secret once; bad input is refused naming the field with nothing written;
endpoints can be paused, changed, given a new secret and removed; failed deliveries can be
sent again."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from partnerhub.core.models import Event
from partnerhub.webhooks import services
from partnerhub.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

URL = "https://hooks.example.com/partnerhub"


@pytest.fixture
def endpoint(world):
    return services.endpoint_create(
        actor=world.program_admin, url=URL, event_types=["deal.*"], description="CRM sync"
    )


def _delivery(endpoint, status, **fields):
    event = Event.objects.create(name="deal.approved", payload={"registration": 1})
    return WebhookDelivery.objects.create(endpoint=endpoint, event=event, status=status, **fields)


def test_anonymous_and_partner_users_never_reach_the_pages(client, world, endpoint):
    pages = [reverse("console:webhooks"), reverse("console:webhook", args=[endpoint.pk])]
    for url in pages:
        assert client.get(url)["Location"].startswith("/login/")
    client.force_login(world.admin_a)
    for url in pages:
        assert client.get(url)["Location"] == reverse("portal:home")
    response = client.post(pages[1], {"action": "delete"})
    assert response["Location"] == reverse("portal:home")
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


@pytest.mark.parametrize("role", ["manager", "finance", "viewer"])
def test_other_staff_get_403_and_no_menu_entry(client, world, endpoint, role):
    delivery = _delivery(endpoint, DeliveryStatus.FAILED, attempts=8)
    client.force_login(getattr(world, role))
    assert client.get(reverse("console:webhooks")).status_code == 403
    assert client.get(reverse("console:webhook", args=[endpoint.pk])).status_code == 403
    response = client.post(reverse("console:webhooks"), {"url": URL, "event_types": "*"})
    assert response.status_code == 403
    response = client.post(reverse("console:webhook-delivery-retry", args=[delivery.pk]))
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 8)
    assert WebhookEndpoint.objects.count() == 1
    assert reverse("console:webhooks") not in client.get(reverse("console:home")).content.decode()


def test_admin_subscribes_and_sees_the_secret_once(client, world):
    client.force_login(world.program_admin)
    home = client.get(reverse("console:home")).content.decode()
    assert reverse("console:webhooks") in home
    response = client.post(
        reverse("console:webhooks"),
        {
            "url": URL,
            "event_types": "deal.*, mdf.claim_approved\nsettlement.finalized",
            "description": "ERP",
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response["Location"] == reverse("console:webhook", args=[endpoint.pk])
    assert endpoint.event_types == ["deal.*", "mdf.claim_approved", "settlement.finalized"]
    assert endpoint.partner is None and endpoint.created_by == world.program_admin
    first = client.get(response["Location"]).content.decode()
    assert endpoint.secret in first and "shown only this once" in first
    again = client.get(response["Location"]).content.decode()
    assert endpoint.secret not in again
    listing = client.get(reverse("console:webhooks")).content.decode()
    assert URL in listing and "deal.*, mdf.claim_approved" in listing
    assert endpoint.secret not in listing


def test_subscription_limited_to_one_partner(client, world):
    client.force_login(world.program_admin)
    response = client.post(
        reverse("console:webhooks"),
        {"url": URL, "event_types": "*", "partner": str(world.partner_a.pk), "partner_q": ""},
    )
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().partner == world.partner_a


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"url": "http://hooks.example.com/x", "event_types": "*"}, "url", "must use https"),
        ({"url": URL, "event_types": "deal approved!"}, "event_types", "is not an event pattern"),
        ({"url": URL, "event_types": ""}, "event_types", "at least one event pattern"),
        ({"url": URL, "event_types": "*", "partner": "999999"}, "partner", "Choose a partner"),
        ({"url": URL, "event_types": "*", "partner_q": "No such"}, "partner", "from the list"),
    ],
)
def test_bad_subscription_is_refused_naming_the_field(client, world, data, field, message):
    client.force_login(world.program_admin)
    response = client.post(reverse("console:webhooks"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and f"({field})" in body
    assert data["url"] in body  # what was typed is kept
    assert not WebhookEndpoint.objects.exists()


def test_admin_pauses_changes_rotates_and_removes(client, world, endpoint):
    client.force_login(world.program_admin)
    page = reverse("console:webhook", args=[endpoint.pk])
    old_secret = endpoint.secret
    response = client.post(
        page,
        {"action": "save", "url": URL + "/v2", "event_types": "partner.*", "description": ""},
    )
    assert response["Location"] == page
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types, endpoint.is_active) == (
        URL + "/v2",
        ["partner.*"],
        False,
    )
    response = client.post(page, {"action": "save", "url": "ftp://x", "event_types": "*"})
    assert response.status_code == 400 and "(url)" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == URL + "/v2"

    client.post(page, {"action": "rotate"})
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret
    assert endpoint.secret in client.get(page).content.decode()

    response = client.post(page, {"action": "delete"})
    assert response["Location"] == reverse("console:webhooks")
    assert not WebhookEndpoint.objects.exists()
    assert client.get(page).status_code == 404


def test_deliveries_listed_filtered_and_sent_again(client, world, endpoint):
    failed = _delivery(
        endpoint,
        DeliveryStatus.FAILED,
        attempts=8,
        response_status=503,
        last_error="Service Unavailable",
        last_attempt_at=timezone.now(),
    )
    done = _delivery(endpoint, DeliveryStatus.SUCCEEDED, attempts=1, response_status=204)
    client.force_login(world.program_admin)
    page = reverse("console:webhook", args=[endpoint.pk])
    body = client.get(page).content.decode()
    assert "HTTP 503" in body and "Service Unavailable" in body and "2 deliveries" in body
    body = client.get(page, {"status": "failed"}).content.decode()
    assert "1 delivery" in body and "HTTP 204" not in body
    assert client.get(page, {"status": "nonsense"}).status_code == 200

    response = client.post(reverse("console:webhook-delivery-retry", args=[failed.pk]))
    assert response["Location"] == page
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert failed.next_attempt_at is not None

    response = client.post(reverse("console:webhook-delivery-retry", args=[done.pk]), follow=True)
    assert "This delivery succeeded" in response.content.decode()
    done.refresh_from_db()
    assert (done.status, done.attempts) == ("succeeded", 1)
    assert client.post(reverse("console:webhook-delivery-retry", args=[10**12])).status_code == 404
