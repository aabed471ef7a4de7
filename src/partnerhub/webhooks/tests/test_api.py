"""The /webhooks API: program admins keep endpoints; the secret is shown to them only."""

from __future__ import annotations

import pytest

from partnerhub.core.events import emit
from partnerhub.webhooks import services
from partnerhub.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_admin_creates_reads_changes_and_deletes_an_endpoint(world, api_as):
    api = api_as(world.program_admin)
    r = api.post(
        "/webhooks/endpoints",
        {"url": "https://crm.example.com/hooks", "event_types": ["deal.*", "mdf.*"]},
    )
    assert r.status_code == 201, r.body
    assert r.body["secret"].startswith("whsec_")
    endpoint_id = r.body["id"]

    r = api.get("/webhooks/endpoints")
    assert [e["url"] for e in r.body["items"]] == ["https://crm.example.com/hooks"]
    assert "secret" not in r.body["items"][0]

    old = WebhookEndpoint.objects.get().secret
    r = api.post(f"/webhooks/endpoints/{endpoint_id}/rotate-secret")
    assert r.status_code == 200 and r.body["secret"] != old

    r = api.patch(
        f"/webhooks/endpoints/{endpoint_id}",
        {"event_types": ["*"], "partner_id": world.partner_a.pk},
    )
    assert r.status_code == 200, r.body
    assert r.body["event_types"] == ["*"]
    assert r.body["partner_id"] == world.partner_a.pk

    r = api.delete(f"/webhooks/endpoints/{endpoint_id}")
    assert r.status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_errors_name_the_field(world, api_as):
    api = api_as(world.program_admin)
    r = api.post("/webhooks/endpoints", {"url": "http://crm.example.com/", "event_types": ["*"]})
    assert r.status_code == 400
    assert r.body["detail"][0]["loc"] == ["body", "url"]
    r = api.post("/webhooks/endpoints", {"url": "https://crm.example.com/", "event_types": ["X"]})
    assert r.status_code == 400
    assert r.body["detail"][0]["loc"] == ["body", "event_types"]
    r = api.post("/webhooks/endpoints", {"url": "https://crm.example.com/", "event_types": []})
    assert r.status_code == 422


@pytest.mark.parametrize("role", ["manager", "finance", "viewer", "admin_a", "sales_a"])
def test_only_program_admins_see_endpoints(world, api_as, role):
    services.endpoint_create(
        actor=world.program_admin, url="https://crm.example.com/", event_types=["*"]
    )
    r = api_as(getattr(world, role)).get("/webhooks/endpoints")
    assert r.status_code == 403


def test_deliveries_are_listed_and_a_failed_one_retried(world, api_as, receiver):
    receiver.status = 503
    endpoint = services.endpoint_create(
        actor=world.program_admin, url=receiver.url, event_types=["deal.*"]
    )
    emit("deal.submitted", partner=world.partner_a, payload={})
    services.tick()
    api = api_as(world.program_admin)
    r = api.get(f"/webhooks/endpoints/{endpoint.pk}/deliveries", status="pending")
    [item] = r.body["items"]
    assert item["event_name"] == "deal.submitted"
    assert item["response_status"] == 503
    assert item["attempts"] == 1
    assert (
        api.get(f"/webhooks/endpoints/{endpoint.pk}/deliveries", status="succeeded").body["count"]
        == 0
    )

    receiver.status = 200
    r = api.post(f"/webhooks/deliveries/{item['id']}/retry")
    assert r.status_code == 200 and r.body["status"] == "pending" and r.body["attempts"] == 0
    services.deliver_due()
    r = api.get(f"/webhooks/endpoints/{endpoint.pk}/deliveries")
    assert r.body["items"][0]["status"] == "succeeded"
    r = api.post(f"/webhooks/deliveries/{item['id']}/retry")
    assert r.status_code == 409
