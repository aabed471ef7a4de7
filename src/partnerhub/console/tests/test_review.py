"""The registration review queue: conflicts side by side, approve / reject as plain forms and
through htmx, the override reason for flagged registrations, extension decisions."""

import datetime as dt

import pytest
from django.urls import reverse

from partnerhub.deals.models import DealExtension, DealStatus

HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx_to(target: str) -> dict:
    return {**HTMX, "HTTP_HX_TARGET": target}


@pytest.fixture
def pair(world, register):
    """An earlier registration of partner A and a later, flagged one of the operator."""
    first = register(world.partner_a, name="Acme Logistics GmbH")
    second = register(world.operator, name="ACME Logistics")
    second.refresh_from_db()
    assert second.flagged
    return first, second


def test_queue_lists_oldest_first_with_conflicts_and_badges(client, world, pair):
    first, second = pair
    client.force_login(world.manager)
    response = client.get(reverse("console:review-queue"))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(first.reference) < body.index(f'id="reg-{second.pk}"')
    assert "has priority" in body
    assert "flagged" in body
    assert "an earlier registration has priority" in body
    # The conflicts are shown with the other partner and the matched fields.
    assert "Omega Operator" in body and "Alpha Charging" in body
    assert "Override reason" in body


def test_approve_plain_form(client, world, pair):
    first, _ = pair
    client.force_login(world.manager)
    response = client.post(reverse("console:registration-approve", args=[first.pk]), {})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:review-queue")
    first.refresh_from_db()
    assert first.status == DealStatus.APPROVED
    assert first.decided_by == world.manager


def test_flagged_without_override_shows_the_conflict_message(client, world, pair):
    first, second = pair
    client.force_login(world.manager)
    response = client.post(reverse("console:registration-approve", args=[second.pk]), {})
    assert response.status_code == 409
    body = response.content.decode()
    assert "approve it only with an override reason" in body
    assert first.reference in body
    second.refresh_from_db()
    assert second.status == DealStatus.SUBMITTED


def test_flagged_with_override_is_approved(client, world, pair):
    _, second = pair
    client.force_login(world.manager)
    response = client.post(
        reverse("console:registration-approve", args=[second.pk]),
        {"override_reason": "The customer asked for the operator."},
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == DealStatus.APPROVED
    assert second.override_reason == "The customer asked for the operator."


def test_htmx_approve_swaps_the_item(client, world, pair):
    first, second = pair
    client.force_login(world.program_admin)
    response = client.post(
        reverse("console:registration-approve", args=[second.pk]), {}, **htmx_to(f"reg-{second.pk}")
    )
    # htmx swaps 2xx answers only: the item comes back with the message at its field.
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<article class="card" id="reg-{second.pk}"')
    assert "approve it only with an override reason" in body
    assert "<html" not in body

    response = client.post(
        reverse("console:registration-approve", args=[first.pk]), {}, **htmx_to(f"reg-{first.pk}")
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="reg-{first.pk}"' in body and "approved" in body
    assert "Protected through" in body
    first.refresh_from_db()
    assert first.status == DealStatus.APPROVED


def test_reject_needs_a_reason(client, world, pair):
    first, _ = pair
    client.force_login(world.manager)
    response = client.post(reverse("console:registration-reject", args=[first.pk]), {"reason": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    first.refresh_from_db()
    assert first.status == DealStatus.SUBMITTED

    response = client.post(
        reverse("console:registration-reject", args=[first.pk]),
        {"reason": "Duplicate of an existing customer deal"},
        **htmx_to(f"reg-{first.pk}"),
    )
    assert response.status_code == 200
    assert "Duplicate of an existing customer deal" in response.content.decode()
    first.refresh_from_db()
    assert first.status == DealStatus.REJECTED
    assert first.decision_reason == "Duplicate of an existing customer deal"


def test_after_rejecting_the_earlier_the_later_has_priority(client, world, pair):
    first, second = pair
    client.force_login(world.program_admin)
    client.post(reverse("console:registration-reject", args=[first.pk]), {"reason": "Lost"})
    body = client.get(reverse("console:review-queue")).content.decode()
    assert f'id="reg-{first.pk}"' not in body
    assert "an earlier registration has priority" not in body
    response = client.post(reverse("console:registration-approve", args=[second.pk]), {})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == DealStatus.APPROVED


def test_registration_detail_page(client, world, pair):
    first, second = pair
    client.force_login(world.manager)
    response = client.get(reverse("console:registration", args=[second.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert second.reference in body
    assert first.reference in body  # the live conflict
    assert "Approve with override" in body
    assert "Reject" in body


def test_viewer_reads_registration_but_cannot_decide(client, world, pair):
    first, _ = pair
    client.force_login(world.viewer)
    response = client.get(reverse("console:registration", args=[first.pk]))
    assert response.status_code == 200
    assert "Approve" not in response.content.decode()
    response = client.post(reverse("console:registration-approve", args=[first.pk]), {})
    assert response.status_code == 403


@pytest.fixture
def extension(world, register):
    from partnerhub.deals import services

    reg = register(world.partner_a, name="Harbour Fleet Services")
    services.registration_approve(registration=reg, approved_by=world.manager)
    return services.extension_request(
        registration=reg, requested_by=world.admin_a, days=30, reason="Tender delayed"
    )


def test_extension_requests_listed_and_approved(client, world, extension):
    client.force_login(world.manager)
    body = client.get(reverse("console:review-queue")).content.decode()
    assert f'id="ext-{extension.pk}"' in body and "Tender delayed" in body
    before = extension.registration.protected_until
    response = client.post(
        reverse("console:extension-decide", args=[extension.pk]),
        {"decision": "approve"},
        **htmx_to(f"ext-{extension.pk}"),
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="ext-{extension.pk}"')
    extension.refresh_from_db()
    assert extension.status == "approved"
    extension.registration.refresh_from_db()
    assert extension.registration.protected_until == before + dt.timedelta(days=30)


def test_extension_refusal_needs_a_reason(client, world, extension):
    client.force_login(world.manager)
    url = reverse("console:extension-decide", args=[extension.pk])
    response = client.post(url, {"decision": "refuse", "reason": ""})
    assert response.status_code == 400
    assert "Say why the extension is refused." in response.content.decode()
    response = client.post(url, {"decision": "refuse", "reason": "Not this time"})
    assert response.status_code == 302
    assert DealExtension.objects.get(pk=extension.pk).status == "rejected"


def test_other_manager_cannot_decide_extension(client, world, extension):
    client.force_login(world.other_manager)
    response = client.post(
        reverse("console:extension-decide", args=[extension.pk]), {"decision": "approve"}
    )
    assert response.status_code == 404


def test_manager_sees_foreign_conflicts_without_links(client, world, register):
    foreign = register(world.partner_b, name="Acme Logistics GmbH")
    mine = register(world.partner_a, name="ACME Logistics")
    client.force_login(world.manager)
    body = client.get(reverse("console:review-queue")).content.decode()
    assert f'id="reg-{mine.pk}"' in body
    assert f'id="reg-{foreign.pk}"' not in body
    assert "Beta Energy" in body and foreign.reference in body
    assert reverse("console:partner", args=[world.partner_b.pk]) not in body
    assert reverse("console:registration", args=[foreign.pk]) not in body
