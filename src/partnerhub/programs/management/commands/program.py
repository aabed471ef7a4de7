"""``partnerhub program load FILE [FILE...]`` and ``partnerhub program check FILE``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from partnerhub.core.errors import ServiceError
from partnerhub.programs.schema import ProgramInvalid, parse_program
from partnerhub.programs.services import program_load


class Command(BaseCommand):
    help = "Load (or only check) partner program YAML files."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "load", help="Validate and store a new version when the file changed."
        )
        load.add_argument("files", nargs="+", type=Path)
        check = sub.add_parser("check", help="Validate only; store nothing.")
        check.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, action: str, files: list[Path], **options):
        failed = 0
        for path in files:
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: cannot read: {exc}") from None
            try:
                if action == "check":
                    spec = parse_program(source)
                    self.stdout.write(f"{path}: valid ({spec.key}, {len(spec.tracks)} tracks)")
                    continue
                result = program_load(source=source)
            except ServiceError as exc:
                failed += 1
                self.stderr.write(self.style.ERROR(f"{path}: {exc.message}"))
                continue
            except ProgramInvalid as exc:
                failed += 1
                verdict = "invalid" if action == "check" else "refused, nothing stored"
                self.stderr.write(self.style.ERROR(f"{path}: {verdict}:"))
                for error in exc.errors:
                    self.stderr.write(
                        f"  {path}:{error.line or '?'}: {error.path or '(top)'}: {error.message}"
                    )
                continue
            version = result.version
            if result.created:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{path}: loaded {version.program.key} version {version.number} "
                        f"(effective {version.effective_from})"
                    )
                )
            else:
                self.stdout.write(
                    f"{path}: unchanged ({version.program.key} version {version.number})"
                )
        if failed:
            raise CommandError(f"{failed} file(s) {'invalid' if action == 'check' else 'refused'}")
