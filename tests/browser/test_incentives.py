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


def test_finance_imports_payments_and_books_an_adjustment(open_page, world, sale, tmp_path):
    staff = open_page()
    login(staff, world.finance.email, landing=r"/console/$")
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Incentives").click()
    subnav = staff.get_by_role("navigation", name="Incentives")
    subnav.get_by_role("link", name="Customer payments").click()
    expect(staff.get_by_role("heading", name="Customer payments", level=1)).to_be_visible()
    bad = tmp_path / "payments.csv"
    bad.write_text(
        "external_id,billing_line,amount,paid_on\n"
        f"P-1,{sale.external_id},400.00,2025-04-01\n"
        f"P-2,{sale.external_id},900.00,2025-04-02\n"
    )
    staff.get_by_label("CSV file").set_input_files(str(bad))
    staff.get_by_role("button", name="Import").click()
    alert = staff.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was imported")
    expect(alert).to_contain_text("Row 3, amount: 900.00 is more than the 600.00 USD left to pay")
    good = tmp_path / "good.csv"
    good.write_text(
        f"external_id,billing_line,amount,paid_on\nP-1,{sale.external_id},400.00,2025-04-01\n"
    )
    staff.get_by_label("CSV file").set_input_files(str(good))
    staff.get_by_role("button", name="Import").click()
    expect(staff.get_by_role("status")).to_contain_text("1 rows: 1 imported")
    expect(staff.get_by_role("row", name=re.compile("P-1"))).to_contain_text("400.00 USD")

    subnav = staff.get_by_role("navigation", name="Incentives")
    subnav.get_by_role("link", name="Adjustments").click()
    form = staff.get_by_role("form", name="Book an adjustment")
    form.get_by_role("searchbox", name="Partner").fill("alph")  # htmx suggestions
    form.get_by_role("radio", name=re.compile("Alpha Charging")).check()
    form.get_by_label("Incentive").select_option("Commission")
    form.get_by_label("Amount").fill("-12.50")
    form.get_by_label("Currency").fill("USD")
    form.get_by_label("Booked on").fill("2025-04-02")
    form.get_by_label("Reason").fill("Credit note CN-7")
    form.get_by_role("button", name="Book the adjustment").click()
    expect(staff.get_by_role("status")).to_contain_text("-12.50 USD booked for Alpha Charging")
    row = staff.get_by_role("row", name=re.compile("Credit note CN-7"))
    expect(row).to_contain_text("-12.50 USD")
    screenshot(staff, "console-incentive-adjustments")
