"""The console's partner picker (``console/picker.py``): the search endpoint lists only the
partners the user may see, at most 20; the forms that used to list every partner (statement
and session filters, new contract, incentive statement, credit lines) work without JavaScript
by name, and their pages cost the same queries and size whatever the number of partners."""

# ruff: noqa: F811 (the imported fixtures are test arguments)
from __future__ import annotations

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerhub.console.tests.test_settlement_pages import contract_post
from partnerhub.portal.tests.test_sitehost_pages import (  # noqa: F401 (fixtures)
    site,
    statements,
)

pytestmark = pytest.mark.django_db

SEARCH = "console:partner-search"


def text(response) -> str:
    return html.unescape(response.content.decode())


def login(client, user):
    client.force_login(user)
    return client


def search(client, q, **extra):
    return client.get(reverse(SEARCH), {"field": "partner", "partner_q": q, **extra})


def _add_partners(count: int, prefix: str = "Zeta", **kw):
    from partnerhub.partners.models import Partner

    Partner.objects.bulk_create(
        Partner(legal_name=f"{prefix} {i:03d} GmbH", display_name=f"{prefix} {i:03d}", **kw)
        for i in range(count)
    )


# --- the search endpoint: tenancy ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "seen", "unseen"),
    [
        ("program_admin", {"Alpha Charging", "Beta Energy", "Omega Operator"}, set()),
        ("finance", {"Alpha Charging", "Beta Energy", "Omega Operator"}, set()),
        ("manager", {"Alpha Charging", "Omega Operator"}, {"Beta Energy"}),
        ("other_manager", {"Beta Energy"}, {"Alpha Charging", "Omega Operator"}),
    ],
)
def test_search_lists_only_visible_partners(client, world, who, seen, unseen):
    response = search(login(client, getattr(world, who)), "a")
    assert response.status_code == 200
    page = text(response)
    assert all(name in page for name in seen)
    assert not any(name in page for name in unseen)
    assert 'type="radio" name="partner"' in page


@pytest.mark.parametrize("who", ["admin_a", "admin_b", "operator_admin"])
def test_partner_users_get_no_suggestions(client, world, who):
    response = search(login(client, getattr(world, who)), "a")
    assert response.status_code in (302, 403)
    assert "Beta Energy" not in text(response) and "Alpha Charging" not in text(response)


def test_anonymous_users_are_sent_to_sign_in(client, world):
    response = search(client, "a")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_search_is_limited_to_20_by_name_and_bad_input_is_a_400(client, world):
    _add_partners(30)
    c = login(client, world.program_admin)
    page = text(search(c, "zeta"))
    assert page.count('type="radio"') == 20
    assert "Zeta 000" in page and "Zeta 019" in page and "Zeta 020" not in page
    assert "The first 20 matches" in page
    assert 'type="radio"' not in text(search(c, ""))
    assert "No partner matches" in text(search(c, "no such partner"))
    response = c.get(reverse(SEARCH), {"field": 'partner"><script>', "partner_q": "a"})
    assert response.status_code == 400 and b"field" in response.content
    response = search(c, "a", scope="everything")
    assert response.status_code == 400 and b"scope" in response.content


def test_credit_line_scope_lists_partners_with_a_duns_and_no_line(client, world):
    from partnerhub.partners.models import Partner

    Partner.objects.filter(pk=world.partner_a.pk).update(duns="123456789")
    page = text(search(login(client, world.program_admin), "a", scope="credit-line"))
    assert "Alpha Charging" in page and "DUNS 123456789" in page
    assert "Beta Energy" not in page and "Omega Operator" not in page


# --- the filter pages --------------------------------------------------------------------------


