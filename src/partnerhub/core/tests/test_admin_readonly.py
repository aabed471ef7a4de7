"""The read-only back-office pages (core.admin.ReadOnlyMixin): they render for staff, with no
add button and no way to post a change."""

from __future__ import annotations

import pytest

PAGES = [
    "webhooks/webhookendpoint",
    "webhooks/webhookdelivery",
    "mdf/mdfallocation",
    "mdf/mdfrequest",
    "incentives/ledgerentry",
    "incentives/payoutrun",
    "quotes/quote",
    "quotes/creditline",
    "tiers/partnertier",
    "tiers/evaluationrun",
]


@pytest.mark.parametrize("page", PAGES)
def test_read_only_pages_render_without_add(client, make_user, page):
    root = make_user("root@vendor.test", staff_role="program_admin", is_superuser=True)
    client.force_login(root)
    r = client.get(f"/admin/{page}/")
    assert r.status_code == 200
    assert f'href="/admin/{page}/add/"' not in r.content.decode()
    assert client.get(f"/admin/{page}/add/").status_code == 403


def test_webhook_secret_is_not_shown_in_the_back_office(client, make_user):
    from partnerhub.webhooks.services import endpoint_create

    root = make_user("root@vendor.test", staff_role="program_admin", is_superuser=True)
    endpoint = endpoint_create(actor=root, url="https://hooks.example.com/", event_types=["*"])
    client.force_login(root)
    r = client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert r.status_code == 200
    assert endpoint.secret not in r.content.decode()
