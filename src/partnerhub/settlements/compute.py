"""The month's settlement for every partner in a handful of set-based statements.

``compute_month`` (called by the services inside their transaction) does, for month M:

1. delete M's draft statements (with their lines and per-session lines), and the kept inputs
   no draft needs any more;
2. small temp tables: contract terms as integers (``settle_terms``), electricity price
   periods per location (``settle_price``), corporate discounts (``settle_discount``), late
   sessions of closed months (``settle_late``);
3. one INSERT ... SELECT creating M's statements (one per partner with a contract in force,
   hosted or corporate-billed sessions in M, or late sessions), skipping partners whose
   statement of M is already final;
4. every session's figures, summed per statement, kind and current type (``aggregate``):
   one SELECT per side for the hosted sessions of M (joined with the statement, its contract
   and the electricity price in force at the start), the corporate-billed ones, and the late
   sessions (adjustments, with the contract in force in their own month);
5. statement lines from those sums, then fee lines, platform fee lines (asset-days from the
   hosting history), one VAT line, and the statement totals;
6. a recorded run (``run_id``) copies the inputs it used into the ``Run*`` tables.

Per-session lines: a recorded run does not write them (writing one row per session was three
quarters of the run). A draft's per-session lines are written by ``materialise`` on their first
read or when the draft is finalised, by the same per-session SELECTs over the inputs the run
kept: the lines add up to the statement exactly, even if a contract, a price or a discount
changed meanwhile (a new run takes the new inputs). An unrecorded computation (the running
figures, rolled back) writes them at once.

Performance (``docs/benchmarks.md``): the cost is the per-session SELECTs. The per-session
lines' foreign keys carry no database constraint (``models.SessionSettlement``). PostgreSQL
gets ``ANALYZE`` of the fresh statements and temp tables before the per-session statements
(without it the planner visits the sessions partner by partner, a heap page per session,
instead of one sequential scan hashed on the partner), and runs with ``synchronous_commit``
off for the run's transaction; SQLite gets a 256 MiB page cache for the run (the connection's
setting is restored afterwards). "Already on a final statement" is looked up once per month
(``temp_settled``) instead of once per session.

Rounding rules (``docs/money.md``): every per-session amount is rounded half-up to the minor
unit once; lines and totals are exact sums of rounded amounts; platform fees and VAT are
rounded once per line.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from partnerhub.settlements.sql import Dialect, as_int, half_up, per_kwh_divisor

ST = "settlements_statement"
LINE = "settlements_statementline"
SS = "settlements_sessionsettlement"
SESSION = "charging_chargingsession"
REPLACED = "settlements_replaceddraft"

NO_CONTRACT_WARNING = (
    "No contract in force this month: the sessions are listed with partner share 0."
)
PRICE_CURRENCY_WARNING = (
    "{n} session(s) at locations whose electricity price is in {price}, not in the contract's "
    "currency {contract}: no electricity cost was computed, deducted or reimbursed for them. "
    "Correct the locations' electricity prices and run the month again."
)

# SQLite page cache during a run, in KiB (negative: a size, not a page count).
SQLITE_CACHE_KIB = -262_144
# A run deleting drafts with at least this many written per-session lines leaves them to a
# task after its commit (``delete_session_lines``).
DEFER_DELETE_LINES = 200_000
# SQLite reads the database through a memory map of up to this size during a run: the
# sessions are visited along the (partner, start) index, in no table order, and a page read
# through the map costs no system call and no copy (at 10 M sessions the file is ≈ 4 GB).
SQLITE_MMAP_BYTES = 16 * 1024**3

# The order of lines on a statement.
POSITION = {
    "revenue": 10,
    "no_contract": 11,
    "other_currency": 12,
    "other_currency_corporate": 13,
    "session_fee": 20,
    "kwh_fee": 21,
    "handling_fee": 22,
    "platform_charge_point": 30,
    "platform_ac_evse": 31,
    "platform_dc_evse": 32,
    "vat": 40,
    "corporate": 50,
}


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@dataclass
class MonthResult:
    statements: int
    sessions: int
    adjustments: int
    skipped_final: int
    max_session_id: int
    step_seconds: dict = field(default_factory=dict)
    # Deleted drafts whose per-session lines are to be deleted after the commit.
    orphans: list[int] = field(default_factory=list)


class _Runner:
    def __init__(self, month: dt.date, partner_ids: list[int] | None, run_id: int | None):
        self.d = Dialect(connection.vendor)
        self.a = month_start(month)
        self.b = next_month(self.a)
        self.last = self.b - dt.timedelta(days=1)
        self.days = (self.b - self.a).days
        self.ts_a = dt.datetime.combine(self.a, dt.time(), tzinfo=dt.UTC)
        self.ts_b = dt.datetime.combine(self.b, dt.time(), tzinfo=dt.UTC)
        self.partner_ids = None if partner_ids is None else [int(p) for p in partner_ids]
        self.run_id = run_id
        # A recorded run defers its drafts' per-session lines (``materialise``); an unrecorded
        # one (the running figures, rolled back) writes them at once.
        self.lazy = run_id is not None
        self.now = timezone.now()
        self.cursor = connection.cursor()
        self.w = 0
        self.settled = 0
        self.span = 0
        self.orphans: list[int] = []  # statements deleted with their per-session lines left
        self.final_sql = "FALSE"  # per-session lines written as final (``materialise``)
        # ANALYZE the per-session lines after writing them: a run only. ``materialise`` runs
        # in requests and finalisations, where the table-wide lock of ANALYZE would make two
        # of them (each holding its statements' rows) wait for each other.
        self.analyze = True
        self.target = "FALSE"  # SQL: the statements (alias ``st``) whose sessions are read
        # Where the inputs are read from: this run's temp tables, or (``materialise``) the
        # copies a past run kept.
        self.src = {
            "st": ST,
            "terms": "settle_terms",
            "price": "settle_price",
            "discount": "settle_discount",
            "late": "settle_late",
            "settled": "settle_settled",
        }

    # -- helpers ----------------------------------------------------------------------------

    def sql(self, statement: str, params: dict | None = None) -> int:
        self.cursor.execute(statement, params or {})
        return self.cursor.rowcount

    def scalar(self, statement: str, params: dict | None = None):
        self.cursor.execute(statement, params or {})
        row = self.cursor.fetchone()
        return row[0] if row else None

    def partner_filter(self, column: str) -> str:
        if self.partner_ids is None:
            return "TRUE"
        if not self.partner_ids:
            return "FALSE"
        return f"{column} IN ({', '.join(str(p) for p in self.partner_ids)})"

    def date(self, name: str) -> str:
        return f"%({name})s::date" if self.d.pg else f"%({name})s"

    @property
    def params(self) -> dict:
        ops = connection.ops
        return {
            "a": ops.adapt_datefield_value(self.a),
            "b": ops.adapt_datefield_value(self.b),
            "last": ops.adapt_datefield_value(self.last),
            "ts_a": ops.adapt_datetimefield_value(self.ts_a),
            "ts_b": ops.adapt_datetimefield_value(self.ts_b),
            "run": self.run_id,
            "now": ops.adapt_datetimefield_value(self.now),
            "w": self.w,
            "days": self.days,
        }

    def in_force(self, t: str, month_sql: str) -> str:
        """SQL: the contract terms row ``t`` is in force in the month ``month_sql``."""
        return (
            f"({t}.start_month <= {month_sql} AND ({t}.end_month >= {month_sql} OR "
            f"({t}.auto_renew = 1 AND ({t}.terminated_after IS NULL OR "
            f"{t}.terminated_after >= {month_sql}))))"
        )

    def ours(self, alias: str = "st") -> str:
        """The statements this computation writes: the month's drafts (in the filter)."""
        return (
            f"{alias}.month = {self.date('a')} AND {alias}.status = 'draft' AND "
            f"{self.partner_filter(alias + '.partner_id')}"
        )

    def unsettled(self, corporate: bool, alias: str = "s") -> str:
        """SQL: session ``alias`` is on no final statement yet (on the hosted revenue side, or
        the corporate side). A re-run of a closed month must not take back a session settled
        meanwhile (e.g. a late session settled as an adjustment of a later month).

        ``f.is_final`` is written bare on purpose: it is the condition of the partial index
        ``session_settled_once`` (session, is_corporate) WHERE is_final, and SQLite only uses
        a partial index when the query names its condition as written (``f.is_final = TRUE``
        made it scan every per-session line once per session)."""
        truth = "TRUE" if corporate else "FALSE"
        return (
            f"NOT EXISTS (SELECT 1 FROM {SS} f WHERE f.session_id = {alias}.id "
            f"AND f.is_corporate = {truth} AND f.is_final)"
        )

    def temp_settled(self) -> int:
        """``settle_settled``: the final per-session lines (session, side) of the sessions
        that started in the month, found through the partial index on final lines between the
        month's lowest and highest session id. Usually empty (nothing of the month is final
        yet), and then the per-session INSERTs need no check at all; otherwise they anti-join
        this small table instead of the per-session line table they write (an INSERT whose
        SELECT reads its own target table is first materialised whole by SQLite). Returns how
        many lines it holds."""
        self.cursor.execute(
            f"SELECT MIN(s.id), MAX(s.id) FROM {SESSION} s "
            "WHERE s.start >= %(ts_a)s AND s.start < %(ts_b)s AND s.id <= %(w)s",
            self.params,
        )
        low, high = self.cursor.fetchone()
        self.span = (high or 0) - (low or 0) + 1 if low is not None else 0
        self.sql(
            self.d.temp_table(
                "settle_settled",
                f"""
                SELECT f.session_id, CASE WHEN f.is_corporate THEN 1 ELSE 0 END AS is_corporate
                FROM {SS} f
                WHERE f.is_final AND f.session_id >= %(low)s AND f.session_id <= %(high)s
                """,
            ),
            {"low": low or 0, "high": high or -1},
        )
        n = self.scalar("SELECT COUNT(*) FROM settle_settled")
        if n:
            self.sql("CREATE INDEX settle_settled_session ON settle_settled (session_id)")
            if self.d.pg:
                self.sql("ANALYZE settle_settled")
        return n

    def not_settled(self, corporate: bool, alias: str = "s") -> str:
        """SQL: like ``unsettled`` for the month's own sessions, through ``settle_settled``."""
        if not self.settled:
            return "TRUE"
        return (
            f"NOT EXISTS (SELECT 1 FROM {self.src['settled']} f WHERE f.session_id = {alias}.id "
            f"AND f.is_corporate = {1 if corporate else 0})"
        )

    # -- the steps ----------------------------------------------------------------------------

    def run(self) -> MonthResult:
        self.w = self.scalar(f"SELECT COALESCE(MAX(id), 0) FROM {SESSION}") or 0
        steps = self.steps = {}

        def timed(name, step):
            began = time.perf_counter()
            value = step()
            steps[name] = round(time.perf_counter() - began, 3)
            return value

        if self.d.pg:
            # The run's transaction only (SET LOCAL): its commit does not wait for the WAL
            # flush. A crash right after the commit can lose the run, never half of it.
            self.sql("SET LOCAL synchronous_commit TO OFF")
        with _big_reads():
            return self._steps(timed, steps)

    def _steps(self, timed, steps) -> MonthResult:
        try:
            self.drop_temps()
            timed("delete_drafts", self.delete_drafts)
            timed("temp_terms", self.temp_terms)
            timed("temp_prices", self.temp_prices)
            timed("temp_discounts", self.temp_discounts)
            adjustments = timed("late_sessions", self.temp_late)
            timed("statements", self.create_statements)
            self.target = self.ours()
            self.settled = timed("settled", self.temp_settled)
            if not self.lazy:
                timed("session_lines", lambda: self.write_lines(self.target))
            sessions = timed("aggregate", self.aggregate)
            timed("price_warnings", self.price_currency_warnings)
            timed("statement_lines", self.statement_lines)
            timed("other_currency_lines", self.other_currency_lines)
            timed("platform_fees", self.platform_fees)
            timed("vat", self.vat_lines)
            timed("totals", self.totals)
            if self.lazy:
                timed("keep_inputs", self.keep_inputs)
            statements = self.scalar(
                f"SELECT COUNT(*) FROM {ST} st WHERE {self.ours()}", self.params
            )
            skipped = self.scalar(
                f"SELECT COUNT(*) FROM {ST} st WHERE st.month = {self.date('a')} AND "
                f"st.status = 'final' AND {self.partner_filter('st.partner_id')}",
                self.params,
            )
        finally:
            self.drop_temps()
        return MonthResult(statements, sessions, adjustments, skipped, self.w, steps, self.orphans)

    TEMPS = ("settle_terms", "settle_price", "settle_late", "settle_agg", "settle_hosting",
             "settle_evse", "settle_assets", "settle_totals", "settle_settled",
             "settle_discount")  # fmt: skip

    def drop_temps(self) -> None:
        for name in self.TEMPS:
            self.sql(self.d.drop_temp(name))

    def delete_drafts(self) -> None:
        """Delete the month's drafts, their lines and (few) per-session lines. Many written
        per-session lines (a re-run after the drafts were read or checked: 10 M rows take
        8-10 s to delete) are left to ``delete_session_lines`` after the commit
        (``self.orphans``): no reader reaches them, their statement is gone and statement
        ids are never reused."""
        mine = f"SELECT st.id FROM {ST} st WHERE {self.ours()}"
        if self.d.pg:
            # Wait for first reads writing a draft's lines (they hold its row) and keep new
            # ones out: the flags read next are then the ones the deletion meets.
            self.cursor.execute(f"{mine} ORDER BY st.id FOR UPDATE", self.params)
        self.cursor.execute(
            f"SELECT st.id, st.sessions FROM {ST} st WHERE {self.ours()} "
            "AND st.session_lines_ready = TRUE",
            self.params,
        )
        written = self.cursor.fetchall()
        ids = [int(pk) for pk, _ in written]
        if sum(int(n or 0) for _, n in written) >= DEFER_DELETE_LINES:
            self.orphans = ids
        else:
            delete_session_lines(ids)
        self.sql(f"DELETE FROM {LINE} WHERE statement_id IN ({mine})", self.params)
        # Where links to the drafts lead once they are gone: the partner's new statement.
        self.sql(
            f"INSERT INTO {REPLACED} (statement_id, partner_id, month) "
            f"SELECT st.id, st.partner_id, st.month FROM {ST} st WHERE {self.ours()}",
            self.params,
        )
        self.sql(f"DELETE FROM {ST} WHERE id IN ({mine})", self.params)
        forget_inputs(self.cursor)

    def temp_terms(self) -> None:
        def flag(column: str) -> str:
            return f"CASE WHEN {column} THEN 1 ELSE 0 END"

        self.sql(
            self.d.temp_table(
                "settle_terms",
                f"""
                SELECT id, partner_id, currency, start_month, end_month,
                       {flag("auto_renew")} AS auto_renew, terminated_after,
                       {as_int("ac_share_percent", 100)} AS ac_bp,
                       {as_int("dc_share_percent", 100)} AS dc_bp,
                       {flag("exclude_connection_fee")} AS excl,
                       {flag("deduct_electricity")} AS ded,
                       {flag("reimburse_electricity")} AS reimb,
                       session_fee_ac_minor AS sfee_ac, session_fee_dc_minor AS sfee_dc,
                       {as_int("kwh_fee_ac", 1_000_000)} AS kwh_ac,
                       {as_int("kwh_fee_dc", 1_000_000)} AS kwh_dc,
                       {as_int("handling_fee_percent", 100)} AS handling_bp,
                       platform_fee_charge_point_minor AS pf_cp,
                       platform_fee_ac_evse_minor AS pf_ac,
                       platform_fee_dc_evse_minor AS pf_dc,
                       {as_int("vat_percent", 100)} AS vat_bp,
                       {per_kwh_divisor("currency")} AS div
                FROM settlements_contract
                """,
            )
        )
        self.sql("CREATE INDEX settle_terms_partner ON settle_terms (partner_id, start_month)")
        self.sql("CREATE UNIQUE INDEX settle_terms_id ON settle_terms (id)")

    def temp_prices(self) -> None:
        """Price periods as UTC timestamps [from, to), comparable with ``start`` as stored
        (no per-session date conversion)."""
        if self.d.pg:
            ts = "(CAST({} AS TIMESTAMP) AT TIME ZONE 'UTC')"
            end = "CAST('9999-12-31 00:00:00+00' AS TIMESTAMPTZ)"
        else:
            ts = "({} || ' 00:00:00')"
            end = "'9999-12-31 00:00:00'"
        nxt = "LEAD(valid_from) OVER (PARTITION BY location_id ORDER BY valid_from)"
        self.sql(
            self.d.temp_table(
                "settle_price",
                f"""
                SELECT location_id, {ts.format("valid_from")} AS valid_from,
                       COALESCE({ts.format(nxt)}, {end}) AS valid_to,
                       {as_int("price_per_kwh", 1_000_000)} AS micro, currency
                FROM charging_electricityprice
                """,
            )
        )
        self.sql("CREATE INDEX settle_price_location ON settle_price (location_id, valid_from)")

    def temp_discounts(self) -> None:
        """Corporate-billing discounts on service fees, basis points, per paying partner."""
        self.sql(
            self.d.temp_table(
                "settle_discount",
                f"""
                SELECT partner_id, COALESCE({as_int("discount_percent", 100)}, 0) AS disc_bp
                FROM charging_corporatebilling
                """,
            )
        )
        self.sql("CREATE INDEX settle_discount_partner ON settle_discount (partner_id)")

    def temp_late(self) -> int:
        """Sessions of earlier, closed months not on any final statement (late arrivals)."""
        low = self.scalar(
            f"SELECT MIN(max_session_id) FROM {ST} WHERE status = 'final' AND month < "
            f"{self.date('a')}",
            self.params,
        )
        empty = "SELECT 0 AS session_id, 0 AS is_corporate, 0 AS partner_id, "
        empty += f"{self.date('a')} AS original_month, 0 AS contract_id WHERE FALSE"
        if low is None:
            self.sql(self.d.temp_table("settle_late", empty), self.params)
            return 0
        month = self.d.month("s.start")

        def side(partner_col: str, corporate: bool) -> str:
            truth = "TRUE" if corporate else "FALSE"
            return f"""
                SELECT s.id AS session_id, {1 if corporate else 0} AS is_corporate,
                       s.{partner_col} AS partner_id, {month} AS original_month
                FROM {SESSION} s
                WHERE s.id > %(low)s AND s.id <= %(w)s AND s.start < %(ts_a)s
                  AND s.{partner_col} IS NOT NULL
                  AND {self.partner_filter("s." + partner_col)}
                  AND NOT EXISTS (SELECT 1 FROM {SS} f WHERE f.session_id = s.id
                                  AND f.is_corporate = {truth} AND f.is_final)
            """

        closed = f"""
            (EXISTS (SELECT 1 FROM {ST} f WHERE f.partner_id = c.partner_id
                     AND f.month = c.original_month AND f.status = 'final')
             OR (NOT EXISTS (SELECT 1 FROM {ST} f WHERE f.partner_id = c.partner_id
                             AND f.month = c.original_month)
                 AND EXISTS (SELECT 1 FROM {ST} f WHERE f.month = c.original_month
                             AND f.status = 'final')))
        """
        contract = f"""
            (SELECT t.id FROM settle_terms t WHERE t.partner_id = c.partner_id
             AND {self.in_force("t", "c.original_month")}
             ORDER BY t.start_month DESC, t.id DESC LIMIT 1)
        """
        self.sql(
            self.d.temp_table(
                "settle_late",
                f"""
                SELECT c.session_id, c.is_corporate, c.partner_id, c.original_month,
                       CASE WHEN c.is_corporate = 1 THEN NULL ELSE {contract} END AS contract_id
                FROM ({side("partner_id", False)} UNION ALL {side("corporate_partner_id", True)}) c
                WHERE {closed}
                """,
            ),
            {**self.params, "low": low},
        )
        self.sql("CREATE INDEX settle_late_partner ON settle_late (partner_id)")
        return self.scalar("SELECT COUNT(*) FROM settle_late") or 0

    def create_statements(self) -> None:
        in_month = "s.start >= %(ts_a)s AND s.start < %(ts_b)s AND s.id <= %(w)s"
        contract = f"""
            (SELECT t.id FROM settle_terms t WHERE t.partner_id = p.id
             AND {self.in_force("t", self.date("a"))}
             ORDER BY t.start_month DESC, t.id DESC LIMIT 1)
        """
        hosted = f"(SELECT s.currency FROM {SESSION} s WHERE s.partner_id = k.partner_id AND {in_month} ORDER BY s.start LIMIT 1)"  # noqa: E501
        corporate = f"(SELECT s.currency FROM {SESSION} s WHERE s.corporate_partner_id = k.partner_id AND {in_month} ORDER BY s.start LIMIT 1)"  # noqa: E501
        late = f"(SELECT s.currency FROM settle_late l JOIN {SESSION} s ON s.id = l.session_id WHERE l.partner_id = k.partner_id LIMIT 1)"  # noqa: E501
        latest_vat = f"""
            (SELECT t2.vat_bp FROM settle_terms t2 WHERE t2.partner_id = k.partner_id
             AND t2.start_month <= {self.date("a")} ORDER BY t2.start_month DESC LIMIT 1)
        """
        self.sql(
            f"""
            INSERT INTO {ST} (created_at, updated_at, partner_id, month, currency, status,
                number, contract_id, vat_bp, run_id, max_session_id, session_lines_ready,
                warning, sessions,
                energy_wh, revenue_minor, shareable_minor, partner_share_minor,
                operator_share_minor, reimbursement_minor, fees_minor, platform_fees_minor,
                vat_minor, corporate_minor, adjustments_minor, net_minor)
            SELECT %(now)s, %(now)s, k.partner_id, {self.date("a")},
                   COALESCE(t.currency, {hosted}, {corporate}, {late},
                            (SELECT cb.currency FROM charging_corporatebilling cb
                             WHERE cb.partner_id = k.partner_id), 'EUR'),
                   'draft', NULL, k.contract_id, COALESCE(t.vat_bp, {latest_vat}, 0), %(run)s,
                   %(w)s, {"FALSE" if self.lazy else "TRUE"},
                   CASE WHEN k.contract_id IS NULL THEN %(warning)s ELSE '' END,
                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            FROM (SELECT p.id AS partner_id, {contract} AS contract_id
                  FROM partners_partner p WHERE {self.partner_filter("p.id")}) k
            LEFT JOIN settle_terms t ON t.id = k.contract_id
            WHERE (k.contract_id IS NOT NULL
                   OR EXISTS (SELECT 1 FROM {SESSION} s WHERE s.partner_id = k.partner_id
                              AND {in_month} AND {self.unsettled(False)})
                   OR EXISTS (SELECT 1 FROM {SESSION} s
                              WHERE s.corporate_partner_id = k.partner_id
                              AND s.corporate_partner_id IS NOT NULL AND {in_month}
                              AND {self.unsettled(True)})
                   OR EXISTS (SELECT 1 FROM settle_late l WHERE l.partner_id = k.partner_id))
              AND NOT EXISTS (SELECT 1 FROM {ST} f WHERE f.partner_id = k.partner_id
                              AND f.month = {self.date("a")})
            ORDER BY k.partner_id
            """,
            {**self.params, "warning": NO_CONTRACT_WARNING},
        )
        if self.d.pg:
            # Fresh rows the planner has not seen: without statistics it expects one
            # statement and visits the sessions partner by partner through the index (one
            # heap page per session) instead of one sequential scan hashed on the partner.
            self.sql(f"ANALYZE {ST}")
            self.sql("ANALYZE settle_terms")
            self.sql("ANALYZE settle_price")
            self.sql("ANALYZE settle_late")

    # -- per-session lines ----------------------------------------------------------------------

    COLUMNS = (
        "statement_id, session_id, kind, is_corporate, is_final, is_adjustment, original_month, "
        "contract_id, current_type, flagged, energy_wh, revenue_minor, connection_fee_minor, "
        "electricity_minor, deducted_minor, shareable_minor, rate_bp, partner_share_minor, "
        "operator_share_minor, reimbursement_minor, session_fee_minor, kwh_fee_minor, "
        "handling_fee_minor, discount_minor, charged_minor, vat_minor, amount_minor"
    )

    NAMES = tuple(COLUMNS.split(", "))

    @classmethod
    def named(cls, *values: str) -> str:
        """The final select list of a per-session select: ``values`` named as ``COLUMNS``,
        then the session's currency (``currency``, for the other-currency lines)."""
        assert len(values) == len(cls.NAMES) + 1
        return ", ".join(
            f"{v} AS {n}" for v, n in zip(values, (*cls.NAMES, "currency"), strict=True)
        )

    def revenue_select(
        self, source: tuple[str, str], contract_sql: str, adjustment: bool, orig: str
    ) -> str:
        """The per-session revenue-share lines of the sessions ``source`` yields (aliases
        ``st`` statement and ``s`` session), settled under the contract ``contract_sql``:
        the ``COLUMNS`` of a per-session line, then ``currency``."""
        t1 = f"""
            SELECT st.id AS statement_id, s.id AS session_id,
                   CASE WHEN s.currency <> st.currency
                             OR s.currency <> COALESCE(t.currency, s.currency)
                             THEN 'other_currency'
                        WHEN t.id IS NULL THEN 'no_contract'
                        ELSE 'revenue' END AS kind,
                   CASE WHEN t.id IS NOT NULL AND s.currency = st.currency
                             AND s.currency = t.currency THEN 1 ELSE 0 END
                       AS ok,
                   {orig} AS original_month, t.id AS contract_id, s.current_type, s.flagged,
                   s.currency, s.energy_wh, s.total_excl_vat_minor AS r,
                   s.connection_fee_minor AS cf,
                   COALESCE(pr.micro, 0) AS price, COALESCE(t.div, {10**7}) AS div,
                   COALESCE(t.excl, 0) AS excl, COALESCE(t.ded, 0) AS ded,
                   COALESCE(t.reimb, 0) AS reimb_on,
                   COALESCE(CASE WHEN s.current_type = 'DC' THEN t.dc_bp ELSE t.ac_bp END, 0)
                       AS bp,
                   COALESCE(CASE WHEN s.current_type = 'DC' THEN t.sfee_dc ELSE t.sfee_ac END, 0)
                       AS sfee,
                   COALESCE(CASE WHEN s.current_type = 'DC' THEN t.kwh_dc ELSE t.kwh_ac END, 0)
                       AS kwh,
                   COALESCE(t.handling_bp, 0) AS hbp
            {source[0]}
            LEFT JOIN {self.src["terms"]} t ON t.id = {contract_sql}
            LEFT JOIN {self.src["price"]} pr ON pr.location_id = s.location_id
                 AND pr.valid_from <= s.start AND pr.valid_to > s.start
                 AND pr.currency = s.currency
            WHERE {source[1]}
        """
        t2 = f"""
            SELECT t1.*, {half_up("t1.energy_wh * t1.price", "t1.div")} AS e,
                   t1.cf * t1.excl * t1.ok AS x
            FROM ({t1}{self.d.fence()}) t1
        """
        t3 = f"""
            SELECT t2.*, t2.e * t2.ded * t2.ok AS d,
                   t2.r - t2.cf * t2.excl * t2.ok - t2.e * t2.ded * t2.ok AS sh
            FROM ({t2}{self.d.fence()}) t2
        """
        t4 = f"""
            SELECT t3.*, {half_up("t3.sh * t3.bp * t3.ok", "10000")} AS p,
                   {half_up("t3.energy_wh * t3.kwh * t3.ok", "t3.div")} AS kf
            FROM ({t3}{self.d.fence()}) t3
        """
        adj = "TRUE" if adjustment else "FALSE"
        handling = half_up("t4.p * t4.hbp * t4.ok", "10000")
        values = self.named(
            "t4.statement_id", "t4.session_id", "t4.kind", "FALSE", self.final_sql, adj,
            "t4.original_month", "t4.contract_id", "t4.current_type", "t4.flagged",
            "t4.energy_wh", "t4.r", "t4.x", "t4.e", "t4.d", "t4.sh", "t4.bp * t4.ok", "t4.p",
            "t4.sh - t4.p", "t4.e * t4.reimb_on * t4.ok", "t4.sfee * t4.ok", "t4.kf", handling,
            "0", "0", "0",
            f"t4.p + t4.e * t4.reimb_on * t4.ok - t4.sfee * t4.ok - t4.kf - {handling}",
            "t4.currency",
        )  # fmt: skip
        return f"SELECT {values} FROM ({t4}{self.d.fence()}) t4"

    def corporate_select(self, source: tuple[str, str], adjustment: bool, orig: str) -> str:
        t1 = f"""
            SELECT st.id AS statement_id, s.id AS session_id,
                   CASE WHEN s.currency = st.currency THEN 'corporate' ELSE 'other_currency' END
                       AS kind,
                   CASE WHEN s.currency = st.currency THEN 1 ELSE 0 END AS ok,
                   {orig} AS original_month, s.current_type, s.flagged, s.currency,
                   s.energy_wh, s.total_excl_vat_minor AS r, s.total_incl_vat_minor AS incl,
                   COALESCE(cb.disc_bp, 0) AS disc_bp
            {source[0]}
            LEFT JOIN {self.src["discount"]} cb ON cb.partner_id = st.partner_id
            WHERE {source[1]}
        """
        t2 = f"""
            SELECT t1.*, {half_up("t1.r * t1.disc_bp", "10000")} * t1.ok AS discount
            FROM ({t1}{self.d.fence()}) t1
        """
        t3 = f"""
            SELECT t2.*, (t2.r - t2.discount) * t2.ok AS charged
            FROM ({t2}{self.d.fence()}) t2
        """
        t4 = f"""
            SELECT t3.*, CASE WHEN t3.r > 0
                              THEN {half_up("t3.charged * (t3.incl - t3.r)", "t3.r")}
                              ELSE (t3.incl - t3.r) * t3.ok END AS vat
            FROM ({t3}{self.d.fence()}) t3
        """
        adj = "TRUE" if adjustment else "FALSE"
        values = self.named(
            "t4.statement_id", "t4.session_id", "t4.kind", "TRUE", self.final_sql, adj,
            "t4.original_month", "CAST(NULL AS BIGINT)", "t4.current_type", "t4.flagged",
            "t4.energy_wh", "t4.r", "0", "0", "0", "0", "t4.disc_bp * t4.ok",
            "0", "0", "0", "0", "0", "0", "t4.discount", "t4.charged", "t4.vat",
            "-(t4.charged + t4.vat)", "t4.currency",
        )  # fmt: skip
        return f"SELECT {values} FROM ({t4}{self.d.fence()}) t4"

    def selects(self) -> list[tuple[str, bool, str]]:
        """The per-session selects of the statements ``self.target``: (name, adjustment,
        SQL) for the month's hosted sessions (joined with the statement, its contract and the
        electricity price in force at the start), its corporate-billed sessions, and the late
        sessions of closed months on either side (adjustments, under the contract in force in
        their own month)."""
        in_month = "s.start >= %(ts_a)s AND s.start < %(ts_b)s AND s.id <= %(w)s"
        a = self.date("a")
        # SQLite keeps the left table of a CROSS JOIN as the outer loop: the statements, so
        # the sessions are read statement by statement along the (partner, start) index.
        hosted = (
            f"FROM {self.src['st']} st CROSS JOIN {SESSION} s",
            f"{self.target} AND s.partner_id = st.partner_id AND {in_month} "
            f"AND {self.not_settled(False)}",
        )
        corporate = (
            f"FROM {self.src['st']} st CROSS JOIN {SESSION} s",
            f"{self.target} AND s.corporate_partner_id = st.partner_id "
            f"AND s.corporate_partner_id IS NOT NULL AND {in_month} "
            f"AND {self.not_settled(True)}",
        )

        def late(flag: int) -> tuple[str, str]:
            return (
                f"FROM {self.src['st']} st CROSS JOIN {self.src['late']} l CROSS JOIN {SESSION} s",
                f"{self.target} AND l.partner_id = st.partner_id AND l.is_corporate = {flag} "
                "AND s.id = l.session_id",
            )

        return [
            ("hosted", False, self.revenue_select(hosted, "st.contract_id", False, a)),
            ("corporate", False, self.corporate_select(corporate, False, a)),
            ("late", True, self.revenue_select(late(0), "l.contract_id", True, "l.original_month")),
            ("late_corporate", True, self.corporate_select(late(1), True, "l.original_month")),
        ]  # fmt: skip

    def write_lines(self, target: str) -> int:
        """Write the per-session lines of the statements ``target`` (SQL on ``st``)."""
        self.target = target
        total = 0
        for name, _, select in self.selects():
            began = time.perf_counter()
            total += max(
                self.sql(
                    f"INSERT INTO {SS} ({self.COLUMNS}) SELECT {self.COLUMNS} FROM ({select}) x",
                    self.params,
                ),
                0,
            )
            self.steps[f"session_lines_{name}"] = round(time.perf_counter() - began, 3)
        if self.d.pg and total and self.analyze:
            # Statistics of the lines just written (the sample sees this transaction's rows),
            # for the look-ups that read them back.
            began = time.perf_counter()
            self.sql(f"ANALYZE {SS}")
            self.steps["session_lines_analyze"] = round(time.perf_counter() - began, 3)
        return total

    def grouped(self) -> str:
        """SQL: the per-session figures of the statements ``self.target`` summed into the
        rows of ``settle_agg``."""
        flagged = "SUM(CASE WHEN x.flagged THEN 1 ELSE 0 END)"
        ocur = "CASE WHEN x.kind = 'other_currency' THEN x.currency ELSE '' END"
        sums = f"""
            COUNT(*) AS n, {flagged} AS flagged_n, SUM(x.energy_wh) AS energy,
            MAX(x.rate_bp) AS rate, SUM(x.revenue_minor) AS r,
            SUM(x.connection_fee_minor) AS x, SUM(x.electricity_minor) AS e,
            SUM(x.deducted_minor) AS d, SUM(x.shareable_minor) AS sh,
            SUM(x.partner_share_minor) AS p, SUM(x.operator_share_minor) AS o,
            SUM(x.reimbursement_minor) AS reimb, SUM(x.session_fee_minor) AS sfee,
            SUM(x.kwh_fee_minor) AS kfee, SUM(x.handling_fee_minor) AS hfee,
            SUM(x.discount_minor) AS discount, SUM(x.charged_minor) AS charged,
            SUM(x.vat_minor) AS vat, SUM(x.amount_minor) AS amount
        """
        parts = []
        for _, adjustment, select in self.selects():
            if adjustment:
                keys = "x.original_month AS original_month, x.contract_id AS contract_id"
                more = ", x.original_month, x.contract_id"
            else:
                keys = "MAX(x.original_month) AS original_month, MAX(x.contract_id) AS contract_id"
                more = ""
            parts.append(
                f"""
                SELECT x.statement_id AS statement_id, x.kind AS kind,
                       x.is_corporate AS is_corporate, x.current_type AS current_type,
                       x.is_adjustment AS is_adjustment, {keys}, {ocur} AS ocur, {sums}
                FROM ({select}) x
                GROUP BY x.statement_id, x.kind, x.is_corporate, x.current_type,
                         x.is_adjustment, {ocur}{more}
                """
            )
        return " UNION ALL ".join(parts)

    def aggregate(self) -> int:
        """``settle_agg``: the month's per-session figures summed per statement, kind, side,
        current type and (sessions in another currency) currency; adjustments also per
        original month and contract. Straight from the per-session selects: nothing is
        written per session. Returns how many sessions were summed.

        On SQLite a big month is split in two (``split``): SQLite computes in one thread per
        connection, so half of the statements are summed by a second, read-only connection in
        another thread meanwhile."""
        mode = self.split if self.split is not None else self.split_mode()
        if self.d.pg:
            mode = None  # PostgreSQL runs one query on one backend either way
        if mode is None:
            self.sql(self.d.temp_table("settle_agg", self.grouped()), self.params)
        else:
            self.aggregate_split(mode)
        self.steps["aggregate_halves"] = 1 if mode is None else 2
        return int(self.scalar("SELECT COALESCE(SUM(n), 0) FROM settle_agg") or 0)

    # Set by tests: "inline" runs the second half's SQL on this connection, after the first.
    split: str | None = None

    def split_mode(self) -> str | None:
        """Return "thread" when the month is summed faster in two halves: SQLite on a file with
        more than one CPU, a month of at least ``PARTNERHUB_SETTLEMENT_SPLIT_MIN_SESSIONS``
        session ids, and no transaction around the run's own (the second connection sees
        committed rows only; the run itself writes no input it reads)."""
        from django.conf import settings

        if self.d.pg or (os.cpu_count() or 1) < 2 or connection.is_in_memory_db():
            return None
        if len(connection.atomic_blocks) > 1:
            return None
        if self.span < settings.PARTNERHUB_SETTLEMENT_SPLIT_MIN_SESSIONS:
            return None
        return "thread"

    SPLIT_TEMPS = {
        "terms": ("settle_terms", ["id"]),
        "price": ("settle_price", ["location_id, valid_from"]),
        "discount": ("settle_discount", ["partner_id"]),
        "late": ("settle_late", ["partner_id"]),
        "settled": ("settle_settled", ["session_id"]),
    }

    def aggregate_split(self, mode: str) -> None:
        """Statements with an even id here, odd ones by ``_sum_half`` (another connection,
        in another thread; or, for tests, this one afterwards): it gets copies of this run's
        temp tables and of its statements' keys, as its own temp tables ``split_*``."""
        tables = {}
        for name, (temp, indexes) in self.SPLIT_TEMPS.items():
            if name == "settled" and not self.settled:
                continue
            # Declared types as here, so that comparisons get the same affinities (and use
            # the same indexes) on the other connection.
            self.cursor.execute(f"PRAGMA temp.table_info({temp})")
            columns = [f'"{row[1]}" {row[2]}' for row in self.cursor.fetchall()]
            self.cursor.execute(f"SELECT * FROM {temp}")
            tables[name] = (columns, self.cursor.fetchall(), indexes)
        self.cursor.execute(
            f"SELECT st.id, st.partner_id, st.currency, st.contract_id FROM {ST} st "
            f"WHERE {self.target} AND (st.id & 1) = 1",
            self.params,
        )
        columns = ["id INTEGER", "partner_id INTEGER", "currency TEXT", "contract_id INTEGER"]
        tables["st"] = (columns, self.cursor.fetchall(), [])
        half = _Runner(self.a, None, None)
        half.w, half.settled = self.w, self.settled
        half.src = {name: f"split_{name}" for name in self.src}
        for name in self.src:
            if name not in tables:
                half.src[name] = self.src[name]  # an empty table is never read
        half.target = "TRUE"
        sql = half.grouped()
        params = self.params
        mine = self.target
        self.target = f"{mine} AND (st.id & 1) = 0"
        try:
            if mode == "thread":
                from django.conf import settings as dj

                path = dj.DATABASES[connection.alias]["NAME"]
                with ThreadPoolExecutor(1) as pool:
                    future = pool.submit(_sum_half, str(path), tables, sql, params)
                    self.sql(self.d.temp_table("settle_agg", self.grouped()), self.params)
                    rows = future.result()
            else:
                self.sql(self.d.temp_table("settle_agg", self.grouped()), self.params)
                rows = _sum_half(connection.connection, tables, sql, params)
        finally:
            self.target = mine
        self.cursor.execute("SELECT * FROM settle_agg LIMIT 0")
        columns = [c[0] for c in self.cursor.description]
        if rows:
            self.cursor.executemany(
                f"INSERT INTO settle_agg ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                rows,
            )

    def keep_inputs(self) -> None:
        """Copy the inputs the run used into the ``Run*`` tables, so that a draft's
        per-session lines, written later (``materialise``), are the ones it summed."""
        run = int(self.run_id)
        mine = self.partner_filter("partner_id")
        self.sql(
            f"""
            INSERT INTO settlements_runterms (run_id, contract_id, partner_id, currency, ac_bp,
                dc_bp, excl, ded, reimb, sfee_ac, sfee_dc, kwh_ac, kwh_dc, handling_bp, div)
            SELECT {run}, id, partner_id, currency, ac_bp, dc_bp, excl, ded, reimb, sfee_ac,
                   sfee_dc, kwh_ac, kwh_dc, handling_bp, div
            FROM settle_terms WHERE {mine}
            """
        )
        self.sql(
            f"""
            INSERT INTO settlements_runprice (run_id, location_id, valid_from, valid_to, micro,
                currency)
            SELECT {run}, location_id, valid_from, valid_to, micro, currency FROM settle_price
            """
        )
        self.sql(
            f"INSERT INTO settlements_rundiscount (run_id, partner_id, disc_bp) "
            f"SELECT {run}, partner_id, disc_bp FROM settle_discount WHERE {mine}"
        )
        self.sql(
            f"""
            INSERT INTO settlements_runlate (run_id, session_id, is_corporate, partner_id,
                original_month, contract_id)
            SELECT {run}, session_id, is_corporate, partner_id, original_month, contract_id
            FROM settle_late
            """
        )
        if self.settled:
            self.sql(
                f"INSERT INTO settlements_runsettled (run_id, session_id, is_corporate) "
                f"SELECT {run}, session_id, is_corporate FROM settle_settled"
            )

    # -- statement lines ------------------------------------------------------------------------

    LINE_COLUMNS = (
        "statement_id, position, kind, current_type, is_adjustment, original_month, "
        "contract_id, sessions, flagged_sessions, energy_wh, quantity, asset_days, rate_bp, "
        "unit_minor, revenue_minor, connection_fee_minor, electricity_minor, deducted_minor, "
        "shareable_minor, partner_share_minor, operator_share_minor, reimbursement_minor, "
        "fee_minor, discount_minor, charged_minor, vat_minor, amount_minor"
    )

    def statement_lines(self) -> None:
        """The revenue, corporate and fee lines, from ``settle_agg`` (in a fixed order, so a
        re-run numbers its lines alike)."""
        orig = "CASE WHEN g.is_adjustment THEN g.original_month ELSE NULL END"
        position = (
            "CASE g.kind "
            + " ".join(f"WHEN '{k}' THEN {v}" for k, v in POSITION.items())
            + " ELSE 99 END"
        )
        self.sql(
            f"""
            INSERT INTO {LINE} ({self.LINE_COLUMNS})
            SELECT g.statement_id, {position}, g.kind, g.current_type, g.is_adjustment, {orig},
                   g.contract_id, g.n, g.flagged_n, g.energy, 0, 0, g.rate, 0, g.r, g.x, g.e,
                   g.d, g.sh, g.p, g.o, g.reimb, 0, g.discount, g.charged, g.vat,
                   CASE WHEN g.kind = 'revenue' THEN g.p + g.reimb
                        WHEN g.kind = 'corporate' THEN g.amount ELSE 0 END
            FROM settle_agg g
            WHERE g.kind <> 'other_currency'
            ORDER BY g.statement_id, g.is_adjustment, g.original_month, g.kind, g.current_type,
                     g.contract_id
            """,
            self.params,
        )
        for kind, column, rate in (
            ("session_fee", "sfee", "0"),
            ("kwh_fee", "kfee", "0"),
            ("handling_fee", "hfee", "COALESCE(t.handling_bp, 0)"),
        ):
            self.sql(
                f"""
                INSERT INTO {LINE} ({self.LINE_COLUMNS})
                SELECT g.statement_id, {POSITION[kind]}, '{kind}', g.current_type,
                       g.is_adjustment, {orig}, g.contract_id, g.n, 0, g.energy, 0, 0, {rate}, 0,
                       0, 0, 0, 0, 0, 0, 0, 0, g.{column}, 0, 0, 0, -g.{column}
                FROM settle_agg g LEFT JOIN settle_terms t ON t.id = g.contract_id
                WHERE g.kind = 'revenue' AND g.{column} <> 0
                ORDER BY g.statement_id, g.is_adjustment, g.original_month, g.current_type,
                         g.contract_id
                """,
                self.params,
            )

    # -- sessions in another currency, electricity prices in another currency ------------------

    def other_currency_lines(self) -> None:
        """Sessions in another currency than their statement's (or their contract's): one line
        per currency (AC and DC together), hosted apart from corporate, with their revenue
        (excl. VAT), energy and electricity in that currency. Amount 0: they are not settled
        and never reach a total in the statement's currency."""
        corporate = "CASE WHEN g.is_corporate THEN 1 ELSE 0 END"
        self.sql(
            f"""
            INSERT INTO {LINE} (currency, {self.LINE_COLUMNS})
            SELECT g.ocur, g.statement_id,
                   CASE WHEN {corporate} = 1 THEN {POSITION["other_currency_corporate"]}
                        ELSE {POSITION["other_currency"]} END,
                   CASE WHEN {corporate} = 1 THEN 'other_currency_corporate'
                        ELSE 'other_currency' END,
                   '', g.is_adjustment,
                   CASE WHEN g.is_adjustment THEN g.original_month ELSE NULL END,
                   MAX(g.contract_id), SUM(g.n), SUM(g.flagged_n), SUM(g.energy), 0, 0, 0, 0,
                   SUM(g.r), 0, SUM(g.e), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            FROM settle_agg g
            WHERE g.kind = 'other_currency'
            GROUP BY g.statement_id, {corporate}, g.ocur, g.is_adjustment, g.original_month
            ORDER BY g.statement_id, g.is_adjustment, g.original_month, {corporate}, g.ocur
            """,
            self.params,
        )

    def price_currency_warnings(self) -> None:
        """A statement's warning counts its settled sessions at locations whose electricity
        price in force was in another currency (never used: ``revenue_select`` joins prices in
        the session's currency only). Only statements of partners hosting at such a location
        are looked at, so a month without mixed currencies costs one small query."""
        self.cursor.execute(
            f"""
            SELECT st.id FROM {ST} st
            WHERE {self.ours()} AND EXISTS (
                SELECT 1 FROM charging_chargepointhosting h
                JOIN charging_chargepoint cp ON cp.id = h.charge_point_id
                JOIN settle_price pr ON pr.location_id = cp.location_id
                WHERE h.partner_id = st.partner_id AND pr.currency <> st.currency)
            """,
            self.params,
        )
        # Fetched first, as a list: planned as a subquery, PostgreSQL (no statistics yet on
        # the lines just written) scanned every per-session line (50 s at a million).
        suspects = ", ".join(str(int(row[0])) for row in self.cursor.fetchall())
        if not suspects:
            return
        if self.lazy:
            # Rare (mixed currencies at one site): these drafts get their lines now.
            self.write_lines(f"st.id IN ({suspects})")
            self.sql(f"UPDATE {ST} SET session_lines_ready = TRUE WHERE id IN ({suspects})")
            self.target = self.ours()
        self.cursor.execute(
            f"""
            SELECT ss.statement_id, pr.currency, s.currency, COUNT(*)
            FROM {SS} ss JOIN {SESSION} s ON s.id = ss.session_id
            JOIN settle_price pr ON pr.location_id = s.location_id
                 AND pr.valid_from <= s.start AND pr.valid_to > s.start
            WHERE ss.statement_id IN ({suspects}) AND ss.kind = 'revenue'
              AND pr.currency <> s.currency
            GROUP BY ss.statement_id, pr.currency, s.currency
            ORDER BY ss.statement_id, pr.currency
            """,
            self.params,
        )
        found: dict[int, list[str]] = {}
        for statement_id, price, contract, n in self.cursor.fetchall():
            found.setdefault(statement_id, []).append(
                PRICE_CURRENCY_WARNING.format(n=n, price=price, contract=contract)
            )
        for statement_id, texts in found.items():
            current = self.scalar(
                f"SELECT warning FROM {ST} WHERE id = %(id)s", {"id": statement_id}
            )
            warning = " ".join([current or "", *texts]).strip()[:500]
            self.sql(
                f"UPDATE {ST} SET warning = %(w)s WHERE id = %(id)s",
                {"w": warning, "id": statement_id},
            )

    def platform_fees(self) -> None:
        d = self.d
        a, last = self.date("a"), self.date("last")
        days = d.days_between(
            d.least(f"COALESCE(h.valid_to, {last})", last), d.greatest("h.valid_from", a)
        )
        self.sql(
            d.temp_table(
                "settle_hosting",
                f"""
                SELECT h.partner_id, h.charge_point_id, CAST(SUM({days} + 1) AS BIGINT) AS days
                FROM charging_chargepointhosting h
                WHERE h.valid_from <= {last} AND (h.valid_to IS NULL OR h.valid_to >= {a})
                  AND {self.partner_filter("h.partner_id")}
                GROUP BY h.partner_id, h.charge_point_id
                """,
            ),
            self.params,
        )
        self.sql(
            d.temp_table(
                "settle_evse",
                """
                SELECT e.charge_point_id,
                       SUM(CASE WHEN e.current_type = 'AC' THEN 1 ELSE 0 END) AS ac,
                       SUM(CASE WHEN e.current_type = 'DC' THEN 1 ELSE 0 END) AS dc
                FROM charging_evse e
                WHERE e.charge_point_id IN (SELECT charge_point_id FROM settle_hosting)
                GROUP BY e.charge_point_id
                """,
            )
        )
        self.sql("CREATE INDEX settle_evse_cp ON settle_evse (charge_point_id)")
        self.sql(
            d.temp_table(
                "settle_assets",
                """
                SELECT h.partner_id, COUNT(*) AS cp_n, CAST(SUM(h.days) AS BIGINT) AS cp_days,
                       CAST(SUM(COALESCE(e.ac, 0)) AS BIGINT) AS ac_n,
                       CAST(SUM(h.days * COALESCE(e.ac, 0)) AS BIGINT) AS ac_days,
                       CAST(SUM(COALESCE(e.dc, 0)) AS BIGINT) AS dc_n,
                       CAST(SUM(h.days * COALESCE(e.dc, 0)) AS BIGINT) AS dc_days
                FROM settle_hosting h
                LEFT JOIN settle_evse e ON e.charge_point_id = h.charge_point_id
                GROUP BY h.partner_id
                """,
            )
        )
        # Joined with the statements three times below: without an index SQLite scans it once
        # per statement (10,000 × 10,000 at full size: 6.6 s).
        self.sql("CREATE INDEX settle_assets_partner ON settle_assets (partner_id)")
        for kind, prefix, fee in (
            ("platform_charge_point", "cp", "pf_cp"),
            ("platform_ac_evse", "ac", "pf_ac"),
            ("platform_dc_evse", "dc", "pf_dc"),
        ):
            amount = half_up(f"t.{fee} * x.{prefix}_days", "%(days)s")
            self.sql(
                f"""
                INSERT INTO {LINE} ({self.LINE_COLUMNS})
                SELECT st.id, {POSITION[kind]}, '{kind}', '', FALSE, NULL, st.contract_id, 0, 0,
                       0, x.{prefix}_n, x.{prefix}_days, 0, t.{fee}, 0, 0, 0, 0, 0, 0, 0, 0,
                       {amount}, 0, 0, 0, -{amount}
                FROM {ST} st
                JOIN settle_terms t ON t.id = st.contract_id
                JOIN settle_assets x ON x.partner_id = st.partner_id
                WHERE {self.ours()} AND t.{fee} > 0 AND x.{prefix}_days > 0
                """,
                self.params,
            )

    def vat_lines(self) -> None:
        fee_kinds = "'session_fee', 'kwh_fee', 'handling_fee', 'platform_charge_point', " \
            "'platform_ac_evse', 'platform_dc_evse'"  # fmt: skip
        vat = half_up("b.base * st.vat_bp", "10000")
        self.sql(
            f"""
            INSERT INTO {LINE} ({self.LINE_COLUMNS})
            SELECT st.id, {POSITION["vat"]}, 'vat', '', FALSE, NULL, st.contract_id, 0, 0, 0, 0,
                   0, st.vat_bp, 0, 0, 0, 0, 0, 0, 0, 0, 0, b.base, 0, 0, {vat}, -{vat}
            FROM {ST} st
            JOIN (SELECT l.statement_id, CAST(SUM(l.fee_minor) AS BIGINT) AS base FROM {LINE} l
                  WHERE l.kind IN ({fee_kinds}) GROUP BY l.statement_id) b
                 ON b.statement_id = st.id
            WHERE {self.ours()} AND b.base <> 0
            """,
            self.params,
        )

    def totals(self) -> None:
        hosted = "('revenue', 'no_contract', 'other_currency')"
        shared = "('revenue', 'no_contract')"
        fees = "('session_fee', 'kwh_fee', 'handling_fee')"
        platform = "('platform_charge_point', 'platform_ac_evse', 'platform_dc_evse')"

        def s(column: str, kinds: str | None) -> str:
            cond = f"l.kind IN {kinds}" if kinds else "TRUE"
            return f"SUM(CASE WHEN {cond} THEN l.{column} ELSE 0 END)"

        self.sql(
            self.d.temp_table(
                "settle_totals",
                f"""
                SELECT l.statement_id, {s("sessions", hosted)} AS sessions,
                       {s("energy_wh", hosted)} AS energy_wh,
                       {s("revenue_minor", shared)} AS revenue,
                       {s("shareable_minor", shared)} AS shareable,
                       {s("partner_share_minor", shared)} AS p,
                       {s("operator_share_minor", shared)} AS o,
                       {s("reimbursement_minor", shared)} AS reimb,
                       {s("fee_minor", fees)} AS fees, {s("fee_minor", platform)} AS platform,
                       {s("vat_minor", "('vat')")} AS vat,
                       -{s("amount_minor", "('corporate')")} AS corporate,
                       SUM(CASE WHEN l.is_adjustment THEN l.amount_minor ELSE 0 END) AS adj,
                       SUM(l.amount_minor) AS net
                FROM {LINE} l JOIN {ST} st ON st.id = l.statement_id
                WHERE {self.ours()}
                GROUP BY l.statement_id
                """,
            ),
            self.params,
        )
        self.sql(
            f"""
            UPDATE {ST} SET sessions = x.sessions, energy_wh = x.energy_wh,
                revenue_minor = x.revenue, shareable_minor = x.shareable,
                partner_share_minor = x.p, operator_share_minor = x.o,
                reimbursement_minor = x.reimb, fees_minor = x.fees,
                platform_fees_minor = x.platform, vat_minor = x.vat,
                corporate_minor = x.corporate, adjustments_minor = x.adj, net_minor = x.net
            FROM settle_totals x WHERE {ST}.id = x.statement_id
            """,
            self.params,
        )


