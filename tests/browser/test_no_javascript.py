"""With JavaScript off, the pages still work for reading (and the forms for writing): signing
in, the dashboard, the deal list, the conflict check and the review queue with its data."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_partner_pages_without_javascript(open_page, world, billings, register):
    register(partner=world.partner_b, user=world.admin_b)
    mine = register(user=world.admin_a, name="Northwind Traders Ltd", customer_website="nw.co.uk")
    tab = open_page(javascript=False)
    login(tab, world.sales_a.email, landing=r"/portal/$")

    card = tab.get_by_role("article", name=re.compile("Value-added reseller"))
    expect(
        card.get_by_role("progressbar", name="Annual billings of at least $250k")
    ).to_be_visible()
    expect(card).to_contain_text("237,655.00 USD to go")
    expect(tab.get_by_role("img", name=re.compile("Net billings per month"))).to_be_visible()
    screenshot(tab, "nojs-portal-dashboard")

    tab.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Deal registrations"
    ).click()
    expect(tab.get_by_role("row", name=re.compile(mine.reference))).to_contain_text(
        "Northwind Traders Ltd"
    )
    # The status filter is a plain GET form without htmx.
    tab.get_by_label("Status").select_option(label="Draft")
    tab.get_by_role("button", name="Filter").click()
    expect(tab.page).to_have_url(re.compile(r"\?status=draft"))
    expect(tab.get_by_text("No registrations with this status.")).to_be_visible()
    screenshot(tab, "nojs-portal-deal-list")

    # No live hints without JavaScript: the "Check" button asks the server instead.
    tab.goto("/portal/deals/new/")
    tab.get_by_label("Customer name").fill("ACME Logistics")
    tab.get_by_role("button", name="Check for other registrations").click()
    expect(tab.locator("#conflict-hints")).to_contain_text(
        "Another partner has already submitted a registration of this customer"
    )
    expect(tab.get_by_label("Customer name")).to_have_value("ACME Logistics")


def test_review_queue_without_javascript(open_page, world, register):
    from partnerhub.deals.models import DealStatus

    earlier = register(partner=world.partner_b, user=world.admin_b)
    later = register(user=world.admin_a, customer_website="acme-logistics.de")
    assert later.flagged
    tab = open_page(javascript=False)
    login(tab, world.manager.email, landing=r"/console/$")
    tab.goto("/console/deals/review/")
    item = tab.get_by_role("article", name=re.compile(later.reference))
    expect(item).to_contain_text("Alpha Charging")
    expect(item.get_by_role("row", name=re.compile(earlier.reference))).to_contain_text(
        "Beta Energy"
    )
    screenshot(tab, "nojs-console-review-queue")

    # A plain form post: approved, back to the queue with a message.
    item.get_by_label("Override reason").fill("The customer asked for Alpha.")
    item.get_by_role("button", name="Approve with override").click()
    expect(tab.get_by_role("status").first).to_contain_text(f"{later.reference} approved.")
    expect(tab.page).to_have_url(re.compile(r"/console/deals/review/$"))
    later.refresh_from_db()
    assert later.status == DealStatus.APPROVED
    assert later.override_reason == "The customer asked for Alpha."
