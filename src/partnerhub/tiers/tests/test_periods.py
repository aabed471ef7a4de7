"""Fiscal years, metric periods and tier-hold dates (inclusive bounds, leap years)."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.tiers.periods import (
    FAR_PAST,
    add_years,
    fiscal_year_end,
    fiscal_year_start,
    hold_until,
    period_bounds,
)

D = dt.date


@pytest.mark.parametrize(
    ("day", "month", "start_day", "start", "end"),
    [
        # ev-hardware: the fiscal year starts on 1 February.
        (D(2025, 2, 1), 2, 1, D(2025, 2, 1), D(2026, 1, 31)),
        (D(2025, 1, 31), 2, 1, D(2024, 2, 1), D(2025, 1, 31)),
        (D(2025, 9, 18), 2, 1, D(2025, 2, 1), D(2026, 1, 31)),
        (D(2026, 1, 31), 2, 1, D(2025, 2, 1), D(2026, 1, 31)),
        # calendar fiscal year
        (D(2025, 1, 1), 1, 1, D(2025, 1, 1), D(2025, 12, 31)),
        (D(2025, 12, 31), 1, 1, D(2025, 1, 1), D(2025, 12, 31)),
        # fieldwise: 1 July
        (D(2025, 6, 30), 7, 1, D(2024, 7, 1), D(2025, 6, 30)),
        (D(2025, 7, 1), 7, 1, D(2025, 7, 1), D(2026, 6, 30)),
        # starting 1 March: the year ends on 29 February in leap years
        (D(2024, 2, 29), 3, 1, D(2023, 3, 1), D(2024, 2, 29)),
        (D(2023, 3, 1), 3, 1, D(2023, 3, 1), D(2024, 2, 29)),
        (D(2024, 3, 1), 3, 1, D(2024, 3, 1), D(2025, 2, 28)),
        (D(2025, 2, 28), 3, 1, D(2024, 3, 1), D(2025, 2, 28)),
        # a start in the middle of a month
        (D(2025, 4, 14), 4, 15, D(2024, 4, 15), D(2025, 4, 14)),
        (D(2025, 4, 15), 4, 15, D(2025, 4, 15), D(2026, 4, 14)),
    ],
)
def test_fiscal_year_start_and_end(day, month, start_day, start, end):
    assert fiscal_year_start(day, month, start_day) == start
    assert fiscal_year_end(day, month, start_day) == end


def test_add_years_clamps_29_february():
    assert add_years(D(2024, 2, 29), 1) == D(2025, 2, 28)
    assert add_years(D(2024, 2, 29), -1) == D(2023, 2, 28)
    assert add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)
    assert add_years(D(2025, 3, 1), -1) == D(2024, 3, 1)


@pytest.mark.parametrize(
    ("period", "as_of", "first", "last"),
    [
        (None, D(2025, 9, 18), FAR_PAST, D(2025, 9, 18)),
        ("all_time", D(2025, 9, 18), D(1900, 1, 1), D(2025, 9, 18)),
        ("fiscal_year_to_date", D(2025, 9, 18), D(2025, 2, 1), D(2025, 9, 18)),
        ("fiscal_year_to_date", D(2025, 2, 1), D(2025, 2, 1), D(2025, 2, 1)),
        ("fiscal_year_to_date", D(2025, 1, 31), D(2024, 2, 1), D(2025, 1, 31)),
        ("previous_fiscal_year", D(2025, 9, 18), D(2024, 2, 1), D(2025, 1, 31)),
        ("previous_fiscal_year", D(2025, 2, 1), D(2024, 2, 1), D(2025, 1, 31)),
        ("previous_fiscal_year", D(2025, 1, 31), D(2023, 2, 1), D(2024, 1, 31)),
        ("trailing_12_months", D(2025, 9, 18), D(2024, 9, 19), D(2025, 9, 18)),
        ("trailing_12_months", D(2025, 1, 1), D(2024, 1, 2), D(2025, 1, 1)),
        # 366 days back over a leap day; a 29 February end starts on 1 March
        ("trailing_12_months", D(2025, 2, 28), D(2024, 2, 29), D(2025, 2, 28)),
        ("trailing_12_months", D(2024, 2, 29), D(2023, 3, 1), D(2024, 2, 29)),
        ("calendar_quarter", D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 1)),
        ("calendar_quarter", D(2025, 3, 31), D(2025, 1, 1), D(2025, 3, 31)),
        ("calendar_quarter", D(2025, 5, 20), D(2025, 4, 1), D(2025, 5, 20)),
        ("calendar_quarter", D(2025, 9, 18), D(2025, 7, 1), D(2025, 9, 18)),
        ("calendar_quarter", D(2025, 12, 31), D(2025, 10, 1), D(2025, 12, 31)),
    ],
)
def test_period_bounds_february_fiscal_year(period, as_of, first, last):
    assert period_bounds(period, as_of, 2, 1) == (first, last)


def test_period_bounds_march_fiscal_year_over_leap_day():
    assert period_bounds("fiscal_year_to_date", D(2024, 2, 29), 3, 1) == (
        D(2023, 3, 1),
        D(2024, 2, 29),
    )
    assert period_bounds("previous_fiscal_year", D(2024, 3, 1), 3, 1) == (
        D(2023, 3, 1),
        D(2024, 2, 29),
    )
    assert period_bounds("previous_fiscal_year", D(2025, 3, 1), 3, 1) == (
        D(2024, 3, 1),
        D(2025, 2, 28),
    )


def test_unknown_period_is_refused():
    with pytest.raises(ValueError, match="unknown period 'fortnight'"):
        period_bounds("fortnight", D(2025, 1, 1), 2, 1)


@pytest.mark.parametrize(
    ("policy", "reached_on", "month", "start_day", "held"),
    [
        # ev-hardware: reached in month 8 of FY2025 → the rest of FY2025 and all of FY2026
        ("rest_of_year_and_next", D(2025, 9, 18), 2, 1, D(2027, 1, 31)),
        ("rest_of_year_and_next", D(2025, 2, 1), 2, 1, D(2027, 1, 31)),
        ("rest_of_year_and_next", D(2026, 1, 31), 2, 1, D(2027, 1, 31)),
        ("rest_of_year_and_next", D(2026, 2, 1), 2, 1, D(2028, 1, 31)),
        ("rest_of_year", D(2025, 9, 18), 2, 1, D(2026, 1, 31)),
        ("rest_of_year", D(2026, 1, 31), 2, 1, D(2026, 1, 31)),
        ("none", D(2025, 9, 18), 2, 1, D(2025, 9, 18)),
        # fiscal year starting 1 March: the held year may end on 29 February
        ("rest_of_year_and_next", D(2023, 1, 15), 3, 1, D(2024, 2, 29)),
        ("rest_of_year_and_next", D(2023, 6, 1), 3, 1, D(2025, 2, 28)),
        ("rest_of_year_and_next", D(2024, 2, 29), 3, 1, D(2025, 2, 28)),
        ("rest_of_year_and_next", D(2022, 3, 1), 3, 1, D(2024, 2, 29)),
        ("rest_of_year_and_next", D(2026, 7, 1), 3, 1, D(2028, 2, 29)),
        ("rest_of_year", D(2023, 6, 1), 3, 1, D(2024, 2, 29)),
        ("rest_of_year", D(2024, 2, 29), 3, 1, D(2024, 2, 29)),
        ("rest_of_year", D(2024, 3, 1), 3, 1, D(2025, 2, 28)),
        ("none", D(2024, 2, 29), 3, 1, D(2024, 2, 29)),
        # calendar fiscal year
        ("rest_of_year_and_next", D(2025, 12, 31), 1, 1, D(2026, 12, 31)),
        ("rest_of_year", D(2025, 1, 1), 1, 1, D(2025, 12, 31)),
    ],
)
def test_hold_until(policy, reached_on, month, start_day, held):
    assert hold_until(policy, reached_on, month, start_day) == held
