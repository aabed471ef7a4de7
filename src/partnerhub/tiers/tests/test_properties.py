"""Properties of the tier rules (hypothesis): on the pure ``engine.decide`` with generated
track rules, states, dates and qualified ranks, and on ``engine.evaluate`` with generated
metric values served by a fake provider."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.tiers import metrics
from partnerhub.tiers.engine import (
    State,
    TierRule,
    TrackRules,
    decide,
    evaluate,
    requirement_keys,
    requirement_results,
    tier_holds,
    track_rules,
)
from partnerhub.tiers.metrics import MetricContext, MetricKey, MetricTable
from partnerhub.tiers.periods import fiscal_year_start

PROPERTY = settings(
    deadline=None,
    max_examples=50,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

DAYS = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2028, 12, 31))
SOURCES = ("entry", "computed", "review", "override")


@st.composite
def track_rules_st(draw) -> TrackRules:
    n = draw(st.integers(3, 4))
    tiers = tuple(TierRule(f"t{rank}", f"Tier {rank}", rank, "", ()) for rank in range(n))
    return TrackRules(
        program_id=1,
        program_key="p",
        version_number=1,
        track_key="track",
        tiers=tiers,
        hold_policy=draw(st.sampled_from(["rest_of_year_and_next", "rest_of_year", "none"])),
        fy_month=draw(st.integers(1, 12)),
        fy_day=draw(st.sampled_from([1, 15, 28])),
    )


@st.composite
def case(draw) -> dict:
    """One membership's inputs to ``decide`` (qualified drawn separately where needed)."""
    rules = draw(track_rules_st())
    top = len(rules.tiers) - 1
    as_of = draw(DAYS)
    joined_on = as_of - dt.timedelta(days=draw(st.integers(0, 1500)))
    state = None
    if draw(st.booleans()):
        rank = draw(st.integers(0, top))
        since = draw(st.dates(min_value=joined_on, max_value=as_of))
        last = draw(st.dates(min_value=since, max_value=as_of))
        held = since + dt.timedelta(days=draw(st.integers(0, 900)))
        state = State(
            rules.tiers[rank].key, rank, since, held, draw(st.sampled_from(SOURCES)), last
        )
    met_on = draw(st.none() | st.dates(min_value=as_of - dt.timedelta(days=800), max_value=as_of))
    review = draw(st.none() | st.integers(0, top))
    override = draw(st.none() | st.sampled_from([t.key for t in rules.tiers]))
    return {
        "rules": rules,
        "state": state,
        "as_of": as_of,
        "joined_on": joined_on,
        "met_on": met_on,
        "review_qualified": review,
        "override_tier": override,
    }


def qualified_st(rules: TrackRules):
    return st.integers(0, len(rules.tiers) - 1)


@PROPERTY
@given(data=st.data())
def test_decide_is_idempotent(data):
    c = data.draw(case())
    qualified = data.draw(qualified_st(c["rules"]))
    first = decide(**c, qualified=qualified)
    again = decide(**{**c, "state": first.state}, qualified=qualified)
    assert again.changes == ()
    assert again.change is None
    assert again.state_changed is False
    assert again.state == first.state
    assert first.change == (first.changes[-1] if first.changes else None)


@PROPERTY
@given(data=st.data())
def test_more_qualified_never_ends_lower(data):
    c = data.draw(case())
    low = data.draw(qualified_st(c["rules"]))
    high = data.draw(st.integers(low, len(c["rules"].tiers) - 1))
    assert decide(**c, qualified=high).state.rank >= decide(**c, qualified=low).state.rank


@PROPERTY
@given(data=st.data())
def test_never_above_the_qualified_rank_unless_held_or_overridden(data):
    c = data.draw(case())
    qualified = data.draw(qualified_st(c["rules"]))
    d = decide(**c, qualified=qualified)
    before = c["state"].rank if c["state"] else 0
    for change in d.changes:
        if change.kind == "promotion":
            assert c["rules"].tier(change.to_tier).rank == qualified
            assert change.effective_on <= c["as_of"]
    if c["override_tier"] is not None:
        assert d.state.tier_key == c["override_tier"]
        assert d.state.source == "override"
    else:
        assert d.state.rank <= max(qualified, before)
        assert d.state.source != "override"
    assert c["rules"].tier(d.state.tier_key).rank == d.state.rank


@PROPERTY
@given(data=st.data())
def test_demotions_only_at_review_and_never_below_the_review(data):
    c = data.draw(case())
    qualified = data.draw(qualified_st(c["rules"]))
    d = decide(**c, qualified=qualified)
    state = c["state"]
    kinds = [change.kind for change in d.changes]
    if "demotion" in kinds:
        assert c["review_qualified"] is not None
        assert state is not None and state.source != "override"
        assert state.held_until < fiscal_year_start(
            c["as_of"], c["rules"].fy_month, c["rules"].fy_day
        )
        assert d.state.rank >= c["review_qualified"]
        assert d.state.rank < state.rank
        assert d.change.effective_on == fiscal_year_start(
            c["as_of"], c["rules"].fy_month, c["rules"].fy_day
        )
    overridden = c["override_tier"] is not None or (
        state is not None and state.source == "override"
    )
    if state is not None and not overridden:
        if c["review_qualified"] is None:
            assert d.state.rank >= state.rank  # no review, no lowering
        else:
            assert d.state.rank >= min(state.rank, c["review_qualified"])


