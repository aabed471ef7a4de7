"""``partnerhub console refresh-health [--on DATE] [--queue]``: rebuild the program health
snapshot the console home reads (now, or queued for the worker)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Vendor console maintenance: rebuild the program health snapshot."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh-health", help="Rebuild the program health snapshot.")
        refresh.add_argument(
            "--on",
            type=dt.date.fromisoformat,
            default=None,
            help="As of this day (YYYY-MM-DD, default today).",
        )
        refresh.add_argument(
            "--queue", action="store_true", help="Queue it for the worker instead of now."
        )

    def handle(self, *args, action, **options):
        if options["queue"]:
            from partnerhub.console.tasks import refresh_program_health

            on = options["on"]
            refresh_program_health.enqueue(on=on.isoformat() if on else None)
            self.stdout.write("Program health refresh queued.")
            return
        from partnerhub.console.services import program_health_refresh

        snapshot = program_health_refresh(on=options["on"])
        self.stdout.write(
            f"Program health as of {snapshot.as_of:%Y-%m-%d} stored "
            f"({snapshot.duration_ms / 1000:.1f} s)."
        )
