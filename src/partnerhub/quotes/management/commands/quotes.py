"""``partnerhub quotes expire [--on DATE]`` and ``partnerhub quotes schedule``."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Expire draft quotes past their validity; queue the daily run."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        exp = sub.add_parser("expire", help="Mark draft quotes past their validity as expired.")
        exp.add_argument(
            "--on",
            type=dt.date.fromisoformat,
            default=None,
            help="As of this day (YYYY-MM-DD, default today).",
        )
        sub.add_parser("schedule", help="Queue the daily expiry run.")

    def handle(self, *args, action, **options):
        if action == "expire":
            from partnerhub.quotes.services import quotes_expire

            self.stdout.write(f"{quotes_expire(on=options['on'])} quote(s) expired.")
        else:
            from partnerhub.quotes.tasks import next_daily_run, schedule_daily

            queued = schedule_daily()
            self.stdout.write(
                f"Daily quote run queued for {next_daily_run():%Y-%m-%d %H:%M}."
                if queued
                else "The daily quote run is already queued."
            )
