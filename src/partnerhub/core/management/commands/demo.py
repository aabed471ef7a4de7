"""``partnerhub demo``: build the demo data set (once) and print the demo logins."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from partnerhub.core.demo import EXAMPLES_DIR, DemoError, build_demo


class Command(BaseCommand):
    help = (
        "Load the example programs and build a demo data set of ~200 partners with staff, "
        "contacts and users; does nothing more when it exists. Prints the demo logins."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--programs",
            type=Path,
            default=EXAMPLES_DIR,
            help=f"Directory of program YAML files to load (default: {EXAMPLES_DIR}).",
        )

    def handle(self, *args, programs: Path, **options):
        verbose = options.get("verbosity", 1) >= 1
        try:
            result = build_demo(stdout=self.stdout if verbose else None, programs_dir=programs)
        except DemoError as exc:
            raise CommandError(str(exc)) from None
        if verbose:
            summary = ", ".join(f"{n} {label}" for label, n in result.counts.items())
            self.stdout.write(
                self.style.SUCCESS("Demo data built: " if result.created else "Demo data: ")
                + summary
            )
        rows = [("E-mail", "Password", "Role", "Organisation")] + [
            (login.email, login.password, login.role, login.organisation) for login in result.logins
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        self.stdout.write("")
        for index, row in enumerate(rows):
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
            if index == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        self.stdout.write("")
        self.stdout.write(
            "Sign in at /login/: vendor staff land on the console (/console/), partner users on "
            "the portal (/portal/); the public partner directory is at /partners/."
        )
