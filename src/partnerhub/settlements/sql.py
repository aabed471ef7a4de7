"""SQL building blocks of the set-based settlement, the same on SQLite and PostgreSQL.

Arithmetic is done on integers only: amounts are integer minor units, rates are converted to
integers first (percentages to basis points, prices per kWh to micro-units), so SQLite's
REAL/NUMERIC storage of ``Decimal`` columns never reaches a division. ``half_up`` rounds an
integer quotient half away from zero, exactly like ``Decimal.quantize(..., ROUND_HALF_UP)``
(tested against it with hypothesis in ``tests/test_sql.py``).
"""

from __future__ import annotations

from partnerhub.core.money import MINOR_DIGITS


def half_up(numerator: str, denominator: str) -> str:
    """SQL for round-half-up(numerator / denominator); both integer expressions, the
    denominator positive. sign(n) * ((2|n| + d) div 2d): integer division of non-negative
    operands truncates alike on both databases. Written with ``CASE`` rather than ``SIGN``:
    Django replaces SQLite's built-in ``SIGN`` with a Python function on its connections, a
    call back into Python (and its lock) for every rounding of every session."""
    n, d = f"({numerator})", f"({denominator})"
    negative = f"-((2 * -{n} + {d}) / (2 * {d}))"
    return f"(CASE WHEN {n} < 0 THEN {negative} ELSE (2 * {n} + {d}) / (2 * {d}) END)"


def as_int(expression: str, factor: int) -> str:
    """An exact decimal column scaled to an integer (percent → bp with 100; per kWh → micro
    with 1,000,000). The values have at most that many decimals, so ROUND only drops the
    binary-float noise SQLite may add."""
    return f"CAST(ROUND(({expression}) * {factor}) AS BIGINT)"


def per_kwh_divisor(currency_sql: str) -> str:
    """energy_wh × rate_micro / divisor = minor units: divisor = 1000 Wh × 10⁶ / 10^digits."""
    cases = " ".join(
        f"WHEN '{code}' THEN {10 ** (9 - digits)}" for code, digits in sorted(MINOR_DIGITS.items())
    )
    return f"(CASE {currency_sql} {cases} ELSE {10**7} END)"


class Dialect:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, vendor: str):
        self.vendor = vendor
        self.pg = vendor == "postgresql"

    def day(self, ts: str) -> str:
        """The UTC calendar day of a timestamp column, comparable with a date column."""
        return f"(({ts}) AT TIME ZONE 'UTC')::date" if self.pg else f"date({ts})"

    def month(self, ts: str) -> str:
        """The first day of the UTC month of a timestamp column."""
        if self.pg:
            return f"(date_trunc('month', ({ts}) AT TIME ZONE 'UTC'))::date"
        return f"date({ts}, 'start of month')"

    def date_param(self) -> str:
        return "%s::date" if self.pg else "%s"

    def days_between(self, later: str, earlier: str) -> str:
        """Whole days from ``earlier`` to ``later`` (dates)."""
        if self.pg:
            return f"(({later}) - ({earlier}))"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"MIN({a}, {b})"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"MAX({a}, {b})"

    def zero_pad(self, number: str, width: int) -> str:
        if self.pg:
            return f"lpad(CAST({number} AS TEXT), {width}, '0')"
        return f"printf('%%0{width}d', {number})"  # %% : the query always has parameters

    def temp_table(self, name: str, select: str) -> str:
        return f"CREATE TEMP TABLE {name} AS {select}"

    def drop_temp(self, name: str) -> str:
        return f"DROP TABLE IF EXISTS {'' if self.pg else 'temp.'}{name}"

    def fence(self) -> str:
        """Appended to a derived table so it is not merged into the outer query: its columns
        are computed once per row instead of being re-expanded at every reference (SQLite
        runs it as a co-routine; PostgreSQL does not pull up a subquery with OFFSET)."""
        return " OFFSET 0" if self.pg else " LIMIT -1 OFFSET 0"
