"""Benchmark of the dashboard pages: server time of the partner portal and vendor console pages
with the benchmark data sizes, rendered in process, against a plain baseline.

    .venv/bin/python benchmarks/dashboards.py [--scale 1.0] [--database sqlite|postgres]
        [--renders 20] [--warmup 2] [--profile PAGE] [--keep] [--seed 42] [--quiet]

At --scale 1.0 it builds, deterministically (``random.Random(--seed)``):

- everything ``benchmarks/tiers.py`` builds, with its own builder (``tiers.build``): the
  ev-hardware program, 100,000 active partners in the var / distributor / contractor tracks
  (log-normal sizes), 200,000 customers, 10,000,000 billing lines over the two years up to
  D = 2026-01-15, 2,000,000 people with 5,000,000 person certifications, the evidence item —
  but not its stand-in deals table (real registrations are loaded instead, below);
- 1,000,000 deal registrations (``deals_dealregistration``) with 1.3 products each: the customer
  names, websites, e-mails and normalised identities of ``benchmarks/deal_conflicts.py``
  (``make_customers``, ``registration_rows``: 450,000 customer organisations, real and
  generated names, typos), the registering partner drawn in proportion to its size^0.8 (as
  tiers.py's deals), submitted over the 700 days before D in that order (``submission_seq``).
  Statuses follow the workflow's clock: a registration still waits for review only if it was
  submitted in the last 14 days (older ones were approved, 75 %, or rejected); an approved
  one is protected 30 days from its approval and has expired since unless won or lost. About
  1,700 wait in the review queue and 26,000 are protected on D. For the waiting ones, what
  submission stores is stored: their earlier active registrations of the same customer found
  by the real conflict check (``DealConflict``) and the flag (68 conflicts at seed 42);
- then ``tiers_evaluate(as_of=D)`` (the real deal metrics count these registrations), so that
  every partner has its tier, its history and the console its tier counts;
- then the program health snapshot (``console.services.program_health_refresh``), which the
  task queued after every evaluation run computes; its time is ``build_seconds.program_health``;
- users: a program admin, and one sales user each for the largest partner (by billings) and
  for a typical one (the median size).

The clock of the process is frozen at D 12:00 UTC while the pages render
(``django.utils.timezone.now``), so "today", the fiscal year and the last 12 months are those
of the data on every run.

Then, in process with Django's test ``Client`` (``DEBUG`` off, the settings as shipped:
``CONN_MAX_AGE`` 0, so every request opens its database connection as in production), after
``--warmup`` renders, ``--renders`` renders of each page:

- ``portal_dashboard_large`` / ``portal_dashboard_typical``: /portal/ (tier progress of every
  requirement, billings chart of 12 months, pipeline, expiring certifications, recent deals);
- ``portal_deals_large``: /portal/deals/ (first page of the largest partner's registrations);
- ``console_home``: /console/ (program health) as the program admin: partners per tier now and
  over 12 months, the deal pipeline, the top partners by billings (read from the snapshot),
  the review counts (live);
- ``console_partners``: /console/partners/ (first page of 100,000 partners, with filters);
- ``console_partner_360``: /console/partners/<largest>/ (tiers explained, history, deals);
- ``console_review_queue``: /console/deals/review/ (the oldest 25 submitted registrations, each
  with its stored conflicts side by side, and the pending extension requests).

Baselines in the same run: the sign-in page (``/login/``, static: no query) and one
primary-key JSON read (``GET /api/v1/partners/<id>`` as the program admin). Reported per page:
p50 / p95 / max / mean wall ms, p50 CPU ms of this process (on SQLite that includes the
database work), p50 ms spent in SQL, SQL queries per render, the three slowest statements,
response bytes, and whether p95 is under the issue's 300 ms. ``--profile PAGE`` prints a
cProfile of one render of that page to stderr. ``--keep`` keeps the database; ``--reuse DB``
renders again against a kept one without building (after applying new migrations).

Prints one JSON object (progress goes to stderr); exits 1 if a page does not answer 200 with
its content.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import os
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common, deal_conflicts, tiers  # noqa: E402

D = tiers.AS_OF
FULL = {"registrations": 1_000_000, "deal_customers": 450_000}
REVIEW_DAYS = 14  # a submission older than this has been decided
PROTECTION_DAYS = 30  # the entry tiers' deal_protection_days in ev-hardware.yaml
TARGET_MS = 300.0
SQL_CHARS = 240  # of each slow statement in the report


# --- data -------------------------------------------------------------------------------------


def registration_rows(rng: random.Random, rows, sizes: list[float], program_id: int):
    """deal_conflicts' rows, for this program, with the partner drawn by size^0.8, amounts in
    USD, and the workflow's dates (submission day and order, approval, protection, closing)."""
    rnd = rng.random
    cumulative = list(itertools.accumulate(s**0.8 for s in sizes))
    weight, last = cumulative[-1], len(cumulative) - 1
    today = D.toordinal()
    for row in rows:
        (rid, _, _, name, website, country, email, norm, key, domain, email_domain, value, _,
         close, source, status, submitted) = row  # fmt: skip
        partner = min(bisect.bisect(cumulative, rnd() * weight), last) + 1
        submitted_on = approved_on = protected_until = closed_on = seq = days = None
        if status != "draft":
            seq = rid
            submitted_day = dt.date.fromisoformat(submitted[:10]).toordinal()
            submitted_on = submitted[:10]
            age = today - submitted_day
            if status == "submitted" and age > REVIEW_DAYS:
                status = "approved" if rnd() < 0.75 else "rejected"
            if status in ("approved", "won", "lost", "expired"):
                approved = min(today, submitted_day + 1 + int(rnd() * 7))
                until = approved + PROTECTION_DAYS - 1
                if status == "expired" and until >= today:
                    status = "approved"  # still protected on D
                if status == "approved" and until < today:
                    status = "expired"
                if status == "expired":
                    closed_on = dt.date.fromordinal(until + 1).isoformat()
                elif status in ("won", "lost"):
                    closed = min(today, approved + int(rnd() * 60))
                    closed_on = dt.date.fromordinal(closed).isoformat()
                approved_on = dt.date.fromordinal(approved).isoformat()
                protected_until = dt.date.fromordinal(until).isoformat()
                days = PROTECTION_DAYS
        yield (
            rid, partner, program_id, name, website, country, email, norm, key, domain,
            email_domain, value, "USD", close, source, status, submitted, submitted_on, seq,
            approved_on, days, protected_until, closed_on,
        )  # fmt: skip


