"""Browser tests: pytest + Playwright driving Debian's Chromium (/usr/bin/chromium) against
pytest-django's ``live_server`` (a real HTTP server on a transactional test database).

- One browser for all of them (per xdist worker), a new context (cookies, storage) per test.
- Marked ``browser``: ``pytest -m "not browser"`` leaves them out.
- Skipped when /usr/bin/chromium is missing (``scripts/ensure-chromium.sh`` installs it;
  ``make test`` runs it first) and on PostgreSQL (``DATABASE_URL=postgres...``): the pages do
  not depend on the database, the rest of the suite covers both databases, and running the
  browser a second time would only lengthen the PostgreSQL pass.
- Playwright is never asked to download a browser (no ``playwright install``).
- Full-page screenshots of the main pages go to ``test-artifacts/`` at the repository root.

Test data is built with the services and the repository's fixtures (``world``, ``make_user``
from the root conftest.py; they ask for ``db``, which pytest-django makes transactional when
the test uses ``live_server``).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
HERE = Path(__file__).resolve().parent
PASSWORD = "correct horse battery"  # the password of the root conftest's make_user
TIMEOUT_MS = 10_000
# Console errors that are not problems: "Failed to load resource" repeats a response judged in
# Tab._response; htmx logs a request it aborted because a newer one replaced it (the conflict
# hints' hx-sync="closest fieldset:replace" while typing) as sendAbort + afterRequest errors.
EXPECTED_CONSOLE_ERRORS = ("Failed to load resource", "htmx:sendAbort", "htmx:afterRequest")


HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
if not HAVE_PLAYWRIGHT:  # the test modules import it: do not collect them (said at the end)
    collect_ignore_glob = ["test_*.py"]


def pytest_terminal_summary(terminalreporter):
    if not HAVE_PLAYWRIGHT:
        terminalreporter.write_line(
            "tests/browser: not collected, the playwright package is not installed "
            "(pip install -e '.[dev]')",
            yellow=True,
        )


def skip_reason() -> str | None:
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return (
            "browser tests run on SQLite only: the web UI does not depend on the database and "
            "the rest of the suite covers PostgreSQL"
        )
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does) to install "
            "Debian's chromium package"
        )
    return None


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: end-to-end tests in a real browser (Playwright + Chromium)"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    reason = skip_reason()
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser():
    """One Chromium for this package's tests (per xdist worker), closed after the last one.

    The Playwright sync API keeps an asyncio event loop running in this thread while the
    browser is open, and Django refuses ORM calls while a loop runs unless told it is safe (it
    is: the loop only drives the browser). So ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set exactly while
    the browser is open, before any test's ORM call, and the package scope closes the browser
    (and restores the variable) before any other test of the session runs: the rest of the
    suite keeps Django's check."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as p:
            chromium = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@dataclass
class Tab:
    """A page in its own browser context, with the problems it ran into: JavaScript errors,
    Content-Security-Policy violations, and failed responses (5xx; 4xx of anything but the
    page itself and the browser's own /favicon.ico guess)."""

    page: object
    errors: list[str] = field(default_factory=list)

    def __getattr__(self, name):
        return getattr(self.page, name)

    def _console(self, msg) -> None:
        if msg.type == "error" and not msg.text.startswith(EXPECTED_CONSOLE_ERRORS):
            self.errors.append(f"console: {msg.text}")

    def _response(self, response) -> None:
        status = response.status
        if status >= 500 or (
            status >= 400
            and response.request.resource_type != "document"
            and not response.url.endswith("/favicon.ico")
        ):
            self.errors.append(f"{status} {response.request.method} {response.url}")


@pytest.fixture
def open_page(browser, live_server):
    """``open_page(javascript=True)``: a page in a fresh context (no cookies) whose relative
    URLs go to the live server. The test fails when the page ran into a problem (see Tab)."""
    contexts, tabs = [], []

    def make(*, javascript: bool = True) -> Tab:
        context = browser.new_context(
            base_url=live_server.url,
            java_script_enabled=javascript,
            viewport={"width": 1280, "height": 900},
            locale="en-US",
            timezone_id="UTC",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        tab = Tab(context.new_page())
        tab.page.on("console", tab._console)
        tab.page.on("pageerror", lambda exc: tab.errors.append(f"page error: {exc}"))
        tab.page.on("response", tab._response)
        tabs.append(tab)
        return tab

    yield make
    for context in contexts:
        context.close()
    errors = [e for tab in tabs for e in tab.errors]
    assert not errors, f"the browser ran into problems: {errors}"


def login(tab: Tab, email: str, password: str = PASSWORD, *, landing: str = r"/(portal|console)/"):
    """Sign in through the login form, as a person would (on the login page the tab is on,
    with its ``?next=``, else on /login/), and wait for the page it lands on."""
    from playwright.sync_api import expect

    if "/login/" not in tab.url:
        tab.goto("/login/")
    tab.get_by_label("E-mail").fill(email)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.page).to_have_url(re.compile(landing))


def screenshot(tab: Tab, name: str) -> Path:
    """A full-page screenshot in test-artifacts/ (kept for people to look at, not compared)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


# --- data -------------------------------------------------------------------------------------


@pytest.fixture
def products(transactional_db):
    from partnerhub.deals.tests.factories import create_products

    return create_products()


@pytest.fixture
def register(world, products):
    """Create (and by default submit) a registration through the service layer."""
    from partnerhub.deals.tests import factories

    def make(partner=None, *, submit=True, user=None, name="Acme Logistics GmbH", **overrides):
        return factories.register(
            partner or world.partner_a, submit=submit, user=user, name=name, **overrides
        )

    return make


@pytest.fixture
def billings(world, products):
    """Net billings of 12,345.00 USD for partner A this month (the dashboard's progress)."""
    from django.utils import timezone

    from partnerhub.sales.models import BillingLine, Customer

    today = timezone.localdate()
    customer = Customer.objects.create(
        external_id="C1", name="Acme", country="DE", activated_on=today - dt.timedelta(days=200)
    )
    return BillingLine.objects.create(
        external_id="L1",
        partner=world.partner_a,
        customer=customer,
        product=products["wallbox"],
        quantity=1,
        net_amount_minor=1_234_500,
        currency="USD",
        invoice_date=today,
    )
