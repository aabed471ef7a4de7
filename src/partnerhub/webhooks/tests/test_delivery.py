"""Webhook delivery end to end: a real HTTP receiver on localhost gets signed POSTs of the
domain events it subscribed to, and failures are retried with back-off until they give up."""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest
from django.core.management import call_command
from django.utils import timezone

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.events import emit
from partnerhub.core.models import Event
from partnerhub.webhooks import services, signing
from partnerhub.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def _endpoint(world, url, patterns=("deal.*",), partner=None):
    return services.endpoint_create(
        actor=world.program_admin, url=url, event_types=list(patterns), partner=partner
    )


def test_a_subscribed_event_arrives_signed_with_its_payload(world, receiver):
    endpoint = _endpoint(world, receiver.url, ["deal.*"])
    event = emit("deal.approved", partner=world.partner_a, payload={"registration": 7})
    emit("mdf.allocated", partner=world.partner_a, payload={})  # not subscribed

    created, attempted = services.tick()

    assert (created, attempted) == (1, 1)
    [request] = receiver.requests
    assert request["path"] == "/hook"
    body = json.loads(request["body"])
    assert body["id"] == event.pk
    assert body["name"] == "deal.approved"
    assert body["partner_id"] == world.partner_a.pk
    assert body["payload"] == {"registration": 7}
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-partnerhub-event"] == "deal.approved"
    assert headers["content-type"] == "application/json"
    now = int(timezone.now().timestamp())
    assert signing.verify(endpoint.secret, request["body"], headers["x-partnerhub-signature"], now)
    assert not signing.verify(
        "whsec_other", request["body"], headers["x-partnerhub-signature"], now
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded"
    assert delivery.attempts == 1
    assert delivery.response_status == 200
    assert str(delivery.pk) == headers["x-partnerhub-delivery"]


def test_each_event_is_dispatched_once(world, receiver):
    _endpoint(world, receiver.url)
    emit("deal.submitted", partner=world.partner_a, payload={})
    services.tick()
    services.tick()
    assert len(receiver.requests) == 1
    assert Event.objects.filter(delivered_at__isnull=True).count() == 0


def test_an_endpoint_gets_only_events_created_after_it(world, receiver):
    emit("deal.submitted", partner=world.partner_a, payload={"old": True})
    _endpoint(world, receiver.url, ["deal.*"])
    emit("deal.submitted", partner=world.partner_a, payload={"old": False})
    services.tick()
    assert [json.loads(r["body"])["payload"] for r in receiver.requests] == [{"old": False}]


def test_a_partner_endpoint_gets_only_that_partners_events(world, receiver):
    _endpoint(world, receiver.url, ["*"], partner=world.partner_b)
    emit("deal.submitted", partner=world.partner_a, payload={})
    emit("deal.submitted", partner=world.partner_b, payload={})
    emit("settlement.run_finished", payload={})  # the vendor's own, no partner
    services.tick()
    assert [json.loads(r["body"])["partner_id"] for r in receiver.requests] == [world.partner_b.pk]


def test_a_failure_is_retried_with_back_off_then_gives_up(world, receiver):
    receiver.status = 500
    _endpoint(world, receiver.url)
    emit("deal.submitted", partner=world.partner_a, payload={})
    start = timezone.now()
    services.tick(now=start)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert delivery.response_status == 500
    assert "500" in delivery.last_error
    assert delivery.next_attempt_at == start + dt.timedelta(seconds=60)

    # Not due yet: nothing is sent.
    assert services.deliver_due(now=start + dt.timedelta(seconds=59)) == 0
    assert len(receiver.requests) == 1

    when = start
    for _ in range(services.MAX_ATTEMPTS - 1):
        delivery.refresh_from_db()
        when = delivery.next_attempt_at
        assert services.deliver_due(now=when) == 1
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == services.MAX_ATTEMPTS == 8
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == 8
    assert when - start == dt.timedelta(seconds=sum(services.BACKOFF_SECONDS))  # about 45 h

    # Sent again by hand: the receiver is back.
    receiver.status = 204
    services.delivery_retry(actor=world.program_admin, delivery=delivery)
    services.deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert delivery.response_status == 204
    with pytest.raises(Conflict):
        services.delivery_retry(actor=world.program_admin, delivery=delivery)


def test_a_redirect_is_a_failure_and_is_not_followed(world, receiver):
    receiver.status = 302
    receiver.location = "http://127.0.0.1:1/elsewhere"
    _endpoint(world, receiver.url)
    emit("deal.submitted", partner=world.partner_a, payload={})
    services.tick()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.response_status == 302
    assert len(receiver.requests) == 1


def test_an_unreachable_receiver_is_recorded_not_raised(world):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _endpoint(world, f"http://127.0.0.1:{port}/hook")
    emit("deal.submitted", partner=world.partner_a, payload={})
    services.tick()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.response_status is None
    assert "refused" in delivery.last_error.lower() or "error" in delivery.last_error.lower()


def test_a_deactivated_endpoint_is_not_called(world, receiver):
    endpoint = _endpoint(world, receiver.url)
    emit("deal.submitted", partner=world.partner_a, payload={})
    services.dispatch()
    # An earlier attempt's answer (HTTP 500) is not why it fails now: the page showed both.
    WebhookDelivery.objects.update(response_status=500)
    services.endpoint_update(actor=world.program_admin, endpoint=endpoint, is_active=False)
    services.deliver_due()
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_status) == ("failed", None)
    assert delivery.last_error == "Not sent: the endpoint was deactivated."
    # And it gets nothing new while inactive.
    emit("deal.submitted", partner=world.partner_a, payload={})
    assert services.dispatch() == 0


