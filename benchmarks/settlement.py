"""Benchmark of the monthly site-host settlement: CSV import of a month's CDRs, then the full
month's set-based settlement of every partner, against a per-session Python loop over ORM
objects on a slice (extrapolated).

    .venv/bin/python benchmarks/settlement.py [--scale 1.0] [--database sqlite|postgres]
        [--baseline-sessions 20000] [--keep] [--seed 42] [--quiet] [--digest]
    .venv/bin/python benchmarks/settlement.py --rerun DATABASE_URL [--digest]

At --scale 1.0 (``benchmarks/settlement_data.py``): 10,000 partners, 50,000 charge points
(100,000 EVSEs, 1 % moving host mid-month), contracts with every option combination, and
10,000,000 sessions of October 2026 written as CSV in the agreed import format.

Timed:

- ``import``: ``partnerhub.charging.imports.import_sessions_csv`` of the whole CSV (target
  >= 100,000 sessions/s on SQLite);
- ``settlement``: ``settlements.services.settlement_run(month=2026-10)``: every statement, its
  statement lines summed from every session's figures, platform fees, VAT and totals (target
  < 30 s on SQLite and on PostgreSQL). The drafts' per-session lines are not written by the
  run (they are written on a draft's first read or at its finalisation, from the inputs the
  run kept);
- ``session_lines``: all of them written afterwards (``compute.materialise`` of every draft:
  what finalising the whole month does first), timed apart;
- ``baseline``: for a slice of sessions, a plain loop over ORM objects: per session, the
  contract in force and the electricity price looked up with the ORM, the figures computed in
  Decimal and the per-session lines bulk-inserted; extrapolated to all sessions.

Checks: every statement reconciles (Σ lines = net; partner + operator = shareable) and the
loop's figures equal the set-based ones on the slice.

``--rerun DATABASE_URL``: no build, no import, no baseline: the month's settlement alone, run
again on a database kept with ``--keep`` (e.g. ``sqlite:////tmp/partnerhub-bench-…/bench.sqlite3``
or ``postgres://…/partnerhub_bench_1234``), with the reconciliation check. ``--digest`` adds a
SHA-256 of every stored figure (statements and statement lines keyed by partner and month,
every per-session line in session order): equal digests before and after a change mean
identical results. CPU seconds are this process's; on PostgreSQL the server backend's CPU of
the run is added (``settlement_backend_cpu_seconds``, read from ``/proc`` when the server runs
on this machine and its process can be read), with the load averages before and after.

Prints one JSON object (progress goes to stderr).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402


def _r(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def baseline(limit: int) -> dict:
    """The straightforward way: one session at a time through the ORM."""
    from django.db import transaction
    from django.db.models import Q

    from partnerhub.charging.models import ChargingSession, ElectricityPrice
    from partnerhub.settlements.models import Contract, SessionSettlement

    month = dt.date(2026, 10, 1)
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    sessions = ChargingSession.objects.filter(
        start__gte=start, start__lt=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        partner__isnull=False,
    ).order_by("id")[:limit]  # fmt: skip
    out, figures = [], {}
    began = time.perf_counter()
    with transaction.atomic():
        for s in sessions:
            contract = (
                Contract.objects.filter(partner_id=s.partner_id, start_month__lte=month)
                .filter(Q(end_month__gte=month) | Q(auto_renew=True))
                .order_by("-start_month")
                .first()
            )
            price = (
                ElectricityPrice.objects.filter(
                    location_id=s.location_id, valid_from__lte=s.start.date()
                )
                .order_by("-valid_from")
                .first()
            )
            e = _r(Decimal(s.energy_wh) * (price.price_per_kwh if price else 0) / 10)
            if contract is None:
                p, sh = 0, s.total_excl_vat_minor
            else:
                x = s.connection_fee_minor if contract.exclude_connection_fee else 0
                sh = s.total_excl_vat_minor - x - (e if contract.deduct_electricity else 0)
                pct = (
                    contract.dc_share_percent
                    if s.current_type == "DC"
                    else contract.ac_share_percent
                )
                p = _r(sh * pct / 100)
            figures[s.pk] = (sh, p)
            out.append(
                SessionSettlement(
                    statement_id=None, session_id=s.pk, kind="revenue", original_month=month,
                    current_type=s.current_type, revenue_minor=s.total_excl_vat_minor,
                    electricity_minor=e, shareable_minor=sh, partner_share_minor=p,
                    operator_share_minor=sh - p,
                )
            )  # fmt: skip
        took = time.perf_counter() - began
        transaction.set_rollback(True)  # the lines have no statement: measured, not kept
    return {"seconds": took, "sessions": len(out), "figures": figures}


def backend_cpu_seconds() -> float | None:
    """CPU seconds (user + system) used so far by this connection's PostgreSQL backend, when
    the server runs on this machine and /proc shows it; None otherwise (and on SQLite, whose
    work is this process's own CPU time)."""
    import os

    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def timed_settlement(timings) -> tuple:
    """settlement_run(month=2026-10), timed (wall, this process's CPU, the PostgreSQL backend's
    CPU, load averages before and after)."""
    import os

    from partnerhub.settlements.services import settlement_run

    load_before = [round(x, 2) for x in os.getloadavg()]
    cpu_before = backend_cpu_seconds()
    with timings.time("settlement"):
        run_ = settlement_run(month="2026-10")
    cpu_after = backend_cpu_seconds()
    extra = {
        "settlement_backend_cpu_seconds": (
            None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 2)
        ),
        "settlement_load_average_before_after": [
            load_before,
            [round(x, 2) for x in os.getloadavg()],
        ],
    }
    return run_, extra


