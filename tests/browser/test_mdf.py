"""MDF in two browsers: the partner's admin sees its fund, requests funds for a roadshow in
the portal (requested = budget × 50%), the partner manager approves it in the console's MDF
queue (request and fund side by side), and the partner sees it approved with the committed
and available figures."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_request_mdf_in_the_portal_and_approve_it_in_the_console(open_page, world):
    from partnerhub.mdf import services
    from partnerhub.mdf.models import MdfRequest, RequestStatus

    services.allocation_create(
        partner=world.partner_a,
        program=None,
        quarter_start=dt.date(2025, 2, 1),
        amount="20000.00",
        reason="Launch budget",
        created_by=world.finance,
    )

    # --- the partner requests funds --------------------------------------------------------
    partner = open_page()
    login(partner, world.admin_a.email, landing=r"/portal/$")
    partner.get_by_role("navigation", name="Main").get_by_role("link", name="MDF").click()
    expect(partner.get_by_role("heading", name="Market development funds", level=1)).to_be_visible()
    expect(partner.get_by_role("table").first).to_contain_text("20,000.00 USD")
    partner.get_by_role("link", name="Request funds").click()
    partner.get_by_label(re.compile(r"^Activity")).fill("Spring roadshow")
    partner.get_by_label("Type of activity").select_option(label="Trade show")
    partner.get_by_label("Starts on").fill("2025-03-01")
    partner.get_by_label("Ends on").fill("2025-03-05")
    partner.get_by_label("Total budget of the activity").fill("10000")
    partner.get_by_role("button", name="Submit the request").click()

    expect(partner.get_by_role("status")).to_contain_text("5,000.00 USD requested")
    req = MdfRequest.objects.get()
    assert req.requested_minor == 500_000
    expect(partner.get_by_role("heading", level=1)).to_contain_text(req.reference)
    screenshot(partner, "portal-mdf-request-submitted")

    # --- the partner manager approves it ---------------------------------------------------
    manager = open_page()
    login(manager, world.manager.email, landing=r"/console/$")
    manager.get_by_role("navigation", name="Main").get_by_role("link", name="MDF").click()
    item = manager.get_by_role("article", name=re.compile(req.reference))
    expect(item).to_contain_text("10,000.00 USD")  # budget
    expect(item).to_contain_text("5,000.00 USD")  # requested
    expect(item).to_contain_text("20,000.00 USD")  # fund
    screenshot(manager, "console-mdf-queue")
    item.get_by_role("button", name="Approve").click()
    expect(manager.get_by_role("status")).to_contain_text(f"{req.reference} is approved")
    req.refresh_from_db()
    assert (req.status, req.approved_minor) == (RequestStatus.APPROVED, 500_000)

    # --- the partner sees it approved, and the fund committed ---------------------------------
    partner.goto(f"/portal/mdf/{req.pk}/")
    expect(partner.get_by_text("Approved for 5,000.00 USD")).to_be_visible()
    expect(partner.get_by_role("heading", name="Claim the funds")).to_be_visible()
    partner.goto("/portal/mdf/")
    funds = partner.get_by_role("table").first
    expect(funds).to_contain_text("5,000.00 USD")  # committed
    expect(funds).to_contain_text("15,000.00 USD")  # available
