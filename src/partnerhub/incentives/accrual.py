"""Set-based accrual of commissions and MDF from billing lines, and release of held
commission as customers pay.

``accrue()`` (services call it in their transaction) takes every billing line imported since
the last run (the watermark ``AccrualState.accrued_through_line_id``) and:

1. builds small temp tables: each partner's tier periods (``inc_tier``, from the tier history),
   the commission rate of every (program, track, tier, category, source, renewal[, country])
   combination (``inc_rate``, from the program's rules, else the tier's commission benefit),
   volume bands (``inc_band``), the MDF accrual % per tier (``inc_mdf``) and the won
   registrations that make a customer's orders partner-sourced or -influenced (``inc_src``);
2. one ``INSERT ... SELECT`` writes a commission entry per line (accrual; reversal for a
   credit note without a credited line), rounded half-up once per line;
3. one ``INSERT ... SELECT`` reverses, pro rata, what a credited line accrued;
4. one ``INSERT ... SELECT ... GROUP BY`` accrues MDF per partner, program, currency and month;
5. releases held commission (programs paying on customer payment) pro rata to what the
   customer has paid, with a pair of entries per line that sum to zero.

Rules and rounding: ``docs/incentives.md`` and ``docs/money.md``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from partnerhub.programs.models import Program, Tier
from partnerhub.programs.schema import CommissionRule, IncentivesSpec
from partnerhub.sales.models import ProductCategory
from partnerhub.settlements.sql import Dialect, half_up

LEDGER = "incentives_ledgerentry"
LINE = "sales_billingline"
TEMPS = (
    "inc_tier_all",
    "inc_tier",
    "inc_track",
    "inc_rate",
    "inc_band",
    "inc_mdf",
    "inc_cat",
    "inc_src",
    "inc_cum",
    "inc_cand",
    "inc_credit",
    "inc_release",
)
SOURCES = ("sourced", "influenced")


def bp(percent: Decimal | str | int | None) -> int:
    """A percentage as integer basis points (7.5 → 750); rates have at most 2 decimals."""
    return int((Decimal(str(percent or 0)) * 100).to_integral_value())


@dataclass
class RateRow:
    program_id: int
    track_key: str
    tier_key: str
    category_id: int
    source: str
    renewal: int
    country: str
    rate_bp: int
    rule_no: int | None
    payable: int


def incentives_of(version) -> IncentivesSpec:
    return IncentivesSpec.model_validate((version.definition or {}).get("incentives") or {})


def _rule_matches(rule: CommissionRule, track, tier, category, source, country) -> bool:
    return (
        (not rule.tracks or track in rule.tracks)
        and (not rule.tiers or tier in rule.tiers)
        and (rule.source is None or rule.source == source)
        and (not rule.categories or category in rule.categories)
        and (not rule.countries or country in rule.countries)
    )


@dataclass
class ProgramRates:
    program: Program
    version: object
    spec: IncentivesSpec
    rows: list[RateRow]
    bands: list[tuple[int, int, int]]  # (rule_no, threshold minor, extra bp)
    mdf: list[tuple[int, str, str, int]]  # (program, track, tier, bp)
    track_pos: dict[str, int]
    category_ids: list[int]


def program_rates(on: dt.date, countries: list[str] | None) -> list[ProgramRates]:
    """The commission and MDF rates of every program's version in force on ``on``.

    A category declared by several programs earns under the first (by key) only."""
    categories = dict(ProductCategory.objects.values_list("key", "id"))
    taken: set[int] = set()
    out: list[ProgramRates] = []
    rule_no = 0
    for program in Program.objects.order_by("key"):
        version = program.version_as_of(on)
        if version is None:
            continue
        spec = incentives_of(version)
        payable = 1 if spec.commission.payable == "on_invoice" else 0
        tiers = list(
            Tier.objects.filter(track__version=version)
            .select_related("track")
            .order_by("track__position", "rank")
        )
        cats = [
            (key, categories[key])
            for key in (version.product_categories or [])
            if key in categories and categories[key] not in taken
        ]
        taken |= {cid for _, cid in cats}
        # Global numbers for the explicit rules (their bands point at them).
        numbered = []
        bands: list[tuple[int, int, int]] = []
        for rule in spec.commission.rules:
            rule_no += 1
            numbered.append((rule_no, rule))
            previous = bp(rule.rate)
            for band in rule.bands:
                threshold = int(Decimal(band.above) * 10 ** _digits(version.currency))
                bands.append((rule_no, threshold, bp(band.rate) - previous))
                previous = bp(band.rate)
        rows: list[RateRow] = []
        country_list = countries if any(r.countries for r in spec.commission.rules) else ["*"]
        for tier in tiers:
            track = tier.track.key
            commission = (tier.benefits or {}).get("commission") or {}
            for cat_key, cat_id in cats:
                for source in (*SOURCES, "none"):
                    if source == "none" and spec.commission.unregistered != "influenced":
                        continue
                    as_source = "influenced" if source == "none" else source
                    for renewal in (0, 1):
                        for country in country_list:
                            rate, number = None, None
                            for no, rule in numbered:
                                if _rule_matches(
                                    rule, track, tier.key, cat_key, as_source, country
                                ):
                                    rate = rule.renewal_rate if renewal else rule.rate
                                    number = no if (rule.bands and not renewal) else None
                                    break
                            else:
                                key = "renewal" if renewal else as_source
                                rate = commission.get(key)
                            if rate is None or bp(rate) == 0:
                                continue
                            rows.append(
                                RateRow(
                                    program.pk,
                                    track,
                                    tier.key,
                                    cat_id,
                                    source,
                                    renewal,
                                    country,
                                    bp(rate),
                                    number,
                                    payable,
                                )
                            )
        mdf = [
            (program.pk, t.track.key, t.key, bp((t.benefits or {}).get("mdf_accrual")))
            for t in tiers
            if bp((t.benefits or {}).get("mdf_accrual"))
        ]
        positions = {t.track.key: t.track.position for t in tiers}
        out.append(
            ProgramRates(
                program, version, spec, rows, bands, mdf, positions, [cid for _, cid in cats]
            )
        )
    return out


def _digits(currency: str) -> int:
    from partnerhub.core.money import minor_digits

    return minor_digits(currency)


@dataclass
class AccrualResult:
    commission_entries: int = 0
    reversal_entries: int = 0
    mdf_entries: int = 0
    release_entries: int = 0
    step_seconds: dict = field(default_factory=dict)


class Accrual:
    def __init__(self, *, run_id: int, lo: int, hi: int, pay_lo: int, pay_hi: int, on: dt.date):
        self.d = Dialect(connection.vendor)
        self.run_id, self.lo, self.hi = run_id, lo, hi
        self.pay_lo, self.pay_hi = pay_lo, pay_hi
        self.on = on
        self.cursor = connection.cursor()
        self.now = connection.ops.adapt_datetimefield_value(timezone.now())
        self.on_param = connection.ops.adapt_datefield_value(on)

    def x(self, sql: str, params=None) -> int:
        self.cursor.execute(sql, params or [])
        return self.cursor.rowcount

    def scalar(self, sql: str, params=None):
        self.cursor.execute(sql, params or [])
        row = self.cursor.fetchone()
        return row[0] if row else None

    def date(self, literal: str) -> str:
        return f"DATE '{literal}'" if self.d.pg else f"'{literal}'"

    def add_months(self, expr: str, months_sql: str) -> str:
        if self.d.pg:
            return f"(({expr}) + make_interval(months => CAST({months_sql} AS INTEGER)))::date"
        return f"date({expr}, '+' || ({months_sql}) || ' months')"

    def drop(self) -> None:
        for name in TEMPS:
            self.x(self.d.drop_temp(name))

    # --- temp tables ----------------------------------------------------------------------

    def temp_tiers(self, rates: list[ProgramRates]) -> None:
        lo, hi = self.date("0001-01-01"), self.date("9999-12-31")
        self.x(
            self.d.temp_table(
                "inc_tier_all",
                f"""
            SELECT tc.partner_id, tc.program_id, tc.track_key, tc.to_tier_key AS tier_key,
                   CASE WHEN ROW_NUMBER() OVER w = 1 THEN {lo} ELSE tc.effective_on END
                       AS valid_from,
                   COALESCE(LEAD(tc.effective_on) OVER w, {hi}) AS valid_to
            FROM tiers_tierchange tc
            WINDOW w AS (PARTITION BY tc.partner_id, tc.program_id, tc.track_key
                         ORDER BY tc.effective_on, tc.id)
            UNION ALL
            SELECT pt.partner_id, pt.program_id, pt.track_key, pt.tier_key, {lo}, {hi}
            FROM tiers_partnertier pt
            WHERE NOT EXISTS (SELECT 1 FROM tiers_tierchange tc
                              WHERE tc.partner_id = pt.partner_id
                                AND tc.program_id = pt.program_id
                                AND tc.track_key = pt.track_key)
            """,
            )
        )
        # One track per partner and program: the first of the program's tracks it is in.
        self.x("CREATE TEMP TABLE inc_track (program_id BIGINT, track_key TEXT, pos INTEGER)")
        rows = [(r.program.pk, key, pos) for r in rates for key, pos in r.track_pos.items()]
        if rows:
            self.cursor.executemany("INSERT INTO inc_track VALUES (%s, %s, %s)", rows)
        self.x(
            self.d.temp_table(
                "inc_tier",
                """
            SELECT a.partner_id, a.program_id, a.track_key, a.tier_key, a.valid_from, a.valid_to
            FROM inc_tier_all a
            JOIN inc_track k ON k.program_id = a.program_id AND k.track_key = a.track_key
            JOIN (SELECT a2.partner_id, a2.program_id, MIN(k2.pos) AS pos
                  FROM inc_tier_all a2 JOIN inc_track k2
                    ON k2.program_id = a2.program_id AND k2.track_key = a2.track_key
                  GROUP BY a2.partner_id, a2.program_id) first
              ON first.partner_id = a.partner_id AND first.program_id = a.program_id
             AND first.pos = k.pos
            """,
            )
        )
        self.x(self.d.drop_temp("inc_track"))
        self.x("CREATE INDEX inc_tier_partner ON inc_tier (partner_id, valid_from)")

    def temp_rates(self, rates: list[ProgramRates]) -> None:
        self.x(
            "CREATE TEMP TABLE inc_rate (program_id BIGINT, track_key TEXT, tier_key TEXT, "
            "category_id BIGINT, source TEXT, renewal INTEGER, country TEXT, rate_bp INTEGER, "
            "rule_no INTEGER, payable INTEGER)"
        )
        rows = [
            (
                r.program_id,
                r.track_key,
                r.tier_key,
                r.category_id,
                r.source,
                r.renewal,
                r.country,
                r.rate_bp,
                r.rule_no,
                r.payable,
            )
            for p in rates
            for r in p.rows
        ]
        if rows:
            self.cursor.executemany(
                "INSERT INTO inc_rate VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows
            )
        self.x(
            "CREATE INDEX inc_rate_key ON inc_rate "
            "(program_id, track_key, tier_key, category_id, source, renewal, country)"
        )
        self.x("CREATE TEMP TABLE inc_band (rule_no INTEGER, above BIGINT, extra_bp INTEGER)")
        bands = [b for p in rates for b in p.bands]
        if bands:
            self.cursor.executemany("INSERT INTO inc_band VALUES (%s, %s, %s)", bands)
        self.x(
            "CREATE TEMP TABLE inc_mdf (program_id BIGINT, track_key TEXT, tier_key TEXT, "
            "mdf_bp INTEGER)"
        )
        mdf = [m for p in rates for m in p.mdf]
        if mdf:
            self.cursor.executemany("INSERT INTO inc_mdf VALUES (%s, %s, %s, %s)", mdf)
        self.x("CREATE TEMP TABLE inc_cat (program_id BIGINT, category_id BIGINT)")
        cats = [(p.program.pk, c) for p in rates for c in p.category_ids]
        if cats:
            self.cursor.executemany("INSERT INTO inc_cat VALUES (%s, %s)", cats)

    def temp_sources(self, rates: list[ProgramRates]) -> None:
        months = " ".join(
            f"WHEN {p.program.pk} THEN "
            f"{int((p.version.policies or {}).get('closed_won_window_months') or 6)}"
            for p in rates
        )
        window = f"(CASE d.program_id {months} ELSE 6 END)" if months else "6"
        until = self.add_months("d.submitted_on", window)
        self.x(
            self.d.temp_table(
                "inc_src",
                f"""
            SELECT d.partner_id, bl.customer_id,
                   CASE WHEN d.source = 'partner_sourced' THEN 1 ELSE 0 END AS sourced,
                   d.submitted_on AS valid_from, {until} AS valid_to
            FROM deals_dealregistration d
            JOIN {LINE} bl ON bl.id = d.won_billing_line_id
            WHERE d.status = 'won' AND d.source IN ('partner_sourced', 'partner_influenced')
            """,
            )
        )
        self.x("CREATE INDEX inc_src_key ON inc_src (partner_id, customer_id)")

    def fiscal_year(self, expr: str, month: int, day: int) -> str:
        if self.d.pg:
            y = f"EXTRACT(YEAR FROM {expr})::int"
            md = f"(EXTRACT(MONTH FROM {expr})::int * 100 + EXTRACT(DAY FROM {expr})::int)"
        else:
            y = f"CAST(strftime('%%Y', {expr}) AS INTEGER)"
            md = f"CAST(strftime('%%m%%d', {expr}) AS INTEGER)"
        return f"(CASE WHEN {md} >= {month * 100 + day} THEN {y} ELSE {y} - 1 END)"

    def temp_cumulative(self, rates: list[ProgramRates], product_categories: set[int]) -> bool:
        """Running fiscal-year revenue per partner for the lines that may reach a band:
        the run's lines in the program currency, after the partner's earlier lines."""
        self.x("CREATE TEMP TABLE inc_cum (id BIGINT, cum_before BIGINT, cum_after BIGINT)")
        any_bands = False
        for p in rates:
            if not p.bands:
                continue
            any_bands = True
            v = p.version
            fy = self.fiscal_year(
                "L.invoice_date", v.fiscal_year_start_month, v.fiscal_year_start_day
            )
            fy2 = self.fiscal_year(
                "E.invoice_date", v.fiscal_year_start_month, v.fiscal_year_start_day
            )
            cats = ",".join(str(c) for c in p.category_ids) or "NULL"
            covers_all = product_categories <= set(p.category_ids)
            e_product = (
                ""
                if covers_all
                else f"JOIN sales_product EP ON EP.id = E.product_id AND EP.category_id IN ({cats})"
            )
            l_product = (
                ""
                if covers_all
                else f"JOIN sales_product P ON P.id = L.product_id AND P.category_id IN ({cats})"
            )
            banded = f"""
                L.partner_id IN (SELECT T.partner_id FROM inc_tier T JOIN inc_rate R
                                   ON R.program_id = T.program_id AND R.track_key = T.track_key
                                  AND R.tier_key = T.tier_key
                                 WHERE R.program_id = {p.program.pk} AND R.rule_no IS NOT NULL)
            """
            prior_join, prior, params = "", "0", []
            if self.lo:
                prior = "COALESCE(pr.prior, 0)"
                prior_join = f"""
                LEFT JOIN (
                    SELECT E.partner_id, {fy2} AS fy,
                           CAST(SUM(E.net_amount_minor) AS BIGINT) AS prior
                    FROM {LINE} E {e_product}
                    WHERE E.id <= %s AND E.currency = %s
                      AND E.invoice_date >= %s
                      AND E.partner_id IN (SELECT partner_id FROM {LINE}
                                           WHERE id > %s AND id <= %s)
                    GROUP BY E.partner_id, {fy2}
                ) pr ON pr.partner_id = r.partner_id AND pr.fy = r.fy
                """
                first = self.scalar(
                    f"SELECT MIN(invoice_date) FROM {LINE} WHERE id > %s AND id <= %s",
                    [self.lo, self.hi],
                )
                if isinstance(first, str):
                    first = dt.date.fromisoformat(first)
                since = connection.ops.adapt_datefield_value(
                    (first or self.on) - dt.timedelta(days=367)
                )
                params = [self.lo, v.currency, since, self.lo, self.hi]
            self.x(
                f"""
                INSERT INTO inc_cum (id, cum_before, cum_after)
                SELECT r.id, {prior} + r.run_sum - r.net, {prior} + r.run_sum
                FROM (
                    SELECT L.id, L.partner_id, L.net_amount_minor AS net, {fy} AS fy,
                           CAST(SUM(L.net_amount_minor) OVER (PARTITION BY L.partner_id, {fy}
                               ORDER BY L.invoice_date, L.id ROWS UNBOUNDED PRECEDING)
                               AS BIGINT) AS run_sum
                    FROM {LINE} L {l_product}
                    WHERE L.id > %s AND L.id <= %s AND L.currency = %s AND {banded}
                ) r
                {prior_join}
                """,
                [self.lo, self.hi, v.currency, *params],
            )
            self.x("CREATE INDEX IF NOT EXISTS inc_cum_id ON inc_cum (id)")
        return any_bands

    # --- entries ---------------------------------------------------------------------------

    def temp_candidates(self) -> None:
        """The run's lines that can earn commission when no program pays on unregistered
        sales: those of a customer the partner won a registration for, within its window —
        found from the registrations through the (customer, invoice day) index instead of
        scanning every line; with the source each gets (sourced wins)."""
        self.x(
            self.d.temp_table(
                "inc_cand",
                f"""
            SELECT L.id, MAX(S.sourced) AS sourced
            FROM inc_src S
            JOIN {LINE} L ON L.customer_id = S.customer_id
                 AND L.invoice_date >= S.valid_from AND L.invoice_date < S.valid_to
            WHERE L.partner_id = S.partner_id AND L.id > %s AND L.id <= %s
              AND L.credited_line_id IS NULL
            GROUP BY L.id
            """,
            ),
            [self.lo, self.hi],
        )
        self.x("CREATE INDEX inc_cand_id ON inc_cand (id)")

    def insert_commissions(
        self, with_countries: bool, with_bands: bool, registered_only: bool
    ) -> int:
        fence = self.d.fence()
        if registered_only:
            self.temp_candidates()
            driver = f"inc_cand K JOIN {LINE} L ON L.id = K.id"
            sourced = "K.sourced"
            where = "1 = 1"
            params: list = []
        else:
            # The customer's orders within a won registration's window: partner-sourced when
            # one of those registrations was, else partner-influenced; none: unregistered.
            driver = f"{LINE} L"
            sourced = """(SELECT MAX(S.sourced) FROM inc_src S
                          WHERE S.partner_id = L.partner_id AND S.customer_id = L.customer_id
                            AND L.invoice_date >= S.valid_from
                            AND L.invoice_date < S.valid_to)"""
            where = "L.id > %s AND L.id <= %s AND L.credited_line_id IS NULL"
            params = [self.lo, self.hi]
        source = (
            f"COALESCE(CASE {sourced} WHEN 1 THEN 'sourced' WHEN 0 THEN 'influenced' END, 'none')"
        )
        country_join = "JOIN partners_partner PP ON PP.id = y.partner_id" if with_countries else ""
        country_on = "AND R.country = PP.country" if with_countries else "AND R.country = '*'"
        g = self.d.greatest
        above = g("0", "C.cum_after - " + g("C.cum_before", "B.above"))
        extra = (
            f"""COALESCE((SELECT CAST(SUM(B.extra_bp * {above}) AS BIGINT)
                          FROM inc_band B WHERE B.rule_no = R.rule_no), 0)"""
            if with_bands
            else "0"
        )
        cum_join = "LEFT JOIN inc_cum C ON C.id = y.id" if with_bands else ""
        extra_sql = f"CASE WHEN R.rule_no IS NULL OR y.net < 0 THEN 0 ELSE {extra} END"
        amount = half_up("x.net * x.rate_bp + x.extra", "10000")
        sql = f"""
            INSERT INTO {LEDGER} (partner_id, program_id, kind, entry_type, amount_minor,
                currency, booked_on, payable, source_type, source_id, basis_minor, rate_bp,
                memo, run_id, created_at)
            SELECT x.partner_id, x.program_id, 'commission',
                   CASE WHEN x.net < 0 THEN 'reversal' ELSE 'accrual' END,
                   {amount}, x.currency, x.invoice_date, x.payable = 1, 'billing_line', x.id,
                   x.net, x.rate_bp,
                   x.tier_key || ' ' || x.source || CASE WHEN x.renewal = 1 THEN ' renewal'
                       ELSE '' END || CASE WHEN x.extra <> 0 THEN ' + volume band' ELSE '' END,
                   %s, %s
            FROM (
                SELECT y.id, y.partner_id, R.program_id, y.net, y.currency, y.invoice_date,
                       R.rate_bp, R.payable, R.tier_key, R.source, R.renewal,
                       {extra_sql} AS extra
                FROM (
                    SELECT L.id, L.partner_id, L.net_amount_minor AS net, L.currency,
                           L.invoice_date, L.product_id,
                           CASE WHEN L.is_renewal THEN 1 ELSE 0 END AS renewal,
                           {source} AS src
                    FROM {driver}
                    WHERE {where} {fence}
                ) y
                JOIN sales_product P ON P.id = y.product_id
                JOIN inc_tier T ON T.partner_id = y.partner_id
                     AND y.invoice_date >= T.valid_from AND y.invoice_date < T.valid_to
                {country_join}
                {cum_join}
                JOIN inc_rate R ON R.program_id = T.program_id AND R.track_key = T.track_key
                     AND R.tier_key = T.tier_key AND R.category_id = P.category_id
                     AND R.source = y.src AND R.renewal = y.renewal {country_on}
                {fence}
            ) x
            WHERE {amount} <> 0
        """
        return self.x(sql, [self.run_id, self.now, *params])

    def insert_credit_reversals(self) -> int:
        """A credit note reverses what the credited line accrued, pro rata to the amount
        credited: −half_up(accrued × |credit| / invoiced). The run's credit notes are taken
        in one scan; the accruals of the lines they credit through the ledger's source
        index."""
        self.x(
            self.d.temp_table(
                "inc_credit",
                f"""
            SELECT L.id, L.partner_id, L.credited_line_id, L.net_amount_minor AS net,
                   L.currency, L.invoice_date, O.net_amount_minor AS invoiced,
                   O.external_id AS invoice
            FROM {LINE} L JOIN {LINE} O ON O.id = L.credited_line_id
            WHERE L.id > %s AND L.id <= %s AND L.credited_line_id IS NOT NULL
              AND O.net_amount_minor > 0
            """,
            ),
            [self.lo, self.hi],
        )
        amount = half_up("a.accrued * c.net", "c.invoiced")
        n = self.x(
            f"""
            INSERT INTO {LEDGER} (partner_id, program_id, kind, entry_type, amount_minor,
                currency, booked_on, payable, source_type, source_id, basis_minor, rate_bp,
                memo, run_id, created_at)
            SELECT c.partner_id, a.program_id, a.kind, 'reversal', {amount}, c.currency,
                   c.invoice_date, a.payable, 'billing_line', c.id, c.net, a.rate_bp,
                   'credit note of ' || c.invoice, %s, %s
            FROM inc_credit c
            JOIN (SELECT e.source_id, e.program_id, e.kind, e.payable,
                         CAST(SUM(e.amount_minor) AS BIGINT) AS accrued,
                         MAX(e.rate_bp) AS rate_bp
                  FROM {LEDGER} e
                  WHERE e.source_type = 'billing_line' AND e.entry_type = 'accrual'
                    AND e.source_id IN (SELECT credited_line_id FROM inc_credit)
                  GROUP BY e.source_id, e.program_id, e.kind, e.payable) a
              ON a.source_id = c.credited_line_id
            WHERE {amount} <> 0
            """,
            [self.run_id, self.now],
        )
        self.x(self.d.drop_temp("inc_credit"))
        return n

    def insert_mdf(self, rates: list[ProgramRates], product_categories: set[int]) -> int:
        """MDF accrues as the tier's % of the partner's sales: rounded per line, summed per
        partner, program, currency and month (held in the partner's fund). Read through the
        partners holding an MDF tier, from the (partner, invoice day, currency, amount) index;
        the product is read only when the program does not cover every category."""
        per_line = half_up("L.net_amount_minor * M.mdf_bp", "10000")
        month = (
            "(date_trunc('month', L.invoice_date))::date"
            if self.d.pg
            else "date(L.invoice_date, 'start of month')"
        )
        n = 0
        for p in rates:
            if not p.mdf:
                continue
            covers_all = product_categories <= set(p.category_ids)
            cats = ",".join(str(c) for c in p.category_ids) or "NULL"
            product = (
                ""
                if covers_all
                else f"JOIN sales_product P ON P.id = L.product_id AND P.category_id IN ({cats})"
            )
            n += self.x(
                f"""
                INSERT INTO {LEDGER} (partner_id, program_id, kind, entry_type, amount_minor,
                    currency, booked_on, payable, source_type, source_id, basis_minor, rate_bp,
                    memo, run_id, created_at)
                SELECT L.partner_id, T.program_id, 'mdf', 'accrual', SUM({per_line}),
                       L.currency, MAX(L.invoice_date), {"FALSE" if self.d.pg else "0"},
                       'mdf_accrual', %s, SUM(L.net_amount_minor), MAX(M.mdf_bp),
                       'MDF accrual on sales', %s, %s
                FROM {LINE} L
                {product}
                JOIN inc_tier T ON T.partner_id = L.partner_id AND T.program_id = %s
                     AND L.invoice_date >= T.valid_from AND L.invoice_date < T.valid_to
                JOIN inc_mdf M ON M.program_id = T.program_id AND M.track_key = T.track_key
                     AND M.tier_key = T.tier_key
                WHERE L.id > %s AND L.id <= %s
                  AND L.partner_id IN (SELECT T2.partner_id FROM inc_tier T2
                                       JOIN inc_mdf M2 ON M2.program_id = T2.program_id
                                            AND M2.track_key = T2.track_key
                                            AND M2.tier_key = T2.tier_key
                                       WHERE T2.program_id = %s)
                GROUP BY L.partner_id, T.program_id, L.currency, {month}
                HAVING SUM({per_line}) <> 0
                """,
                [self.run_id, self.run_id, self.now, p.program.pk, self.lo, self.hi, p.program.pk],
            )
        return n

    def insert_releases(self) -> int:
        """Held commission becomes payable as the customer pays: released so far =
        half_up(held accrued × min(paid, invoiced) / invoiced); each run posts the difference
        with what earlier runs released (−x held, +x payable)."""
        paid = self.d.least("p.paid", "L.net_amount_minor")
        target = half_up(f"h.held * {paid}", "L.net_amount_minor")
        self.x(
            self.d.temp_table(
                "inc_release",
                f"""
            SELECT h.partner_id, h.program_id, h.currency, h.line_id,
                   {target} - COALESCE(r.released, 0) AS delta
            FROM (SELECT e.partner_id, e.program_id, e.currency, e.source_id AS line_id,
                         CAST(SUM(e.amount_minor) AS BIGINT) AS held
                  FROM {LEDGER} e
                  WHERE e.source_type = 'billing_line' AND e.kind = 'commission'
                    AND e.payable = {"FALSE" if self.d.pg else "0"}
                    AND e.entry_type = 'accrual'
                    AND e.source_id IN (
                        SELECT billing_line_id FROM incentives_customerpayment
                        WHERE id > %s AND id <= %s
                        UNION
                        SELECT cp.billing_line_id FROM incentives_customerpayment cp
                        WHERE cp.id <= %s AND cp.billing_line_id > %s
                          AND cp.billing_line_id <= %s)
                  GROUP BY e.partner_id, e.program_id, e.currency, e.source_id) h
            JOIN {LINE} L ON L.id = h.line_id
            JOIN (SELECT billing_line_id, CAST(SUM(amount_minor) AS BIGINT) AS paid
                  FROM incentives_customerpayment WHERE id <= %s
                  GROUP BY billing_line_id) p ON p.billing_line_id = h.line_id
            LEFT JOIN (SELECT source_id, CAST(SUM(amount_minor) AS BIGINT) AS released FROM {LEDGER}
                       WHERE source_type = 'customer_payment'
                         AND payable = {"TRUE" if self.d.pg else "1"}
                       GROUP BY source_id) r ON r.source_id = h.line_id
            WHERE L.net_amount_minor > 0
            """,
            ),
            [self.pay_lo, self.pay_hi, self.pay_hi, self.lo, self.hi, self.pay_hi],
        )
        n = 0
        for payable, sign in (
            ("TRUE" if self.d.pg else "1", ""),
            ("FALSE" if self.d.pg else "0", "-"),
        ):
            n += self.x(
                f"""
                INSERT INTO {LEDGER} (partner_id, program_id, kind, entry_type, amount_minor,
                    currency, booked_on, payable, source_type, source_id, memo, run_id,
                    created_at)
                SELECT partner_id, program_id, 'commission', 'release', {sign}delta, currency,
                       %s, {payable}, 'customer_payment', line_id,
                       'customer payment received', %s, %s
                FROM inc_release WHERE delta <> 0
                """,
                [self.on_param, self.run_id, self.now],
            )
        self.x(self.d.drop_temp("inc_release"))
        return n

    def run(self) -> AccrualResult:
        result = AccrualResult()
        self.drop()
        countries = sorted(set(_partner_countries()) | {""})
        rates = program_rates(self.on, countries)
        product_categories = set(
            ProductCategory.objects.filter(products__isnull=False).values_list("id", flat=True)
        )
        with_countries = any(r.country != "*" for p in rates for r in p.rows)

        def timed(name, step, *args):
            began = time.perf_counter()
            out = step(*args)
            result.step_seconds[name] = round(time.perf_counter() - began, 3)
            return out

        try:
            timed("temp_tiers", self.temp_tiers, rates)
            timed("temp_rates", self.temp_rates, rates)
            timed("temp_sources", self.temp_sources, rates)
            with_bands = timed("temp_cumulative", self.temp_cumulative, rates, product_categories)
            if self.d.pg:
                for name in ("inc_tier", "inc_rate", "inc_src", "inc_cum"):
                    self.x(f"ANALYZE {name}")
            if self.hi > self.lo:
                registered_only = all(p.spec.commission.unregistered == "none" for p in rates)
                result.commission_entries = timed(
                    "commissions",
                    self.insert_commissions,
                    with_countries,
                    with_bands,
                    registered_only,
                )
                result.reversal_entries = timed("credit_reversals", self.insert_credit_reversals)
                result.mdf_entries = timed("mdf", self.insert_mdf, rates, product_categories)
            result.release_entries = timed("releases", self.insert_releases)
        finally:
            self.drop()
        return result


def _partner_countries() -> list[str]:
    from partnerhub.partners.models import Partner

    return [str(c) for c in Partner.objects.values_list("country", flat=True).distinct()]
