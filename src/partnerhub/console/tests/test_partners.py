"""The partners list (filters, pagination, htmx table) and the partner 360 page with tier
overrides."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from partnerhub.tiers.models import TierOverride

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def evaluated(world):
    from partnerhub.tiers.services import tiers_evaluate

    tiers_evaluate(as_of=timezone.localdate())


def test_list_shows_columns(client, world, evaluated):
    client.force_login(world.program_admin)
    response = client.get(reverse("console:partners"))
    assert response.status_code == 200
    body = response.content.decode()
    for text in (
        "Alpha Charging",
        "Beta Energy",
        "Value-added reseller",
        "Authorized",
        "pm@vendor.test",
    ):
        assert text in body
    assert '<th scope="col">Country</th>' in body


def test_list_scoped_to_manager(client, world):
    client.force_login(world.manager)
    body = client.get(reverse("console:partners")).content.decode()
    assert "Alpha Charging" in body and "Omega Operator" in body
    assert "Beta Energy" not in body


def test_filters(client, world, evaluated):
    client.force_login(world.program_admin)
    url = reverse("console:partners")
    body = client.get(url, {"country": "FR"}).content.decode()
    assert "Beta Energy" in body and "Alpha Charging</a>" not in body
    body = client.get(url, {"manager": world.manager.pk}).content.decode()
    assert "Alpha Charging</a>" in body and "Beta Energy</a>" not in body
    body = client.get(url, {"status": "suspended"}).content.decode()
    assert "No partner matches these filters." in body
    body = client.get(url, {"track": "ev-hardware:var"}).content.decode()
    assert "Beta Energy</a>" in body
    body = client.get(url, {"tier": "ev-hardware:var:gold"}).content.decode()
    assert "No partner matches these filters." in body
    body = client.get(url, {"tier": "ev-hardware:var:authorized"}).content.decode()
    assert "Beta Energy</a>" in body
    # By name: the list has hundreds of partners on many pages.
    body = client.get(url, {"q": "beta"}).content.decode()
    assert "Beta Energy</a>" in body and "Alpha Charging</a>" not in body


def test_a_manager_cannot_search_beyond_their_partners(client, world):
    client.force_login(world.manager)
    body = client.get(reverse("console:partners"), {"q": "Beta"}).content.decode()
    assert "Beta Energy" not in body and "No partner matches these filters." in body


def test_htmx_refreshes_only_the_table(client, world):
    client.force_login(world.program_admin)
    response = client.get(
        reverse("console:partners"),
        {"country": "FR"},
        **HTMX,
        HTTP_HX_TARGET="partner-results",
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="partner-results">')
    assert "Beta Energy" in body and "<html" not in body


def test_pagination_25_per_page(client, world):
    from partnerhub.partners.models import Partner

    Partner.objects.bulk_create(
        Partner(legal_name=f"Extra {i:02d}", display_name=f"Extra {i:02d}", country="NL")
        for i in range(30)
    )
    client.force_login(world.program_admin)
    body = client.get(reverse("console:partners"), {"country": "NL"}).content.decode()
    assert body.count("Extra ") == 25
    assert "Page 1 of 2" in body
    assert "country=NL&amp;page=2" in body
    body = client.get(reverse("console:partners"), {"country": "NL", "page": 2}).content.decode()
    assert body.count("Extra ") == 5


def test_partner_360(client, world, evaluated, register):
    register(world.partner_a, name="Depot Fleet AG")
    client.force_login(world.manager)
    response = client.get(reverse("console:partner", args=[world.partner_a.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    for text in (
        "Alpha Charging GmbH",  # legal name
        "Alpha Charging Billing",  # contact
        "admin@alpha.test",  # user
        "Value-added reseller",
        "Authorized",  # current tier
        "Annual billings of at least $250k",  # explanation of the next tier
        "Entered at the entry tier",  # history
        "Depot Fleet AG",  # recent registration
        "Billings this fiscal year",
        "Certified people",
        "Add an override",
    ):
        assert text in body, text


def test_finance_sees_360_without_override_form(client, world):
    client.force_login(world.finance)
    body = client.get(reverse("console:partner", args=[world.partner_a.pk])).content.decode()
    assert "Tier overrides" in body
    assert "Add an override" not in body
    response = client.post(
        reverse("console:override-create", args=[world.partner_a.pk]),
        {"tier": "ev-hardware:var:gold", "reason": "x", "expires_on": "2099-01-01"},
    )
    assert response.status_code == 403


def test_override_create_and_revoke(client, world):
    client.force_login(world.manager)
    expires = timezone.localdate() + dt.timedelta(days=90)
    url = reverse("console:override-create", args=[world.partner_a.pk])
    response = client.post(
        url,
        {
            "tier": "ev-hardware:var:gold",
            "reason": "Strategic launch partner",
            "expires_on": expires,
        },
    )
    assert response.status_code == 302
    override = TierOverride.objects.get(partner=world.partner_a)
    assert (override.track_key, override.tier_key, override.expires_on) == ("var", "gold", expires)
    assert override.author == world.manager
    body = client.get(response["Location"]).content.decode()
    assert "Strategic launch partner" in body and "Override saved" in body

    response = client.post(
        reverse("console:override-revoke", args=[override.pk]),
        **HTMX,
        HTTP_HX_TARGET="overrides",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="overrides"')
    assert "Override revoked." in body
    override.refresh_from_db()
    assert override.revoked_at is not None


def test_override_errors_shown_at_their_field(client, world):
    client.force_login(world.program_admin)
    url = reverse("console:override-create", args=[world.partner_a.pk])
    past = timezone.localdate() - dt.timedelta(days=1)
    response = client.post(
        url,
        {"tier": "ev-hardware:var:gold", "reason": "Launch", "expires_on": past},
        **HTMX,
        HTTP_HX_TARGET="overrides",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "The expiry must not be before the start." in body
    assert 'aria-invalid="true"' in body
    response = client.post(url, {"tier": "ev-hardware:var:gold", "reason": "", "expires_on": past})
    assert response.status_code == 400
    assert not TierOverride.objects.exists()


def test_manager_cannot_override_foreign_partner(client, world):
    client.force_login(world.manager)
    response = client.post(
        reverse("console:override-create", args=[world.partner_b.pk]),
        {"tier": "ev-hardware:var:gold", "reason": "x", "expires_on": "2099-01-01"},
    )
    assert response.status_code == 404
    foreign = TierOverride.objects.create(
        partner=world.partner_b,
        program=world.partner_b.track_memberships.get().program,
        track_key="var",
        tier_key="gold",
        reason="by admin",
        starts_on=timezone.localdate(),
        expires_on=timezone.localdate(),
    )
    response = client.post(reverse("console:override-revoke", args=[foreign.pk]))
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None
