"""``partnerhub mdf expire [--as-of DATE]`` and ``partnerhub mdf schedule``."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Expire unused market development funds at the end of each period."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        exp = sub.add_parser("expire", help="Expire the unused MDF of the periods that ended.")
        exp.add_argument(
            "--as-of",
            dest="as_of",
            type=dt.date.fromisoformat,
            default=None,
            help="As of this day (YYYY-MM-DD, default today): periods ended before it.",
        )
        sub.add_parser("schedule", help="Queue the daily expiry run.")

    def handle(self, *args, action, **options):
        if action == "expire":
            from partnerhub.mdf.services import mdf_expire

            runs = mdf_expire(as_of=options["as_of"])
            if not runs:
                self.stdout.write("Nothing to expire: every ended period is done.")
            for run in runs:
                self.stdout.write(
                    f"{run.program.key}: {run.period_start} to {run.period_end}, "
                    f"{run.partners} partner(s) had unused funds expired."
                )
        elif action == "schedule":
            from partnerhub.mdf.tasks import next_daily_run, schedule_daily

            queued = schedule_daily()
            self.stdout.write(
                f"Daily MDF expiry queued for {next_daily_run():%Y-%m-%d %H:%M}."
                if queued
                else "The daily MDF expiry is already queued."
            )
