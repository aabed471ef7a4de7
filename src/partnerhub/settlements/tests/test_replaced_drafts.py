"""A re-run of a month replaces its drafts by new ones (new ids): a link to an old draft leads
to the partner's statement of that month now, for those who may see it, and stays a plain 404
for everybody else."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from partnerhub.settlements.models import Statement
from partnerhub.settlements.services import settlement_run
from partnerhub.settlements.tests.conftest import utc

OCT = dt.date(2026, 10, 1)


def rerun(settlement_world) -> tuple[int, int]:
    w = settlement_world
    w.contract(w.world.partner_a)
    w.session(w.ac_a, utc(2026, 10, 5, 8))
    settlement_run(month="2026-10")
    old = Statement.objects.get(partner=w.world.partner_a, month=OCT).pk
    settlement_run(month="2026-10")
    settlement_run(month="2026-10")  # twice: the first id still leads to the newest
    new = Statement.objects.get(partner=w.world.partner_a, month=OCT).pk
    assert new != old and not Statement.objects.filter(pk=old).exists()
    return old, new


def test_the_pages_of_a_replaced_draft_lead_to_the_statement_now(settlement_world, client):
    w = settlement_world
    old, new = rerun(w)
    client.force_login(w.world.finance)
    response = client.get(reverse("console:settlement-statement", args=[old]), follow=True)
    assert response.redirect_chain == [(reverse("console:settlement-statement", args=[new]), 302)]
    assert "replaced when 2026-10 was run again" in response.content.decode()
    client.force_login(w.world.admin_a)
    response = client.get(reverse("portal:site-statement", args=[old]))
    assert response.status_code == 302
    assert response.url == reverse("portal:site-statement", args=[new])
    client.force_login(w.world.admin_b)  # another partner: nothing about A's statements
    assert client.get(reverse("portal:site-statement", args=[old])).status_code == 404
    assert client.get(reverse("portal:site-statement", args=[123456])).status_code == 404


def test_the_api_names_the_statement_that_replaced_a_draft(settlement_world, api_as):
    w = settlement_world
    old, new = rerun(w)
    response = api_as(w.world.finance).get(f"/settlements/statements/{old}")
    assert response.status_code == 404
    assert f"statement of the month is now {new}" in response.body["detail"][0]["msg"]
    response = api_as(w.world.admin_b).get(f"/settlements/statements/{old}")
    assert response.status_code == 404 and str(new) not in str(response.body)
