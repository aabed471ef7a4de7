"""Program what-if: evaluate a candidate program file against the stored history, write nothing.

The candidate is stored as a version inside a transaction that is always rolled back, so the
real engine evaluates it exactly as it would once loaded. The report compares, per track and
tier, how many partners land there under the version in force and under the candidate, and
what the tiers' discounts and commissions would cost on the trailing 12 months of billings.

Cost model (first cut): discount cost = net billings of the category × the tier's discount %
for that category; commission cost = net billings × the tier's partner-sourced commission %.
A partner in several tracks of the program gets the best rate of its tiers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum

from partnerhub.core.money import from_minor
from partnerhub.programs.models import Program
from partnerhub.programs.schema import parse_program
from partnerhub.tiers.engine import State, evaluate, track_rules
from partnerhub.tiers.periods import add_years
from partnerhub.tiers.services import load_inputs, version_with_rules

CENT = Decimal("0.01")


class _Rollback(Exception):
    pass


@dataclass
class SimulationReport:
    program: str
    as_of: dt.date
    currency: str
    current_version: int | None
    tiers: list[dict] = field(default_factory=list)  # track, tier, current, candidate, delta
    discount_cost: dict[str, Decimal] = field(default_factory=dict)  # current, candidate, delta
    commission_cost: dict[str, Decimal] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "program": self.program,
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "current_version": self.current_version,
            "tiers": self.tiers,
            "discount_cost": {k: str(v) for k, v in self.discount_cost.items()},
            "commission_cost": {k: str(v) for k, v in self.commission_cost.items()},
        }

    def as_text(self) -> str:
        lines = [
            f"What-if for {self.program} as of {self.as_of.isoformat()} "
            f"(candidate vs version {self.current_version or 'none'}):",
            f"{'track':<16}{'tier':<20}{'current':>10}{'candidate':>11}{'change':>9}",
        ]
        for row in self.tiers:
            lines.append(
                f"{row['track']:<16}{row['tier']:<20}{row['current']:>10}{row['candidate']:>11}"
                f"{row['delta']:>+9}"
            )
        lines.append(f"Trailing 12 months of billings, cost in {self.currency}:")
        for label, cost in (
            ("discounts", self.discount_cost),
            ("commissions", self.commission_cost),
        ):
            lines.append(
                f"  {label:<12} current {cost['current']:>14}  candidate {cost['candidate']:>14}  "
                f"change {cost['delta']:>+14}"
            )
        return "\n".join(lines) + "\n"


def _remap_states(states: dict, rules_by_track: dict) -> dict:
    """Stored states expressed in another version's tiers: same key, else same rank (capped)."""
    remapped = {}
    for (partner_id, track_key), s in states.items():
        rules = rules_by_track.get(track_key)
        if rules is None:
            continue
        tier = rules.tier(s.tier_key) or rules.tiers[min(s.rank, len(rules.tiers) - 1)]
        held_tier = s.held_tier if rules.tier(s.held_tier) else ""
        remapped[(partner_id, track_key)] = State(
            tier.key, tier.rank, s.since, s.held_until, s.source, s.last_evaluated_on, held_tier
        )
    return remapped


def _landing(version, as_of: dt.date, inputs) -> list:
    memberships, states, overrides, nominations = inputs
    rules_by_track = {r.track_key: r for r in track_rules(version)}
    overrides = {
        k: v
        for k, v in overrides.items()
        if k[1] in rules_by_track and rules_by_track[k[1]].tier(v)
    }
    result = evaluate(
        as_of=as_of,
        version=version,
        memberships=memberships,
        states=_remap_states(states, rules_by_track),
        overrides=overrides,
        nominations=nominations,
    )
    return result.decisions


