"""``partnerhub settlements run --month 2026-10 [--finalise]`` and
``partnerhub settlements export --statement ST-2026-00001|ID --format pdf|csv|sessions-csv
[--output FILE]``."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a month's settlement; export a statement as PDF or CSV."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Recompute a month's drafts for every partner.")
        run.add_argument("--month", required=True, help="YYYY-MM")
        run.add_argument("--finalise", action="store_true", help="Then number and freeze them.")
        exp = sub.add_parser("export", help="Write a statement as PDF or CSV.")
        exp.add_argument("--statement", required=True, help="Its number (ST-...) or id.")
        exp.add_argument("--format", choices=["pdf", "csv", "sessions-csv"], default="pdf")
        exp.add_argument("--output", type=Path, default=None, help="File (default: stdout).")

    def handle(self, *args, action, **options):
        from partnerhub.core.errors import ServiceError

        try:
            if action == "run":
                return self._run(options["month"], options["finalise"])
            return self._export(options["statement"], options["format"], options["output"])
        except ServiceError as exc:
            raise CommandError(f"{exc.field or 'error'}: {exc.message}") from None

    def _run(self, month: str, finalise: bool) -> None:
        import time

        from partnerhub.settlements.services import settlement_run

        started = time.perf_counter()
        run = settlement_run(month=month, finalise=finalise)
        self.stdout.write(
            f"{run.month:%Y-%m}: {run.statements} statement(s), {run.sessions} session line(s), "
            f"{run.adjustments} late session(s) as adjustments, {run.skipped_final} already "
            f"final, {run.finalised} finalised ({time.perf_counter() - started:.1f} s)."
        )

    def _export(self, ref: str, fmt: str, output: Path | None) -> None:
        from partnerhub.settlements import exports
        from partnerhub.settlements.models import Statement

        qs = Statement.objects.select_related("partner", "contract")
        statement = qs.filter(number=ref).first()
        if statement is None and ref.isdigit():
            statement = qs.filter(pk=int(ref)).first()
        if statement is None:
            raise CommandError(f"No statement {ref}.")
        if fmt == "pdf":
            data = exports.statement_pdf(statement)
        elif fmt == "csv":
            data = exports.statement_csv(statement).encode()
        else:
            data = "".join(exports.sessions_csv(statement)).encode()
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            output.write_bytes(data)
            self.stdout.write(f"Wrote {output} ({len(data)} bytes).")
