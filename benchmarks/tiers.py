"""Benchmark of the tier engine: a full evaluation of every partner, set-based, against a plain
per-partner ORM loop.

    .venv/bin/python benchmarks/tiers.py [--scale 1.0] [--database sqlite|postgres] [--keep]

At --scale 1.0 it builds, deterministically (``random.Random(--seed)``):

- the ev-hardware program (examples/programs/ev-hardware.yaml, loaded with program_load);
- 100,000 active partners, each in one track (80 % var, 5 % distributor, 15 % contractor)
  since two years before the as-of date, of heavy-tailed (log-normal) size;
- 60 products in hardware/cloud/services, 200,000 customers (about 8 % activated within the
  program's 90 activation days, so their lines do not count yet);
- 10,000,000 billing lines over the two years up to the as-of date (about 1.5 % credits,
  a quarter of the resellers' lines bought through a distributor);
- 2,000,000 people with 5,000,000 person certifications (ev-sales, ev-installer and three
  others; earned over four years, so many have expired; 1 % revoked);
- 1,000,000 registered deals in a benchmark-only table, and the evidence item
  ``dedicated-ev-sales-rep`` for about 10 % of the partners.

``registered_deals`` is a placeholder provider (0 for everyone) until the deal-registration app
lands, which would make every tier that requires deals unreachable. This process therefore
registers :class:`BenchDealsProvider`: one GROUP BY over ``bench_registered_deal``
(partner_id, registered_on) with an index on (partner_id, registered_on), as the deals app's
provider will be.

Then it times ``tiers_evaluate(as_of=D)`` three times: on the fresh data (every state and
entry change is created), again for the same day (steady state: nothing changes), and for the
next day (a nightly run). The baseline is a plain per-partner ORM loop over a 1,000-partner
slice — for each partner, its membership, its track's tiers, and for every requirement of every
tier one query filtered by that partner — extrapolated to all partners. The loop's tiers are
compared with the engine's for the whole slice and for 20 further random partners.

Prints one JSON object (progress goes to stderr).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import os
import random
import sys
from array import array
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

AS_OF = dt.date(2026, 1, 15)
FULL = {
    "partners": 100_000,
    "customers": 200_000,
    "billing_lines": 10_000_000,
    "people": 2_000_000,
    "person_certifications": 5_000_000,
    "deals": 1_000_000,
}
SLICE = 1_000
SAMPLE = 20
DEALS_TABLE = "bench_registered_deal"
EVIDENCE_ITEM = "dedicated-ev-sales-rep"

TRACKS = (("var", 0.80, 1.0), ("distributor", 0.05, 4.0), ("contractor", 0.15, 0.5))
CERTIFICATIONS = {  # key: validity in days (None: never expires)
    "ev-sales": 730,
    "ev-installer": 730,
    "cloud-admin": 1095,
    "safety-basics": 365,
    "service-tech": None,
}
CERT_WEIGHTS = {  # per track, in the order of CERTIFICATIONS
    "var": (0.40, 0.15, 0.20, 0.15, 0.10),
    "distributor": (0.35, 0.15, 0.20, 0.20, 0.10),
    "contractor": (0.05, 0.50, 0.05, 0.30, 0.10),
}
ROLES = ("sales", "engineer", "installer", "admin")

_OFFSET = 2000
DAYS = [(AS_OF + dt.timedelta(days=k - _OFFSET)).isoformat() for k in range(2 * _OFFSET)]


def day(offset: int) -> str:
    """ISO date ``offset`` days after the as-of date (negative: before)."""
    return DAYS[offset + _OFFSET]


# --- the registered-deals stand-in ------------------------------------------------------------


def deals_provider_class():
    from django.db import connection

    from partnerhub.tiers import metrics

    @dataclass
    class BenchDealsProvider(metrics.BaseProvider):
        """Deals registered in the period, from the benchmark's ``bench_registered_deal``."""

        name: str = "registered_deals"

        def values(self, ctx, key):
            start, end = ctx.bounds(key)
            sql = (
                f"SELECT partner_id, COUNT(*) FROM {DEALS_TABLE} "
                "WHERE registered_on >= %s AND registered_on <= %s"
            )
            params: list = [start, end]
            if ctx.partner_ids is not None:
                sql += f" AND partner_id IN ({', '.join(['%s'] * len(ctx.partner_ids))})"
                params += list(ctx.partner_ids)
            with connection.cursor() as cursor:
                cursor.execute(sql + " GROUP BY partner_id", params)
                return {pid: Decimal(n) for pid, n in cursor.fetchall()}

        def met_dates(self, ctx, key, threshold, partner_ids):
            n = int(threshold) if threshold == int(threshold) else int(threshold) + 1
            partner_ids = list(partner_ids)
            if n <= 0 or not partner_ids:
                return {}
            start, end = ctx.bounds(key)
            met: dict[int, dt.date] = {}
            for i in range(0, len(partner_ids), 10_000):
                chunk = partner_ids[i : i + 10_000]
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT partner_id, registered_on FROM (SELECT partner_id, registered_on, "
                        "ROW_NUMBER() OVER (PARTITION BY partner_id ORDER BY registered_on, id) rn"
                        f" FROM {DEALS_TABLE} WHERE registered_on >= %s AND registered_on <= %s"
                        f" AND partner_id IN ({', '.join(['%s'] * len(chunk))})) t WHERE rn = %s",
                        [start, end, *chunk, n],
                    )
                    for pid, registered_on in cursor.fetchall():
                        if isinstance(registered_on, str):
                            registered_on = dt.date.fromisoformat(registered_on)
                        met[pid] = registered_on
            return met

    return BenchDealsProvider


