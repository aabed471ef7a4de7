"""``partnerhub tiers evaluate|simulate|explain|schedule``: the tier engine from the shell."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Evaluate partner tiers, simulate a candidate program, explain a partner's standing."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        ev = sub.add_parser("evaluate", help="Evaluate every partner's tier as of a date.")
        ev.add_argument("--as-of", type=_date, default=None, help="YYYY-MM-DD (default: today)")
        ev.add_argument(
            "--dry-run", action="store_true", help="Show what would change; write nothing."
        )
        ev.add_argument("--program", help="Only this program key.")
        ev.add_argument("--no-progress", action="store_true")
        sim = sub.add_parser("simulate", help="Evaluate a candidate program file without writing.")
        sim.add_argument("--program", required=True, type=Path, help="Candidate program YAML file.")
        sim.add_argument("--as-of", type=_date, default=None)
        sim.add_argument("--json", action="store_true", help="Print the report as JSON.")
        ex = sub.add_parser("explain", help="Show a partner's requirements and gaps.")
        ex.add_argument("partner_id", type=int)
        ex.add_argument("--as-of", type=_date, default=None)
        sub.add_parser("schedule", help="Queue the nightly evaluation task (idempotent).")

    def handle(self, *args, action: str, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_evaluate(self, *, as_of, dry_run, program, no_progress, **options):
        from tqdm import tqdm

        from partnerhub.programs.models import Program
        from partnerhub.tiers.services import tiers_evaluate

        as_of = as_of or timezone.localdate()
        prog = None
        if program:
            prog = Program.objects.filter(key=program).first()
            if prog is None:
                raise CommandError(f"No program with key '{program}'.")
        bar = tqdm(
            total=0,
            unit="membership",
            disable=no_progress or options.get("verbosity", 1) == 0,
            file=self.stderr._out,
        )

        def on_total(n):
            bar.total = (bar.total or 0) + n
            bar.refresh()

        summary = tiers_evaluate(
            as_of=as_of, dry_run=dry_run, program=prog, progress=bar.update, on_total=on_total
        )
        bar.close()
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            f"Evaluated {summary.memberships} memberships as of {as_of.isoformat()}: "
            f"{len(summary.changes)} tier changes {verb}."
        )
        for change in summary.changes[:50] if dry_run else []:
            self.stdout.write(
                f"  partner {change['partner_id']} {change['program']}/{change['track']}: "
                f"{change['from'] or '-'} → {change['to']} "
                f"({change['kind']}, {change['effective_on']})"
            )
        if dry_run and len(summary.changes) > 50:
            self.stdout.write(f"  … and {len(summary.changes) - 50} more")

    def handle_simulate(self, *, program: Path, as_of, json: bool = False, **options):
        from partnerhub.programs.schema import ProgramInvalid
        from partnerhub.tiers.simulate import simulate

        as_of = as_of or timezone.localdate()
        try:
            report = simulate(source=program.read_text(encoding="utf-8"), as_of=as_of)
        except ProgramInvalid as exc:
            for error in exc.errors:
                self.stderr.write(f"{program}:{error.line or '?'}: {error.path}: {error.message}")
            raise CommandError("the candidate program is invalid") from None
        except OSError as exc:
            raise CommandError(f"{program}: {exc}") from None
        if json:
            self.stdout.write(_json(report))
            return
        self.stdout.write(report.as_text())

    def handle_explain(self, *, partner_id: int, as_of, **options):
        from partnerhub.partners.models import Partner
        from partnerhub.tiers.selectors import explain

        partner = Partner.objects.filter(pk=partner_id).first()
        if partner is None:
            raise CommandError(f"No partner with id {partner_id}.")
        for track in explain(partner=partner, as_of=as_of):
            self.stdout.write(
                f"{partner.display_name} — {track.program}/{track.track}: {track.current_tier_name}"
                + (f" since {track.since}, held until {track.held_until}" if track.since else "")
            )
            for tier in (track.current, track.next):
                if tier is None:
                    continue
                self.stdout.write(f"  {tier.tier_name}: {'all met' if tier.met else 'not yet met'}")
                for req in tier.requirements:
                    for line in _requirement_lines(req):
                        self.stdout.write(f"    {line}")

    def handle_schedule(self, **options):
        from partnerhub.tiers.tasks import next_nightly_run, schedule_nightly

        if schedule_nightly():
            self.stdout.write(f"Nightly evaluation queued for {next_nightly_run().isoformat()}.")
        else:
            self.stdout.write("The nightly evaluation is already queued.")


def _requirement_lines(req: dict, indent: str = "") -> list[str]:
    if req["kind"] == "any":
        head = f"{indent}[{'x' if req['met'] else ' '}] {req['label']}"
        return [head] + [
            line for item in req["items"] for line in _requirement_lines(item, indent + "  ")
        ]
    mark = "x" if req["met"] else " "
    if req["met"]:
        tail = f"met on {req['met_on']}" if req["met_on"] else "met"
    else:
        tail = f"missing {req['gap']}"
    return [f"{indent}[{mark}] {req['label']}: {req['value']} of {req['threshold']} ({tail})"]


def _json(report) -> str:
    return json.dumps(report.as_dict(), indent=2, default=str)
