"""Incentives in the browser: finance runs the accrual in the console; the partner then sees
its commission in the portal ledger and downloads its statement as a PDF (with JavaScript
off: plain links and GET forms).

Alpha is a Silver VAR of ev-hardware (8 % commission on partner-sourced sales, 1 % MDF held)
and sold 1,000.00 USD on 2025-03-10 (registered and won): 80.00 USD commission, payable."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def sale(world, ev_program):
    from partnerhub.incentives.tests.builders import bill, hold, won

    hold(world.partner_a, ev_program, "var", "silver")
    line = bill(world.partner_a, "1000.00", "2025-03-10")
    won(world.partner_a, ev_program, line)
    return line


def test_finance_accrues_and_the_partner_sees_and_downloads_its_statement(open_page, world, sale):
    staff = open_page()
    login(staff, world.finance.email, landing=r"/console/$")
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Incentives").click()
    expect(staff.get_by_role("heading", name="Incentive liability", level=1)).to_be_visible()
    expect(staff.get_by_text("Nothing is owed.")).to_be_visible()
    staff.get_by_role("navigation", name="Incentives").get_by_role(
        "link", name="Accrual runs"
    ).click()
    staff.get_by_role("button", name="Run accrual now").click()
    expect(staff.get_by_role("status")).to_contain_text("1 new lines, 2 entries")
    screenshot(staff, "console-incentives-accruals")
    staff.get_by_role("navigation", name="Incentives").get_by_role("link", name="Liability").click()
    expect(staff.get_by_role("row", name=re.compile("Commission"))).to_contain_text("80.00 USD")

    tab = open_page(javascript=False)  # the portal pages and downloads work without it
    login(tab, world.admin_a.email, landing=r"/portal/$")
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Incentives").click()
    expect(tab.get_by_role("heading", name="Incentives", level=1)).to_be_visible()
    balances = tab.get_by_role("row", name=re.compile("^Commission"))
    expect(balances.first).to_contain_text("80.00 USD")
    ledger = tab.get_by_role("row", name=re.compile("2025-03-10 Commission Accrual"))
    expect(ledger).to_contain_text("80.00 USD")
    screenshot(tab, "portal-incentives")

    tab.get_by_role("navigation", name="Incentives").get_by_role("link", name="Statement").click()
    tab.get_by_label("From").fill("2025-03-01")
    tab.get_by_label("To").fill("2025-03-31")
    tab.get_by_role("button", name="Show").click()
    expect(
        tab.get_by_role("row", name=re.compile("Closing balance on 2025-03-31"))
    ).to_contain_text("90.00 USD")
    screenshot(tab, "portal-incentives-statement")
    with tab.expect_download() as download:
        tab.get_by_role("link", name="PDF").click()
    pdf = download.value
    assert pdf.suggested_filename == f"incentives-{world.partner_a.pk}-20250301-20250331.pdf"
    with open(pdf.path(), "rb") as fh:
        assert fh.read(4) == b"%PDF"