@PROPERTY
@given(data=st.data())
def test_first_decision_enters_at_the_entry_tier(data):
    c = data.draw(case())
    qualified = data.draw(qualified_st(c["rules"]))
    d = decide(**{**c, "state": None}, qualified=qualified)
    entry = d.changes[0]
    assert (entry.kind, entry.from_tier, entry.to_tier, entry.effective_on) == (
        "entry",
        "",
        c["rules"].tiers[0].key,
        c["joined_on"],
    )
    assert d.state_changed is True
    assert d.state.since >= c["joined_on"]
    assert d.state.last_evaluated_on == c["as_of"]


# --- evaluate with generated metric values ----------------------------------------------------


class TableProvider:
    """Serves generated values: key → partner → value (met days unknown: the evaluation day)."""

    available = True
    unit = "count"

    def __init__(self, name: str):
        self.name = name
        self.table: dict[MetricKey, dict[int, Decimal]] = {}

    def values(self, ctx, key):
        return dict(self.table.get(key, {}))

    def met_dates(self, ctx, key, threshold, partner_ids):
        return {}


PARTNERS = (1, 2, 3, 4)


@pytest.fixture(params=["ev-hardware.yaml", "saas-three-tier.yaml"])
def loaded(request, db):
    from partnerhub.tiers.services import version_with_rules
    from partnerhub.tiers.tests.factories import load_program

    program = load_program(request.param)
    version = version_with_rules(program.versions.get())
    rules = track_rules(version)
    keys = set()
    for r in rules:
        for tier in r.tiers:
            keys |= requirement_keys(tier.requirements)
    thresholds: dict[MetricKey, set[Decimal]] = {}
    for r in rules:
        for tier in r.tiers:
            for item in tier.requirements:
                for req in item["of"] if "any" in item else [item]:
                    thresholds.setdefault(MetricKey.of(req), set()).add(Decimal(str(req["min"])))
    return version, rules, sorted(keys, key=repr), thresholds


def test_evaluate_assigns_no_tier_with_failing_requirements(loaded, monkeypatch):
    version, rules, keys, thresholds = loaded
    registry = dict(metrics._REGISTRY)
    providers = {}
    for key in keys:
        providers.setdefault(key.metric, TableProvider(key.metric))
    registry.update(providers)
    monkeypatch.setattr(metrics, "_REGISTRY", registry)
    start = version.effective_from

    def value_st(key):
        near = sorted({Decimal(0)} | {t + d for t in thresholds[key] for d in (-1, 0, 1)})
        return st.sampled_from(near)

    @PROPERTY
    @given(data=st.data())
    def check(data):
        for key in keys:
            providers[key.metric].table[key] = {
                pid: data.draw(value_st(key), label=f"{key} {pid}") for pid in PARTNERS
            }
        as_of = data.draw(st.dates(min_value=start, max_value=start + dt.timedelta(days=700)))
        memberships = [(pid, r.track_key, start) for pid in PARTNERS for r in rules]
        gated = [(r.track_key, t.key) for r in rules for t in r.tiers if t.gate]
        nominations: dict = {}
        overrides: dict = {}
        for pid in PARTNERS:
            for track, tier in gated:
                if data.draw(st.booleans(), label=f"nominated {pid} {tier}"):
                    nominations.setdefault((pid, track), set()).add(tier)
            if data.draw(st.integers(0, 4), label=f"override {pid}") == 0:
                r = rules[0]
                overrides[(pid, r.track_key)] = r.tiers[-1].key
        result = evaluate(
            as_of=as_of,
            version=version,
            memberships=memberships,
            states={},
            overrides=overrides,
            nominations=nominations,
        )
        table = MetricTable(MetricContext.for_version(version, as_of)).compute(keys)
        assert len(result.decisions) == len(memberships)
        assert len(result.changes) == len(memberships)  # every fresh state enters
        for r in rules:  # the fast path agrees with the explained results
            for t in r.tiers:
                for pid in PARTNERS:
                    results = requirement_results(t, table, pid)
                    assert tier_holds(t, table, pid) == all(x.met for x in results)
        for d in result.decisions:
            tier = d.rules.tier(d.decision.state.tier_key)
            if (d.partner_id, d.track_key) in overrides:
                assert d.decision.state.source == "override"
                assert tier.key == overrides[(d.partner_id, d.track_key)]
                continue
            assert tier_holds(tier, table, d.partner_id), (d.partner_id, d.track_key, tier.key)
            if tier.gate:
                assert tier.key in nominations.get((d.partner_id, d.track_key), set())
            # and no higher open (or nominated) tier holds: the highest qualified is assigned
            for higher in d.rules.tiers[tier.rank + 1 :]:
                reachable = not higher.gate or higher.key in nominations.get(
                    (d.partner_id, d.track_key), set()
                )
                assert not (reachable and tier_holds(higher, table, d.partner_id))
            assert [c.kind for c in d.decision.changes][0] == "entry"
            assert d.decision.state.since <= as_of

    check()
