"""The tier engine: which tier each partner holds in each track on a date, and why.

Three layers:
- ``requirement_results``: does a tier's requirement list hold for a partner, given a
  MetricTable (computed for all partners at once by the providers in metrics.py)?
- ``decide``: a pure function applying the program's rules (entry tier, promotion on the day
  requirements are met, tier hold, demotion only at the fiscal-year review, overrides) to one
  membership's current state. Property-tested.
- ``evaluate``: loads memberships, states, overrides and nominations, computes metrics
  set-based, runs ``decide`` for every membership and returns the decisions; services.py
  writes them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from partnerhub.tiers.metrics import MetricContext, MetricKey, MetricTable, provider
from partnerhub.tiers.periods import fiscal_year_start, hold_until


@dataclass(frozen=True)
class TierRule:
    key: str
    name: str
    rank: int
    gate: str
    requirements: tuple  # of dicts as stored on Tier.requirements
    benefits: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class TrackRules:
    program_id: int
    program_key: str
    version_number: int
    track_key: str
    tiers: tuple[TierRule, ...]
    hold_policy: str
    fy_month: int
    fy_day: int

    def tier(self, key: str) -> TierRule | None:
        return next((t for t in self.tiers if t.key == key), None)

    def by_rank(self, rank: int) -> TierRule:
        return self.tiers[rank]


def track_rules(version) -> list[TrackRules]:
    """The rules of every track of a program version (tracks and tiers prefetched or not)."""
    result = []
    for track in version.tracks.all():
        tiers = tuple(
            TierRule(t.key, t.name, t.rank, t.gate, tuple(t.requirements), dict(t.benefits or {}))
            for t in sorted(track.tiers.all(), key=lambda t: t.rank)
        )
        result.append(
            TrackRules(
                program_id=version.program_id,
                program_key=version.program.key,
                version_number=version.number,
                track_key=track.key,
                tiers=tiers,
                hold_policy=(version.policies or {}).get("tier_hold", "rest_of_year_and_next"),
                fy_month=version.fiscal_year_start_month,
                fy_day=version.fiscal_year_start_day,
            )
        )
    return result


def requirement_keys(requirements: Iterable[dict]) -> set[MetricKey]:
    keys: set[MetricKey] = set()
    for item in requirements:
        for req in item.get("of", [item]) if "any" in item else [item]:
            keys.add(MetricKey.of(req))
    return keys


MET_DATES_CHUNK = 5000

# --- requirement results ---------------------------------------------------------------------


@dataclass
class RequirementResult:
    """One requirement for one partner: value against threshold, and the gap."""

    metric: str
    label: str
    period: str | None
    params: dict
    value: Decimal
    threshold: Decimal
    met: bool
    unit: str
    available: bool = True
    met_on: dt.date | None = None

    @property
    def gap(self) -> Decimal:
        return max(Decimal(0), self.threshold - self.value)


@dataclass
class GroupResult:
    """An ``any N of`` group."""

    label: str
    needed: int
    items: list[RequirementResult]
    met_on: dt.date | None = None

    @property
    def met(self) -> bool:
        return sum(1 for i in self.items if i.met) >= self.needed

    @property
    def missing(self) -> int:
        return max(0, self.needed - sum(1 for i in self.items if i.met))


def _label(req: dict) -> str:
    if req.get("label"):
        return req["label"]
    params = ", ".join(f"{k} {v}" for k, v in sorted((req.get("params") or {}).items()))
    period = (req.get("period") or "").replace("_", " ")
    parts = [req["metric"].replace("_", " ")]
    if params:
        parts.append(f"({params})")
    if period:
        parts.append(period)
    return f"{' '.join(parts)} ≥ {req['min']}"


def _result(req: dict, table: MetricTable, partner_id: int) -> RequirementResult:
    key = MetricKey.of(req)
    value = table.get(key, partner_id)
    threshold = Decimal(str(req["min"]))
    p = provider(req["metric"])
    return RequirementResult(
        metric=req["metric"],
        label=_label(req),
        period=req.get("period"),
        params=dict(req.get("params") or {}),
        value=value,
        threshold=threshold,
        met=value >= threshold,
        unit=p.unit,
        available=p.available,
    )


def requirement_results(tier: TierRule, table: MetricTable, partner_id: int) -> list:
    results: list = []
    for item in tier.requirements:
        if "any" in item:
            results.append(
                GroupResult(
                    label=item.get("label") or f"any {item['any']} of {len(item['of'])}",
                    needed=int(item["any"]),
                    items=[_result(r, table, partner_id) for r in item["of"]],
                )
            )
        else:
            results.append(_result(item, table, partner_id))
    return results


def tier_holds(tier: TierRule, table: MetricTable, partner_id: int) -> bool:
    """Fast path of requirement_results(...) all met, without building result objects."""
    for item in tier.requirements:
        if "any" in item:
            hits = 0
            for req in item["of"]:
                if table.get(MetricKey.of(req), partner_id) >= Decimal(str(req["min"])):
                    hits += 1
            if hits < int(item["any"]):
                return False
        elif table.get(MetricKey.of(item), partner_id) < Decimal(str(item["min"])):
            return False
    return True


def qualified_rank(
    rules: TrackRules, table: MetricTable, partner_id: int, nominated: set[str]
) -> int:
    """Highest rank whose gate is passed and whose requirements all hold (0 = entry)."""
    for tier in reversed(rules.tiers):
        if tier.rank == 0:
            return 0
        if tier.gate and tier.key not in nominated:
            continue
        if tier_holds(tier, table, partner_id):
            return tier.rank
    return 0


# --- the rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    tier_key: str
    rank: int
    since: dt.date
    held_until: dt.date
    source: str
    last_evaluated_on: dt.date
    # While an override applies: the computed tier it replaced, whose hold (held_until) still
    # counts when the override ends.
    held_tier: str = ""


@dataclass(frozen=True)
class Change:
    kind: str
    from_tier: str
    to_tier: str
    effective_on: dt.date
    reason: str


@dataclass(frozen=True)
class Decision:
    state: State
    changes: tuple[Change, ...]
    state_changed: bool

    @property
    def change(self) -> Change | None:
        """The last (most significant) change, if any."""
        return self.changes[-1] if self.changes else None


def decide(
    *,
    rules: TrackRules,
    state: State | None,
    as_of: dt.date,
    joined_on: dt.date,
    qualified: int,
    met_on: dt.date | None = None,
    review_qualified: int | None = None,
    override_tier: str | None = None,
) -> Decision:
    """Apply the program's rules to one membership.

    ``qualified`` is the highest rank whose requirements (and gate) hold as of ``as_of``;
    ``met_on`` the day they were all met (defaults to ``as_of``); ``review_qualified`` the
    highest rank that held on the last day of the fiscal year just closed, given only when a
    fiscal-year review is due for this membership; ``override_tier`` an active manual override.
    """
    fy = (rules.fy_month, rules.fy_day)
    entry = rules.tiers[0]

    def hold(day: dt.date) -> dt.date:
        return hold_until(rules.hold_policy, day, *fy)

    if state is None:
        state = State(entry.key, 0, joined_on, joined_on, "entry", as_of)
        first = Change(
            "entry", "", entry.key, joined_on, f"Joined the track at the entry tier {entry.name}."
        )
    else:
        first = None

    def result(new: State, change: Change | None) -> Decision:
        new = replace(new, last_evaluated_on=max(as_of, new.last_evaluated_on))
        changes = tuple(c for c in (first, change) if c is not None)
        moved = replace(new, last_evaluated_on=state.last_evaluated_on) != state
        return Decision(new, changes, moved or first is not None)

    if override_tier is not None:
        tier = rules.tier(override_tier)
        if tier is not None:
            if state.source == "override" and state.tier_key == tier.key:
                return result(state, None)
            held_tier = state.held_tier if state.source == "override" else state.tier_key
            new = State(tier.key, tier.rank, as_of, state.held_until, "override", as_of, held_tier)
            return result(
                new,
                Change(
                    "override", state.tier_key, tier.key, as_of, f"Manual override to {tier.name}."
                ),
            )

    if state.source == "override":
        tier = rules.by_rank(qualified)
        held = rules.tier(state.held_tier) if state.held_until >= as_of else None
        if held is not None and held.rank > tier.rank:
            # The tier the override replaced is still within its hold: it comes back.
            new = State(held.key, held.rank, as_of, state.held_until, "computed", as_of)
            why = (
                f"Manual override ended; {held.name} is held until {state.held_until.isoformat()}."
            )
        else:
            new = State(
                tier.key, tier.rank, as_of, hold(as_of) if tier.rank else as_of, "computed", as_of
            )
            why = f"Manual override ended; requirements met for {tier.name}."
        return result(new, Change("override_ended", state.tier_key, new.tier_key, as_of, why))

    if qualified > state.rank:
        tier = rules.by_rank(qualified)
        effective = min(as_of, max(met_on or as_of, state.since))
        new = State(
            tier.key,
            tier.rank,
            effective,
            # The requirements hold on as_of too, so the hold also runs from as_of (as a re-run
            # for the same date would extend it): a tier met in the previous fiscal year and
            # first evaluated in this one is held through the next one.
            max(state.held_until, hold(effective), hold(as_of)),
            "computed",
            as_of,
        )
        return result(
            new,
            Change(
                "promotion",
                state.tier_key,
                tier.key,
                effective,
                f"Requirements for {tier.name} met on {effective.isoformat()}.",
            ),
        )

    held = state.held_until
    if qualified == state.rank and state.rank > 0:
        held = max(held, hold(as_of))

    if review_qualified is not None:
        review_day = fiscal_year_start(as_of, *fy)
        if held < review_day:
            closing_day = review_day - dt.timedelta(days=1)
            if review_qualified >= state.rank:
                held = max(held, hold(closing_day))
            else:
                to = rules.by_rank(max(review_qualified, qualified))
                old = rules.tier(state.tier_key)
                old_name = old.name if old else state.tier_key
                new = State(
                    to.key,
                    to.rank,
                    review_day,
                    hold(closing_day) if to.rank else review_day,
                    "review",
                    as_of,
                )
                return result(
                    new,
                    Change(
                        "demotion",
                        state.tier_key,
                        to.key,
                        review_day,
                        f"Fiscal-year review on {review_day.isoformat()}: requirements for "
                        f"{old_name} "
                        f"were not met in the fiscal year that ended {closing_day.isoformat()}.",
                    ),
                )

    return result(replace(state, held_until=held), None)


# --- evaluation of every membership -----------------------------------------------------------


@dataclass
class MembershipDecision:
    partner_id: int
    program_id: int
    track_key: str
    before: State | None
    decision: Decision
    rules: TrackRules


@dataclass
class EvaluationResult:
    as_of: dt.date
    decisions: list[MembershipDecision] = field(default_factory=list)
    skipped: int = 0

    @property
    def changes(self) -> list[MembershipDecision]:
        return [d for d in self.decisions if d.decision.change is not None]


def _group_met_on(
    item: dict, dates: dict[MetricKey, dict[int, dt.date]], partner_id: int, as_of: dt.date
) -> dt.date:
    if "any" in item:
        days = sorted(dates.get(MetricKey.of(r), {}).get(partner_id, as_of) for r in item["of"])
        return days[min(int(item["any"]), len(days)) - 1]
    return dates.get(MetricKey.of(item), {}).get(partner_id, as_of)


def met_on_dates(
    rules: TrackRules, promotions: dict[int, int], ctx: MetricContext
) -> dict[int, dt.date]:
    """For partners about to be promoted (partner → rank), the day the tier's requirements all
    held: the latest of the requirements' met days (providers that cannot tell give as_of)."""
    by_tier: dict[int, list[int]] = defaultdict(list)
    for partner_id, rank in promotions.items():
        by_tier[rank].append(partner_id)
    met: dict[int, dt.date] = {}
    for rank, partner_ids in by_tier.items():
        tier = rules.by_rank(rank)
        dates: dict[MetricKey, dict[int, dt.date]] = {}
        for item in tier.requirements:
            for req in item["of"] if "any" in item else [item]:
                key = MetricKey.of(req)
                dates[key] = {}
                # In chunks: SQLite limits the number of bound parameters of one query.
                for start in range(0, len(partner_ids), MET_DATES_CHUNK):
                    dates[key].update(
                        provider(req["metric"]).met_dates(
                            ctx,
                            key,
                            Decimal(str(req["min"])),
                            partner_ids[start : start + MET_DATES_CHUNK],
                        )
                    )
        for partner_id in partner_ids:
            days = [_group_met_on(item, dates, partner_id, ctx.as_of) for item in tier.requirements]
            met[partner_id] = max(days) if days else ctx.as_of
    return met