def timed_session_lines(timings) -> int:
    """Every draft's deferred per-session lines written (what finalising the month does
    first), in one transaction, timed."""
    from django.db import transaction

    from partnerhub.settlements.compute import materialise
    from partnerhub.settlements.models import Statement

    with timings.time("session_lines"), transaction.atomic():
        return materialise(
            Statement.objects.filter(session_lines_ready=False).values_list("pk", flat=True)
        )


def unreconciled_statements() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM settlements_statement st WHERE st.net_minor <> "
            "(SELECT COALESCE(SUM(l.amount_minor), 0) FROM settlements_statementline l "
            "WHERE l.statement_id = st.id) OR st.partner_share_minor + st.operator_share_minor "
            "<> st.shareable_minor"
        )
        return cursor.fetchone()[0]


def digest() -> dict:
    """SHA-256 of every stored figure: statements (by partner and month, without ids and
    timestamps), statement lines (keyed by their statement's partner and month, sorted) and
    every per-session line (keyed likewise, in session order). Ids differ between runs (drafts
    are recomputed), figures must not."""
    import hashlib

    from django.db import connection

    from partnerhub.settlements.models import SessionSettlement, Statement, StatementLine

    def columns(model, skip) -> list[str]:
        return [f.column for f in model._meta.concrete_fields if f.column not in skip]

    out = {}
    with connection.cursor() as cursor:
        st = columns(
            Statement,
            {"id", "created_at", "updated_at", "run_id", "finalised_at", "session_lines_ready"},
        )
        cursor.execute(
            f"SELECT {', '.join(st)} FROM settlements_statement ORDER BY partner_id, month"
        )
        out["statements"] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
        for name, model, table, order in (
            ("statement_lines", StatementLine, "settlements_statementline", None),
            ("session_lines", SessionSettlement, "settlements_sessionsettlement",
             "x.session_id, x.is_corporate, st.partner_id, st.month"),
        ):  # fmt: skip
            cols = ", ".join(f"x.{c}" for c in columns(model, {"id", "statement_id"}))
            cursor.execute(
                f"SELECT st.partner_id, st.month, {cols} FROM {table} x "
                "JOIN settlements_statement st ON st.id = x.statement_id"
                + (f" ORDER BY {order}" if order else "")
            )
            h, n = hashlib.sha256(), 0
            if order:
                while rows := cursor.fetchmany(20_000):
                    h.update(repr(rows).encode())
                    n += len(rows)
            else:
                rows = sorted(cursor.fetchall(), key=repr)
                h.update(repr(rows).encode())
                n = len(rows)
            out[name] = h.hexdigest()
            out[f"{name}_count"] = n
    return out


def main(argv=None) -> dict:
    def extra(p):
        p.add_argument("--baseline-sessions", type=int, default=20_000)
        p.add_argument(
            "--rerun",
            metavar="DATABASE_URL",
            help="only run the settlement again on a database kept with --keep",
        )
        p.add_argument("--digest", action="store_true", help="add a SHA-256 of every stored figure")

    args = common.arguments(__doc__.split("\n\n")[0], argv, extra)
    if args.rerun:
        return rerun(args)
    bench = common.setup_django(args.database, args.keep)
    try:
        return run(args, bench)
    finally:
        bench.cleanup()


