"""Who gets where: anonymous visitors are sent to sign in, partners never see another
partner's deal (404), and signing in lands each kind of user on their home."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/portal/", "/portal/deals/", "/console/deals/review/"])
def test_anonymous_visitor_is_sent_to_sign_in(open_page, transactional_db, path):
    tab = open_page()
    tab.goto(path)
    expect(tab.page).to_have_url(re.compile(r"/login/\?next="))
    expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(tab.get_by_label("E-mail")).to_be_focused()
    if path == "/portal/":
        screenshot(tab, "login")


def test_signing_in_returns_to_the_page_asked_for(open_page, world):
    tab = open_page()
    tab.goto("/portal/deals/")
    login(tab, world.sales_a.email, landing=r"/portal/deals/$")
    expect(tab.get_by_role("heading", name="Deal registrations", level=1)).to_be_visible()
    expect(tab.get_by_role("link", name="Deal registrations")).to_have_attribute(
        "aria-current", "page"
    )


def test_wrong_password_is_refused(open_page, world):
    tab = open_page()
    tab.goto("/login/")
    tab.get_by_label("E-mail").fill(world.sales_a.email)
    tab.get_by_label("Password").fill("not the password")
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("alert")).to_contain_text("do not match an active account")
    expect(tab.page).to_have_url(re.compile(r"/login/$"))


def test_staff_land_in_the_console_and_partners_in_the_portal(open_page, world):
    staff = open_page()
    login(staff, world.manager.email, landing=r"/console/$")
    expect(staff.get_by_role("heading", name="Program health")).to_be_visible()
    staff.goto("/portal/")  # staff have no portal: sent back to the console
    expect(staff.page).to_have_url(re.compile(r"/console/$"))

    partner = open_page()
    login(partner, world.sales_a.email, landing=r"/portal/$")
    partner.goto("/console/")  # partners have no console
    expect(partner.page).to_have_url(re.compile(r"/portal/$"))


def test_sign_out(open_page, world):
    tab = open_page()
    login(tab, world.sales_a.email)
    tab.get_by_role("button", name="Sign out").click()
    tab.goto("/portal/")
    expect(tab.page).to_have_url(re.compile(r"/login/\?next="))


def test_another_partners_deal_is_not_found(open_page, world, register):
    theirs = register(partner=world.partner_b, user=world.admin_b, name="Beta Customer SA")
    mine = register(user=world.sales_a, name="Alpha Customer GmbH", customer_website="alpha-c.de")
    tab = open_page()
    login(tab, world.sales_a.email)

    response = tab.goto(f"/portal/deals/{mine.pk}/")
    assert response.status == 200
    expect(tab.get_by_role("heading", level=1)).to_contain_text(mine.reference)

    response = tab.goto(f"/portal/deals/{theirs.pk}/")
    assert response.status == 404
    expect(tab.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(tab.get_by_text("Beta Customer SA")).to_have_count(0)
    screenshot(tab, "not-found")
    for path in (f"/portal/deals/{theirs.pk}/edit/", "/portal/deals/999999999/"):
        assert tab.goto(path).status == 404, path