REGISTRATION_FIELDS = [
    "id", "partner", "program", "customer_name", "customer_website", "customer_country",
    "contact_email", "name_norm", "name_key", "domain_key", "email_domain_key",
    "estimated_value_minor", "currency", "expected_close_date", "source", "status",
    "submitted_at", "submitted_on", "submission_seq", "approved_on", "protection_days",
    "protected_until", "closed_on",
]  # fmt: skip


def product_rows(rng: random.Random, registrations: int, products: list[int]):
    """One product per registration, a second one for 30 %."""
    rnd = rng.random
    row_id = 0
    for rid in range(1, registrations + 1):
        first = int(rnd() * len(products))
        row_id += 1
        yield (row_id, rid, products[first], 1 + int(rnd() * 20))
        if rnd() < 0.3:
            second = (first + 1 + int(rnd() * (len(products) - 1))) % len(products)
            row_id += 1
            yield (row_id, rid, products[second], 1 + int(rnd() * 5))


def stored_conflicts(DealRegistration) -> int:
    """What submission stores (``deals.services.registration_submit``) for the registrations
    waiting for review: the earlier active registrations of the same customer, found with the
    real conflict check, as ``DealConflict`` rows, and the flag. The review queue shows them."""
    from decimal import Decimal

    from partnerhub.deals.models import DealConflict, DealStatus
    from partnerhub.deals.services import conflicts_for, identity_of

    rows, flagged = [], []
    for reg in DealRegistration.objects.filter(status=DealStatus.SUBMITTED).order_by("pk"):
        hits = [
            h
            for h in conflicts_for(identity_of(reg), exclude_id=reg.pk)
            if (h.registration.submission_seq or 0) < (reg.submission_seq or 0)
        ]
        if hits:
            flagged.append(reg.pk)
        rows += [
            DealConflict(
                registration=reg,
                other=h.registration,
                score=Decimal(str(round(h.result.score, 1))),
                fields=h.result.as_dict()["fields"],
            )
            for h in hits
        ]
    DealConflict.objects.bulk_create(rows, batch_size=1000)
    DealRegistration.objects.filter(pk__in=flagged).update(flagged=True)
    common.log(f"stored {len(rows)} conflicts, {len(flagged)} waiting registrations flagged")
    return len(rows)


