"""The vendor console as a program admin sees it: program health, the partners list with its
filters, the partner 360 with a tier override, and the audit log."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_program_health(open_page, world, register):
    register(user=world.admin_a)
    tab = open_page()
    login(tab, world.program_admin.email, landing=r"/console/$")
    expect(tab.get_by_role("heading", name="Program health", level=1)).to_be_visible()
    waiting = tab.get_by_role("region", name="Waiting for a decision")
    expect(waiting).to_contain_text("Registrations to review")
    expect(waiting.get_by_role("link", name="Open the review queue")).to_be_visible()
    expect(tab.get_by_role("region", name="Deal pipeline")).to_contain_text("24,000.00 USD")
    expect(tab.get_by_role("region", name="Partners per tier now")).to_be_visible()
    screenshot(tab, "console-home")


def test_partners_list_filters_and_partner_360_override(open_page, world):
    tab = open_page()
    login(tab, world.program_admin.email, landing=r"/console/$")
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Partners").click()
    expect(tab.get_by_role("heading", name="Partners", level=1)).to_be_visible()
    results = tab.locator("#partner-results")
    expect(results.get_by_role("status")).to_have_text("5 partners")
    screenshot(tab, "console-partners")

    search = tab.get_by_role("search", name="Filter partners")
    search.get_by_role("combobox", name="Country").select_option("FR")  # htmx on change
    expect(results.get_by_role("status")).to_have_text("1 partner")
    expect(results.get_by_role("link", name="Beta Energy")).to_be_visible()
    expect(tab.page).to_have_url(re.compile(r"country=FR"))
    search.get_by_role("link", name="Clear").click()
    expect(results.get_by_role("status")).to_have_text("5 partners")

    results.get_by_role("link", name="Alpha Charging").click()
    expect(tab.get_by_role("heading", name=re.compile("Alpha Charging"), level=1)).to_be_visible()
    expect(tab.get_by_role("region", name="Tracks and tiers")).to_contain_text("Authorized")
    overrides = tab.get_by_role("region", name="Tier overrides")
    expect(overrides).to_contain_text("No active override.")
    overrides.get_by_label("Track and tier").select_option(label="Silver")
    expires = timezone.localdate() + dt.timedelta(days=90)
    overrides.get_by_label("Expires on").fill(expires.isoformat())
    overrides.get_by_label("Reason").fill("Strategic partner for the launch of the 22 kW line")
    with tab.expect_response(re.compile(r"/overrides/$")):
        overrides.get_by_role("button", name="Save override").click()
    overrides = tab.get_by_role("region", name="Tier overrides")
    expect(overrides.get_by_role("status")).to_contain_text("Override saved")
    row = overrides.get_by_role("row", name=re.compile("Silver"))
    expect(row).to_contain_text(expires.isoformat())
    expect(row).to_contain_text("Strategic partner")
    screenshot(tab, "console-partner-360")

    from partnerhub.tiers.models import TierOverride

    override = TierOverride.objects.get(partner=world.partner_a)
    assert override.tier_key == "silver" and override.expires_on == expires


def test_audit_log_and_programs(open_page, world):
    tab = open_page()
    login(tab, world.program_admin.email, landing=r"/console/$")
    nav = tab.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Audit log").click()
    expect(tab.get_by_role("heading", level=1)).to_be_visible()
    expect(tab.get_by_role("cell", name=re.compile("Alpha Charging")).first).to_be_visible()
    screenshot(tab, "console-audit-log")
    nav.get_by_role("link", name="Programs").click()
    expect(tab.get_by_role("heading", level=1)).to_be_visible()
    expect(tab.get_by_text("Voltaris EV Charging Partner Program").first).to_be_visible()
    screenshot(tab, "console-programs")


def test_partner_manager_sees_no_programs_page(open_page, world):
    tab = open_page()
    login(tab, world.manager.email, landing=r"/console/$")
    nav = tab.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Deal review")).to_be_visible()
    expect(nav.get_by_role("link", name="Programs")).to_have_count(0)
    assert tab.goto("/console/programs/").status == 403


def test_program_admin_subscribes_a_webhook_endpoint(open_page, world):
    tab = open_page()
    login(tab, world.program_admin.email, landing=r"/console/$")
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    expect(tab.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    expect(tab.get_by_text("No endpoint is subscribed yet.")).to_be_visible()
    tab.get_by_label("URL").fill("http://hooks.example.com/events")
    tab.get_by_label("Events").fill("deal.*\nmdf.claim_approved")
    tab.get_by_role("button", name="Subscribe").click()
    expect(tab.get_by_role("alert")).to_contain_text("must use https")
    expect(tab.get_by_label("Events")).to_have_value("deal.*\nmdf.claim_approved")

    tab.get_by_label("URL").fill("https://hooks.example.com/events")
    tab.get_by_role("button", name="Subscribe").click()
    expect(tab.get_by_role("heading", name="https://hooks.example.com/events")).to_be_visible()
    secret = tab.locator("#webhook-secret")
    expect(secret).to_have_text(re.compile(r"^\S{20,}$"))
    expect(tab.get_by_text("No delivery yet")).to_be_visible()
    screenshot(tab, "console-webhook")
    tab.get_by_role("link", name="All webhooks").click()
    expect(tab.get_by_role("link", name="https://hooks.example.com/events")).to_be_visible()
    expect(tab.locator("#webhook-secret")).to_have_count(0)