def rerun(args) -> dict:
    """The settlement alone on a kept benchmark database (no build, import or baseline)."""
    import os

    os.environ["DATABASE_URL"] = args.rerun
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    src = str(common.ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    import django

    django.setup()
    from django.db import connection

    from partnerhub.charging.models import ChargingSession
    from partnerhub.settlements.models import Statement, StatementLine

    timings = common.Timings()
    run_, extra = timed_settlement(timings)
    written = timed_session_lines(timings)
    result = {
        "benchmark": "settlement (re-run on a kept database)",
        "database": connection.vendor,
        "machine": common.machine(),
        "sizes": {
            "sessions": ChargingSession.objects.count(),
            "statements": Statement.objects.count(),
            "statement_lines": StatementLine.objects.count(),
            "session_lines": run_.sessions,
        },
        "settlement_seconds": timings.seconds["settlement"],
        "settlement_cpu_seconds": timings.cpu_seconds["settlement"],
        **extra,
        "session_lines_written": written,
        "session_lines_seconds": timings.seconds["session_lines"],
        "settlement_steps_seconds": run_.step_seconds,
        "checks": {"unreconciled_statements": unreconciled_statements()},
    }
    if args.digest:
        result["digest"] = digest()
    connection.close()
    common.emit(result)
    if result["checks"]["unreconciled_statements"]:
        sys.exit("settlement benchmark: figures do not reconcile")
    return result


def run(args, bench) -> dict:
    from benchmarks import settlement_data as data
    from partnerhub.charging.imports import import_sessions_csv
    from partnerhub.charging.models import ChargingSession
    from partnerhub.settlements.models import SessionSettlement, Statement, StatementLine

    rng = random.Random(args.seed)
    n = data.sizes(args.scale)
    timings = common.Timings()
    folder = Path(tempfile.mkdtemp(prefix="partnerhub-settlement-"))
    with timings.time("build"):
        facts = data.build(rng, n, folder)
    with timings.time("import"):
        report = import_sessions_csv(facts["csv"])
    Path(facts["csv"]).unlink()
    if report.errors:
        common.log(f"import errors (first 3): {report.errors[:3]}")
    common.analyze()
    run_, extra = timed_settlement(timings)
    written = timed_session_lines(timings)
    with timings.time("baseline"):
        base = baseline(min(args.baseline_sessions, max(100, n["sessions"] // 10)))

    # Checks: reconciliation and the loop's figures against the set-based ones.
    unreconciled = unreconciled_statements()
    mine = {
        s: (sh, p)
        for s, sh, p in SessionSettlement.objects.filter(
            session_id__in=list(base["figures"])[:5000], is_corporate=False
        ).values_list("session_id", "shareable_minor", "partner_share_minor")
    }
    mismatches = sum(1 for s, v in mine.items() if base["figures"][s] != v)

    sessions = ChargingSession.objects.count()
    per_session = base["seconds"] / max(base["sessions"], 1)
    result = {
        "benchmark": "settlement",
        "scale": args.scale,
        "database": bench.vendor,
        "machine": common.machine(),
        "sizes": {
            **n,
            **{k: v for k, v in facts.items() if k != "csv"},
            "sessions_imported": report.created,
            "import_errors": len(report.errors),
            "statements": Statement.objects.count(),
            "statement_lines": StatementLine.objects.count(),
            "session_lines": run_.sessions,
        },
        "seconds": timings.seconds,
        "cpu_seconds": timings.cpu_seconds,
        "import_sessions_per_second": round(report.created / max(timings.seconds["import"], 1e-9)),
        "settlement_seconds": timings.seconds["settlement"],
        **extra,
        "settlement_steps_seconds": run_.step_seconds,
        "session_lines_written": written,
        "session_lines_seconds": timings.seconds["session_lines"],
        "settlement_sessions_per_second": round(
            sessions / max(timings.seconds["settlement"], 1e-9)
        ),
        "baseline": {
            "sessions": base["sessions"],
            "seconds": round(base["seconds"], 3),
            "extrapolated_seconds": round(per_session * sessions, 1),
        },
        "speedup": round(per_session * sessions / max(timings.seconds["settlement"], 1e-9), 1),
        "checks": {
            "unreconciled_statements": unreconciled,
            "baseline_mismatches": mismatches,
            "baseline_compared": len(mine),
        },
        "targets": {
            "import_sessions_per_second": 100_000,
            "settlement_seconds": 30,
        },
    }
    if args.digest:
        result["digest"] = digest()
    common.emit(result)
    if unreconciled or mismatches:
        sys.exit("settlement benchmark: figures do not reconcile")
    return result


if __name__ == "__main__":
    main()
