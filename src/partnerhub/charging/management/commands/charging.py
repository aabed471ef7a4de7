"""Charging from the command line:

- ``partnerhub charging import FILE [--format csv|ocpi] [--all-or-nothing] [--no-progress]``:
  import charging sessions from a CSV file or a JSON file of OCPI CDRs
  (docs/charging-import.md). Exits with status 1 when rows were refused (the good ones are
  stored unless ``--all-or-nothing``).
- ``partnerhub charging refresh-hosts``: set each charge point's current host from its hosting
  history (future-dated moves take effect); ``partnerhub charging schedule`` queues the daily
  background run that does it.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

MAX_LISTED_ERRORS = 1000


class Command(BaseCommand):
    help = "Charging sessions: import CSV or OCPI CDR JSON files."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import sessions; idempotent by CDR id.")
        imp.add_argument("file", type=Path)
        imp.add_argument(
            "--format",
            choices=["csv", "ocpi"],
            default=None,
            help="csv or ocpi (CDR JSON); by default from the file name (.json = ocpi).",
        )
        imp.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="Store nothing when any row is refused (default: store the good rows).",
        )
        imp.add_argument("--no-progress", action="store_true", help="No progress bar.")
        sub.add_parser("refresh-hosts", help="Set current hosts from the hosting history, now.")
        sub.add_parser("schedule", help="Queue the daily host refresh (runs with the worker).")

    def handle(self, *args, action, **options):
        if action == "import":
            self._import(
                options["file"],
                options["format"],
                partial=not options["all_or_nothing"],
                progress=not options["no_progress"],
            )
        elif action == "refresh-hosts":
            from partnerhub.charging.services import hostings_refresh

            self.stdout.write(f"{hostings_refresh()} charge point(s) changed host.")
        elif action == "schedule":
            from partnerhub.charging.tasks import schedule_daily

            queued = schedule_daily()
            self.stdout.write("Daily host refresh queued." if queued else "Already queued.")

    def _import(self, path: Path, fmt: str | None, *, partial: bool, progress: bool) -> None:
        from tqdm import tqdm

        from partnerhub.charging.imports import (
            import_sessions_csv,
            import_sessions_ocpi,
            load_ocpi_file,
        )
        from partnerhub.charging.ocpi import OcpiValidationError

        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        fmt = fmt or ("ocpi" if path.suffix.lower() == ".json" else "csv")
        with tqdm(
            unit=" rows", disable=not progress, file=self.stderr._out, mininterval=0.5
        ) as bar:
            if fmt == "csv":
                report = import_sessions_csv(path, progress=bar, partial=partial)
            else:
                try:
                    data = load_ocpi_file(path)
                except (ValueError, OcpiValidationError) as exc:
                    raise CommandError(f"{path}: not JSON: {exc}") from None
                except UnicodeDecodeError:
                    raise CommandError(f"{path}: not UTF-8 text") from None
                if not isinstance(data, list | dict):
                    raise CommandError(f"{path}: expected a CDR object or a list of CDRs")
                report = import_sessions_ocpi(data, partial=partial, progress=bar)
        what = "line" if fmt == "csv" else "CDR"
        for error in report.errors[:MAX_LISTED_ERRORS]:
            self.stderr.write(
                f"{path}: {what} {error.row}, {error.field or 'row'}: {error.message}"
            )
        if len(report.errors) > MAX_LISTED_ERRORS:
            self.stderr.write(f"... and {len(report.errors) - MAX_LISTED_ERRORS} more errors.")
        if report.refused:
            hint = " (leave out --all-or-nothing to import the good rows)" if not partial else ""
            raise CommandError(f"{len(report.errors)} error(s); nothing was imported{hint}.")
        self.stdout.write(
            f"{report.rows} rows: {report.created} imported, {report.skipped} already there, "
            f"{report.flagged} flagged over a corporate limit, {len(report.errors)} refused"
            f" ({report.drivers_created} new drivers)."
        )
        if report.errors:
            raise CommandError(f"{len(report.errors)} row(s) refused; the others were imported.")
