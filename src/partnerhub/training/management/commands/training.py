"""``partnerhub training import-completions FILE [--partial] [--no-progress]``,
``partnerhub training expiring [--days 90] [--partner ID]`` and
``partnerhub training award [--certification KEY]``."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = -1
    if not 0 <= days <= 3660:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 3660, not '{value}'")
    return days


class Command(BaseCommand):
    help = "Import LMS completions, list expiring certifications, award certifications."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser(
            "import-completions",
            help="Import an LMS export (CSV); all-or-nothing unless --partial.",
        )
        imp.add_argument("file", type=Path)
        imp.add_argument(
            "--partial", action="store_true", help="Store the good rows, report the bad ones."
        )
        imp.add_argument("--no-progress", action="store_true", help="No progress bar.")
        exp = sub.add_parser("expiring", help="Certifications whose validity ends soon.")
        exp.add_argument("--days", type=_days, default=90, help="Within this many days (90).")
        exp.add_argument("--partner", type=int, default=None, help="Only this partner id.")
        award = sub.add_parser(
            "award", help="Award certifications from stored completions (after rule changes)."
        )
        award.add_argument("--certification", default=None, help="Only this certification key.")

    def handle(self, *args, action: str, **options):
        getattr(self, "handle_" + action.replace("-", "_"))(**options)

    def handle_import_completions(self, *, file: Path, partial: bool, no_progress: bool, **opts):
        from tqdm import tqdm

        from partnerhub.training.imports import csv_import

        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: cannot read: {exc.strerror or exc}") from None
        show = not no_progress and opts.get("verbosity", 1) > 0
        bars: list = []

        def on_total(n: int) -> None:
            bars.append(tqdm(total=n, unit="row", disable=not show, file=self.stderr._out))

        def progress(n: int) -> None:
            if bars:
                bars[0].update(n)

        report = csv_import(data=data, partial=partial, progress=progress, on_total=on_total)
        for bar in bars:
            bar.close()
        for error in report.errors:
            self.stderr.write(f"{file}: {error}")
        if report.refused:
            self.stderr.write(self.style.ERROR(f"{file}: {report.summary()}"))
            raise CommandError(f"{file}: import refused ({len(report.errors)} errors)")
        self.stdout.write(self.style.SUCCESS(f"{file}: {report.summary()}"))

    def handle_expiring(self, *, days: int, partner: int | None, **opts):
        from partnerhub.partners.models import Partner
        from partnerhub.training.selectors import expiring_certifications

        scope = None
        if partner is not None:
            scope = Partner.objects.filter(pk=partner).first()
            if scope is None:
                raise CommandError(f"No partner with id {partner}.")
        today = timezone.localdate()
        rows = list(expiring_certifications(on=today, days=days, partner=scope))
        self.stdout.write(
            f"{len(rows)} certifications expire within {days} days of {today.isoformat()}:"
        )
        for pc in rows:
            last_day = pc.expires_on - dt.timedelta(days=1)
            self.stdout.write(
                f"  valid through {last_day.isoformat()}  {pc.partner.display_name} "
                f"(id {pc.partner_id})  {pc.person.email}  {pc.certification.key}"
            )

    def handle_award(self, *, certification: str | None, **opts):
        from partnerhub.training.models import Certification
        from partnerhub.training.services import certifications_award

        certs = None
        if certification:
            certs = list(Certification.objects.filter(key=certification))
            if not certs:
                raise CommandError(f"No certification with key '{certification}'.")
        awarded = certifications_award(certifications=certs)
        self.stdout.write(f"{len(awarded)} certifications awarded.")