# --- data -------------------------------------------------------------------------------------


def allocate(total: int, weights: list[float], rng: random.Random) -> list[int]:
    """Split ``total`` items over the weights (randomised rounding; sums to about ``total``)."""
    scale = total / sum(weights)
    out = []
    for w in weights:
        expected = w * scale
        whole = int(expected)
        out.append(whole + (1 if rng.random() < expected - whole else 0))
    return out


@dataclass
class Plan:
    partner_tracks: list[str]
    sizes: list[float]
    distributor_ids: list[int]


def make_plan(rng: random.Random, partners: int) -> Plan:
    tracks, sizes = [], []
    cumulative = list(itertools.accumulate(share for _, share, _ in TRACKS))
    for _ in range(partners):
        index = min(bisect.bisect(cumulative, rng.random()), len(TRACKS) - 1)
        key, _, factor = TRACKS[index]
        tracks.append(key)
        sizes.append(rng.lognormvariate(0.0, 1.15) * factor)
    if "distributor" not in tracks:
        tracks[-1] = "distributor"
    distributors = [i + 1 for i, t in enumerate(tracks) if t == "distributor"]
    return Plan(tracks, sizes, distributors)


def build(args, timings: common.Timings) -> dict:
    from partnerhub.partners.models import Partner, PartnerStatus, TrackMembership
    from partnerhub.programs.services import program_load
    from partnerhub.sales.models import BillingLine, Customer, Product, ProductCategory
    from partnerhub.tiers.models import EvidenceItem
    from partnerhub.training.models import Certification, Person, PersonCertification

    scale = args.scale
    n = {key: common.scaled(value, scale, 10) for key, value in FULL.items()}
    rng = random.Random(args.seed)
    loader = common.BulkLoader()
    big = [Partner, TrackMembership, Customer, BillingLine, Person, PersonCertification]

    with timings.time("build.program"):
        source = (common.ROOT / "examples" / "programs" / "ev-hardware.yaml").read_text()
        program = program_load(source=source).version.program
        categories = {
            key: ProductCategory.objects.get_or_create(key=key, defaults={"name": key.title()})[0]
            for key in ("hardware", "cloud", "services")
        }
        certs = {
            key: Certification.objects.get_or_create(
                key=key,
                defaults={
                    "name": key.replace("-", " ").title(),
                    "validity_months": None if days is None else days // 30,
                },
            )[0].pk
            for key, days in CERTIFICATIONS.items()
        }
        price_ranges = {"hardware": (150_000, 1_200_000), "cloud": (30_000, 300_000)}
        products = []
        for category, (low, high) in {**price_ranges, "services": (50_000, 600_000)}.items():
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
        # A pick list weighting hardware 50 %, cloud 30 %, services 20 %.
        picks = []
        for category, copies in (("hardware", 5), ("cloud", 3), ("services", 2)):
            picks += [p for p in products if p[1] == category] * copies
        with common.load_mode():
            dropped = common.drop_indexes(big)

    plan = make_plan(rng, n["partners"])
    partner_ids = range(1, n["partners"] + 1)
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
            joined = day(-730)
            loader.load(
                TrackMembership,
                ["id", "partner", "program", "track_key", "joined_on"],
                (
                    (pid, pid, program.pk, plan.partner_tracks[pid - 1], joined)
                    for pid in partner_ids
                ),
            )

        with timings.time("build.customers"):
            rnd = rng.random

            def customers():
                for cid in range(1, n["customers"] + 1):
                    yield (cid, f"C{cid:09d}", f"Customer {cid}", day(-int(rnd() * 1100)))

            loader.load(Customer, ["id", "external_id", "name", "activated_on"], customers())

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
                ],
                billing_lines(rng, plan, n, picks),
            )

        with timings.time("build.people"):
            weights = [s**0.6 for s in plan.sizes]
            people_per_partner = [max(1, k) for k in allocate(n["people"], weights, rng)]
            loader.load(
                Person,
                ["id", "partner", "email", "job_role"],
                people(rng, people_per_partner),
            )
        with timings.time("build.person_certifications"):
            cert_rows = person_certifications(
                rng, plan, people_per_partner, certs, n["person_certifications"]
            )
            loader.load(
                PersonCertification,
                [
                    "id",
                    "person",
                    "certification",
                    "partner",
                    "earned_on",
                    "expires_on",
                    "revoked_on",
                    "exam_score",
                ],
                cert_rows,
            )

        with timings.time("build.deals"):
            create_deals_table()
            deals = allocate(n["deals"], [s**0.8 for s in plan.sizes], rng)
            loader.load_table(
                DEALS_TABLE,
                ["id", "partner_id", "registered_on"],
                (),
                deal_rows(rng, deals),
            )

        with timings.time("build.evidence"):
            top = sorted(plan.sizes)[int(len(plan.sizes) * 0.85)]
            loader.load(
                EvidenceItem,
                ["id", "partner", "item", "recorded_on", "valid_until"],
                evidence_rows(rng, plan, top),
            )

        with timings.time("build.indexes"):
            common.create_indexes(dropped)
            with common.connection_cursor() as cursor:
                cursor.execute(
                    f"CREATE INDEX {DEALS_TABLE}_partner_day "
                    f"ON {DEALS_TABLE} (partner_id, registered_on)"
                )
        common.reset_sequences([*big, EvidenceItem])
    with timings.time("build.analyze"):
        common.analyze()
    return {"program": program, "plan": plan, "n": n}