def _sum_half(database, tables: dict, sql: str, params: dict) -> list[tuple]:
    """Run ``sql`` (``_Runner.grouped`` over ``split_*`` tables) on ``database`` (a SQLite
    file path: a new connection, closed after; or an open ``sqlite3`` connection), after
    creating the ``split_*`` temp tables from ``tables`` (name → columns, rows, indexes)."""
    own = isinstance(database, str)
    db = sqlite3.connect(database, timeout=60) if own else database
    names = [f"split_{name}" for name in tables]
    try:
        if own:
            db.execute(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}")
            db.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        for name, (columns, rows, indexes) in tables.items():
            db.execute(f"DROP TABLE IF EXISTS temp.split_{name}")
            db.execute(f"CREATE TEMP TABLE split_{name} ({', '.join(columns)})")
            db.executemany(
                f"INSERT INTO split_{name} VALUES ({', '.join(['?'] * len(columns))})", rows
            )
            for i, index in enumerate(indexes):
                db.execute(f"CREATE INDEX temp.split_{name}_{i} ON split_{name} ({index})")
        query = re.sub(r"%\((\w+)\)s", r":\1", sql).replace("%%", "%")
        return db.execute(query, params).fetchall()
    finally:
        for name in names:
            db.execute(f"DROP TABLE IF EXISTS temp.{name}")
        if own:
            db.close()


