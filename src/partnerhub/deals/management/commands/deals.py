"""``partnerhub deals import FILE [--partial]``, ``partnerhub deals expire [--on DATE]``,
``partnerhub deals match-orders`` and ``partnerhub deals schedule``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Import deal registrations, expire protection windows, match orders (closed-won)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import registrations (CSV); all-or-nothing.")
        imp.add_argument("file", type=Path)
        imp.add_argument("--partial", action="store_true", help="Store the good rows.")
        imp.add_argument("--no-progress", action="store_true", help="No progress bar.")
        exp = sub.add_parser("expire", help="Expire registrations whose protection ended.")
        exp.add_argument(
            "--on",
            type=dt.date.fromisoformat,
            default=None,
            help="As of this day (YYYY-MM-DD, default today).",
        )
        sub.add_parser("match-orders", help="Close as won registrations whose customer ordered.")
        sub.add_parser("schedule", help="Queue the daily expiry and matching run.")

    def handle(self, *args, action, **options):
        if action == "import":
            return self._import(options["file"], options["partial"], options["no_progress"])
        if action == "expire":
            from partnerhub.deals.services import registrations_expire

            count = registrations_expire(on=options["on"])
            self.stdout.write(f"{count} registration(s) expired.")
        elif action == "match-orders":
            from partnerhub.deals.services import orders_match

            self.stdout.write(f"{orders_match()} registration(s) closed-won.")
        elif action == "schedule":
            from partnerhub.deals.tasks import next_daily_run, schedule_daily

            queued = schedule_daily()
            self.stdout.write(
                f"Daily deal run queued for {next_daily_run():%Y-%m-%d %H:%M}."
                if queued
                else "The daily deal run is already queued."
            )

    def _import(self, path: Path, partial: bool, no_progress: bool) -> None:
        from tqdm import tqdm

        from partnerhub.deals.imports import registration_rows, registrations_import
        from partnerhub.sales.imports import CsvError

        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        with (
            path.open("rb") as fh,
            tqdm(unit=" rows", disable=no_progress, file=self.stderr._out) as bar,
        ):
            try:
                report = registrations_import(
                    rows=registration_rows(fh), partial=partial, progress=bar
                )
            except CsvError as exc:
                raise CommandError(f"{path}: {exc}") from None
        for e in report.errors:
            self.stderr.write(f"{path}: row {e['row']}, {e['column'] or 'row'}: {e['message']}")
        if report.refused:
            raise CommandError(
                f"{len(report.errors)} error(s); nothing was imported (use --partial to import "
                "the good rows)."
            )
        self.stdout.write(
            f"{report.rows} rows: {report.created} imported ({report.submitted} submitted), "
            f"{report.unchanged} already there, {len(report.errors)} refused."
        )
