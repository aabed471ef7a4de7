"""A site host on a phone (390 x 844): the running month, a settled month and a statement fit
the screen's width, long amounts included (they wrap inside their card, wide tables scroll in
their own box); the page itself never scrolls sideways."""

# ruff: noqa: F811 (the imported fixtures are test arguments)
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from partnerhub.portal.tests.test_sitehost_pages import (  # noqa: F401 (fixtures)
    last_month,
    make_session,
    site,
    this_month,
)

from .conftest import login, screenshot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def page_width(tab) -> int:
    return tab.evaluate("document.documentElement.scrollWidth")


def outside(region) -> list[str]:
    """The values of a region's definition list that stick out of the region or are cut."""
    box = region.bounding_box()
    right = box["x"] + box["width"]
    return [
        dd.inner_text()
        for dd in region.locator("dd").all()
        if dd.evaluate("e => e.scrollWidth > e.clientWidth")
        or dd.bounding_box()["x"] + dd.bounding_box()["width"] > right + 0.5
    ]


@pytest.fixture
def long_figures(world, site):
    """Partner A, last month (settled, final): 12,295.60 EUR of AC revenue and corporate-billed
    charges of its drivers on partner B's charge point (optional rows with long labels). This
    month (a draft): the same again."""
    from partnerhub.settlements import services
    from partnerhub.settlements.models import Statement

    def sessions(start):
        make_session(site.e_ac, start, excl_minor=1_229_560, kwh=9_999)
        for i in range(3):
            make_session(
                site.e_fr, start + dt.timedelta(minutes=i), excl_minor=4321, driver=site.d2
            )

    sessions(dt.datetime.combine(last_month() + dt.timedelta(days=3), dt.time(9), dt.UTC))
    services.settlement_run(month=last_month(), finalise=True)
    sessions(timezone.now() - dt.timedelta(minutes=60))
    services.settlement_run(month=this_month())
    return Statement.objects.get(partner=world.partner_a, month=last_month())


def test_month_and_statement_fit_a_phone(open_page, world, site, long_figures, monkeypatch):
    from partnerhub.portal import views_sitehost

    tab = open_page()
    tab.set_viewport_size(PHONE)
    login(tab, world.admin_a.email, landing=r"/portal/$")
    widths, cut = {}, {}

    tab.goto("/portal/site/month/")
    expect(tab.get_by_role("heading", name=re.compile("Running month"), level=1)).to_be_visible()
    region = tab.get_by_role("region", name=re.compile("Your settlement"))
    expect(region).to_contain_text("6,147.80 EUR")
    screenshot(tab, "portal-sitehost-month-390")
    widths["running month"], cut["running month"] = page_width(tab), outside(region)

    # The page as it is once the month's statement is final (here: last month's).
    monkeypatch.setattr(views_sitehost, "_this_month", last_month)
    tab.goto("/portal/site/month/")
    expect(tab.get_by_text(re.compile("This month is settled"))).to_be_visible()
    region = tab.get_by_role("region", name=re.compile("Your settlement"))
    screenshot(tab, "portal-sitehost-month-settled-390")
    widths["settled month"], cut["settled month"] = page_width(tab), outside(region)

    final = long_figures
    tab.goto(f"/portal/site/statements/{final.pk}/")
    expect(tab.get_by_role("heading", name=re.compile(final.number), level=1)).to_be_visible()
    totals = tab.get_by_role("region", name="Totals")
    expect(totals).to_contain_text("12,295.60 EUR")
    screenshot(tab, "portal-sitehost-statement-390")
    widths["statement"], cut["statement"] = page_width(tab), outside(totals)

    assert all(w <= PHONE["width"] for w in widths.values()), f"wider than the phone: {widths}"
    assert not any(cut.values()), f"values outside their card: {cut}"