def compute_month(
    month: dt.date, *, run_id: int | None = None, partner_ids: list[int] | None = None
) -> MonthResult:
    """Recompute the drafts of ``month`` (of ``partner_ids`` only when given). The caller
    holds the transaction (and the settlement lock)."""
    return _Runner(month, partner_ids, run_id).run()


# --- per-session lines written later, from the inputs a run kept --------------------------------

KEPT = {
    "terms": "(SELECT contract_id AS id, currency, ac_bp, dc_bp, excl, ded, reimb, sfee_ac, "
    "sfee_dc, kwh_ac, kwh_dc, handling_bp, div FROM settlements_runterms WHERE run_id = {run})",
    "price": "(SELECT location_id, valid_from, valid_to, micro, currency "
    "FROM settlements_runprice WHERE run_id = {run})",
    "discount": "(SELECT partner_id, disc_bp FROM settlements_rundiscount WHERE run_id = {run})",
    "late": "(SELECT session_id, is_corporate, partner_id, original_month, contract_id "
    "FROM settlements_runlate WHERE run_id = {run})",
    "settled": "(SELECT session_id, is_corporate FROM settlements_runsettled WHERE run_id = {run})",
}
KEPT_TABLES = ("settlements_runterms", "settlements_runprice", "settlements_rundiscount",
               "settlements_runlate", "settlements_runsettled")  # fmt: skip


