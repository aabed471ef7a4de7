"""A site host and the operator's finance team in the browser: the host sees its charge points
and the running month, opens last month's statement and downloads the PDF, and is refused
another partner's statement; finance settles a month in the console, sees the run finish and
finalises a statement after confirming."""

# ruff: noqa: F811 (the imported fixtures are test arguments)
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from partnerhub.portal.tests.test_sitehost_pages import (  # noqa: F401 (fixtures)
    last_month,
    make_session,
    site,
    statements,
)

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_site_host_sees_its_sites_running_month_and_downloads_a_statement(
    open_page, world, site, statements
):
    tab = open_page()
    login(tab, world.admin_a.email, landing=r"/portal/$")
    nav = tab.get_by_role("navigation", name="Main")

    nav.get_by_role("link", name="Sites").click()
    expect(tab.get_by_role("heading", name="Your charging sites", level=1)).to_be_visible()
    depot = tab.get_by_role("region", name="Alpha Depot")
    expect(depot.get_by_role("row", name=re.compile("CP-AC"))).to_contain_text("22 kW")
    expect(depot.get_by_role("row", name=re.compile("CP-DC"))).to_contain_text("150 kW")
    expect(tab.get_by_text("CP-FR")).to_have_count(0)
    screenshot(tab, "portal-sitehost-sites")

    nav.get_by_role("link", name="Settlement").click()
    expect(tab.get_by_role("heading", name=re.compile("Running month"), level=1)).to_be_visible()
    so_far = tab.get_by_role("region", name="Your settlement so far")
    # This month: one AC session of 12.34 EUR, 50 % to the host: 6.17 EUR.
    expect(so_far).to_contain_text("6.17 EUR")
    screenshot(tab, "portal-sitehost-running-month")

    tab.get_by_role("link", name="All statements").click()
    number = statements.a_last.number
    tab.get_by_role("link", name=number).click()
    expect(tab.get_by_role("heading", name=re.compile(number), level=1)).to_be_visible()
    expect(tab.get_by_role("region", name="Totals")).to_contain_text("31.00 EUR")
    expect(tab.get_by_role("region", name="Sessions on this statement")).to_contain_text("CP-DC")
    screenshot(tab, "portal-sitehost-statement")
    with tab.expect_download() as download:
        tab.get_by_role("link", name="Download the PDF").click()
    pdf = download.value
    assert pdf.suggested_filename == f"{number}.pdf"
    with open(pdf.path(), "rb") as fh:
        assert fh.read(4) == b"%PDF"

    # Partner B's statement: refused, and nothing of it shown.
    response = tab.goto(f"/portal/site/statements/{statements.b_last.pk}/")
    assert response.status == 404
    expect(tab.get_by_text(statements.b_last.number)).to_have_count(0)


def test_finance_settles_a_month_and_finalises_a_statement(open_page, world, site):
    from partnerhub.settlements.models import Statement

    month = (last_month() - dt.timedelta(days=1)).replace(day=1)  # two months ago
    start = dt.datetime.combine(month + dt.timedelta(days=4), dt.time(9), tzinfo=dt.UTC)
    make_session(site.e_ac, start, excl_minor=2000)
    make_session(site.e_dc, start, excl_minor=5000, kwh=50)

    tab = open_page()
    login(tab, world.finance.email, landing=r"/console/$")
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Settlement").click()
    expect(tab.get_by_role("heading", name="Settlement runs", level=1)).to_be_visible()
    settle = tab.get_by_role("form", name="Settle a month")
    settle.get_by_label("Month").fill(f"{month:%Y-%m}")
    settle.get_by_role("button", name="Start the run").click()

    expect(tab.get_by_role("heading", name=re.compile("Settlement run #"), level=1)).to_be_visible()
    progress = tab.locator("#run-status")
    expect(progress.get_by_role("status")).to_contain_text("Succeeded")
    screenshot(tab, "console-settlement-run")

    progress.get_by_role("link", name="The month's statements").click()
    expect(tab.get_by_role("heading", name="Statements", level=1)).to_be_visible()
    results = tab.locator("#statement-results")
    results.get_by_role("row", name=re.compile("Alpha Charging")).get_by_role("link").click()
    # AC 20.00 EUR at 50 % + DC 50.00 EUR at 40 %: 10.00 + 20.00 = 30.00 EUR to the host.
    expect(tab.get_by_role("region", name="Totals")).to_contain_text("30.00 EUR")
    screenshot(tab, "console-settlement-statement")

    tab.get_by_role("link", name="Finalise…").click()
    tab.get_by_label(re.compile("Yes, finalise")).check()
    tab.get_by_role("button", name="Finalise", exact=True).click()
    expect(tab.get_by_role("status").first).to_contain_text("is final")
    statement = Statement.objects.get(partner=world.partner_a, month=month)
    assert statement.is_final and statement.number
    expect(tab.get_by_role("heading", level=1)).to_contain_text(statement.number)
    expect(tab.get_by_role("form", name="Record a payment")).to_be_visible()


def test_site_host_changes_its_tariff_prices_in_fields(open_page, world, site):
    """T-A (a start fee and a price per kWh, all day) is changed through its price fields;
    the tariff's words show the new prices. Nobody writes OCPI JSON for that."""
    tab = open_page()
    login(tab, world.admin_a.email, landing=r"/portal/$")
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Tariffs").click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text("Tariffs")
    tab.get_by_role("main").get_by_role("link", name="Alpha", exact=True).click()
    prices = tab.get_by_role("form", name="Prices")
    expect(prices.get_by_label("Energy, per kWh")).to_have_value("0.39")
    expect(tab.get_by_role("group").get_by_text("Advanced")).to_be_visible()
    prices.get_by_label("Energy, per kWh").fill("0.42")
    prices.get_by_label("Start fee, per session").fill("")
    prices.get_by_label("Parking time, per hour").fill("3")
    prices.get_by_role("button", name="Save prices").click()
    expect(tab.get_by_role("status").first).to_contain_text("is saved")
    expect(tab.get_by_role("region", name="Prices")).to_contain_text("0.42 EUR per kWh")
    expect(tab.get_by_role("region", name="Prices")).not_to_contain_text("per session")
    screenshot(tab, "portal-sitehost-tariff-prices")