def analyze_tables(models) -> None:
    """Planner statistics for the tables loaded or written after tiers.build's ANALYZE (and the
    visibility map on PostgreSQL, as autovacuum would)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA analysis_limit=1000")
                cursor.execute(f'ANALYZE "{table}"')
            else:
                cursor.execute(f'VACUUM ANALYZE "{table}"')


def build(args, timings: common.Timings) -> dict:
    from django.db import connection

    from partnerhub.accounts.models import PartnerRole, StaffRole, User
    from partnerhub.deals import matching
    from partnerhub.deals.models import DealConflict, DealProduct, DealRegistration
    from partnerhub.partners.models import Partner, PartnerUser
    from partnerhub.sales.models import Product
    from partnerhub.tiers.models import PartnerTier, TierChange
    from partnerhub.tiers.services import tiers_evaluate

    # tiers.py's data, without its stand-in deals table (at most 10 rows, never read here).
    tiers.FULL = {**tiers.FULL, "deals": 0}
    built = tiers.build(args, timings)
    plan, n = built["plan"], built["n"]
    program = built["program"]
    rng = random.Random(args.seed + 7)
    counts = {key: common.scaled(value, args.scale, 10) for key, value in FULL.items()}

    with timings.time("build.deal_customers"):
        names = deal_conflicts.Names(random.Random(args.seed + 8))
        customers = deal_conflicts.make_customers(rng, counts["deal_customers"], names, matching)
    with timings.time("build.registrations"):
        products = sorted(Product.objects.values_list("pk", flat=True))
        loader = common.BulkLoader()
        conflicts_args = type("Args", (), {"all_active": False})()
        out = {"active": {}, "inactive": {}, "program": program.pk}
        dn = {"registrations": counts["registrations"], "partners": n["partners"]}
        with common.load_mode():
            dropped = common.drop_indexes([DealRegistration, DealProduct])
            rows = deal_conflicts.registration_rows(
                rng, conflicts_args, dn, customers, matching, connection.vendor, out
            )
            loader.load(
                DealRegistration,
                REGISTRATION_FIELDS,
                registration_rows(rng, rows, plan.sizes, program.pk),
            )
            loader.load(
                DealProduct,
                ["id", "registration", "product", "quantity"],
                product_rows(rng, counts["registrations"], products),
            )
    del customers, out
    with timings.time("build.registration_indexes"), common.load_mode():
        common.create_indexes(dropped)
        common.reset_sequences([DealRegistration, DealProduct])
    analyze_tables([DealRegistration, DealProduct])

    with timings.time("build.conflicts"):
        stored_conflicts(DealRegistration)

    with timings.time("build.tiers_evaluate"):
        tiers_evaluate(as_of=D)
    analyze_tables([PartnerTier, TierChange, DealConflict])

    # What the task queued after the evaluation run does (console.tasks.refresh_program_health;
    # no worker runs here): the program health snapshot the console home reads.
    with timings.time("build.program_health"):
        from partnerhub.console.services import program_health_refresh

        program_health_refresh(on=D)

    with timings.time("build.users"):
        by_size = sorted(range(len(plan.sizes)), key=lambda i: plan.sizes[i])
        large_id = by_size[-1] + 1
        typical_id = by_size[len(by_size) // 2] + 1
        # No password (the renders sign in with force_login): no slow hashing here.
        admin = User.objects.create_user(
            "admin@vendor.bench", None, staff_role=StaffRole.PROGRAM_ADMIN, is_staff=True
        )
        users = {"admin": admin}
        for label, partner_id in (("large", large_id), ("typical", typical_id)):
            user = User.objects.create_user(f"sales@{label}.bench", None)
            PartnerUser.objects.create(user=user, partner_id=partner_id, role=PartnerRole.SALES)
            users[label] = user
    partners = {
        "large": Partner.objects.get(pk=large_id),
        "typical": Partner.objects.get(pk=typical_id),
    }
    return {"program": program, "n": n, "counts": counts, "users": users, "partners": partners}


# --- the renders ------------------------------------------------------------------------------


def freeze_clock(day: dt.date):
    """Make ``django.utils.timezone.now`` (and so ``localdate``) answer ``day`` 12:00 UTC;
    returns the function that undoes it."""
    from django.utils import timezone

    frozen = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    real = timezone.now
    timezone.now = lambda: frozen
    return lambda: setattr(timezone, "now", real)


class QueryCounter:
    """Counts the SQL queries of a render and times each (the slowest are reported)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.timed: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timed.append(((time.perf_counter() - start) * 1000, sql))


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(p: float) -> float:  # nearest rank: with 20 renders p95 is the 19th, not the max
        return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)], 2)

    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": at(0.95),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