def delete_session_lines(statement_ids) -> int:
    """Delete the per-session lines of ``statement_ids`` (drafts deleted by a run), by
    chunks along the statement index."""
    ids = [int(pk) for pk in statement_ids]
    total = 0
    with connection.cursor() as cursor:
        for chunk in range(0, len(ids), 1000):
            part = ", ".join(str(pk) for pk in ids[chunk : chunk + 1000])
            cursor.execute(f"DELETE FROM {SS} WHERE statement_id IN ({part})")
            total += max(cursor.rowcount, 0)
    return total


class InputsGone(Exception):
    """A draft's per-session lines cannot be written: its run's inputs are gone (the run was
    deleted). Running the month again rebuilds the draft."""


def forget_inputs(cursor) -> None:
    """Delete the kept inputs of runs none of whose drafts still lacks its lines."""
    waiting = f"SELECT st.run_id FROM {ST} st WHERE st.session_lines_ready = FALSE " \
        "AND st.run_id IS NOT NULL"  # fmt: skip
    for table in KEPT_TABLES:
        cursor.execute(f"DELETE FROM {table} WHERE run_id NOT IN ({waiting})")


def materialise(statement_ids, *, final: bool = False) -> int:
    """Write the per-session lines of those of ``statement_ids`` that lack them (drafts of a
    recorded run), from the inputs their run kept: exactly the figures the run summed into
    their statement lines; ``final``: written as final lines at once (finalisation: a session
    already on another final statement then fails the unique index). The caller holds the
    transaction. Returns how many lines."""
    ids = sorted({int(pk) for pk in statement_ids})
    if not ids:
        return 0
    groups: dict[tuple, list[int]] = {}
    with connection.cursor() as cursor:
        for chunk in range(0, len(ids), 5000):
            part = ", ".join(str(pk) for pk in ids[chunk : chunk + 5000])
            cursor.execute(
                f"SELECT id, run_id, month, max_session_id FROM {ST} "
                f"WHERE id IN ({part}) AND session_lines_ready = FALSE"
            )
            for pk, run_id, month, w in cursor.fetchall():
                if run_id is None:
                    raise InputsGone(pk)
                if isinstance(month, str):
                    month = dt.date.fromisoformat(month)
                groups.setdefault((int(run_id), month, int(w)), []).append(int(pk))
    total = 0
    with _big_reads():
        for (run_id, month, w), pks in sorted(groups.items()):
            total += _materialise_run(run_id, month, w, pks, final)
    return total


