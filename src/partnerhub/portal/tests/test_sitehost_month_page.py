"""The site host's month page (``portal:site-month``): while the month runs its figures are
"so far" and live; once the month's statement is final the page says the month is settled,
shows the statement's figures as final and links to it, with no "so far" or "live" wording.
The revenue chart says what it plots and in which unit."""

# ruff: noqa: F811 (the imported fixtures are test arguments)
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from partnerhub.portal.tests.test_sitehost_pages import (  # noqa: F401 (fixtures)
    as_user,
    last_month,
    site,
    statements,
    text,
    this_month,
)

pytestmark = pytest.mark.django_db

RUNNING_WORDS = re.compile(r"so far|\blive\b|running month", re.IGNORECASE)


def visible_text(page: str) -> str:
    """The page's words without its tags (attributes included) and scripts."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_running_month_says_so_far(as_user, world, statements):
    page = text(as_user(world.admin_a).get(reverse("portal:site-month")))
    words = visible_text(page)
    assert "Running month" in words and "Your settlement so far" in words
    assert (
        "Net so far: payable to you 6.17 EUR" in words
        and "Live from the charging sessions" in words
    )
    assert "settled" not in words.replace("until the month is settled", "")
    assert "6.17 EUR" in words  # 50 % of 12.34 EUR, computed now


def test_a_settled_month_shows_the_final_statement(as_user, world, statements, monkeypatch):
    """The month whose statement is final (last month's, shown as the page's month)."""
    from partnerhub.portal import views_sitehost

    monkeypatch.setattr(views_sitehost, "_this_month", last_month)
    st = statements.a_last
    page = text(as_user(world.admin_a).get(reverse("portal:site-month")))
    words = visible_text(page)
    assert f"This month is settled. Statement {st.number} is final" in words
    assert f'href="{reverse("portal:site-statement", args=[st.pk])}"' in page
    assert f"Open statement {st.number}" in words
    # The statement's figures, as final: AC 15.00 + DC 16.00 = 31.00 EUR to the host.
    assert "Net: payable to you" in words and "31.00 EUR" in words
    assert not RUNNING_WORDS.search(words), RUNNING_WORDS.findall(words)
    assert "Settled month" in words and "Sessions of the month" in words


def test_the_current_months_final_statement_is_shown_as_settled(as_user, world, statements):
    """A current month finalised early (as statements made before finalising waited for the
    month's end were): the page contradicts nothing."""
    from partnerhub.settlements.models import Statement, StatementStatus

    Statement.objects.filter(pk=statements.a_now.pk).update(
        status=StatementStatus.FINAL, number="ST-2099-00042"
    )
    page = text(as_user(world.sales_a).get(reverse("portal:site-month")))
    words = visible_text(page)
    assert "This month is settled. Statement ST-2099-00042 is final" in words
    assert reverse("portal:site-statement", args=[statements.a_now.pk]) in page
    assert "6.17 EUR" in words
    assert not RUNNING_WORDS.search(words), RUNNING_WORDS.findall(words)


def test_the_chart_says_what_it_plots_and_in_which_unit(as_user, world, statements):
    page = text(as_user(world.admin_a).get(reverse("portal:site-month")))
    caption = re.search(r"<figcaption>(.*?)</figcaption>", page, re.DOTALL)
    assert caption, "the chart has no caption"
    words = visible_text(caption.group(1))
    assert "Revenue excl. VAT per day, in EUR" in words
    assert "Vertical axis: revenue excl. VAT in EUR" in words and "day of the month" in words
    # The chart itself: an image with a name and a description, and its numbers in a table.
    assert re.search(r'<svg class="chart"[^>]* role="img" aria-label="Revenue per day', page)
    assert "<desc>" in page and "12.34 EUR" in page
