"""Login throttling with django-axes: an e-mail + IP pair is locked after AXES_FAILURE_LIMIT
failures, even for the right password, until the cool-off passes or an admin resets it."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth import SESSION_KEY, authenticate
from django.http import HttpRequest
from django.test import Client

PASSWORD = "correct horse battery"
EMAIL = "admin@vendor.test"


@pytest.fixture
def staff(make_user):
    return make_user(EMAIL, staff_role="program_admin")


def attempt(client: Client, password: str, username: str = EMAIL, ip: str = "10.0.0.1"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def fail(client: Client, times: int, **kwargs) -> None:
    """Fail ``times`` logins: the form comes back, until the failure that locks (429)."""
    for n in range(1, times + 1):
        r = attempt(client, "wrong password", **kwargs)
        assert r.status_code == (429 if n >= settings.AXES_FAILURE_LIMIT else 200), n
        assert not logged_in(client)


def test_axes_is_on_in_tests_with_the_documented_limit():
    assert settings.AXES_ENABLED is True
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE


def test_right_password_logs_in(staff, client):
    r = attempt(client, PASSWORD)
    assert r.status_code == 302 and r["Location"] == "/admin/"
    assert logged_in(client)


def test_locked_after_the_failure_limit_even_with_the_right_password(staff, client):
    fail(client, settings.AXES_FAILURE_LIMIT)  # the fifth failure locks
    r = attempt(client, PASSWORD)
    assert r.status_code == 429, r.status_code
    assert not logged_in(client)
    assert AccessAttempt.objects.get(username=EMAIL).failures_since_start >= 5
    # The page says for how long, and how to get in without waiting.
    page = r.content.decode()
    assert "Sign-in paused for 15 minutes" in page and 'href="/password-reset/"' in page


def test_fewer_failures_then_success_resets_the_count(staff, client):
    fail(client, settings.AXES_FAILURE_LIMIT - 1)
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()
    # AXES_RESET_ON_SUCCESS: the count starts again.
    fail(client, settings.AXES_FAILURE_LIMIT - 1)
    assert attempt(client, PASSWORD).status_code == 302


def test_reset_unlocks(staff, client):
    fail(client, settings.AXES_FAILURE_LIMIT)
    assert attempt(client, PASSWORD).status_code == 429
    assert reset(username=EMAIL) >= 1
    r = attempt(client, PASSWORD)
    assert r.status_code == 302
    assert logged_in(client)


def test_lock_is_per_email_and_ip(staff, make_user, client):
    make_user("pm@vendor.test", staff_role="partner_manager")
    fail(client, settings.AXES_FAILURE_LIMIT)
    assert attempt(client, PASSWORD).status_code == 429
    # Another account from the same address, and the same account from elsewhere, still work.
    assert attempt(Client(), PASSWORD, username="pm@vendor.test").status_code == 302
    assert attempt(Client(), PASSWORD, ip="10.0.0.2").status_code == 302


def test_changing_the_case_of_the_email_does_not_dodge_the_lock(staff, client):
    """E-mail addresses log in case-insensitively, so they must be counted that way too."""
    variants = ["admin@vendor.test", "Admin@vendor.test", "ADMIN@vendor.test", "admin@VENDOR.test"]
    for username in variants + ["aDmin@vendor.test"]:
        r = attempt(client, "wrong password", username=username)
        assert r.status_code in (200, 429)
    for username in variants:
        r = attempt(client, PASSWORD, username=username)
        assert r.status_code == 429, username
        assert not logged_in(client)


def test_authenticate_without_request_is_refused(staff):
    """Axes needs the request; callers (and tests) must pass it to authenticate()."""
    from axes.exceptions import AxesBackendRequestParameterRequired

    with pytest.raises(AxesBackendRequestParameterRequired):
        authenticate(email=EMAIL, password=PASSWORD)
    assert authenticate(HttpRequest(), email=EMAIL, password=PASSWORD) == staff
    assert authenticate(HttpRequest(), username=EMAIL.upper(), password=PASSWORD) == staff


def test_partner_users_cannot_use_the_back_office(make_user, world, client):
    r = attempt(client, PASSWORD, username="admin@alpha.test")
    assert r.status_code == 200
    assert not logged_in(client)
