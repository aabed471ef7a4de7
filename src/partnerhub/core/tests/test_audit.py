"""The audit trail: API writes are logged with their actor and before/after values, and
GET /api/v1/audit shows them to vendor staff only."""

from __future__ import annotations

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest
from django.utils import timezone

from partnerhub.accounts.models import ApiToken
from partnerhub.partners.models import Contact, Partner


def entries_for(obj):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_pk=str(obj.pk)
    ).order_by("timestamp", "pk")


def test_api_create_and_update_are_logged_with_the_tokens_user(world, api_as):
    client = api_as(world.program_admin)
    r = client.post("/partners", {"legal_name": "Audit GmbH", "country": "DE", "city": "Bonn"})
    assert r.status_code == 201, r.body
    partner = Partner.objects.get(pk=r.body["id"])
    r = client.patch(f"/partners/{partner.pk}", {"display_name": "Audited", "city": "Köln"})
    assert r.status_code == 200, r.body

    created, updated = entries_for(partner)
    assert created.action == LogEntry.Action.CREATE
    assert created.actor == world.program_admin
    assert created.changes_dict["legal_name"] == ["None", "Audit GmbH"]
    assert updated.action == LogEntry.Action.UPDATE
    assert updated.actor == world.program_admin
    assert updated.changes_dict == {
        "display_name": ["Audit GmbH", "Audited"],
        "city": ["Bonn", "Köln"],
    }
    assert updated.remote_addr == "127.0.0.1"


def test_partner_admin_edits_are_attributed_to_the_partner_admin(world, api_as):
    r = api_as(world.admin_a).patch(f"/partners/{world.partner_a.pk}", {"city": "Essen"})
    assert r.status_code == 200
    entry = entries_for(world.partner_a).last()
    assert entry.actor == world.admin_a
    assert entry.changes_dict == {"city": ["", "Essen"]}


def test_status_and_contact_changes_are_logged(world, api_as):
    client = api_as(world.manager)
    r = client.post(
        f"/partners/{world.partner_a.pk}/status", {"status": "suspended", "reason": "Audit"}
    )
    assert r.status_code == 200
    entry = entries_for(world.partner_a).last()
    assert (entry.actor, entry.changes_dict["status"]) == (world.manager, ["active", "suspended"])
    r = client.post(
        f"/partners/{world.partner_a.pk}/contacts",
        {"role": "technical", "name": "Theo", "email": "theo@alpha.example.com"},
    )
    contact = Contact.objects.get(pk=r.body["id"])
    assert client.delete(f"/partners/{world.partner_a.pk}/contacts/{contact.pk}").status_code == 204
    create, delete = entries_for(contact)
    assert (create.action, delete.action) == (LogEntry.Action.CREATE, LogEntry.Action.DELETE)
    assert create.actor == delete.actor == world.manager


def test_session_requests_are_attributed_too(world, client):
    assert client.login(
        request=HttpRequest(), email="admin@vendor.test", password="correct horse battery"
    )
    r = client.patch(
        f"/api/v1/partners/{world.partner_b.pk}",
        {"city": "Lyon"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert entries_for(world.partner_b).last().actor == world.program_admin


def test_secrets_stay_out_of_the_trail(world, api_as):
    r = api_as(world.viewer).post("/me/tokens", {"name": "ci"})
    assert r.status_code == 201
    secret = r.body["token"]
    token = ApiToken.objects.get(pk=r.body["id"])
    for entry in LogEntry.objects.all():
        text = f"{entry.changes} {entry.changes_text} {entry.object_repr}"
        assert secret.split("_", 2)[2] not in text
        assert token.secret_hash not in text
        assert "password" not in (entry.changes_dict or {})


def test_audit_endpoint_lists_and_filters(world, api_as):
    admin = api_as(world.program_admin)
    start = timezone.now() - dt.timedelta(seconds=1)
    r = admin.patch(f"/partners/{world.partner_a.pk}", {"display_name": "Alpha"})
    assert r.status_code == 200
    admin.patch(f"/partners/{world.partner_b.pk}", {"display_name": "Beta"})

    for reader in (world.program_admin, world.finance, world.viewer, world.manager):
        r = api_as(reader).get(
            "/audit", model="partners.partner", object_id=str(world.partner_a.pk)
        )
        assert r.status_code == 200, r.body
        items = r.body["items"]
        assert [i["action"] for i in items] == ["update", "create"]  # newest first
        latest = items[0]
        assert latest["model"] == "partners.partner"
        assert latest["object_id"] == str(world.partner_a.pk)
        assert latest["object_repr"] == "Alpha"
        assert (latest["actor_id"], latest["actor_email"]) == (
            world.program_admin.pk,
            "admin@vendor.test",
        )
        assert latest["changes"] == {"display_name": ["Alpha Charging", "Alpha"]}

    r = admin.get("/audit", model="Partners.Partner", action="update")
    assert {i["object_id"] for i in r.body["items"]} == {
        str(world.partner_a.pk),
        str(world.partner_b.pk),
    }
    r = admin.get("/audit", actor_id=world.program_admin.pk, since=start.isoformat())
    assert r.body["count"] == 2
    assert admin.get("/audit", actor_id=world.viewer.pk).body["count"] == 0
    assert admin.get("/audit", actor_id=2**60).body["count"] == 0
    assert admin.get("/audit", model="nonsense").body["count"] == 0
    r = admin.get("/audit", limit=1)
    assert len(r.body["items"]) == 1 and r.body["count"] == LogEntry.objects.count()


@pytest.mark.parametrize(
    "params",
    [{"action": "explode"}, {"since": "yesterday"}, {"actor_id": "x"}, {"offset": 10**20}],
)
def test_bad_audit_filters_are_422(params, world, api_as):
    r = api_as(world.program_admin).get("/audit", **params)
    assert r.status_code == 422, r.body
    assert r.body["detail"][0]["loc"][-1] == next(iter(params))


def test_partner_users_and_anonymous_cannot_read_the_trail(world, api_as):
    for user in (world.admin_a, world.sales_a, world.operator_admin, world.child_1_admin):
        r = api_as(user).get("/audit", model="partners.partner")
        assert r.status_code == 403, r.body
        assert r.body["detail"][0]["type"] == "permission_denied"
    assert api_as(None).get("/audit").status_code == 401


def test_manager_trail_is_limited_to_assigned_partners(world, api_as):
    admin = api_as(world.program_admin)
    for partner in (world.partner_a, world.partner_b, world.child_1):
        assert admin.patch(f"/partners/{partner.pk}", {"city": "Bern"}).status_code == 200
    r = api_as(world.manager).get("/audit", model="partners.partner", action="update")
    assert {i["object_id"] for i in r.body["items"]} == {str(world.partner_a.pk)}
    r = api_as(world.other_manager).get("/audit", model="partners.partner", action="update")
    assert {i["object_id"] for i in r.body["items"]} == {str(world.partner_b.pk)}
    # Entries about people and tokens are for staff who read everything.
    r = api_as(world.manager).get("/audit", model="accounts.user")
    assert r.body["count"] == 0
    assert api_as(world.viewer).get("/audit", model="accounts.user").body["count"] > 0


@pytest.mark.parametrize("since", ["8346-04-16T00:41:06.79-22:24", "2026-01-01T00:00:00"])
def test_audit_since_accepts_any_offset_or_naive_time(world, api_as, since):
    response = api_as(world.program_admin).get("/audit", since=since)
    assert response.status_code == 200, response.body
