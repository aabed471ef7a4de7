"""``partnerhub webhooks deliver`` (dispatch new events and post what is due, once) and
``partnerhub webhooks schedule`` (start the background tick that does it every 30 s)."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Deliver domain events to webhook endpoints."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("deliver", help="Dispatch new events and post the due deliveries, once.")
        sub.add_parser("schedule", help="Queue the background delivery tick (every 30 s).")

    def handle(self, *args, action, **options):
        if action == "deliver":
            from partnerhub.webhooks.services import tick

            created, attempted = tick()
            self.stdout.write(
                f"{created} new deliveries; {attempted} attempted (see their status in the API)."
            )
        else:
            from partnerhub.webhooks.tasks import INTERVAL_SECONDS, schedule

            queued = schedule()
            self.stdout.write(
                f"Webhook delivery queued every {INTERVAL_SECONDS} s."
                if queued
                else "Webhook delivery is already queued."
            )