def render(client, url: str, expect: str, counter: QueryCounter, renders: int, warmup: int):
    problems = []
    for _ in range(warmup):
        client.get(url)
    wall, cpu, queries, sql_ms = [], [], [], []
    slowest: dict[str, list[float]] = {}
    size = 0
    for _ in range(renders):
        counter.reset()
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        queries.append(counter.count)
        sql_ms.append(sum(ms for ms, _ in counter.timed))
        for ms, sql in counter.timed:
            slowest.setdefault(" ".join(sql.split())[:SQL_CHARS], []).append(ms)
        size = len(response.content)
        if response.status_code != 200 or expect not in response.content.decode():
            problems.append(f"{url}: {response.status_code}, {expect!r} not found")
    ms = percentiles(wall)
    return {
        "url": url,
        "ms": ms,
        "cpu_ms_p50": round(statistics.median(cpu), 2),
        "sql_ms_p50": round(statistics.median(sql_ms), 2),
        "queries": sorted(set(queries)) if len(set(queries)) > 1 else queries[0],
        "bytes": size,
        "under_300ms_p95": ms["p95"] < TARGET_MS,
        # The slowest statements (median ms per render, summed when one runs several times).
        "slowest_sql": [
            {"ms": round(total, 2), "sql": sql}
            for total, sql in sorted(
                ((sum(v) / renders, k) for k, v in slowest.items()), reverse=True
            )[:3]
        ],
    }, problems[:3]


def profile(client, url: str) -> None:
    """cProfile one render (after a warm-up), the top 40 by cumulative time, to stderr."""
    import cProfile
    import io
    import pstats

    client.get(url)
    prof = cProfile.Profile()
    prof.enable()
    client.get(url)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue(), file=sys.stderr)


def pages(built: dict) -> list[tuple[str, str, str, str]]:
    """(name, user key or "" for anonymous, url, text the page must contain)."""
    large = built["partners"]["large"]
    return [
        ("baseline_login_page", "", "/login/", "Sign in"),
        ("baseline_api_partner_read", "admin", f"/api/v1/partners/{large.pk}", large.legal_name),
        ("portal_dashboard_large", "large", "/portal/", "Your tiers"),
        ("portal_dashboard_typical", "typical", "/portal/", "Your tiers"),
        ("portal_deals_large", "large", "/portal/deals/", "registrations"),
        ("console_home", "admin", "/console/", "Program health"),
        ("console_partners", "admin", "/console/partners/", "partners"),
        ("console_partner_360", "admin", f"/console/partners/{large.pk}/", large.display_name),
        ("console_review_queue", "admin", "/console/deals/review/", "to review"),
    ]