def _costs(
    decisions, billings: dict[int, dict[str, int]], currency: str
) -> tuple[Decimal, Decimal]:
    best_discount: dict[int, dict[str, Decimal]] = defaultdict(dict)
    best_commission: dict[int, Decimal] = defaultdict(Decimal)
    for d in decisions:
        tier = d.rules.tier(d.decision.state.tier_key)
        benefits = tier.benefits if tier is not None else {}
        for category, pct in (benefits.get("discounts") or {}).items():
            best_discount[d.partner_id][category] = max(
                best_discount[d.partner_id].get(category, Decimal(0)), Decimal(str(pct))
            )
        rate = Decimal(str((benefits.get("commission") or {}).get("sourced", 0)))
        best_commission[d.partner_id] = max(best_commission[d.partner_id], rate)
    discount = commission = Decimal(0)
    for partner_id, per_category in billings.items():
        for category, minor in per_category.items():
            amount = from_minor(minor, currency)
            discount += amount * best_discount.get(partner_id, {}).get(category, Decimal(0)) / 100
            commission += amount * best_commission.get(partner_id, Decimal(0)) / 100
    return discount.quantize(CENT, ROUND_HALF_UP), commission.quantize(CENT, ROUND_HALF_UP)


def simulate(*, source: str, as_of: dt.date) -> SimulationReport:
    """Compare a candidate program (YAML text) with the version in force; nothing is stored."""
    from partnerhub.programs.services import store_version
    from partnerhub.sales.models import BillingLine

    spec = parse_program(source)
    report: SimulationReport | None = None
    try:
        with transaction.atomic():
            program = Program.objects.filter(key=spec.key).first() or Program.objects.create(
                key=spec.key, name=spec.name
            )
            current = program.version_as_of(as_of)
            candidate = store_version(
                program=program, spec=spec, source=source, effective_from=as_of
            )
            candidate = version_with_rules(candidate)
            inputs = load_inputs(program, as_of, None)
            candidate_decisions = _landing(candidate, as_of, inputs)
            current_decisions = (
                _landing(version_with_rules(current), as_of, inputs) if current else []
            )

            start = add_years(as_of, -1) + dt.timedelta(days=1)
            billings: dict[int, dict[str, int]] = defaultdict(dict)
            for row in (
                BillingLine.objects.filter(
                    invoice_date__gte=start, invoice_date__lte=as_of, currency=spec.currency
                )
                .values("partner_id", "product__category__key")
                .annotate(total=Sum("net_amount_minor"))
                .order_by()
            ):
                billings[row["partner_id"]][row["product__category__key"]] = row["total"] or 0
            cur_discount, cur_commission = _costs(current_decisions, billings, spec.currency)
            new_discount, new_commission = _costs(candidate_decisions, billings, spec.currency)

            counts_now = Counter(
                (d.track_key, d.decision.state.tier_key) for d in current_decisions
            )
            counts_new = Counter(
                (d.track_key, d.decision.state.tier_key) for d in candidate_decisions
            )
            order = []
            for rules in track_rules(candidate):
                order += [(rules.track_key, t.key) for t in rules.tiers]
            if current:
                for rules in track_rules(version_with_rules(current)):
                    order += [
                        (rules.track_key, t.key)
                        for t in rules.tiers
                        if (rules.track_key, t.key) not in order
                    ]
            report = SimulationReport(
                program=spec.key,
                as_of=as_of,
                currency=spec.currency,
                current_version=current.number if current else None,
                tiers=[
                    {
                        "track": t,
                        "tier": k,
                        "current": counts_now[(t, k)],
                        "candidate": counts_new[(t, k)],
                        "delta": counts_new[(t, k)] - counts_now[(t, k)],
                    }
                    for t, k in order
                ],
                discount_cost={
                    "current": cur_discount,
                    "candidate": new_discount,
                    "delta": new_discount - cur_discount,
                },
                commission_cost={
                    "current": cur_commission,
                    "candidate": new_commission,
                    "delta": new_commission - cur_commission,
                },
            )
            raise _Rollback
    except _Rollback:
        pass
    assert report is not None
    return report