def billing_lines(rng: random.Random, plan: Plan, n: dict, picks: list):
    """Lines in invoice-date order (as an ERP import appends them), oldest first; each line's
    partner drawn in proportion to the partner's size."""
    rnd = rng.random
    cumulative = list(itertools.accumulate(plan.sizes))
    weight = cumulative[-1]
    last = len(cumulative) - 1
    is_var = [t == "var" for t in plan.partner_tracks]
    per_day = allocate(n["billing_lines"], [1.0] * 730, rng)
    customers = n["customers"]
    npicks = len(picks)
    distributors = plan.distributor_ids
    ndist = len(distributors)
    line_id = 0
    for age in range(729, -1, -1):
        invoice_date = DAYS[_OFFSET - age]
        for _ in range(per_day[age]):
            line_id += 1
            index = min(bisect.bisect(cumulative, rnd() * weight), last)
            product_id, category, price = picks[int(rnd() * npicks)]
            quantity = 1 + int(rnd() * 2) if category == "hardware" else 1
            amount = int(price * quantity * (0.7 + 0.3 * rnd()))
            if rnd() < 0.015:
                amount = -amount
            if is_var[index] and rnd() < 0.25:
                path, distributor = "distributor", distributors[int(rnd() * ndist)]
            else:
                path, distributor = "direct", None
            yield (
                line_id,
                f"BL{line_id:011d}",
                index + 1,
                1 + int(rnd() * customers),
                product_id,
                quantity,
                amount,
                "USD",
                invoice_date,
                path,
                distributor,
                category == "cloud" and rnd() < 0.5,
            )


def people(rng: random.Random, per_partner: list[int]):
    rnd = rng.random
    person_id = 0
    for index, count in enumerate(per_partner):
        for i in range(count):
            person_id += 1
            yield (person_id, index + 1, f"p{i}@partner{index + 1}.test", ROLES[int(rnd() * 4)])


