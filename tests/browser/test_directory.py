"""The public partner directory (/partners/): no sign-in, only active partners that opted in."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_directory_lists_opted_in_partners_only(open_page, world):
    from partnerhub.partners.models import Partner, PartnerStatus

    Partner.objects.filter(pk=world.partner_a.pk).update(
        directory_listed=True,
        directory_summary="Wallboxes and fast chargers for fleets in northern Germany.",
        city="Hamburg",
    )
    # Opted in but terminated: not shown. Beta Energy has not opted in: not shown.
    Partner.objects.filter(pk=world.child_1.pk).update(
        directory_listed=True, status=PartnerStatus.TERMINATED
    )

    tab = open_page()
    tab.goto("/login/")
    tab.get_by_role("link", name="Find a partner").click()
    expect(tab.get_by_role("heading", name="Find a partner", level=1)).to_be_visible()
    expect(tab.get_by_role("search", name="Search partners")).to_be_visible()
    expect(tab.get_by_role("status")).to_have_text("1 partner found")
    listing = tab.get_by_role("article").filter(has_text="Alpha Charging")
    expect(listing).to_contain_text("Hamburg, Germany")
    expect(listing).to_contain_text("Wallboxes and fast chargers")
    expect(tab.get_by_text("Beta Energy")).to_have_count(0)
    expect(tab.get_by_text("Child One")).to_have_count(0)
    screenshot(tab, "directory-list")

    tab.get_by_role("search", name="Search partners").get_by_role(
        "combobox", name="Country"
    ).select_option(label="Germany")
    tab.get_by_role("button", name="Search").click()
    expect(tab.get_by_role("status")).to_have_text("1 partner found")

    listing.get_by_role("link", name="Alpha Charging").click()
    expect(tab.get_by_role("heading", name="Alpha Charging", level=1)).to_be_visible()
    expect(tab.get_by_text("Value-added reseller")).to_be_visible()
    screenshot(tab, "directory-detail")

    assert tab.goto(f"/partners/{world.partner_b.pk}/").status == 404
