"""Pages that must not scroll sideways on a phone (390 x 844): the portal dashboard with its
balance tables, the console's registration review queue (a registration and its conflicts
side by side) and the credit lines list. Wide tables scroll inside their own box, long names,
e-mail addresses and URLs wrap; the page itself stays as wide as the screen. And on a desktop
(1280 px) the conflict table of a registration shows its last column ("Matched") or lets it
be scrolled to: nothing is cut off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, screenshot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# What sticks out to the right of the viewport, to say in a failure which elements do.
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
    .slice(0, 8)
    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className) : ''))"""


def page_width(tab) -> int:
    return tab.evaluate("document.documentElement.scrollWidth")


def fits(tab, name: str) -> tuple[int, list[str]]:
    """The page's width and (when wider than the phone) what sticks out; a screenshot."""
    screenshot(tab, name)
    width = page_width(tab)
    return width, (tab.evaluate(STICKING_OUT) if width > PHONE["width"] else [])


@pytest.fixture
def balances(world, ev_program):
    """Large incentive and MDF balances of partner A (long amounts in the dashboard's tables):
    a Silver VAR's commission (payable) and MDF accrual (held) on 12,345,678.90 USD won this
    year, and a 1,250,000.00 USD MDF allocation on top of that accrual."""
    from django.utils import timezone

    from partnerhub.incentives import services as incentives
    from partnerhub.incentives.tests.builders import bill, hold, won
    from partnerhub.mdf import services as mdf

    today = timezone.localdate()
    hold(world.partner_a, ev_program, "var", "silver", since=today.replace(month=1, day=1))
    line = bill(world.partner_a, "12345678.90", today.isoformat())
    won(world.partner_a, ev_program, line, submitted_on=today.isoformat())
    incentives.accrual_run(actor=world.finance)
    mdf.allocation_create(
        partner=world.partner_a,
        program=None,
        quarter_start=today.replace(day=1),
        amount="1250000.00",
        reason="Launch budget",
        created_by=world.finance,
    )


@pytest.fixture
def conflicted(world, register):
    """Beta Energy registered the customer first; Alpha registered it again (flagged): a
    registration with a conflict, whose long website, e-mail and contact widen its facts."""
    domain = "charging-depot-operations-northern-germany-logistics.example"
    common = {
        "customer_website": f"https://www.{domain}/locations/hamburg-hafen",
        "contact_email": f"fleet.electrification.programme@{domain}",
    }
    register(partner=world.partner_b, user=world.admin_b, **common)
    return register(user=world.admin_a, **common)


def test_portal_dashboard_fits_a_phone(open_page, world, billings, balances):
    tab = open_page()
    tab.set_viewport_size(PHONE)
    login(tab, world.admin_a.email, landing=r"/portal/$")
    region = tab.get_by_role("region", name="Incentive and MDF balances")
    expect(region.get_by_role("row", name=re.compile("^Commission"))).to_contain_text(
        "987,654.31 USD"
    )
    expect(region.get_by_role("columnheader", name="Available")).to_be_visible()
    width, out = fits(tab, "portal-home-390")
    assert width <= PHONE["width"], f"the dashboard is {width} px wide: {out}"


def test_console_review_queue_and_credit_lines_fit_a_phone(open_page, world, conflicted):
    from partnerhub.quotes import services

    world.partner_a.duns = "123456789"
    world.partner_a.save()
    services.credit_line_set(
        partner=world.partner_a,
        data={"limit": "750000.00", "currency": "USD"},
        approved_by=world.finance,
    )

    tab = open_page()
    tab.set_viewport_size(PHONE)
    login(tab, world.program_admin.email, landing=r"/console/$")
    widths = {}

    tab.goto("/console/deals/review/")
    item = tab.get_by_role("article", name=re.compile(conflicted.reference))
    expect(item.get_by_role("heading", name="Conflicts")).to_be_visible()
    expect(item.get_by_role("row", name=re.compile("Beta Energy"))).to_be_visible()
    widths["review queue"] = fits(tab, "console-review-queue-390")

    tab.goto("/console/credit-lines/")
    expect(tab.get_by_role("heading", name="Credit lines", level=1)).to_be_visible()
    expect(tab.get_by_role("row", name=re.compile("Alpha Charging"))).to_contain_text(
        "750,000.00 USD"
    )
    widths["credit lines (program admin)"] = fits(tab, "console-credit-lines-390")

    finance = open_page()
    finance.set_viewport_size(PHONE)
    login(finance, world.finance.email, landing=r"/console/$")
    finance.goto("/console/credit-lines/")
    expect(finance.get_by_role("row", name=re.compile("Alpha Charging"))).to_be_visible()
    widths["credit lines (finance)"] = fits(finance, "console-credit-lines-finance-390")

    wide = {page: w for page, w in widths.items() if w[0] > PHONE["width"]}
    assert not wide, f"wider than the phone: {wide}"


def test_conflict_table_shows_its_last_column_on_a_desktop(open_page, world, conflicted):
    tab = open_page()
    tab.set_viewport_size(DESKTOP)
    login(tab, world.program_admin.email, landing=r"/console/$")
    tab.goto(f"/console/deals/{conflicted.pk}/")
    region = tab.get_by_role("region", name="Conflicts found now")
    expect(region.get_by_role("row", name=re.compile("Beta Energy"))).to_be_visible()
    screenshot(tab, "console-registration-conflict-1280")
    last = region.get_by_role("columnheader").last
    expect(last).to_have_text("Matched")
    # The header cell's right edge is inside the viewport and inside the visible part of the
    # box that scrolls the table: the column is shown, not hidden behind a scroll.
    box = last.evaluate(
        """th => {
            const wrap = th.closest('.table-wrap');
            const inner = wrap.getBoundingClientRect().left + wrap.clientLeft + wrap.clientWidth;
            return {right: th.getBoundingClientRect().right, viewport: innerWidth, box: inner,
                    page: document.documentElement.scrollWidth};
        }"""
    )
    assert box["page"] <= DESKTOP["width"], f"the page scrolls sideways: {box}"
    assert box["right"] <= min(box["viewport"], box["box"]) + 1, (
        f"the conflict table's last column is cut off: {box}"
    )