def person_certifications(rng, plan: Plan, per_partner: list[int], certs: dict, target: int):
    """Certifications in the order they were earned over four years, each for a random person
    (so some people hold none, some hold one twice after a renewal); the choice of
    certification follows the person's track."""
    rnd = rng.random
    keys = list(CERTIFICATIONS)
    ids = [certs[k] for k in keys]
    validity = [CERTIFICATIONS[k] for k in keys]
    last = len(keys) - 1
    cumulative = {
        track: list(itertools.accumulate(weights)) for track, weights in CERT_WEIGHTS.items()
    }
    person_partner = array("l")
    for index, count in enumerate(per_partner):
        person_partner.extend([index] * count)
    people_total = len(person_partner)
    tracks = [cumulative[t] for t in plan.partner_tracks]
    per_day = allocate(target, [1.0] * 1461, rng)
    row_id = 0
    for age in range(1460, -1, -1):
        earned = -age
        seen: set[tuple[int, int]] = set()
        for _ in range(per_day[age]):
            person = int(rnd() * people_total)
            index = person_partner[person]
            cum = tracks[index]
            c = min(bisect.bisect(cum, rnd() * cum[-1]), last)
            if (person, c) in seen:
                continue
            seen.add((person, c))
            row_id += 1
            expires = None if validity[c] is None else day(earned + validity[c])
            revoked = day(min(0, earned + 1 + int(rnd() * 300))) if rnd() < 0.01 else None
            yield (
                row_id,
                person + 1,
                ids[c],
                index + 1,
                DAYS[_OFFSET + earned],
                expires,
                revoked,
                60 + int(rnd() * 41),
            )


def create_deals_table() -> None:
    with common.connection_cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {DEALS_TABLE}")
        cursor.execute(
            f"CREATE TABLE {DEALS_TABLE} (id bigint PRIMARY KEY, partner_id bigint NOT NULL, "
            "registered_on date NOT NULL)"
        )


def deal_rows(rng: random.Random, per_partner: list[int]):
    rnd = rng.random
    deal_id = 0
    for index, count in enumerate(per_partner):
        for _ in range(count):
            deal_id += 1
            yield (deal_id, index + 1, day(-int(rnd() * 730)))


def evidence_rows(rng: random.Random, plan: Plan, top: float):
    rnd = rng.random
    row_id = 0
    for index, size in enumerate(plan.sizes):
        if rnd() < (0.6 if size >= top else 0.02):
            row_id += 1
            recorded = -int(rnd() * 600)
            r = rnd()
            valid_until = (
                None if r < 0.6 else day(recorded + 365) if r < 0.9 else day(recorded + 30)
            )
            yield (row_id, index + 1, EVIDENCE_ITEM, day(recorded), valid_until)


# --- the baseline: a plain per-partner ORM loop -----------------------------------------------


def naive_metric(partner_id: int, requirement: dict, version, as_of: dt.date) -> Decimal:
    """One requirement's value for one partner, with one ORM query, as a first version would."""
    from django.db import connection
    from django.db.models import Q, Sum

    from partnerhub.core.money import from_minor
    from partnerhub.sales.models import BillingLine
    from partnerhub.tiers.models import EvidenceItem
    from partnerhub.tiers.periods import period_bounds
    from partnerhub.training.models import PersonCertification

    metric = requirement["metric"]
    params = requirement.get("params") or {}
    start, end = period_bounds(
        requirement.get("period"),
        as_of,
        version.fiscal_year_start_month,
        version.fiscal_year_start_day,
    )
    if metric == "billings":
        lines = BillingLine.objects.filter(
            partner_id=partner_id,
            currency=version.currency,
            invoice_date__gte=start,
            invoice_date__lte=end,
        )
        if params.get("category"):
            lines = lines.filter(product__category__key=params["category"])
        days = (version.policies or {}).get("activation_days")
        if days:
            lines = lines.filter(customer__activated_on__lte=as_of - dt.timedelta(days=days))
        total = lines.aggregate(total=Sum("net_amount_minor"))["total"] or 0
        return from_minor(total, version.currency)
    if metric == "certified_people":
        certs = PersonCertification.objects.filter(
            partner_id=partner_id, earned_on__lte=as_of
        ).filter(
            Q(expires_on__isnull=True) | Q(expires_on__gt=as_of),
            Q(revoked_on__isnull=True) | Q(revoked_on__gt=as_of),
        )
        if params.get("certification"):
            certs = certs.filter(certification__key=params["certification"])
        if params.get("role"):
            certs = certs.filter(person__job_role=params["role"])
        return Decimal(certs.values("person_id").distinct().count())
    if metric == "registered_deals":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {DEALS_TABLE} "
                "WHERE partner_id = %s AND registered_on >= %s AND registered_on <= %s",
                [partner_id, start, end],
            )
            return Decimal(cursor.fetchone()[0])
    if metric == "evidence":
        items = EvidenceItem.objects.filter(
            partner_id=partner_id, item=params.get("item"), recorded_on__lte=as_of
        ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=as_of))
        return Decimal(items.count())
    raise NotImplementedError(f"the baseline has no query for metric {metric!r}")


