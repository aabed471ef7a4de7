"""A partner asks for a quote in the portal: it previews the price with every step (tier
discount, distributor points), saves the quote and sees the same steps on the quote."""

# ruff: noqa: F811 (the imported fixtures are test arguments)
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from partnerhub.quotes.tests.conftest import catalogue, distributor, gold  # noqa: F401

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_partner_creates_a_quote_and_sees_its_price_steps(
    open_page, world, catalogue, gold, distributor
):
    from partnerhub.quotes.models import Quote

    tab = open_page()
    login(tab, world.sales_a.email, landing=r"/portal/$")
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Quotes").click()
    expect(tab.get_by_role("heading", name="Quotes", level=1)).to_be_visible()
    tab.get_by_role("link", name="New quote").click()

    tab.get_by_label("Product 1").select_option("WB-1000")
    tab.locator("#quantity_0").fill("2")
    tab.get_by_label("Through a distributor").check()
    tab.get_by_label("Distributor", exact=True).select_option(label="Delta Distribution")
    tab.get_by_role("button", name="Show the price").click()

    # Gold VAR: 1,000.00 − 20% + 5 points given back through a distributor = 850.00 a unit.
    preview = tab.get_by_role("region", name="Price")
    expect(preview).to_contain_text(
        "List 1,000.00 USD → tier Gold hardware −20% → distributor −5 pts → net 850.00 USD"
    )
    expect(preview).to_contain_text("Total: 1,700.00 USD")
    screenshot(tab, "portal-quote-preview")

    tab.get_by_role("button", name="Save the quote").click()
    expect(
        tab.get_by_role("heading", name=re.compile(r"Quote Q-\d{4}-00001"), level=1)
    ).to_be_visible()
    row = tab.get_by_role("row", name=re.compile("WB-1000"))
    expect(row).to_contain_text("tier Gold hardware −20% (−200.00) → distributor −5 pts (+50.00)")
    expect(row).to_contain_text("850.00 USD")
    expect(tab.locator("#quote-total")).to_contain_text("1,700.00 USD")
    screenshot(tab, "portal-quote-detail")
    quote = Quote.objects.get()
    assert (quote.total_minor, quote.purchase_path, quote.distributor) == (
        1700_00,
        "distributor",
        distributor,
    )
