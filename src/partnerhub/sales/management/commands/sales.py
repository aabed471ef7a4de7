"""``partnerhub sales import-billing FILE [--partial]`` and ``... import-products FILE``.

Exit status: 0 when every row was stored (or already there), 1 when the file was refused
(nothing stored) or could not be read, 3 when ``--partial`` stored the good rows but some
rows were bad. Errors go to stderr (the first 50, then a count).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from partnerhub.core.errors import ServiceError
from partnerhub.sales.imports import CsvError, billing_rows, product_rows
from partnerhub.sales.services import ImportReport, billing_lines_import, products_import

SHOWN_ERRORS = 50
EXIT_PARTIAL = 3


def _with_progress(fh: BinaryIO, bar: tqdm) -> Iterator[bytes]:
    pending = 0
    for line in fh:
        pending += len(line)
        if pending >= 1 << 16:
            bar.update(pending)
            pending = 0
        yield line
    bar.update(pending)


class Command(BaseCommand):
    help = "Import sales data from CSV files (billing lines, products)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        billing = sub.add_parser(
            "import-billing",
            help="Import billing lines (idempotent by external_id); all or nothing by default.",
        )
        billing.add_argument("file", help="CSV file ('-' reads standard input)")
        billing.add_argument(
            "--partial",
            action="store_true",
            help="Store the good rows and report the bad ones (default: any bad row refuses "
            "the whole file).",
        )
        billing.add_argument(
            "--no-progress", action="store_true", help="Do not show a progress bar."
        )
        products = sub.add_parser(
            "import-products", help="Create or update products by SKU; all or nothing."
        )
        products.add_argument("file", help="CSV file ('-' reads standard input)")
        products.add_argument(
            "--no-progress", action="store_true", help="Do not show a progress bar."
        )

    def handle(self, *args, action: str, file: str, **options):
        partial = options.get("partial", False)
        show_progress = not options["no_progress"] and options["verbosity"] > 0
        if file == "-":
            fh, size = sys.stdin.buffer, None
        else:
            path = Path(file)
            try:
                fh = path.open("rb")
                size = path.stat().st_size
            except OSError as exc:
                raise CommandError(f"{file}: cannot read: {exc.strerror or exc}") from None
        bar = tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=Path(file).name if file != "-" else "stdin",
            disable=None if show_progress else True,
            file=sys.stderr,
        )
        try:
            lines = _with_progress(fh, bar)
            if action == "import-billing":
                report = billing_lines_import(rows=billing_rows(lines), partial=partial)
            else:
                report = products_import(rows=product_rows(lines))
        except CsvError as exc:
            raise CommandError(f"{file}: refused, nothing stored: {exc}") from None
        except ServiceError as exc:
            raise CommandError(f"{file}: refused, nothing stored: {exc.message}") from None
        except OSError as exc:
            raise CommandError(f"{file}: cannot read: {exc.strerror or exc}") from None
        finally:
            bar.close()
            if fh is not sys.stdin.buffer:
                fh.close()
        self._print(file, report, products=action == "import-products")

    def _print(self, file: str, report: ImportReport, *, products: bool) -> None:
        for error in report.errors[:SHOWN_ERRORS]:
            where = f"row {error['row']}" + (f", {error['column']}" if error["column"] else "")
            self.stderr.write(f"  {file}: {where}: {error['message']}")
        if len(report.errors) > SHOWN_ERRORS:
            self.stderr.write(f"  ... and {len(report.errors) - SHOWN_ERRORS} more errors")
        if report.refused:
            raise CommandError(
                f"{file}: refused, nothing stored: {report.bad_rows} bad row(s) of "
                f"{report.rows} ({len(report.errors)} error(s))"
            )
        if products:
            summary = (
                f"{report.rows} rows: {report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged"
            )
        else:
            summary = (
                f"{report.rows} rows: {report.created} created, {report.unchanged} unchanged, "
                f"{report.customers_created} new customers"
            )
        if report.errors:
            self.stdout.write(
                self.style.WARNING(f"{file}: {summary}; {report.bad_rows} bad row(s) not stored")
            )
            raise CommandError(
                f"{file}: {report.bad_rows} bad row(s) not stored", returncode=EXIT_PARTIAL
            )
        self.stdout.write(self.style.SUCCESS(f"{file}: {summary}"))
