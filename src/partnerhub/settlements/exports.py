"""Statement and receipt exports: CSV (every line; every per-session line) and PDF rendered
from HTML templates with WeasyPrint.

The PDF renderer never touches the network: its URL fetcher serves only the stylesheet
shipped in this package (``templates/settlements/pdf.css``) and refuses every other URL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.template.loader import render_to_string
from django.utils import timezone

from partnerhub.core.money import from_minor
from partnerhub.settlements import selectors
from partnerhub.settlements.models import Statement

ASSETS = Path(__file__).resolve().parent / "templates" / "settlements"

LINE_COLUMNS = (
    ("position", None),
    ("kind", None),
    ("description", None),
    ("currency", None),
    ("current_type", None),
    ("is_adjustment", None),
    ("original_month", None),
    ("sessions", None),
    ("flagged_sessions", None),
    ("energy_kwh", None),
    ("quantity", None),
    ("asset_days", None),
    ("rate_percent", None),
    ("unit", "unit_minor"),
    ("revenue", "revenue_minor"),
    ("excluded_connection_fee", "connection_fee_minor"),
    ("electricity_cost", "electricity_minor"),
    ("electricity_deducted", "deducted_minor"),
    ("shareable", "shareable_minor"),
    ("partner_share", "partner_share_minor"),
    ("operator_share", "operator_share_minor"),
    ("reimbursement", "reimbursement_minor"),
    ("fee", "fee_minor"),
    ("discount", "discount_minor"),
    ("charged_excl_vat", "charged_minor"),
    ("vat", "vat_minor"),
    ("amount", "amount_minor"),
)
SESSION_COLUMNS = (
    "cdr_id",
    "start",
    "end",
    "kind",
    "currency",
    "is_adjustment",
    "original_month",
    "current_type",
    "flagged",
    "energy_kwh",
    "revenue_excl_vat",
    "excluded_connection_fee",
    "electricity_cost",
    "electricity_deducted",
    "shareable",
    "rate_percent",
    "partner_share",
    "operator_share",
    "reimbursement",
    "session_fee",
    "kwh_fee",
    "handling_fee",
    "discount",
    "charged_excl_vat",
    "vat",
    "amount",
)
SESSION_AMOUNTS = {
    "revenue_excl_vat": "revenue_minor",
    "excluded_connection_fee": "connection_fee_minor",
    "electricity_cost": "electricity_minor",
    "electricity_deducted": "deducted_minor",
    "shareable": "shareable_minor",
    "partner_share": "partner_share_minor",
    "operator_share": "operator_share_minor",
    "reimbursement": "reimbursement_minor",
    "session_fee": "session_fee_minor",
    "kwh_fee": "kwh_fee_minor",
    "handling_fee": "handling_fee_minor",
    "discount": "discount_minor",
    "charged_excl_vat": "charged_minor",
    "vat": "vat_minor",
    "amount": "amount_minor",
}


def _percent(bp: int) -> str:
    return f"{bp / 100:.2f}" if bp else ""


def _kwh(wh: int) -> str:
    return f"{wh / 1000:.3f}"


def file_stem(statement: Statement) -> str:
    """The statement's number; a draft: "draft-2026-10-5", as the pages name it ("Draft
    2026-10 #5")."""
    return statement.number or f"draft-{statement.month:%Y-%m}-{statement.pk}"


def statement_csv(statement: Statement) -> str:
    """Every line of the statement (amounts in major units of the line's currency: the
    statement's, or another one for sessions in another currency), then the total."""
    cur = statement.currency
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["statement", "partner_id", "month", "status", "currency"])
    writer.writerow(
        [file_stem(statement), statement.partner_id, f"{statement.month:%Y-%m}",
         statement.status, cur]
    )  # fmt: skip
    writer.writerow([])
    writer.writerow([name for name, _ in LINE_COLUMNS])
    for line in selectors.statement_lines(statement):
        row = []
        line_cur = line.currency_of(cur)
        for name, column in LINE_COLUMNS:
            if column:
                row.append(from_minor(getattr(line, column), line_cur))
            elif name == "description":
                row.append(line.description)
            elif name == "currency":
                row.append(line_cur)
            elif name == "energy_kwh":
                row.append(_kwh(line.energy_wh))
            elif name == "rate_percent":
                row.append(_percent(line.rate_bp))
            elif name == "original_month":
                row.append(f"{line.original_month:%Y-%m}" if line.original_month else "")
            else:
                row.append(getattr(line, name))
        writer.writerow(row)
    writer.writerow([])
    writer.writerow(["net", from_minor(statement.net_minor, cur)])
    return out.getvalue()