def naive_tier(partner_id: int, program, as_of: dt.date) -> tuple[str, str]:
    """The highest tier a partner qualifies for, computing every requirement of every tier."""
    from partnerhub.partners.models import TrackMembership
    from partnerhub.programs.models import Tier

    membership = TrackMembership.objects.get(partner_id=partner_id, program=program)
    version = program.version_as_of(as_of)
    tiers = Tier.objects.filter(track__version=version, track__key=membership.track_key)
    best = None
    for tier in tiers.order_by("rank"):
        met = True
        for item in tier.requirements:
            if "any" in item:
                hits = sum(
                    naive_metric(partner_id, r, version, as_of) >= Decimal(str(r["min"]))
                    for r in item["of"]
                )
                met = met and hits >= int(item["any"])
            elif naive_metric(partner_id, item, version, as_of) < Decimal(str(item["min"])):
                met = False
        if met and (not tier.gate or tier.rank == 0):
            best = tier.key
    return membership.track_key, best


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def baseline(partner_ids: list[int], program, as_of: dt.date) -> tuple[dict, float, int]:
    import time

    from django.db import connection

    counter = QueryCounter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        tiers = {pid: naive_tier(pid, program, as_of) for pid in partner_ids}
    return tiers, time.perf_counter() - start, counter.count


def engine_tiers(partner_ids: list[int], program) -> dict[int, tuple[str, str]]:
    from partnerhub.tiers.models import PartnerTier

    rows = PartnerTier.objects.filter(program=program, partner_id__in=partner_ids).values_list(
        "partner_id", "track_key", "tier_key"
    )
    return {pid: (track, tier) for pid, track, tier in rows}


# --- instrumentation of the first run ---------------------------------------------------------


def instrument(timings: common.Timings):
    """Time the parts of tiers_evaluate (module globals and provider methods, this process only).
    Returns a function that undoes it."""
    from partnerhub.tiers import metrics, services

    undo = []

    def wrap(owner, name: str, label: str):
        original = getattr(owner, name)

        def timed(*a, **kw):
            with timings.time(label, announce=False):
                return original(*a, **kw)

        setattr(owner, name, timed)
        undo.append(lambda: setattr(owner, name, original))

    wrap(services, "version_with_rules", "load_inputs")
    wrap(services, "load_inputs", "load_inputs")
    wrap(services, "evaluate", "evaluate (metrics + decide)")
    wrap(services, "_write", "write (states, changes, events)")
    wrap(services, "emit_many", "write: events")
    for name, p in metrics.registered().items():
        wrap(p, "values", f"metric: {name}")
        wrap(p, "met_dates", f"met dates: {name}")

    def restore():
        for u in reversed(undo):
            u()
        for p in metrics.registered().values():
            p.__dict__.pop("values", None)
            p.__dict__.pop("met_dates", None)

    return restore


# --- main -------------------------------------------------------------------------------------