@pytest.mark.parametrize(
    "url,message",
    [
        ("ftp://hooks.example.com/", "http(s)"),
        ("http://hooks.example.com/", "https"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("hooks.example.com", "http(s)"),
    ],
)
def test_bad_urls_are_refused_naming_the_field(world, url, message):
    with pytest.raises(ServiceError) as exc:
        _endpoint(world, url)
    assert exc.value.field == "url"
    assert message in exc.value.message


@pytest.mark.parametrize("patterns", [[], ["Deal.*"], ["deal.*.x*"], ["deal..x"], [" "]])
def test_bad_patterns_are_refused_naming_the_field(world, patterns):
    with pytest.raises(ServiceError) as exc:
        _endpoint(world, "https://hooks.example.com/", patterns)
    assert exc.value.field == "event_types"


def test_pattern_matching():
    assert services.matches(["*"], "deal.approved")
    assert services.matches(["deal.*"], "deal.approved")
    assert not services.matches(["deal.*"], "deals.approved")
    assert services.matches(["mdf.claim_approved"], "mdf.claim_approved")
    assert not services.matches(["mdf.claim_approved"], "mdf.claim_rejected")


def test_signature_refuses_old_timestamps():
    body = b'{"id":1}'
    header = signing.sign("whsec_x", body, 1_000_000)
    assert signing.verify("whsec_x", body, header, 1_000_000 + 299)
    assert not signing.verify("whsec_x", body, header, 1_000_000 + 301)
    assert not signing.verify("whsec_x", body + b" ", header, 1_000_000)
    assert not signing.verify("whsec_x", body, "garbage", 1_000_000)


def test_cli_delivers(world, receiver, capsys):
    _endpoint(world, receiver.url)
    emit("deal.submitted", partner=world.partner_a, payload={})
    call_command("webhooks", "deliver")
    assert "1 new deliveries; 1 attempted" in capsys.readouterr().out
    assert len(receiver.requests) == 1


# --- receivers inside the network are refused ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",  # a cloud metadata service
        "https://[fd00::1]/hook",
        "https://192.168.0.10:8443/hook",
    ],
)
def test_a_private_address_is_refused_when_subscribing(world, url):
    with pytest.raises(ServiceError) as exc:
        _endpoint(world, url)
    assert exc.value.field == "url" and "private or reserved address" in exc.value.message
    assert _endpoint(world, "https://93.184.216.34/hook").url == "https://93.184.216.34/hook"


def _resolving(monkeypatch, name: str, address: str) -> None:
    real = socket.getaddrinfo

    def fake(host, port=None, *args, **kwargs):
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_a_name_resolving_to_a_private_address_is_not_posted_to(
    world, receiver, monkeypatch, settings
):
    """receiver.test resolves to 127.0.0.1 (the receiver): refused at delivery, the receiver
    gets nothing and the error says why; allowed once internal receivers are allowed."""
    settings.PARTNERHUB_WEBHOOKS_ALLOW_HTTP = True
    _resolving(monkeypatch, "receiver.test", "127.0.0.1")
    url = receiver.url.replace("127.0.0.1", "receiver.test")
    _endpoint(world, url)
    emit("deal.submitted", partner=world.partner_a, payload={})

    services.tick()

    delivery = WebhookDelivery.objects.get()
    assert receiver.requests == []
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error.startswith("Refused: receiver.test resolves to 127.0.0.1")

    settings.PARTNERHUB_WEBHOOKS_ALLOW_PRIVATE = True
    services.deliver_due(now=timezone.now() + dt.timedelta(minutes=2))
    delivery.refresh_from_db()
    assert delivery.status == "succeeded", delivery.last_error
    assert len(receiver.requests) == 1