@contextmanager
def _big_reads():
    """SQLite: a bigger page cache (the default 2 MiB re-reads the session pages the joins
    visit) and a memory map for a big read; the connection's own settings are restored after
    (an in-memory database has no memory map)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        cache = cursor.fetchone()[0]
        cursor.execute("PRAGMA mmap_size")
        row = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        try:
            yield
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(cache)}")
            if row is not None:
                cursor.execute(f"PRAGMA mmap_size = {int(row[0])}")


def _materialise_run(run_id: int, month: dt.date, w: int, pks: list[int], final: bool) -> int:
    """The lines of the statements ``pks`` of one run, over that run's kept inputs."""
    runner = _Runner(month, None, run_id)
    runner.steps = {}
    runner.final_sql = "TRUE" if final else "FALSE"
    runner.analyze = False
    runner.w = w
    runner.src |= {name: sql.format(run=run_id) for name, sql in KEPT.items()}
    runner.settled = runner.scalar(
        f"SELECT COUNT(*) FROM settlements_runsettled WHERE run_id = {run_id}"
    )
    total = 0
    for chunk in range(0, len(pks), 5000):
        part = ", ".join(str(pk) for pk in pks[chunk : chunk + 5000])
        total += runner.write_lines(f"st.id IN ({part})")
        runner.sql(f"UPDATE {ST} SET session_lines_ready = TRUE WHERE id IN ({part})")
    return total