def evaluate(
    *,
    as_of: dt.date,
    version,
    memberships: list[tuple[int, str, dt.date]],
    states: dict[tuple[int, str], State],
    overrides: dict[tuple[int, str], str],
    nominations: dict[tuple[int, str], set[str] | dict[str, dt.date | None]],
    partner_ids: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> EvaluationResult:
    """Decide every membership (partner_id, track_key, joined_on) of one program version.

    ``nominations`` gives per membership the gated tiers with an approved nomination: a set of
    tier keys, or a mapping tier key → approval day (a promotion to the gated tier then takes
    effect no earlier than the approval)."""
    rules_by_track = {r.track_key: r for r in track_rules(version)}
    keys: set[MetricKey] = set()
    for rules in rules_by_track.values():
        for tier in rules.tiers:
            keys |= requirement_keys(tier.requirements)
    ctx = MetricContext.for_version(version, as_of, partner_ids)
    table = MetricTable(ctx).compute(keys)
    fy_start = fiscal_year_start(
        as_of, version.fiscal_year_start_month, version.fiscal_year_start_day
    )
    review_table: MetricTable | None = None

    result = EvaluationResult(as_of)
    pending: list[tuple[int, str, dt.date, State | None, int, int | None, str | None]] = []
    promotions: dict[str, dict[int, int]] = defaultdict(dict)
    for index, (partner_id, track_key, joined_on) in enumerate(memberships):
        rules = rules_by_track.get(track_key)
        state = states.get((partner_id, track_key))
        if rules is None or joined_on > as_of or (state and state.last_evaluated_on > as_of):
            result.skipped += 1
            continue
        nominated = nominations.get((partner_id, track_key), set())
        qualified = qualified_rank(rules, table, partner_id, nominated)
        review_q = None
        if (
            state is not None
            and state.last_evaluated_on < fy_start
            and state.held_until < fy_start
            and state.rank > 0
            and state.source != "override"
        ):
            if review_table is None:
                review_ctx = MetricContext.for_version(
                    version, fy_start - dt.timedelta(days=1), partner_ids
                )
                review_table = MetricTable(review_ctx).compute(keys)
            review_q = qualified_rank(rules, review_table, partner_id, nominated)
        current_rank = state.rank if state else 0
        override = overrides.get((partner_id, track_key))
        if (
            override is None
            and qualified > current_rank
            and (state is None or state.source != "override")
        ):
            promotions[track_key][partner_id] = qualified
        pending.append((partner_id, track_key, joined_on, state, qualified, review_q, override))
        if progress and index % 1000 == 999:
            progress(1000)

    met: dict[tuple[int, str], dt.date] = {}
    for track_key, promoted in promotions.items():
        rules = rules_by_track[track_key]
        for partner_id, day in met_on_dates(rules, promoted, ctx).items():
            # A gated tier is reached on the later of its requirements' day and its approval.
            approved = nominations.get((partner_id, track_key))
            tier = rules.by_rank(promoted[partner_id])
            if tier.gate and isinstance(approved, dict) and approved.get(tier.key):
                day = max(day, approved[tier.key])
            met[(partner_id, track_key)] = day

    for partner_id, track_key, joined_on, state, qualified, review_q, override in pending:
        rules = rules_by_track[track_key]
        decision = decide(
            rules=rules,
            state=state,
            as_of=as_of,
            joined_on=joined_on,
            qualified=qualified,
            met_on=met.get((partner_id, track_key)),
            review_qualified=review_q,
            override_tier=override,
        )
        result.decisions.append(
            MembershipDecision(partner_id, version.program_id, track_key, state, decision, rules)
        )
    if progress:
        progress(len(memberships) % 1000)
    return result