def reuse_database(database: str, location: str) -> common.BenchDatabase:
    """Point Django at a database kept by an earlier ``--keep`` run (SQLite file path, or
    PostgreSQL database name on the server of ``DATABASE_URL``) and apply the migrations added
    since (new indexes are built there). It is kept afterwards."""
    import urllib.parse

    if database == "postgres":
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
            sys.exit(
                "--reuse with --database postgres needs DATABASE_URL (scripts/with-postgres.sh)"
            )
        parts = urllib.parse.urlsplit(url)
        bench = common.BenchDatabase(
            "postgresql",
            urllib.parse.urlunsplit(parts._replace(path=f"/{location}")),
            True,
            location,
        )
    else:
        path = Path(location).resolve()
        if not path.is_file():
            sys.exit(f"--reuse: no SQLite database at {path}")
        bench = common.BenchDatabase("sqlite", f"sqlite:///{path}", True, str(path))
    os.environ["DATABASE_URL"] = bench.url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    src = str(common.ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    import django

    django.setup()
    from django.core.management import call_command

    with common.Timings().time("migrate (reuse)"):
        call_command("migrate", verbosity=1, interactive=False)
    return bench


def reused(args, timings: common.Timings) -> dict:
    """What ``build`` returns, read back from a kept database."""
    from partnerhub.accounts.models import User
    from partnerhub.partners.models import PartnerUser
    from partnerhub.programs.models import Program

    users = {
        "admin": User.objects.get(email="admin@vendor.bench"),
        "large": User.objects.get(email="sales@large.bench"),
        "typical": User.objects.get(email="sales@typical.bench"),
    }
    partners = {
        key: PartnerUser.objects.select_related("partner").get(user=users[key]).partner
        for key in ("large", "typical")
    }
    from partnerhub.sales.models import Customer

    analyze_tables([Customer])  # statistics for an index a new migration added
    return {"program": Program.objects.first(), "users": users, "partners": partners}


def run(args, bench: common.BenchDatabase) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.test import Client

    from partnerhub.deals.models import DealConflict, DealProduct, DealRegistration
    from partnerhub.partners.models import Partner
    from partnerhub.sales.models import BillingLine
    from partnerhub.tiers.models import PartnerTier, TierChange
    from partnerhub.training.models import Person, PersonCertification

    timings = common.Timings()
    if args.reuse:
        built = reused(args, timings)
    else:
        with timings.time("build.total"):
            built = build(args, timings)
    counts = common.table_counts(
        [
            Partner,
            BillingLine,
            Person,
            PersonCertification,
            DealRegistration,
            DealProduct,
            DealConflict,
            PartnerTier,
            TierChange,
        ]
    )
    statuses = dict(
        DealRegistration.objects.order_by().values_list("status").annotate(n=Count("id"))
    )
    large, typical = built["partners"]["large"], built["partners"]["typical"]
    subjects = {
        label: {
            "partner_id": p.pk,
            "billing_lines": BillingLine.objects.filter(partner=p).count(),
            "registrations": DealRegistration.objects.filter(partner=p).count(),
            "people": Person.objects.filter(partner=p).count(),
            "tiers": dict(
                PartnerTier.objects.filter(partner=p).values_list("track_key", "tier_key")
            ),
        }
        for label, p in (("large", large), ("typical", typical))
    }
    common.log(f"counts: {counts}; registrations by status: {statuses}; {subjects}")

    undo = freeze_clock(D)
    counter = QueryCounter()
    results, problems = {}, []
    machine = common.machine()
    try:
        clients = {"": Client()}
        for key, user in built["users"].items():
            clients[key] = Client()
            clients[key].force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        with connection.execute_wrapper(counter), timings.time("renders"):
            for name, who, url, expect in pages(built):
                if args.profile == name:
                    profile(clients[who], url)
                result, bad = render(clients[who], url, expect, counter, args.renders, args.warmup)
                results[name] = result
                problems += bad
                common.log(
                    f"{name}: p50 {result['ms']['p50']} ms, p95 {result['ms']['p95']} ms, "
                    f"{result['queries']} queries"
                )
    finally:
        undo()

    base = results["baseline_api_partner_read"]["ms"]["p50"] or 1.0
    dashboards = {k: v for k, v in results.items() if not k.startswith("baseline")}
    return {
        "benchmark": "dashboards",
        "database": connection.vendor,
        "scale": args.scale,
        "seed": args.seed,
        "as_of": D.isoformat(),
        "command": " ".join(["python", *sys.argv]),
        "machine": machine,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "settings": {
            "DEBUG": settings.DEBUG,
            "CONN_MAX_AGE": settings.DATABASES["default"].get("CONN_MAX_AGE"),
            "renders": args.renders,
            "warmup": args.warmup,
        },
        "counts": counts,
        "registrations_by_status": statuses,
        "subjects": subjects,
        "build_seconds": {
            k.removeprefix("build."): v for k, v in timings.seconds.items() if k.startswith("build")
        },
        "pages": results,
        "relative_to_api_read_p50": {
            k: round(v["ms"]["p50"] / base, 1) for k, v in dashboards.items()
        },
        "targets": {
            "dashboards_p95_under_300ms": all(v["under_300ms_p95"] for v in dashboards.values()),
            "over": sorted(k for k, v in dashboards.items() if not v["under_300ms_p95"]),
            "note": "targets apply at --scale 1.0" if args.scale != 1.0 else "",
        },
        "problems": problems,
        "database_location": bench.location if bench.keep else None,
    }


def main(argv=None) -> int:
    def extra(parser):
        parser.add_argument(
            "--renders",
            type=int,
            help="timed renders per page (default 20; 5 below --scale 0.1, a smoke test)",
        )
        parser.add_argument(
            "--warmup", type=int, default=2, help="untimed renders first (default 2)"
        )
        parser.add_argument(
            "--profile", metavar="PAGE", help="cProfile one render of PAGE (e.g. console_home)"
        )
        parser.add_argument(
            "--reuse",
            metavar="DB",
            help="render only, against a database kept by an earlier --keep run (SQLite file "
            "path, or PostgreSQL database name); migrations added since are applied",
        )

    args = common.arguments(__doc__.splitlines()[0], argv, extra)
    if args.renders is None:
        args.renders = 20 if args.scale >= 0.1 else 5
    # WhiteNoise warns that STATIC_ROOT was never collected: the pages do not need it here.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    if args.reuse:
        bench = reuse_database(args.database, args.reuse)
    else:
        bench = common.setup_django(args.database, keep=args.keep)
    try:
        result = run(args, bench)
    finally:
        bench.cleanup()
    common.emit(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
