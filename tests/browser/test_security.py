"""Two-step sign-in (TOTP): turn it on at /account/security/ with a code from the key shown,
then signing in asks for the code."""

from __future__ import annotations

import base64
import re
import time

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, screenshot

pytestmark = pytest.mark.browser


def totp(secret: str, steps_ahead: int = 0) -> str:
    """The authenticator app's code (RFC 6238: SHA-1, 30 s, 6 digits, django-otp's default)."""
    from django_otp.oath import totp as oath_totp

    key = base64.b32decode(secret)
    return f"{oath_totp(key, t0=0, step=30, digits=6, drift=steps_ahead):06d}"


def test_turn_on_two_step_sign_in_then_sign_in_with_a_code(open_page, world):
    tab = open_page()
    tab.goto("/login/")
    tab.get_by_label("E-mail").fill(world.sales_a.email)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_role("link", name="Security").click()
    expect(tab.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    expect(tab.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = tab.locator("code").inner_text().strip()
    screenshot(tab, "account-security")
    tab.get_by_label("Six-digit code from your authenticator app").fill(totp(secret))
    tab.get_by_role("button", name="Turn on").click()
    expect(tab.get_by_role("status")).to_have_text("Two-step sign-in is on.")

    tab.get_by_role("button", name="Sign out").click()
    tab.goto("/portal/deals/")
    tab.get_by_label("E-mail").fill(world.sales_a.email)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.page).to_have_url(re.compile(r"/login/verify/"))
    code = tab.get_by_label("Six-digit code from your authenticator app")
    code.fill("000000" if totp(secret) != "000000" else "111111")
    tab.get_by_role("button", name="Continue").click()
    expect(tab.get_by_text("This code is not valid.")).to_be_visible()
    # django-otp throttles after a failure (1 s, doubling): wait it out. Then the code of the
    # next 30-second step: the current one turned it on (a code is accepted once) and one step
    # of clock drift is tolerated.
    time.sleep(1.2)
    if time.time() % 30 > 27:  # too close to the next step: wait for it
        time.sleep(3.5)
    tab.get_by_label("Six-digit code from your authenticator app").fill(totp(secret, 1))
    tab.get_by_role("button", name="Continue").click()
    expect(tab.page).to_have_url(re.compile(r"/portal/deals/$"))