def sessions_csv(statement: Statement) -> Iterator[str]:
    """Every per-session line of the statement, streamed; amounts in the session's currency
    (the statement's, except for sessions in another currency, which are not settled).

    A draft's lines are written here, before the first row is produced: a refusal (the run
    is gone, the database is busy) is raised to the caller while it can still answer with
    its 409, not in the middle of a response that has begun."""
    return _sessions_rows(selectors.statement_sessions(statement))


def _sessions_rows(lines) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(SESSION_COLUMNS)
    yield flush()
    for ss in lines.iterator(chunk_size=2000):
        s = ss.session
        row = [
            s.cdr_id,
            s.start.isoformat(),
            s.end.isoformat(),
            ss.kind,
            s.currency,
            ss.is_adjustment,
            f"{ss.original_month:%Y-%m}",
            ss.current_type,
            ss.flagged,
            _kwh(ss.energy_wh),
        ]
        for name in SESSION_COLUMNS[len(row) :]:
            if name == "rate_percent":
                row.append(_percent(ss.rate_bp))
            else:
                row.append(from_minor(getattr(ss, SESSION_AMOUNTS[name]), s.currency))
        writer.writerow(row)
        yield flush()


# --- PDF ---------------------------------------------------------------------------------------


def _fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class PackageOnlyFetcher(URLFetcher):
        """Serves files of this package's template folder; refuses everything else."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme != "file":
                raise ValueError(f"refused to fetch {url}: PDFs use packaged files only")
            path = Path(url2pathname(parts.path)).resolve()
            if ASSETS not in path.parents or not path.is_file():
                raise ValueError(f"refused to fetch {url}: not a packaged file")
            mime = "text/css" if path.suffix == ".css" else "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    return PackageOnlyFetcher()


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=_fetcher()).write_pdf()


def render_pdf(template: str, context: dict) -> bytes:
    return html_to_pdf(render_to_string(template, context))


def _money(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency):,}"


def statement_html(statement: Statement) -> str:
    """The statement as the HTML the PDF is rendered from. Lines of sessions in another
    currency show their amounts with that currency's code."""
    cur = statement.currency
    rows = []
    for line in selectors.statement_lines(statement):
        suffix = f" {line.currency}" if line.currency else ""
        line_cur = line.currency_of(cur)
        rows.append(
            {
                "line": line,
                "energy": _kwh(line.energy_wh) if line.energy_wh else "",
                "rate": _percent(line.rate_bp),
                "amounts": {
                    name: _money(getattr(line, column), line_cur) + suffix
                    for name, column in LINE_COLUMNS
                    if column
                },
            }
        )
    from partnerhub.settlements.services import open_balance_minor

    context = {
        "statement": statement,
        "partner": statement.partner,
        "operator": selectors.operator_identity(),
        "rows": rows,
        "totals": {
            name: _money(getattr(statement, name), cur)
            for name in selectors.TOTAL_FIELDS
            if name.endswith("_minor")
        },
        "open_balance": _money(open_balance_minor(statement), cur) if statement.is_final else "",
        "payments": [
            {"p": p, "amount": _money(p.amount_minor, cur)} for p in selectors.payments(statement)
        ],
        "generated_at": timezone.now(),
    }
    return render_to_string("settlements/statement.html", context)


def statement_pdf(statement: Statement) -> bytes:
    return html_to_pdf(statement_html(statement))


def receipt_pdf(receipt: dict, driver) -> bytes:
    return render_pdf(
        "settlements/receipt.html",
        {"receipt": receipt, "driver": driver, "generated_at": timezone.now()},
    )
