"""The back office lists charging objects read-only, within the staff member's scope."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

MODELS = [
    "location",
    "chargepoint",
    "evse",
    "chargepointhosting",
    "tariff",
    "tariffgroup",
    "corporatebilling",
    "driver",
    "chargingsession",
    "statusnotification",
]


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render_for_staff(client, world, site, model):
    client.force_login(world.program_admin)
    r = client.get(reverse(f"admin:charging_{model}_changelist"))
    assert r.status_code == 200


def test_a_managers_changelist_holds_their_partners_charge_points_only(client, world, site):
    client.force_login(world.manager)
    r = client.get(reverse("admin:charging_chargepoint_changelist"))
    assert r.status_code == 200
    body = r.content.decode()
    assert "CP-AC" in body and "CP-FR" not in body
    r = client.get(reverse("admin:charging_chargepoint_change", args=[site.ac.pk]))
    assert r.status_code == 200
    r = client.get(reverse("admin:charging_chargepoint_change", args=[site.fr.pk]))
    assert r.status_code in (302, 404)
    assert client.get(reverse("admin:charging_chargepoint_add")).status_code == 403


def test_partner_users_have_no_back_office(client, world, site):
    client.force_login(world.admin_a)
    r = client.get(reverse("admin:charging_chargepoint_changelist"))
    assert r.status_code == 302
