"""A deal from registration to approval, in two browsers: the partner's sales user registers
it and sees the live conflict hint as they type (htmx), the partner manager approves it in the
console's review queue with an override reason (the conflict side by side), and the partner
then sees it approved with its protection date."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import formats, timezone
from playwright.sync_api import expect

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_register_with_live_conflict_hint_then_approve_with_override(open_page, world, register):
    from partnerhub.deals.models import DealRegistration, DealStatus

    # Beta Energy registered the customer first (another partner, another manager).
    earlier = register(partner=world.partner_b, user=world.admin_b)

    # --- the partner's sales user registers the same customer --------------------------------
    partner = open_page()
    login(partner, world.sales_a.email, landing=r"/portal/$")
    partner.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Deal registrations"
    ).click()
    partner.get_by_role("link", name="Register a deal").click()
    expect(partner.get_by_role("heading", name="Register a deal", level=1)).to_be_visible()
    form_url = partner.url

    hints = partner.locator("#conflict-hints")
    expect(hints).to_contain_text("As you type the customer's name")
    name = partner.get_by_label("Customer name")
    with partner.expect_response(re.compile(r"/portal/deals/conflict-hints/$")) as hint:
        name.press_sequentially("Acme Logistics", delay=15)
    assert hint.value.request.headers.get("hx-request") == "true"  # htmx, not a page load
    expect(hints).to_contain_text(
        "Another partner has already submitted a registration of this customer"
    )
    expect(hints).to_contain_text("Another partner's registration")
    expect(hints).not_to_contain_text("Beta Energy")  # never which partner
    assert partner.url == form_url  # nothing was submitted yet
    assert not DealRegistration.objects.filter(partner=world.partner_a).exists()
    screenshot(partner, "portal-deal-form-conflict-hint")

    partner.get_by_label("Website").fill("acme-logistics.de")
    partner.get_by_role("combobox", name="Country", exact=True).select_option(label="Germany")
    expect(hints).to_contain_text("Matched on")
    partner.get_by_label("Product 1").select_option(label="WB-22 · Wallbox 22 kW")
    partner.get_by_label("Quantity 1").fill("5")
    partner.get_by_label("Estimated value").fill("6000")
    expect(partner.get_by_label("Currency")).to_have_value("USD")
    close = timezone.localdate() + dt.timedelta(days=45)
    partner.get_by_label("Expected close date").fill(close.isoformat())
    partner.get_by_role("button", name="Submit", exact=True).click()

    expect(partner.get_by_role("status")).to_contain_text("is submitted for review")
    reg = DealRegistration.objects.get(partner=world.partner_a)
    assert reg.status == DealStatus.SUBMITTED and reg.flagged
    expect(partner.get_by_role("heading", level=1)).to_contain_text(reg.reference)
    expect(partner.get_by_text("Flagged: an earlier registration")).to_be_visible()
    screenshot(partner, "portal-deal-submitted")

    # --- the partner manager reviews it --------------------------------------------------------
    manager = open_page()
    login(manager, world.manager.email, landing=r"/console/$")
    expect(manager.get_by_role("heading", name="Program health")).to_be_visible()
    manager.get_by_role("navigation", name="Main").get_by_role("link", name="Deal review").click()
    expect(manager.get_by_role("heading", name="Deal registrations to review")).to_be_visible()
    item = manager.get_by_role("article", name=re.compile(reg.reference))
    expect(item).to_contain_text("an earlier registration has priority")
    expect(item).to_contain_text("flagged")
    # Side by side: this registration and the earlier one of the other partner.
    expect(item.get_by_role("heading", name="This registration")).to_be_visible()
    expect(item.get_by_role("heading", name="Conflicts")).to_be_visible()
    conflict = item.get_by_role("row", name=re.compile(earlier.reference))
    expect(conflict).to_contain_text("Beta Energy")
    expect(conflict).to_contain_text("earlier: has priority")
    screenshot(manager, "console-review-queue")

    reason = item.get_by_label("Override reason")
    expect(reason).to_have_attribute("required", "")
    reason.fill("Beta's contact left the customer; Alpha runs the project now.")
    item.get_by_role("button", name="Approve with override").click()
    expect(manager.get_by_role("article", name=re.compile(reg.reference))).to_contain_text(
        f"{reg.reference} approved."
    )
    reg.refresh_from_db()
    assert reg.status == DealStatus.APPROVED
    assert reg.protected_until == timezone.localdate() + dt.timedelta(days=29)  # Authorized: 30
    until = formats.date_format(reg.protected_until)

    # --- the partner sees it approved -----------------------------------------------------------
    partner.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Deal registrations"
    ).click()
    row = partner.get_by_role("row", name=re.compile(reg.reference))
    expect(row).to_contain_text("Approved")
    expect(row).to_contain_text(until)
    row.get_by_role("link", name=reg.reference).click()
    expect(partner.get_by_text(f"Approved and protected through {until}.")).to_be_visible()
    screenshot(partner, "portal-deal-approved")