def run(args, bench: common.BenchDatabase) -> dict:
    from django.db import connection
    from django.db.models import Count

    from partnerhub.partners.models import Partner, TrackMembership
    from partnerhub.sales.models import BillingLine, Customer
    from partnerhub.tiers import metrics
    from partnerhub.tiers.models import EvidenceItem, PartnerTier, TierChange
    from partnerhub.tiers.services import tiers_evaluate
    from partnerhub.training.models import Person, PersonCertification

    metrics.register(deals_provider_class()())
    timings = common.Timings()
    with timings.time("build.total"):
        built = build(args, timings)
    program, n = built["program"], built["n"]
    counts = common.table_counts(
        [Partner, TrackMembership, Customer, BillingLine, Person, PersonCertification]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {DEALS_TABLE}")
        counts[DEALS_TABLE] = cursor.fetchone()[0]
    counts[EvidenceItem._meta.db_table] = EvidenceItem.objects.count()
    common.log(f"counts: {counts}")

    machine = common.machine()  # before the evaluations: the load average says how busy
    evaluation = common.Timings()
    breakdown = common.Timings()
    changes = {}
    restore = instrument(breakdown)
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    with evaluation.time("first"):
        first = tiers_evaluate(as_of=AS_OF)
    if profile:
        profile.disable()
    restore()
    changes["first"] = len(first.changes)
    with evaluation.time("steady"):
        steady = tiers_evaluate(as_of=AS_OF)
    changes["steady"] = len(steady.changes)

    all_ids = list(range(1, n["partners"] + 1))
    step = max(1, len(all_ids) // SLICE)
    slice_ids = all_ids[::step][:SLICE]
    picker = random.Random(args.seed + 1)
    others = sorted(set(all_ids) - set(slice_ids)) or all_ids  # tiny scales: the slice is all
    sample_ids = sorted(picker.sample(others, min(SAMPLE, len(others))))
    with timings.time("baseline"):
        naive, naive_seconds, queries = baseline(slice_ids, program, AS_OF)
    sample_naive, _, _ = baseline(sample_ids, program, AS_OF)
    engine = engine_tiers(slice_ids + sample_ids, program)
    mismatches = [
        {"partner_id": pid, "engine": engine.get(pid), "baseline": tier}
        for pid, tier in itertools.chain(naive.items(), sample_naive.items())
        if engine.get(pid) != tier
    ]

    with evaluation.time("next_day"):
        next_day = tiers_evaluate(as_of=AS_OF + dt.timedelta(days=1))
    changes["next_day"] = len(next_day.changes)

    distribution: dict[str, dict[str, int]] = {}
    for track, tier, count in (
        PartnerTier.objects.filter(program=program)
        .values_list("track_key", "tier_key")
        .annotate(n=Count("id"))
        .order_by("track_key", "tier_key")
    ):
        distribution.setdefault(track, {})[tier] = count
    change_kinds = dict(
        TierChange.objects.values_list("kind").annotate(n=Count("id")).order_by("kind")
    )

    extrapolated = naive_seconds * len(all_ids) / len(slice_ids)
    secs = evaluation.seconds
    worst = max(secs.values())
    result = {
        "benchmark": "tiers",
        "database": connection.vendor,
        "scale": args.scale,
        "seed": args.seed,
        "as_of": AS_OF.isoformat(),
        "command": " ".join(["python", *sys.argv]),
        "machine": machine,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "counts": counts,
        "build_seconds": {
            k.removeprefix("build."): v for k, v in timings.seconds.items() if k.startswith("build")
        },
        "evaluation_seconds": secs,
        "evaluation_cpu_seconds_this_process": evaluation.cpu_seconds,
        "evaluation_changes": changes,
        "first_run_breakdown_seconds": breakdown.seconds,
        "baseline": {
            "what": "per-partner ORM loop: membership, tiers, one query per requirement of "
            "every tier of the partner's track (qualification only, no writes)",
            "partners": len(slice_ids),
            "queries": queries,
            "seconds": round(naive_seconds, 3),
            "extrapolated_seconds": round(extrapolated, 1),
        },
        "speedup": {k: round(extrapolated / v, 1) for k, v in secs.items()},
        "targets": {
            "full_evaluation_under_20s": worst < 20.0,
            "at_least_10x_faster": extrapolated / worst >= 10.0,
            "note": "targets apply at --scale 1.0" if args.scale != 1.0 else "",
        },
        "tier_distribution": distribution,
        "tier_changes_by_kind": change_kinds,
        "correctness": {
            "compared": len(slice_ids) + len(sample_ids),
            "slice": len(slice_ids),
            "random_sample": len(sample_ids),
            "mismatches": len(mismatches),
            "examples": mismatches[:10],
        },
        "database_location": bench.location if bench.keep else None,
    }
    if profile:
        import io
        import pstats

        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue(), file=sys.stderr)
    return result


def main(argv=None) -> int:
    def extra(parser):
        parser.add_argument(
            "--profile", action="store_true", help="cProfile the first evaluation (to stderr)"
        )

    args = common.arguments(__doc__.splitlines()[0], argv, extra)
    bench = common.setup_django(args.database, keep=args.keep)
    try:
        result = run(args, bench)
    finally:
        bench.cleanup()
    common.emit(result)
    return 1 if result["correctness"]["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
