"""Benchmark of the incentive accrual: commissions, credit-note reversals and MDF for every
billing line, set-based, against a plain per-line ORM loop.

    .venv/bin/python benchmarks/incentives.py [--scale 1.0] [--database sqlite|postgres] [--keep]

At --scale 1.0 it builds, deterministically (``random.Random(--seed)``):

- the ev-hardware program (examples/programs/ev-hardware.yaml: tier commission by source,
  a Gold hardware rule with a 12 % band above $500k of the fiscal year, MDF 1-2 %);
- 100,000 partners (80 % var, 5 % distributor, 15 % contractor) of heavy-tailed size, the
  biggest 5 % of each track at its top tier, the next 20 % at the second, each with its tier
  history (a TierChange and the current PartnerTier);
- 200,000 customers and 10,000,000 billing lines over two years (the tier benchmark's
  generator: hardware, cloud and services; about 1.5 % credits, half of them naming the line
  they credit);
- 600,000 won deal registrations (60 % partner-sourced, 40 % partner-influenced), each won by
  one of its partner's lines, which makes that customer's orders within six months of the
  submission commissionable.

Then it times ``accrual_run()`` over all the lines (the first, full run) and a second run
(nothing new: the watermark makes it a no-op). The baseline is a plain per-line ORM loop over a
slice of lines — for each line its product, the partner's tier on the invoice day, the won
registrations of that customer, the rate rule, then ``LedgerEntry.objects.create`` —
extrapolated to all lines. The loop's amounts are compared with the set-based ones for the
slice. The target: the full run under 60 s on SQLite, and at least 10× the loop.

Prints one JSON object (progress goes to stderr).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402
from benchmarks import tiers as tiers_bench  # noqa: E402

FULL = {
    "partners": 100_000,
    "customers": 200_000,
    "billing_lines": 10_000_000,
    "won_registrations": 600_000,
}
TIERS = {
    "var": ("authorized", "silver", "gold"),
    "distributor": ("authorized", "premier"),
    "contractor": ("listed", "preferred"),
}


def build(args, timings: common.Timings) -> dict:
    from partnerhub.deals.models import DealRegistration
    from partnerhub.partners.models import Partner, PartnerStatus, TrackMembership
    from partnerhub.programs.services import program_load
    from partnerhub.sales.models import BillingLine, Customer, Product, ProductCategory
    from partnerhub.tiers.models import PartnerTier, TierChange

    n = {key: common.scaled(value, args.scale, 10) for key, value in FULL.items()}
    rng = random.Random(args.seed)
    loader = common.BulkLoader()
    big = [
        Partner,
        TrackMembership,
        Customer,
        BillingLine,
        DealRegistration,
        PartnerTier,
        TierChange,
    ]
    with timings.time("build.program"):
        source = (common.ROOT / "examples" / "programs" / "ev-hardware.yaml").read_text()
        program = program_load(source=source).version.program
        categories = {
            key: ProductCategory.objects.get_or_create(key=key, defaults={"name": key.title()})[0]
            for key in ("hardware", "cloud", "services")
        }
        products = []
        for category, (low, high) in {
            "hardware": (150_000, 1_200_000),
            "cloud": (30_000, 300_000),
            "services": (50_000, 600_000),
        }.items():
            for i in range(20):
                price = low + (high - low) * i // 19
                product = Product.objects.create(
                    sku=f"{category[:2].upper()}-{i:03d}",
                    name=f"{category.title()} product {i}",
                    category=categories[category],
                    list_price_minor=price,
                    currency="USD",
                )
                products.append((product.pk, category, price))
        picks = []
        for category, copies in (("hardware", 5), ("cloud", 3), ("services", 2)):
            picks += [p for p in products if p[1] == category] * copies
        with common.load_mode():
            dropped = common.drop_indexes(big)

    plan = tiers_bench.make_plan(rng, n["partners"])
    partner_ids = range(1, n["partners"] + 1)
    # Tier by size within the track: top 5 % highest tier, next 20 % the second.
    by_track: dict[str, list[int]] = {}
    for pid in partner_ids:
        by_track.setdefault(plan.partner_tracks[pid - 1], []).append(pid)
    tier_of: dict[int, tuple[str, int]] = {}
    for track, members in by_track.items():
        members.sort(key=lambda p: -plan.sizes[p - 1])
        ladder = TIERS[track]
        for rank_index, pid in enumerate(members):
            share = rank_index / len(members)
            rank = len(ladder) - 1 if share < 0.05 else (1 if share < 0.25 else 0)
            tier_of[pid] = (ladder[rank], rank)
    since = tiers_bench.day(-730)
    with common.load_mode():
        with timings.time("build.partners"):
            loader.load(
                Partner,
                ["id", "legal_name", "display_name", "country", "status"],
                (
                    (pid, f"Partner {pid} Inc.", f"Partner {pid}", "US", PartnerStatus.ACTIVE.value)
                    for pid in partner_ids
                ),
            )
            loader.load(
                TrackMembership,
                ["id", "partner", "program", "track_key", "joined_on"],
                (
                    (pid, pid, program.pk, plan.partner_tracks[pid - 1], since)
                    for pid in partner_ids
                ),
            )
            loader.load(
                TierChange,
                [
                    "id",
                    "partner",
                    "program",
                    "track_key",
                    "from_tier_key",
                    "to_tier_key",
                    "kind",
                    "effective_on",
                    "reason",
                ],
                (
                    (
                        pid,
                        pid,
                        program.pk,
                        plan.partner_tracks[pid - 1],
                        "",
                        tier_of[pid][0],
                        "entry",
                        since,
                        "benchmark",
                    )
                    for pid in partner_ids
                ),
            )
            loader.load(
                PartnerTier,
                [
                    "id",
                    "partner",
                    "program",
                    "track_key",
                    "tier_key",
                    "rank",
                    "since",
                    "held_until",
                    "source",
                    "last_evaluated_on",
                ],
                (
                    (
                        pid,
                        pid,
                        program.pk,
                        plan.partner_tracks[pid - 1],
                        tier_of[pid][0],
                        tier_of[pid][1],
                        since,
                        "2099-01-01",
                        "computed",
                        since,
                    )
                    for pid in partner_ids
                ),
            )
        with timings.time("build.customers"):
            rnd = rng.random
            loader.load(
                Customer,
                ["id", "external_id", "name", "activated_on"],
                (
                    (cid, f"C{cid:09d}", f"Customer {cid}", tiers_bench.day(-int(rnd() * 1100)))
                    for cid in range(1, n["customers"] + 1)
                ),
            )
        won: list[tuple] = []
        want_won = n["won_registrations"] / max(n["billing_lines"], 1)
        last_invoice: dict[int, int] = {}

        def lines():
            for row in tiers_bench.billing_lines(rng, plan, n, picks):
                line_id, partner_id, amount = row[0], row[2], row[6]
                credited = None
                if amount < 0 and partner_id in last_invoice and rng.random() < 0.5:
                    credited = last_invoice[partner_id]
                    amount = -min(-amount, 10_000)  # a partial credit
                elif amount > 0:
                    last_invoice[partner_id] = line_id
                    if rng.random() < want_won:
                        won.append((line_id, partner_id, row[3], row[8], amount))
                yield (*row[:6], amount, *row[7:], credited)

        with timings.time("build.billing_lines"):
            loader.load(
                BillingLine,
                [
                    "id",
                    "external_id",
                    "partner",
                    "customer",
                    "product",
                    "quantity",
                    "net_amount_minor",
                    "currency",
                    "invoice_date",
                    "purchase_path",
                    "distributor",
                    "is_renewal",
                    "credited_line",
                ],
                lines(),
            )
        with timings.time("build.registrations"):

            def registrations():
                for seq, (line_id, partner_id, customer_id, invoice_date, amount) in enumerate(
                    won, start=1
                ):
                    submitted = dt.date.fromisoformat(invoice_date) - dt.timedelta(days=30)
                    yield (
                        seq,
                        partner_id,
                        program.pk,
                        f"Customer {customer_id}",
                        "US",
                        f"customer {customer_id}",
                        f"customer {customer_id}",
                        amount,
                        "USD",
                        invoice_date,
                        "partner_sourced" if rng.random() < 0.6 else "partner_influenced",
                        "won",
                        f"{submitted.isoformat()} 09:00:00",
                        submitted.isoformat(),
                        seq,
                        line_id,
                        invoice_date,
                    )

            loader.load(
                DealRegistration,
                [
                    "id",
                    "partner",
                    "program",
                    "customer_name",
                    "customer_country",
                    "name_norm",
                    "name_key",
                    "estimated_value_minor",
                    "currency",
                    "expected_close_date",
                    "source",
                    "status",
                    "submitted_at",
                    "submitted_on",
                    "submission_seq",
                    "won_billing_line",
                    "closed_on",
                ],
                registrations(),
            )
        with timings.time("build.indexes"):
            common.create_indexes(dropped)
        common.reset_sequences(big)
    with timings.time("build.analyze"):
        common.analyze()
    return {"program": program, "n": n, "won": len(won)}


def baseline(line_ids: list[int], program) -> tuple[dict[int, int], float]:
    """The plain way: per line, ORM reads of everything it needs and one ORM insert."""
    from decimal import ROUND_HALF_UP, Decimal

    from django.db import transaction
    from django.db.models import Q, Sum

    from partnerhub.deals.models import DealRegistration
    from partnerhub.incentives.models import LedgerEntry
    from partnerhub.programs.models import Tier
    from partnerhub.programs.schema import IncentivesSpec
    from partnerhub.sales.models import BillingLine
    from partnerhub.tiers.models import TierChange

    version = program.version_as_of(dt.date(2026, 1, 1))
    spec = IncentivesSpec.model_validate(version.definition.get("incentives") or {})
    out: dict[int, int] = {}
    began = time.perf_counter()
    with transaction.atomic():
        for line_id in line_ids:
            line = BillingLine.objects.select_related("product__category").get(pk=line_id)
            if line.credited_line_id is not None:
                out[line.pk] = None  # a credit note: reversed pro rata, compared elsewhere
                continue
            change = (
                TierChange.objects.filter(partner_id=line.partner_id, program=program)
                .order_by("-effective_on", "-id")
                .first()
            )
            tier = Tier.objects.select_related("track").get(
                track__version=version, track__key=change.track_key, key=change.to_tier_key
            )
            regs = list(
                DealRegistration.objects.filter(
                    partner_id=line.partner_id,
                    status="won",
                    won_billing_line__customer_id=line.customer_id,
                    source__in=["partner_sourced", "partner_influenced"],
                )
            )
            window = [
                r
                for r in regs
                if r.submitted_on <= line.invoice_date < _add_months(r.submitted_on, 6)
            ]
            if not window:
                continue
            source = (
                "sourced" if any(r.source == "partner_sourced" for r in window) else ("influenced")
            )
            category = line.product.category.key
            if category not in version.product_categories:
                continue
            rate, bands = None, []
            for rule in spec.commission.rules:
                if (
                    (not rule.tracks or tier.track.key in rule.tracks)
                    and (not rule.tiers or tier.key in rule.tiers)
                    and (rule.source in (None, source))
                    and (not rule.categories or category in rule.categories)
                ):
                    rate = rule.renewal_rate if line.is_renewal else rule.rate
                    bands = [] if line.is_renewal else rule.bands
                    break
            else:
                commission = tier.benefits.get("commission") or {}
                rate = commission.get("renewal" if line.is_renewal else source)
            if not rate:
                continue
            numerator = Decimal(line.net_amount_minor) * Decimal(str(rate)) * 100
            if bands and line.net_amount_minor > 0:
                fy = _fiscal_year_start(line.invoice_date, version)
                before = (
                    BillingLine.objects.filter(
                        partner_id=line.partner_id,
                        currency=version.currency,
                        product__category__key__in=version.product_categories,
                        invoice_date__gte=fy,
                    )
                    .filter(
                        Q(invoice_date__lt=line.invoice_date)
                        | Q(invoice_date=line.invoice_date, id__lt=line.pk)
                    )
                    .aggregate(s=Sum("net_amount_minor"))["s"]
                    or 0
                )
                after = before + line.net_amount_minor
                previous = Decimal(str(rate))
                for band in bands:
                    above = int(band.above * 100)
                    portion = max(0, after - max(before, above))
                    numerator += portion * (Decimal(str(band.rate)) - previous) * 100
                    previous = Decimal(str(band.rate))
            amount = int((numerator / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            LedgerEntry.objects.create(
                partner_id=line.partner_id,
                program=program,
                kind="commission",
                entry_type="accrual" if amount >= 0 else "reversal",
                amount_minor=amount,
                currency=line.currency,
                booked_on=line.invoice_date,
                source_type="billing_line",
                source_id=line.pk,
            )
            out[line.pk] = amount
        took = time.perf_counter() - began
        transaction.set_rollback(True)
    return out, took


def _fiscal_year_start(day: dt.date, version) -> dt.date:
    start = dt.date(day.year, version.fiscal_year_start_month, version.fiscal_year_start_day)
    return start if start <= day else start.replace(year=day.year - 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    import calendar

    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def main(argv=None) -> dict:
    args = common.arguments(
        __doc__.split("\n\n")[0],
        argv,
        lambda p: p.add_argument("--baseline-lines", type=int, default=20_000),
    )
    bench = common.setup_django(args.database, args.keep)
    try:
        return run(args, bench)
    finally:
        bench.cleanup()


def run(args, bench) -> dict:
    from django.db.models import Count, Sum

    from partnerhub.incentives.models import LedgerEntry
    from partnerhub.incentives.services import accrual_run
    from partnerhub.sales.models import BillingLine

    timings = common.Timings()
    with timings.time("build.total"):
        built = build(args, timings)
    program, n = built["program"], built["n"]
    machine = common.machine()
    with timings.time("accrual"):
        first = accrual_run(on=dt.date(2026, 1, 15))
    with timings.time("accrual_again"):
        again = accrual_run(on=dt.date(2026, 1, 15))

    # Baseline slice: the lines with the biggest commissionable share, spread over the table
    # (every k-th won line's neighbours), the loop run on them in a rolled-back transaction.
    lines = BillingLine.objects.count()
    size = min(args.baseline_lines, max(100, lines // 10))
    step = max(1, lines // size)
    slice_ids = list(range(1, lines + 1, step))[:size]
    loop, loop_seconds = baseline(slice_ids, program)
    mine = dict(
        LedgerEntry.objects.filter(
            source_type="billing_line", kind="commission", source_id__in=slice_ids
        ).values_list("source_id", "amount_minor")
    )
    credits = {k for k, v in loop.items() if v is None}
    differing = sorted(k for k in (set(loop) | set(mine)) - credits if loop.get(k) != mine.get(k))
    mismatches = len(differing)
    examples = [{"line": k, "set_based": mine.get(k), "loop": loop.get(k)} for k in differing[:5]]
    per_line = loop_seconds / max(len(slice_ids), 1)
    by_kind = {
        f"{r['kind']}:{r['entry_type']}": {"entries": r["n"], "amount_minor": r["s"]}
        for r in LedgerEntry.objects.values("kind", "entry_type").annotate(
            n=Count("id"), s=Sum("amount_minor")
        )
    }
    result = {
        "benchmark": "incentives",
        "scale": args.scale,
        "database": bench.vendor,
        "machine": machine,
        "sizes": {**n, "won_registrations_built": built["won"], "billing_lines": lines},
        "seconds": timings.seconds,
        "cpu_seconds": timings.cpu_seconds,
        "accrual_seconds": timings.seconds["accrual"],
        "accrual_steps_seconds": getattr(first, "step_seconds", {}),
        "accrual_lines_per_second": round(lines / max(timings.seconds["accrual"], 1e-9)),
        "entries": {"first_run": first.entries, "second_run": again.entries, **by_kind},
        "baseline": {
            "lines": len(slice_ids),
            "seconds": round(loop_seconds, 3),
            "extrapolated_seconds": round(per_line * lines, 1),
        },
        "speedup": round(per_line * lines / max(timings.seconds["accrual"], 1e-9), 1),
        "checks": {
            "baseline_compared": len(slice_ids),
            "baseline_mismatches": mismatches,
            "mismatch_examples": examples,
        },
        "targets": {"accrual_seconds_sqlite": 60, "speedup": 10},
    }
    common.emit(result)
    return result


if __name__ == "__main__":
    main()