def test_statement_filter_by_name_without_javascript(client, world, statements):
    c = login(client, world.program_admin)
    url = reverse("console:settlement-statements")
    page = text(c.get(url, {"partner_q": "beta"}))
    # B's two statements (last month's final one and this month's draft), and B to choose.
    assert "2 statements" in page and "Alpha Charging" not in page.split("statement-results")[1]
    assert f'name="partner" value="{world.partner_b.pk}"' in page
    # Chosen from the list (the text still matches): the id filters.
    page = text(c.get(url, {"partner_q": "beta", "partner": world.partner_b.pk}))
    assert "2 statements" in page
    assert f'value="{world.partner_b.pk}" checked' in page
    # A new text that does not match the chosen partner is a new search.
    page = text(c.get(url, {"partner_q": "alpha", "partner": world.partner_b.pk}))
    assert f'value="{world.partner_a.pk}"' in page and f'value="{world.partner_b.pk}"' not in page


def test_session_filter_by_chosen_host(client, world, site, statements):
    c = login(client, world.program_admin)
    url = reverse("console:settlement-sessions")
    everything = text(c.get(url))
    page = text(c.get(url, {"partner": world.partner_b.pk}))
    assert "CP-FR" in page and "CP-FR" in everything
    assert page.split("session-results")[1].count("Alpha Charging") == 0


def test_a_manager_cannot_pick_another_managers_partner(client, world, statements):
    c = login(client, world.manager)
    response = c.get(reverse("console:settlement-statements"), {"partner": world.partner_b.pk})
    page = text(response)
    assert "Choose a partner from the list." in page
    assert "Beta Energy" not in page and statements.b_last.number not in page
    response = c.get(reverse("console:incentives"), {"partner": world.partner_b.pk})
    assert response.status_code == 400 and "Beta Energy" not in text(response)
    response = c.post(
        reverse("console:contract-new"), contract_post(partner=str(world.partner_b.pk))
    )
    assert response.status_code == 400 and "Choose a partner from the list." in text(response)
    from partnerhub.settlements.models import Contract

    assert not Contract.objects.filter(partner=world.partner_b, name="Omega pilot").exists()


@pytest.mark.parametrize(
    "name",
    [
        "console:settlement-statements",
        "console:settlement-sessions",
        "console:contract-new",
        "console:incentives",
        "console:credit-lines",
    ],
)
def test_pages_do_not_grow_with_the_number_of_partners(
    client, world, statements, django_assert_max_num_queries, name
):
    c = login(client, world.program_admin)
    url = reverse(name)
    with CaptureQueriesContext(connection) as few:
        small = c.get(url, {"partner_q": "zeta"})
    assert small.status_code == 200
    _add_partners(200, duns="987654321")
    with django_assert_max_num_queries(len(few.captured_queries)):
        large = c.get(url, {"partner_q": "zeta"})
    assert large.status_code == 200
    listed = text(large).count('type="radio"')
    assert listed <= 21  # at most 20 partners (and "Any partner")
    plain_before = len(small.content)
    assert "Zeta 199" not in text(large) and "Zeta 050" not in text(large)
    assert plain_before < len(large.content) < plain_before + 20 * 400


def test_the_plain_page_is_the_same_size_with_many_more_partners(client, world, statements):
    c = login(client, world.program_admin)
    url = reverse("console:settlement-statements")
    before = len(c.get(url).content)
    _add_partners(300)
    assert len(c.get(url).content) == before


def test_incentive_statement_and_credit_line_are_picked_by_id(client, world):
    from partnerhub.partners.models import Partner

    c = login(client, world.program_admin)
    response = c.get(reverse("console:incentives"), {"partner": world.partner_a.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "console:incentives-statement", args=[world.partner_a.pk]
    )
    Partner.objects.filter(pk=world.partner_a.pk).update(duns="123456789")
    response = c.get(reverse("console:credit-lines"), {"partner": world.partner_a.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:credit-line", args=[world.partner_a.pk])
    # Without JavaScript: the text lists the candidates to choose from.
    page = text(c.get(reverse("console:credit-lines"), {"partner_q": "alp"}))
    assert f'name="partner" value="{world.partner_a.pk}"' in page
    # Beta has no DUNS number: not a candidate, even by id.
    response = c.get(reverse("console:credit-lines"), {"partner": world.partner_b.pk})
    assert response.status_code == 400 and "Choose a partner from the list." in text(response)
