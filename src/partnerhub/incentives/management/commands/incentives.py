"""``partnerhub incentives accrue``, ``payments FILE``, ``close-rebate PROGRAM REBATE --period
DAY``, ``payout REFERENCE [--as-of DAY] [--currency CUR]`` and ``schedule``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from partnerhub.core.errors import ServiceError


class Command(BaseCommand):
    help = "Accrue incentives, import customer payments, close rebates, run payouts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("accrue", help="Accrue commissions, MDF and referral fees of new lines.")
        pay = sub.add_parser("payments", help="Import customer payments (CSV); all-or-nothing.")
        pay.add_argument("file", type=Path)
        reb = sub.add_parser("close-rebate", help="Close a volume rebate for an ended period.")
        reb.add_argument("program")
        reb.add_argument("rebate")
        reb.add_argument(
            "--period", type=dt.date.fromisoformat, required=True, help="A day of the period."
        )
        out = sub.add_parser("payout", help="Pay every payable balance (once per reference).")
        out.add_argument("reference")
        out.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
        out.add_argument("--currency", default="")
        sub.add_parser("schedule", help="Queue the daily accrual run.")

    def handle(self, *args, action, **options):
        try:
            getattr(self, "_" + action.replace("-", "_"))(**options)
        except ServiceError as exc:
            raise CommandError(exc.message if hasattr(exc, "message") else str(exc)) from None

    def _accrue(self, **_):
        from partnerhub.incentives.services import accrual_run

        run = accrual_run()
        self.stdout.write(
            f"Accrual run {run.pk}: {run.lines} new line(s), {run.payments} new payment(s), "
            f"{run.entries} ledger entr{'y' if run.entries == 1 else 'ies'}."
        )

    def _payments(self, file: Path, **_):
        from partnerhub.incentives.services import PAYMENT_COLUMNS, customer_payments_import
        from partnerhub.sales.imports import CsvError, CsvRows

        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        with file.open("rb") as fh:
            try:
                rows = list(CsvRows(fh, columns=PAYMENT_COLUMNS))
            except CsvError as exc:
                raise CommandError(f"{file}: {exc}") from None
        report = customer_payments_import(rows=rows)
        for e in report.errors:
            self.stderr.write(f"{file}: row {e['row']}, {e['column']}: {e['message']}")
        if report.refused:
            raise CommandError(f"{len(report.errors)} error(s); nothing was imported.")
        self.stdout.write(
            f"{report.rows} rows: {report.created} imported, {report.unchanged} already there."
        )

    def _close_rebate(self, program: str, rebate: str, period: dt.date, **_):
        from partnerhub.incentives.services import rebate_close
        from partnerhub.programs.models import Program

        found = Program.objects.filter(key=program).first()
        if found is None:
            raise CommandError(f"No program {program!r}.")
        close = rebate_close(program=found, rebate_key=rebate, period_day=period)
        self.stdout.write(
            f"Rebate {rebate} {close.period_start} to {close.period_end}: "
            f"{close.partners} partner(s), {close.total_minor} minor units accrued."
        )

    def _payout(self, reference: str, as_of: dt.date | None, currency: str, **_):
        from django.utils import timezone

        from partnerhub.incentives.services import payout_run

        run, created = payout_run(
            reference=reference, as_of=as_of or timezone.localdate(), currency=currency
        )
        if not created:
            self.stdout.write(f"Payout run {reference} was already made: nothing paid again.")
            return
        self.stdout.write(
            f"Payout run {reference}: {run.partners} partner(s), {run.total_minor} minor units."
        )

    def _schedule(self, **_):
        from partnerhub.incentives.tasks import next_daily_run, schedule_daily

        queued = schedule_daily()
        self.stdout.write(
            f"Daily accrual queued for {next_daily_run():%Y-%m-%d %H:%M}."
            if queued
            else "The daily accrual run is already queued."
        )
