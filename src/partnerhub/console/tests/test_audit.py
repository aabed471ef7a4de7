"""The audit log page: entries with actor, object, action and changes; filters; scope."""

from django.urls import reverse

from partnerhub.core.audit import acting_as


def _change_partners(world):
    with acting_as(world.program_admin):
        world.partner_a.city = "Hamburg"
        world.partner_a.save()
        world.partner_b.city = "Lyon"
        world.partner_b.save()


def test_lists_entries_with_changes(client, world):
    _change_partners(world)
    client.force_login(world.viewer)
    response = client.get(reverse("console:audit"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "admin@vendor.test" in body
    assert "Hamburg" in body and "Lyon" in body
    assert "<strong>city</strong>" in body


def test_filters_by_model_and_actor(client, world):
    _change_partners(world)
    client.force_login(world.program_admin)
    url = reverse("console:audit")
    body = client.get(url, {"model": "partners.contact"}).content.decode()
    assert "Hamburg" not in body and "Alpha Charging Billing" in body
    body = client.get(url, {"actor": "admin@vendor.test"}).content.decode()
    assert "Hamburg" in body and "Alpha Charging Billing" not in body
    body = client.get(
        url, {"actor": "admin@vendor.test"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="audit-results"
    ).content.decode()
    assert body.lstrip().startswith('<div id="audit-results">')


def test_manager_sees_their_partners_only(client, world):
    _change_partners(world)
    client.force_login(world.manager)
    body = client.get(reverse("console:audit")).content.decode()
    assert "Hamburg" in body
    assert "Lyon" not in body


def test_paginated(client, world):
    from auditlog.models import LogEntry

    client.force_login(world.program_admin)
    assert LogEntry.objects.count() > 25
    body = client.get(reverse("console:audit")).content.decode()
    assert "Page 1 of" in body
