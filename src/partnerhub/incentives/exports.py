"""Incentive statement exports: CSV (an opening row, one row per entry, a closing row per
currency) and PDF rendered from ``templates/incentives/statement.html`` with WeasyPrint.

Amounts are plain decimals with the currency's digits (``1234.50``, never floats). The PDF
renderer never touches the network: its URL fetcher serves only the stylesheet shipped in this
package (``templates/incentives/pdf.css``) and refuses every other URL.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.template.loader import render_to_string
from django.utils import timezone

from partnerhub.core.money import from_minor
from partnerhub.incentives.selectors import Statement

ASSETS = Path(__file__).resolve().parent / "templates" / "incentives"

CSV_COLUMNS = (
    "row",
    "currency",
    "booked_on",
    "entry_id",
    "kind",
    "entry_type",
    "source_type",
    "source_id",
    "description",
    "memo",
    "payable",
    "amount",
    "balance",
)


def file_stem(st: Statement) -> str:
    return f"incentives-{st.partner.pk}-{st.date_from:%Y%m%d}-{st.date_to:%Y%m%d}"


def statement_csv(st: Statement) -> str:
    """Per currency: an ``opening`` row (the balance before the period), one ``entry`` row per
    entry with the running balance, a ``closing`` row (payable and held in the memo column)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for cs in st.currencies:
        cur = cs.currency
        balance = cs.opening_minor
        writer.writerow(
            ["opening", cur, st.date_from.isoformat(), "", "", "", "", "", "Opening balance",
             "", "", "", from_minor(balance, cur)]
        )  # fmt: skip
        for e in cs.entries:
            balance += e.amount_minor
            writer.writerow(
                [
                    "entry",
                    cur,
                    e.booked_on.isoformat(),
                    e.id,
                    e.kind,
                    e.entry_type,
                    e.source_type,
                    "" if e.source_id is None else e.source_id,
                    e.description,
                    e.memo,
                    "yes" if e.payable else "no",
                    from_minor(e.amount_minor, cur),
                    from_minor(balance, cur),
                ]
            )
        assert balance == cs.closing_minor
        writer.writerow(
            ["closing", cur, st.date_to.isoformat(), "", "", "", "", "", "Closing balance",
             f"payable {from_minor(cs.closing_payable_minor, cur)}; "
             f"held {from_minor(cs.closing_held_minor, cur)}",
             "", "", from_minor(cs.closing_minor, cur)]
        )  # fmt: skip
    return out.getvalue()


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


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML

    html = render_to_string(template, context)
    return HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=_fetcher()).write_pdf()


def _money(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency):,}"


def statement_pdf(st: Statement) -> bytes:
    from partnerhub.settlements.selectors import operator_identity

    currencies = []
    for cs in st.currencies:
        cur = cs.currency
        balance = cs.opening_minor
        rows = []
        for e in cs.entries:
            balance += e.amount_minor
            rows.append(
                {
                    "e": e,
                    "amount": _money(e.amount_minor, cur),
                    "balance": _money(balance, cur),
                }
            )
        currencies.append(
            {
                "currency": cur,
                "opening": _money(cs.opening_minor, cur),
                "rows": rows,
                "kinds": [(label, _money(v, cur)) for _k, label, v in cs.kind_rows],
                "period": _money(cs.period_minor, cur),
                "closing": _money(cs.closing_minor, cur),
                "payable": _money(cs.closing_payable_minor, cur),
                "held": _money(cs.closing_held_minor, cur),
            }
        )
    context = {
        "st": st,
        "partner": st.partner,
        "operator": operator_identity(),
        "currencies": currencies,
        "generated_at": timezone.now(),
    }
    return render_pdf("incentives/statement.html", context)
