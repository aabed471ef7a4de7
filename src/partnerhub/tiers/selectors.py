"""Reads of the tier engine: current tiers, history and the explanation of every requirement."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db.models import QuerySet
from django.utils import timezone

from partnerhub.partners.models import Partner, TrackMembership
from partnerhub.programs.models import Program
from partnerhub.tiers.engine import GroupResult, RequirementResult, requirement_results, track_rules
from partnerhub.tiers.metrics import MetricContext, MetricKey, MetricTable, provider
from partnerhub.tiers.models import PartnerTier, TierChange, TierOverride


def partner_tiers(*, partner: Partner) -> QuerySet[PartnerTier]:
    return PartnerTier.objects.filter(partner=partner).select_related("program")


def tier_history(*, partner: Partner) -> QuerySet[TierChange]:
    return (
        TierChange.objects.filter(partner=partner)
        .select_related("program")
        .order_by("effective_on", "id")
    )


def overrides(*, partner: Partner) -> QuerySet[TierOverride]:
    return TierOverride.objects.filter(partner=partner).select_related("program", "author")


@dataclass
class TierExplanation:
    tier_key: str
    tier_name: str
    rank: int
    gate: str
    met: bool
    requirements: list[dict]


@dataclass
class TrackExplanation:
    program: str
    track: str
    as_of: dt.date
    current_tier: str
    current_tier_name: str
    since: dt.date | None
    held_until: dt.date | None
    source: str
    current: TierExplanation
    next: TierExplanation | None

    def as_dict(self) -> dict:
        return asdict(self)


def _requirement_dict(result, ctx: MetricContext, partner_id: int) -> dict:
    if isinstance(result, GroupResult):
        items = [_requirement_dict(i, ctx, partner_id) for i in result.items]
        met_days = sorted(d for d in (i["met_on"] for i in items) if d)
        return {
            "kind": "any",
            "label": result.label,
            "needed": result.needed,
            "met": result.met,
            "missing": result.missing,
            "met_on": met_days[result.needed - 1]
            if result.met and len(met_days) >= result.needed
            else None,
            "items": items,
        }
    assert isinstance(result, RequirementResult)
    met_on = None
    if result.met:
        key = MetricKey(result.metric, result.period, tuple(sorted(result.params.items())))
        met_on = (
            provider(result.metric)
            .met_dates(ctx, key, result.threshold, [partner_id])
            .get(partner_id)
        )
    return {
        "kind": "metric",
        "metric": result.metric,
        "label": result.label,
        "period": result.period,
        "params": result.params,
        "unit": result.unit,
        "value": result.value,
        "threshold": result.threshold,
        "met": result.met,
        "gap": result.gap,
        "met_on": met_on,
        "source_available": result.available,
    }


def explain(*, partner: Partner, as_of: dt.date | None = None) -> list[TrackExplanation]:
    """Per track: the current tier, and per requirement of the current and the next tier the
    value, threshold, met or not, gap and the day it was met."""
    as_of = as_of or timezone.localdate()
    explanations = []
    memberships = TrackMembership.objects.filter(partner=partner).select_related("program")
    states = {(s.program_id, s.track_key): s for s in PartnerTier.objects.filter(partner=partner)}
    for membership in memberships:
        program: Program = membership.program
        version = program.version_as_of(as_of)
        if version is None:
            continue
        rules = next((r for r in track_rules(version) if r.track_key == membership.track_key), None)
        if rules is None:
            continue
        state = states.get((program.pk, membership.track_key))
        current = rules.tier(state.tier_key) if state else rules.tiers[0]
        if current is None:
            current = rules.tiers[0]
        nxt = rules.tiers[current.rank + 1] if current.rank + 1 < len(rules.tiers) else None
        ctx = MetricContext.for_version(version, as_of, [partner.pk])
        keys = set()
        from partnerhub.tiers.engine import requirement_keys

        for tier in (current, nxt):
            if tier is not None:
                keys |= requirement_keys(tier.requirements)
        table = MetricTable(ctx).compute(keys)

        def tier_explanation(tier, table=table, ctx=ctx) -> TierExplanation:
            results = requirement_results(tier, table, partner.pk)
            reqs = [_requirement_dict(r, ctx, partner.pk) for r in results]
            return TierExplanation(
                tier.key, tier.name, tier.rank, tier.gate, all(r["met"] for r in reqs), reqs
            )

        explanations.append(
            TrackExplanation(
                program=program.key,
                track=membership.track_key,
                as_of=as_of,
                current_tier=current.key,
                current_tier_name=current.name,
                since=state.since if state else None,
                held_until=state.held_until if state else None,
                source=state.source if state else "entry",
                current=tier_explanation(current),
                next=tier_explanation(nxt) if nxt else None,
            )
        )
    return explanations
