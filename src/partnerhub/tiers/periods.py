"""Fiscal years and metric periods. All bounds are inclusive dates."""

from __future__ import annotations

import datetime as dt

from partnerhub.programs.schema import Period

FAR_PAST = dt.date(1900, 1, 1)


def fiscal_year_start(day: dt.date, month: int, start_day: int) -> dt.date:
    """First day of the fiscal year that contains ``day``."""
    start = dt.date(day.year, month, start_day)
    return start if start <= day else dt.date(day.year - 1, month, start_day)


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def fiscal_year_end(day: dt.date, month: int, start_day: int) -> dt.date:
    """Last day of the fiscal year that contains ``day``."""
    return add_years(fiscal_year_start(day, month, start_day), 1) - dt.timedelta(days=1)


def period_bounds(
    period: str | None, as_of: dt.date, month: int, start_day: int
) -> tuple[dt.date, dt.date]:
    """(first, last) day a metric looks at for ``period`` as of ``as_of``."""
    if period is None or period == Period.ALL_TIME:
        return FAR_PAST, as_of
    if period == Period.FISCAL_YEAR_TO_DATE:
        return fiscal_year_start(as_of, month, start_day), as_of
    if period == Period.PREVIOUS_FISCAL_YEAR:
        this_start = fiscal_year_start(as_of, month, start_day)
        last_day = this_start - dt.timedelta(days=1)
        return fiscal_year_start(last_day, month, start_day), last_day
    if period == Period.TRAILING_12_MONTHS:
        return add_years(as_of, -1) + dt.timedelta(days=1), as_of
    if period == Period.CALENDAR_QUARTER:
        first_month = 3 * ((as_of.month - 1) // 3) + 1
        return dt.date(as_of.year, first_month, 1), as_of
    raise ValueError(f"unknown period {period!r}")


def hold_until(policy: str, reached_on: dt.date, month: int, start_day: int) -> dt.date:
    """Last day a tier reached on ``reached_on`` is held under the program's tier-hold policy."""
    if policy == "rest_of_year_and_next":
        next_year = add_years(fiscal_year_start(reached_on, month, start_day), 1)
        return fiscal_year_end(next_year, month, start_day)
    if policy == "rest_of_year":
        return fiscal_year_end(reached_on, month, start_day)
    return reached_on
