"""The web security foundation: sign-in by e-mail, throttling, sign-out, password reset, the
TOTP second factor, the content security policy, cookies and CSRF."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "correct horse battery"  # the conftest ``make_user`` password
LOGIN = reverse("login")


@pytest.fixture
def partner_user(world):
    return world.admin_a  # admin@alpha.test, a partner admin of Alpha Charging


def login(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def signed_in_user_id(client):
    return client.session.get(SESSION_KEY)


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The device's current TOTP code (``steps_ahead`` later steps: the next codes)."""
    value = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + steps_ahead,
    )
    return f"{value:0{device.digits}d}"


def invalid_code(device: TOTPDevice) -> str:
    """A code valid at no step near now."""
    near = {code(device, steps) for steps in range(-3, 4)}
    return next(c for c in (f"{n:06d}" for n in range(10**6)) if c not in near)


# --- signing in ----------------------------------------------------------------------------------


def test_login_page_renders_with_labelled_fields(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert 'type="email"' in html


def test_login_with_email_lands_on_start_and_the_portal(client, partner_user):
    response = login(client, "admin@alpha.test")
    assert response.status_code == 302
    assert response["Location"] == "/start/"
    assert signed_in_user_id(client) == str(partner_user.pk)
    response = client.get("/start/")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    assert client.get(reverse("portal:home")).status_code == 200


def test_start_sends_staff_to_the_console(client, world):
    login(client, "pm@vendor.test")
    assert client.get("/start/")["Location"] == reverse("console:home")


def test_start_sends_anonymous_visitors_to_login(client, db):
    assert client.get("/start/")["Location"] == LOGIN


@pytest.mark.parametrize("typed", ["Admin@Alpha.TEST", "  admin@alpha.test  ", "ADMIN@ALPHA.TEST"])
def test_login_email_is_case_insensitive(client, partner_user, typed):
    response = login(client, typed)
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(partner_user.pk)


def test_wrong_password_shows_one_message_and_does_not_sign_in(client, partner_user):
    response = login(client, "admin@alpha.test", "wrong password")
    assert response.status_code == 200
    assert signed_in_user_id(client) is None
    message = "This e-mail and password do not match an active account."
    assert message in response.content.decode()
    # An unknown e-mail and an inactive account answer the same (nothing leaks).
    assert message in login(client, "nobody@alpha.test").content.decode()
    partner_user.is_active = False
    partner_user.save()
    response = login(client, "admin@alpha.test")
    assert message in response.content.decode()
    assert signed_in_user_id(client) is None


def test_login_does_not_redirect_off_site(client, partner_user):
    response = client.post(
        f"{LOGIN}?next=https://evil.example/steal",
        {"username": "admin@alpha.test", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/start/"
    client.logout()
    response = client.post(
        f"{LOGIN}?next=/portal/", {"username": "admin@alpha.test", "password": PASSWORD}
    )
    assert response["Location"] == "/portal/"


def test_signed_in_user_visiting_login_is_sent_on(client, partner_user):
    login(client, "admin@alpha.test")
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == "/start/"


# --- throttling (django-axes) --------------------------------------------------------------------


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    from axes.utils import reset

    reset()
    yield
    reset()


def test_five_failures_lock_the_account_for_that_address(client, partner_user, axes_on):
    for attempt in range(4):
        response = login(client, "admin@alpha.test", f"wrong {attempt}")
        assert response.status_code == 200, attempt
    # The fifth failure locks: from now on even the right password is refused.
    assert login(client, "admin@alpha.test", "wrong 5").status_code == 429
    response = login(client, "admin@alpha.test")
    assert response.status_code == 429
    assert signed_in_user_id(client) is None
    # Another e-mail from the same address, and the same e-mail from elsewhere, still work.
    other = Client()
    assert login(other, "sales@alpha.test").status_code == 302
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    assert login(elsewhere, "admin@alpha.test").status_code == 302


def test_failures_are_counted_whatever_the_letter_case(client, partner_user, axes_on):
    for typed in ("Admin@alpha.test", "ADMIN@ALPHA.TEST", "admin@Alpha.test", "admin@alpha.TEST"):
        assert login(client, typed, "wrong").status_code == 200
    assert login(client, "aDmIn@alpha.test", "wrong").status_code == 429
    assert login(client, "admin@alpha.test").status_code == 429


def test_success_before_the_limit_resets_the_count(client, partner_user, axes_on):
    for _ in range(4):
        login(client, "admin@alpha.test", "wrong")
    assert login(client, "admin@alpha.test").status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert login(client, "admin@alpha.test", "wrong").status_code == 200
    assert login(client, "admin@alpha.test").status_code == 302


# --- signing out ---------------------------------------------------------------------------------


def test_logout_requires_post(client, partner_user):
    login(client, "admin@alpha.test")
    assert client.get(reverse("logout")).status_code == 405
    assert signed_in_user_id(client) == str(partner_user.pk)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert signed_in_user_id(client) is None
    assert client.get(reverse("portal:home"))["Location"].startswith(LOGIN)


def test_logout_needs_the_csrf_token(partner_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(partner_user)
    assert client.post(reverse("logout")).status_code == 403
    assert signed_in_user_id(client) == str(partner_user.pk)


# --- password reset ------------------------------------------------------------------------------


def test_password_reset_by_email_link(
    client, partner_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password-reset"), {"email": "Admin@Alpha.test"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password-reset-done")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["admin@alpha.test"]
    assert mail.subject == "Reset your PartnerHub password"
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", mail.body).group(1)

    # The link stores the token in the session and redirects to the form.
    response = client.get(link)
    assert response.status_code == 302
    form_url = response["Location"]
    response = client.get(form_url)
    assert response.context["validlink"] is True
    new = "a fresh long passphrase 42"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert response["Location"] == reverse("password-reset-complete")

    assert login(client, "admin@alpha.test").status_code == 200  # the old one is gone
    assert login(client, "admin@alpha.test", new).status_code == 302
    assert signed_in_user_id(client) == str(partner_user.pk)

    # The link worked once.
    client.post(reverse("logout"))
    response = client.get(link, follow=True)
    assert response.context["validlink"] is False


def test_password_reset_rejects_weak_passwords(
    client, partner_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password-reset"), {"email": "admin@alpha.test"})
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", mailoutbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    assert login(client, "admin@alpha.test").status_code == 302  # unchanged


def test_password_reset_for_unknown_email_says_the_same_and_sends_nothing(
    client, db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password-reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password-reset-done")
    assert mailoutbox == []


def test_password_reset_link_with_a_forged_token_is_invalid(client, partner_user):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(partner_user.pk))
    response = client.get(
        reverse("password-reset-confirm", args=[uid, "abc-0123456789abcdef"]), follow=True
    )
    assert response.status_code == 200
    assert response.context["validlink"] is False


# --- TOTP second factor --------------------------------------------------------------------------


def enable_totp(client) -> tuple[TOTPDevice, str]:
    """Turn TOTP on for the signed-in admin@alpha.test: the device and the code used."""
    response = client.get(reverse("account-security"))
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user__email="admin@alpha.test", confirmed=False)
    # The page shows the key (and a QR code) for the authenticator app.
    import base64

    assert base64.b32encode(device.bin_key).decode() in response.content.decode()
    used = code(device)
    response = client.post(reverse("account-security"), {"token": used}, follow=True)
    assert "Two-step sign-in is on." in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    return device, used


def test_totp_is_confirmed_only_with_a_valid_code(client, partner_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no back-off between the attempts of this test
    login(client, "admin@alpha.test")
    client.get(reverse("account-security"))
    device = TOTPDevice.objects.get(user=partner_user)
    response = client.post(reverse("account-security"), {"token": invalid_code(device)})
    assert response.status_code == 200
    assert "This code is not valid" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed


def test_after_enabling_totp_the_next_login_needs_the_code(client, partner_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    login(client, "admin@alpha.test")
    device, used = enable_totp(client)
    # Enabling verified this session: the portal opens.
    assert client.get(reverse("portal:home")).status_code == 200
    client.post(reverse("logout"))

    response = login(client, "admin@alpha.test")
    assert response["Location"] == "/start/"
    assert signed_in_user_id(client) == str(partner_user.pk)  # first step done...
    # ...but /start/ leads only to the second step; every page asks for the code.
    response = client.get("/start/", follow=True)
    verify = reverse("otp-verify")
    assert response.redirect_chain[-1][0] == f"{verify}?next=%2Fportal%2F"
    for url in (reverse("portal:home"), reverse("account-security")):
        assert client.get(url)["Location"].startswith(f"{verify}?next=")

    # A wrong code and a replayed code (the one used to enable it) are refused.
    response = client.post(verify, {"token": invalid_code(device)})
    assert "This code is not valid" in response.content.decode()
    response = client.post(verify, {"token": used})
    assert response.status_code == 200
    assert "This code is not valid" in response.content.decode()
    assert client.get(reverse("portal:home")).status_code == 302

    # The next code lets the user through.
    device.refresh_from_db()
    response = client.post(f"{verify}?next=/portal/", {"token": code(device, steps_ahead=1)})
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/start/", follow=True).status_code == 200
    assert client.get(reverse("portal:home")).status_code == 200


def test_otp_verify_does_not_redirect_off_site(client, partner_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    login(client, "admin@alpha.test")
    device, _ = enable_totp(client)
    client.post(reverse("logout"))
    login(client, "admin@alpha.test")
    device.refresh_from_db()
    response = client.post(
        f"{reverse('otp-verify')}?next=https://evil.example/",
        {"token": code(device, steps_ahead=1)},
    )
    assert response.status_code == 302
    assert response["Location"] == "/start/"


def test_turning_totp_off_needs_a_current_code(client, partner_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    login(client, "admin@alpha.test")
    device, _ = enable_totp(client)
    response = client.post(reverse("account-security"), {"token": "12"})
    assert response.status_code == 200
    assert TOTPDevice.objects.filter(user=partner_user, confirmed=True).exists()
    device.refresh_from_db()
    response = client.post(
        reverse("account-security"), {"token": code(device, steps_ahead=1)}, follow=True
    )
    assert "Two-step sign-in is off." in response.content.decode()
    # (the page shown after it offers a fresh, unconfirmed key to turn it on again)
    assert not TOTPDevice.objects.filter(user=partner_user, confirmed=True).exists()
    assert TOTPDevice.objects.get(user=partner_user).bin_key != device.bin_key
    client.post(reverse("logout"))
    login(client, "admin@alpha.test")
    assert client.get(reverse("portal:home")).status_code == 200  # no second step any more


def test_account_security_needs_a_login(client, db):
    response = client.get(reverse("account-security"))
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=%2Faccount%2Fsecurity%2F"


@pytest.fixture
def half_signed_in(client, world, settings):
    """A client past the password step only, for a user (staff) with TOTP turned on."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = world.program_admin
    login(client, user.email)
    client.get(reverse("account-security"))
    device = TOTPDevice.objects.get(user=user)
    client.post(reverse("account-security"), {"token": code(device)})
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    client.post(reverse("logout"))
    login(client, user.email)
    assert client.get(reverse("console:home"))["Location"].startswith(reverse("otp-verify"))
    return client


def test_api_session_needs_the_second_factor(half_signed_in):
    assert half_signed_in.get("/api/v1/me").status_code == 401


def test_admin_needs_the_second_factor(half_signed_in):
    response = half_signed_in.get("/admin/partners/partner/")
    assert response.status_code == 302


# --- headers, cookies, CSRF ----------------------------------------------------------------------


def test_login_page_sends_a_content_security_policy(client, db):
    response = client.get(LOGIN)
    csp = response["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_login_page_has_no_inline_script_or_style(client, db):
    html = client.get(LOGIN).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_session_cookie_is_http_only(client, partner_user):
    response = login(client, "admin@alpha.test")
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_login_session_key_changes_on_login(client, partner_user):
    client.get(LOGIN)
    session = client.session
    session["probe"] = 1
    session.save()
    before = client.cookies["sessionid"].value
    login(client, "admin@alpha.test")
    assert client.cookies["sessionid"].value != before  # no session fixation


def test_login_enforces_csrf(partner_user):
    client = Client(enforce_csrf_checks=True)
    response = login(client, "admin@alpha.test")
    assert response.status_code == 403
    assert signed_in_user_id(client) is None

    page = client.get(LOGIN)
    token = page.context["csrf_token"]
    response = client.post(
        LOGIN,
        {"username": "admin@alpha.test", "password": PASSWORD, "csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(partner_user.pk)


def test_password_reset_enforces_csrf(db, mailoutbox):
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("password-reset"), {"email": "x@y.test"}).status_code == 403
