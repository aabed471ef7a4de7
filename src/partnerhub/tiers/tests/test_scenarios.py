"""The tier rules end to end, on the reference programs.

ev-hardware: fiscal years start on 1 February (FY2025 runs 2025-02-01..2026-01-31), the VAR
track is Authorized → Silver → Gold, revenue counts once its customer has been active 90
days, and a tier reached during a fiscal year holds for the rest of it and the whole next one.
The ``world`` fixture puts five partners in the VAR track from 2025-03-01.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.models import Event
from partnerhub.partners.models import PartnerStatus
from partnerhub.tiers import services
from partnerhub.tiers.models import (
    EvaluationRun,
    Nomination,
    NominationStatus,
    PartnerTier,
    TierChange,
)
from partnerhub.tiers.selectors import explain
from partnerhub.tiers.services import tiers_evaluate
from partnerhub.tiers.tests import factories as f

D = dt.date


def evaluate(as_of: str, **kw):
    return tiers_evaluate(as_of=D.fromisoformat(as_of), **kw)


def state(partner, track: str = "var", program=None) -> tuple:
    qs = PartnerTier.objects.filter(partner=partner, track_key=track)
    if program is not None:
        qs = qs.filter(program=program)
    s = qs.get()
    return s.tier_key, s.since, s.held_until, s.source


def history(partner, track: str = "var") -> list[tuple]:
    return [
        (c.kind, c.from_tier_key, c.to_tier_key, c.effective_on)
        for c in TierChange.objects.filter(partner=partner, track_key=track).order_by("id")
    ]


def snapshot() -> tuple:
    return (
        sorted(
            PartnerTier.objects.values_list(
                "partner_id",
                "track_key",
                "tier_key",
                "rank",
                "since",
                "held_until",
                "source",
                "last_evaluated_on",
            )
        ),
        TierChange.objects.count(),
        Event.objects.count(),
    )


def requirement(track_explanation, tier: str, metric: str, **params) -> dict:
    t = track_explanation.current if track_explanation.current.tier_key == tier else None
    t = t or track_explanation.next
    assert t.tier_key == tier
    return next(r for r in t.requirements if r["metric"] == metric and r["params"] == params)


@pytest.fixture
def deals(monkeypatch):
    """Registered deals (a placeholder metric until the deal-registration app lands)."""
    return f.fake_deals(monkeypatch, "registered_deals")


@pytest.fixture
def old_customer(db):
    return f.customer("2024-01-01")


def qualify_for_silver(partner, deals, customer) -> None:
    """FY2025: $260k billed by 2025-09-12, the 2nd ev-sales certification on 2025-09-05,
    the 5th registered project on 2025-09-18 (month 8 of the fiscal year)."""
    f.bill(partner, "100000.00", "2025-03-15", customer=customer)
    f.bill(partner, "100000.00", "2025-06-10", customer=customer)
    f.bill(partner, "60000.00", "2025-09-12", customer=customer)
    f.certify_people(partner, "ev-sales", "2025-04-01", "2025-09-05")
    deals.add(partner.pk, "2025-05-01", "2025-06-01", "2025-07-01", "2025-08-01", "2025-09-18")


# --- (a) promotion, hold, fiscal-year review ------------------------------------------------


def test_promoted_in_month_8_held_through_next_year_then_lowered_at_review(
    world, deals, old_customer
):
    a = world.partner_a
    qualify_for_silver(a, deals, old_customer)

    evaluate("2025-09-01")
    assert state(a) == ("authorized", D(2025, 3, 1), D(2025, 3, 1), "entry")
    assert history(a) == [("entry", "", "authorized", D(2025, 3, 1))]

    summary = evaluate("2025-10-01")
    assert summary.changes == [
        {
            "partner_id": a.pk,
            "program": "ev-hardware",
            "track": "var",
            "from": "authorized",
            "to": "silver",
            "kind": "promotion",
            "effective_on": "2025-09-18",
            "reason": "Requirements for Silver met on 2025-09-18.",
        }
    ]
    assert state(a) == ("silver", D(2025, 9, 18), D(2027, 1, 31), "computed")

    # FY2026: billings drop to $50k and two projects; the tier is held all year
    f.bill(a, "50000.00", "2026-04-01", customer=old_customer)
    deals.add(a.pk, "2026-03-01", "2026-04-01")
    assert evaluate("2026-06-01").changes == []
    assert evaluate("2027-01-31").changes == []
    assert state(a) == ("silver", D(2025, 9, 18), D(2027, 1, 31), "computed")

    # the first evaluation on/after 2027-02-01 reviews FY2026, which did not meet Silver
    summary = evaluate("2027-02-03")
    assert [c for c in summary.changes if c["partner_id"] == a.pk] == [
        {
            "partner_id": a.pk,
            "program": "ev-hardware",
            "track": "var",
            "from": "silver",
            "to": "authorized",
            "kind": "demotion",
            "effective_on": "2027-02-01",
            "reason": "Fiscal-year review on 2027-02-01: requirements for Silver were not met "
            "in the fiscal year that ended 2027-01-31.",
        }
    ]
    assert state(a) == ("authorized", D(2027, 2, 1), D(2027, 2, 1), "review")
    assert history(a) == [
        ("entry", "", "authorized", D(2025, 3, 1)),
        ("promotion", "authorized", "silver", D(2025, 9, 18)),
        ("demotion", "silver", "authorized", D(2027, 2, 1)),
    ]
    # the review happens once a year
    assert evaluate("2027-02-10").changes == []
    assert len(history(a)) == 3


def test_review_keeps_the_tier_when_the_closing_year_met_it(world, deals, old_customer):
    a = world.partner_a
    qualify_for_silver(a, deals, old_customer)
    evaluate("2025-10-01")
    assert evaluate("2026-06-01").changes == []  # FY2026 not met yet
    assert state(a)[2] == D(2027, 1, 31)
    # FY2026 is met late in the year, after the last evaluation of the year
    f.bill(a, "300000.00", "2026-11-10", customer=old_customer)
    deals.add(a.pk, *f.deal_dates("2026-10-01", 5))
    summary = evaluate("2027-02-03")
    assert [c for c in summary.changes if c["partner_id"] == a.pk] == []
    # kept, and held for FY2027 (the closing year counts as a year the tier was reached)
    assert state(a) == ("silver", D(2025, 9, 18), D(2028, 1, 31), "computed")
    assert [k for k, *_ in history(a)] == ["entry", "promotion"]


def test_meeting_the_tier_again_during_the_held_year_extends_the_hold(world, deals, old_customer):
    a = world.partner_a
    qualify_for_silver(a, deals, old_customer)
    evaluate("2025-10-01")
    f.bill(a, "260000.00", "2026-05-01", customer=old_customer)
    deals.add(a.pk, *f.deal_dates("2026-04-01", 5))
    assert evaluate("2026-06-01").changes == []
    assert state(a) == ("silver", D(2025, 9, 18), D(2028, 1, 31), "computed")
    # no review is due at the start of FY2027: the tier is held through it
    assert [c for c in evaluate("2027-02-03").changes if c["partner_id"] == a.pk] == []
    assert state(a) == ("silver", D(2025, 9, 18), D(2028, 1, 31), "computed")


def test_review_lowers_gold_to_the_tier_the_closing_year_met(world, deals, old_customer):
    a = world.partner_a
    qualify_for_silver(a, deals, old_customer)
    f.bill(a, "800000.00", "2025-11-01", customer=old_customer)  # $1.06M
    f.certify_people(a, "ev-sales", "2025-10-01", "2025-10-01", "2025-11-02")  # 5 sellers
    f.certify_people(a, "ev-installer", "2025-10-01", "2025-10-20")
    f.evidence(a, "dedicated-ev-sales-rep", "2025-10-15")
    deals.add(a.pk, *f.deal_dates("2025-10-01", 10))  # 15th on 2025-10-10
    evaluate("2025-12-01")
    assert state(a) == ("gold", D(2025, 11, 2), D(2027, 1, 31), "computed")
    assert history(a)[1:] == [("promotion", "authorized", "gold", D(2025, 11, 2))]
    # FY2026 meets Silver only
    f.bill(a, "250000.00", "2026-06-01", customer=old_customer)
    deals.add(a.pk, *f.deal_dates("2026-06-01", 5))
    evaluate("2026-03-01")
    evaluate("2027-02-01")
    assert state(a) == ("silver", D(2027, 2, 1), D(2028, 1, 31), "review")
    assert history(a)[-1] == ("demotion", "gold", "silver", D(2027, 2, 1))


def test_promotion_from_the_previous_fiscal_year_is_held_by_the_year_it_is_evaluated(
    world, deals, ev_program
):
    """A contractor who met Preferred in January (FY2024) and is first evaluated in February
    (FY2025): the tier is dated January, and as the requirements still hold in FY2025 it is held
    through FY2026 — the same answer as the next evaluation gives (re-running changes nothing)."""
    c = f.partner("Current Contractors")
    f.join(c, ev_program, "contractor", "2024-12-01")
    f.certify_people(c, "ev-installer", "2024-11-01", "2024-11-02")
    deals.add(c.pk, "2024-12-10", "2025-01-05", "2025-01-20")
    evaluate("2025-02-05")
    assert state(c, "contractor") == ("preferred", D(2025, 1, 20), D(2027, 1, 31), "computed")
    before = snapshot()
    assert evaluate("2025-02-05").changes == []
    assert snapshot() == before


# --- (b) explanation ------------------------------------------------------------------------


def test_explanation_shows_exactly_the_missing_certification(world, deals, old_customer):
    a = world.partner_a
    f.bill(a, "100000.00", "2025-03-15", customer=old_customer)
    f.bill(a, "160000.00", "2025-09-12", customer=old_customer)
    f.certify(a, "ev-sales", "2025-04-01")
    f.certify(a, "ev-installer", "2025-04-01")  # another certification does not count
    deals.add(a.pk, *f.deal_dates("2025-09-14", 5))
    evaluate("2025-10-01")
    [var] = explain(partner=a, as_of=D(2025, 10, 1))
    assert (var.program, var.track, var.as_of) == ("ev-hardware", "var", D(2025, 10, 1))
    assert (var.current_tier, var.current_tier_name, var.source) == (
        "authorized",
        "Authorized",
        "entry",
    )
    assert (var.since, var.held_until) == (D(2025, 3, 1), D(2025, 3, 1))
    assert var.current.requirements == [] and var.current.met is True
    nxt = var.next
    assert (nxt.tier_key, nxt.rank, nxt.gate, nxt.met) == ("silver", 1, "", False)
    assert [
        (r["label"], r["value"], r["threshold"], r["met"], r["gap"], r["met_on"])
        for r in nxt.requirements
    ] == [
        (
            "Annual billings of at least $250k",
            Decimal("260000.00"),
            Decimal("250000"),
            True,
            Decimal(0),
            D(2025, 9, 12),
        ),
        ("Two certified sales people", Decimal(1), Decimal(2), False, Decimal(1), None),
        ("Five registered projects", Decimal(5), Decimal(5), True, Decimal(0), D(2025, 9, 18)),
    ]
    billings = nxt.requirements[0]
    assert billings["kind"] == "metric"
    assert (billings["unit"], billings["period"], billings["source_available"]) == (
        "money",
        "fiscal_year_to_date",
        True,
    )
    assert nxt.requirements[1]["params"] == {"certification": "ev-sales"}
    assert var.as_dict()["next"]["requirements"][1]["gap"] == Decimal(1)


def test_explanation_without_a_state(world):
    [var] = explain(partner=world.partner_b, as_of=D(2025, 10, 1))
    assert (var.current_tier, var.since, var.held_until, var.source) == (
        "authorized",
        None,
        None,
        "entry",
    )
    deals_req = requirement(var, "silver", "registered_deals")
    assert (deals_req["value"], deals_req["met"], deals_req["gap"]) == (
        Decimal(0),
        False,
        Decimal(5),
    )
    assert deals_req["source_available"] is True  # read from deal registrations
    # before the program's first version there is nothing to explain
    assert explain(partner=world.partner_b, as_of=D(2025, 1, 31)) == []


# --- (c) gates: invite-only and application --------------------------------------------------


@pytest.fixture
def fieldwise(db):
    return f.load_program("field-service-software.yaml")


def test_invite_only_tier_needs_an_approved_nomination(world, fieldwise, monkeypatch):
    closed = f.fake_deals(monkeypatch, "closed_won_deals")
    p = f.partner("Field Experts", partner_manager=world.manager)
    q = f.partner("Other Experts", partner_manager=world.manager)
    for partner in (p, q):
        f.join(partner, fieldwise, "service-provider", "2025-07-01")
        closed.add(partner.pk, *f.deal_dates("2025-07-02", 40))  # 10th on 2025-07-11
        f.certify_people(partner, "fieldwise-implementation", *["2025-07-05"] * 6)
        f.evidence(partner, "website-branding", "2025-07-03")
        f.evidence(partner, "website-branding", "2025-07-04")

    evaluate("2025-09-01", program=fieldwise)
    # far above every threshold, but Premier is by invitation: Select
    assert state(p, "service-provider") == ("select", D(2025, 7, 11), D(2026, 6, 30), "computed")
    assert evaluate("2025-12-01", program=fieldwise).changes == []

    nomination = services.nomination_create(
        actor=world.manager,
        partner=p,
        program=fieldwise,
        track_key="service-provider",
        tier_key="premier",
        reason="Top implementation partner in APAC",
    )
    assert nomination.status == NominationStatus.PENDING
    assert evaluate("2025-12-02", program=fieldwise).changes == []  # pending does not count
    with pytest.raises(Conflict, match="second person"):
        services.nomination_decide(actor=world.manager, nomination=nomination, approve=True)
    with pytest.raises(Conflict, match="already has an open or approved nomination"):
        services.nomination_create(
            actor=world.manager,
            partner=p,
            program=fieldwise,
            track_key="service-provider",
            tier_key="premier",
            reason="again",
        )
    approved = services.nomination_decide(
        actor=world.program_admin, nomination=nomination, approve=True
    )
    assert (approved.status, approved.decided_by) == (
        NominationStatus.APPROVED,
        world.program_admin,
    )
    with pytest.raises(Conflict, match="already approved"):
        services.nomination_decide(actor=world.program_admin, nomination=nomination, approve=True)
    # the approval is dated 2025-12-10 in this timeline
    Nomination.objects.filter(pk=nomination.pk).update(
        decided_at=dt.datetime(2025, 12, 10, 12, tzinfo=dt.UTC)
    )

    # q's nomination is rejected (a reason is required)
    other = services.nomination_create(
        actor=world.manager,
        partner=q,
        program=fieldwise,
        track_key="service-provider",
        tier_key="premier",
        reason="Maybe",
    )
    with pytest.raises(ServiceError, match="reason is required"):
        services.nomination_decide(actor=world.program_admin, nomination=other, approve=False)
    services.nomination_decide(
        actor=world.program_admin, nomination=other, approve=False, reason="Not this year"
    )

    evaluate("2025-12-15", program=fieldwise)
    # Premier from the approval: the requirements were met long before, the gate only then
    assert state(p, "service-provider") == ("premier", D(2025, 12, 10), D(2026, 6, 30), "computed")
    assert history(p, "service-provider")[-1] == (
        "promotion",
        "select",
        "premier",
        D(2025, 12, 10),
    )
    assert state(q, "service-provider")[0] == "select"


def test_nomination_is_for_gated_tiers_of_the_partners_tracks(world, fieldwise):
    p = f.partner("Field Experts")
    f.join(p, fieldwise, "service-provider", "2025-07-01")
    kw = {"actor": world.manager, "partner": p, "program": fieldwise, "reason": "Good"}
    with pytest.raises(ServiceError, match="is open") as exc:
        services.nomination_create(track_key="service-provider", tier_key="select", **kw)
    assert exc.value.field == "tier"
    with pytest.raises(ServiceError, match="not in track 'referral'"):
        services.nomination_create(track_key="referral", tier_key="premier", **kw)
    with pytest.raises(ServiceError, match="has no tier 'platinum'"):
        services.nomination_create(track_key="service-provider", tier_key="platinum", **kw)
    with pytest.raises(ServiceError, match="reason is required"):
        services.nomination_create(
            actor=world.manager,
            partner=p,
            program=fieldwise,
            track_key="service-provider",
            tier_key="premier",
            reason="  ",
        )


def test_invite_only_tier_without_requirements_is_reached_by_nomination(world, fieldwise):
    p = f.partner("Integrator")
    f.join(p, fieldwise, "technology", "2025-07-01")
    evaluate("2025-08-01", program=fieldwise)
    assert state(p, "technology")[0] == "registered"
    n = services.nomination_create(
        actor=world.manager,
        partner=p,
        program=fieldwise,
        track_key="technology",
        tier_key="premier",
        reason="Flagship integration",
    )
    services.nomination_decide(actor=world.program_admin, nomination=n, approve=True)
    Nomination.objects.filter(pk=n.pk).update(decided_at=dt.datetime(2025, 8, 20, 9, tzinfo=dt.UTC))
    evaluate("2025-09-01", program=fieldwise)
    # no requirement can tell a day: the evaluation date
    assert state(p, "technology") == ("premier", D(2025, 9, 1), D(2026, 6, 30), "computed")


def test_application_gated_tier_and_any_of_groups(world, monkeypatch):
    brightlane = f.load_program("saas-three-tier.yaml")
    p = f.partner("Bright Consulting")
    f.join(p, brightlane, "solution", "2025-01-01")
    f.fixed_metric(monkeypatch, "pipeline_value", {p.pk: 25000}, {p.pk: "2025-02-01"}, unit="money")
    f.certify_people(p, "brightlane-consultant", *["2025-02-01"] * 5)
    for d in ("2025-02-10", "2025-02-11", "2025-02-12"):
        f.evidence(p, "case-study", d)
    f.surveys(p, [10, 10, 9, 8], "2025-03-01")  # NPS 75
    customer = f.customer("2024-01-01")
    f.bill(p, "120000.00", "2025-03-01", customer=customer, category="subscription")
    evaluate("2025-06-01", program=brightlane)
    assert state(p, "solution")[0] == "registered"  # Certified needs an approved application

    application = services.nomination_create(
        actor=world.manager,
        partner=p,
        program=brightlane,
        track_key="solution",
        tier_key="certified",
        reason="Application received",
    )
    services.nomination_decide(actor=world.program_admin, nomination=application, approve=True)
    Nomination.objects.filter(pk=application.pk).update(
        decided_at=dt.datetime(2025, 6, 10, 9, tzinfo=dt.UTC)
    )
    evaluate("2025-06-15", program=brightlane)
    # NPS cannot tell the day it was reached: the evaluation date
    assert state(p, "solution")[:2] == ("certified", D(2025, 6, 15))

    [exp] = [e for e in explain(partner=p, as_of=D(2025, 6, 15)) if e.program == "brightlane"]
    assert exp.next.tier_key == "strategic" and exp.next.gate == "invite_only"
    group = exp.next.requirements[3]
    assert (group["kind"], group["needed"], group["met"], group["missing"]) == ("any", 2, False, 1)
    assert [(i["metric"], i["met"]) for i in group["items"]] == [
        ("customer_retention", False),
        ("activation_rate", False),
        ("competencies", False),
        ("evidence", True),
    ]
    assert group["met_on"] is None
    assert exp.next.met is False
    # a second item of the group met: the group holds from the later of the two days
    f.competency("analytics", ["brightlane-consultant"], 2)
    f.competency("automation", ["brightlane-consultant"], 1)
    [exp] = [e for e in explain(partner=p, as_of=D(2025, 6, 15)) if e.program == "brightlane"]
    group = exp.next.requirements[3]
    assert (group["met"], group["missing"]) == (True, 0)
    assert [i["met_on"] for i in group["items"]] == [None, None, None, D(2025, 2, 12)]
    assert group["met_on"] is None  # competencies cannot tell the day
    assert exp.next.met is True
    # all requirements met, but Strategic is invite-only: still Certified
    evaluate("2025-07-01", program=brightlane)
    assert state(p, "solution")[0] == "certified"


# --- (d) activation rule --------------------------------------------------------------------


def _activation_setup(partner, deals):
    f.certify_people(partner, "ev-sales", "2025-04-01", "2025-04-01")
    deals.add(partner.pk, *f.deal_dates("2025-05-01", 5))
    new = f.customer("2025-06-15")  # active 90 days on 2025-09-13
    f.bill(partner, "260000.00", "2025-06-20", customer=new)


def test_activation_rule_promotes_on_the_day_the_customer_passes_90_days(world, deals):
    a = world.partner_a
    _activation_setup(a, deals)
    evaluate("2025-09-12")
    assert state(a)[0] == "authorized"
    [var] = explain(partner=a, as_of=D(2025, 9, 12))
    assert requirement(var, "silver", "billings")["value"] == Decimal(0)
    evaluate("2025-09-13")
    assert state(a) == ("silver", D(2025, 9, 13), D(2027, 1, 31), "computed")
    [var] = explain(partner=a, as_of=D(2025, 9, 13))
    billings = requirement(var, "silver", "billings")
    assert (billings["value"], billings["met_on"]) == (Decimal("260000.00"), D(2025, 9, 13))


def test_activation_rule_dates_a_late_evaluation_on_the_90th_day(world, deals):
    a = world.partner_a
    _activation_setup(a, deals)
    evaluate("2025-10-01")
    assert state(a) == ("silver", D(2025, 9, 13), D(2027, 1, 31), "computed")


# --- (e) expiring certifications while the tier is held ---------------------------------------


def test_expiring_certification_drops_the_requirement_but_not_the_tier(world, deals, old_customer):
    a = world.partner_a
    qualify_for_silver(a, deals, old_customer)
    evaluate("2025-10-01")
    first = a.person_certifications.order_by("earned_on").first()
    first.expires_on = D(2026, 3, 10)
    first.save()

    [var] = explain(partner=a, as_of=D(2026, 3, 9))
    assert var.current_tier == "silver"
    certs = requirement(var, "silver", "certified_people", certification="ev-sales")
    assert (certs["value"], certs["met"], certs["gap"], certs["met_on"]) == (
        Decimal(2),
        True,
        Decimal(0),
        D(2025, 9, 5),
    )
    [var] = explain(partner=a, as_of=D(2026, 3, 10))
    certs = requirement(var, "silver", "certified_people", certification="ev-sales")
    assert (certs["value"], certs["met"], certs["gap"], certs["met_on"]) == (
        Decimal(1),
        False,
        Decimal(1),
        None,
    )
    assert var.current.met is False

    assert evaluate("2026-03-10").changes == []
    assert state(a) == ("silver", D(2025, 9, 18), D(2027, 1, 31), "computed")


# --- (f) overrides --------------------------------------------------------------------------


def test_override_applies_at_the_next_evaluation_and_ends_after_expiry(
    world, deals, old_customer, ev_program
):
    a = world.partner_a
    evaluate("2025-05-01")
    override = services.tier_override_create(
        actor=world.program_admin,
        partner=a,
        program=ev_program,
        track_key="var",
        tier_key="gold",
        reason="  Launch partner for the new DC charger  ",
        starts_on=D(2025, 5, 10),
        expires_on=D(2025, 6, 30),
    )
    assert (override.reason, override.author) == (
        "Launch partner for the new DC charger",
        world.program_admin,
    )
    assert evaluate("2025-05-09").changes == []
    summary = evaluate("2025-05-10")
    assert [(c["kind"], c["from"], c["to"], c["effective_on"]) for c in summary.changes] == [
        ("override", "authorized", "gold", "2025-05-10")
    ]
    assert summary.changes[0]["reason"] == "Manual override to Gold."
    assert state(a) == ("gold", D(2025, 5, 10), D(2025, 3, 1), "override")

    # silver is met meanwhile; the override still rules until it expires
    f.bill(a, "260000.00", "2025-06-10", customer=old_customer)
    f.certify_people(a, "ev-sales", "2025-04-01", "2025-04-01")
    deals.add(a.pk, *f.deal_dates("2025-06-11", 5))
    assert evaluate("2025-06-30").changes == []
    assert state(a)[0] == "gold"

    summary = evaluate("2025-07-01")
    assert [(c["kind"], c["from"], c["to"], c["effective_on"]) for c in summary.changes] == [
        ("override_ended", "gold", "silver", "2025-07-01")
    ]
    assert summary.changes[0]["reason"] == "Manual override ended; requirements met for Silver."
    assert state(a) == ("silver", D(2025, 7, 1), D(2027, 1, 31), "computed")
    assert evaluate("2025-07-02").changes == []


def test_a_held_tier_comes_back_when_an_override_ends(world, deals, old_customer, ev_program):
    """Silver reached in September 2025 is held until 2027-01-31; an override to Gold for a
    quarter does not take that hold away, even though Silver's requirements no longer hold."""
    a = world.partner_a
    f.bill(a, "260000.00", "2025-09-10", customer=old_customer)
    f.certify_people(a, "ev-sales", "2025-04-01", "2025-04-01")
    deals.add(a.pk, *f.deal_dates("2025-09-11", 5))
    evaluate("2025-10-01")
    assert state(a)[0] == "silver"
    services.tier_override_create(
        actor=world.program_admin,
        partner=a,
        program=ev_program,
        track_key="var",
        tier_key="gold",
        reason="Pilot of the DC range",
        starts_on=D(2026, 2, 1),
        expires_on=D(2026, 4, 30),
    )
    assert [c["to"] for c in evaluate("2026-02-01").changes] == ["gold"]
    summary = evaluate("2026-05-01")  # new fiscal year: Silver's FYTD billings are not met
    assert [(c["kind"], c["from"], c["to"]) for c in summary.changes] == [
        ("override_ended", "gold", "silver")
    ]
    assert summary.changes[0]["reason"] == (
        "Manual override ended; Silver is held until 2027-01-31."
    )
    assert state(a) == ("silver", D(2026, 5, 1), D(2027, 1, 31), "computed")
    assert evaluate("2026-05-02").changes == []


def test_override_before_the_first_evaluation_and_revoked_override(world, ev_program):
    a = world.partner_a
    override = services.tier_override_create(
        actor=world.manager,
        partner=a,
        program=ev_program,
        track_key="var",
        tier_key="silver",
        reason="Pilot",
        starts_on=D(2025, 4, 1),
        expires_on=D(2025, 12, 31),
    )
    evaluate("2025-04-01")
    assert history(a) == [
        ("entry", "", "authorized", D(2025, 3, 1)),
        ("override", "authorized", "silver", D(2025, 4, 1)),
    ]
    services.tier_override_revoke(override=override)
    with pytest.raises(Conflict, match="already revoked"):
        services.tier_override_revoke(override=override)
    evaluate("2025-04-02")
    assert history(a)[-1] == ("override_ended", "silver", "authorized", D(2025, 4, 2))
    assert state(a) == ("authorized", D(2025, 4, 2), D(2025, 4, 2), "computed")
    assert evaluate("2025-04-03").changes == []


def test_the_latest_starting_override_wins(world, ev_program):
    a = world.partner_a
    kw = {"actor": world.program_admin, "partner": a, "program": ev_program, "track_key": "var"}
    services.tier_override_create(
        tier_key="gold", reason="r1", starts_on=D(2025, 4, 1), expires_on=D(2025, 12, 31), **kw
    )
    services.tier_override_create(
        tier_key="silver", reason="r2", starts_on=D(2025, 5, 1), expires_on=D(2025, 5, 31), **kw
    )
    evaluate("2025-04-15")
    assert state(a)[0] == "gold"
    evaluate("2025-05-01")
    assert state(a)[0] == "silver"
    evaluate("2025-06-01")
    assert state(a)[:2] == ("gold", D(2025, 6, 1))
    assert [k for k, *_ in history(a)] == ["entry", "override", "override", "override"]


def test_override_validation(world, ev_program):
    a = world.partner_a
    kw = {"actor": world.program_admin, "partner": a, "program": ev_program}
    good = {"track_key": "var", "tier_key": "gold", "reason": "Why", "starts_on": D(2025, 5, 1)}
    cases = [
        ({**good, "reason": " "}, "reason", "A reason is required"),
        ({**good, "expires_on": D(2025, 4, 30)}, "expires_on", "must not be before the start"),
        ({**good, "tier_key": "platinum"}, "tier", "has no tier 'platinum'"),
        ({**good, "track_key": "distributor"}, "track", "is not in track 'distributor'"),
    ]
    for params, field, message in cases:
        params = {"expires_on": D(2025, 6, 1), **params}
        with pytest.raises(ServiceError, match=message) as exc:
            services.tier_override_create(**kw, **params)
        assert exc.value.field == field
    assert not a.tier_overrides.exists()


# --- (g) several tracks -----------------------------------------------------------------------


def test_a_partner_in_two_tracks_has_a_tier_in_each(world, deals, old_customer, ev_program):
    a = world.partner_a
    f.join(a, ev_program, "distributor", "2025-03-01")
    f.bill(a, "1000000.00", "2025-04-01", customer=old_customer)
    f.bill(a, "1100000.00", "2025-08-01", customer=old_customer)
    f.certify_people(a, "ev-sales", "2025-04-01", "2025-04-01")
    f.certify(a, "ev-installer", "2025-05-01")
    deals.add(a.pk, *f.deal_dates("2025-06-01", 5))
    evaluate("2025-09-01")
    assert state(a, "var") == ("silver", D(2025, 6, 5), D(2027, 1, 31), "computed")
    assert state(a, "distributor") == ("premier", D(2025, 8, 1), D(2027, 1, 31), "computed")
    assert history(a, "distributor") == [
        ("entry", "", "authorized", D(2025, 3, 1)),
        ("promotion", "authorized", "premier", D(2025, 8, 1)),
    ]
    services.tier_override_create(
        actor=world.program_admin,
        partner=a,
        program=ev_program,
        track_key="var",
        tier_key="gold",
        reason="Key account",
        starts_on=D(2025, 9, 2),
        expires_on=D(2025, 12, 31),
    )
    summary = evaluate("2025-09-02")
    assert [(c["track"], c["kind"], c["to"]) for c in summary.changes] == [
        ("var", "override", "gold")
    ]
    assert state(a, "distributor")[0] == "premier"


# --- (h) events and e-mails -------------------------------------------------------------------


def test_promotion_writes_an_event_and_mails_the_partner_admins(
    world, deals, old_customer, make_user, django_capture_on_commit_callbacks
):
    a = world.partner_a
    make_user("second-admin@alpha.test", partner=a, role="admin")
    make_user("gone@alpha.test", partner=a, role="admin", is_active=False)
    qualify_for_silver(a, deals, old_customer)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate("2025-09-01")
    # Joining at the entry tier is history, not a tier change: no event, no e-mail.
    assert Event.objects.filter(name="partner.tier_changed").count() == 0
    assert TierChange.objects.filter(kind="entry").count() == 5
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        evaluate("2025-10-01")
    event = Event.objects.filter(name="partner.tier_changed", partner=a).order_by("id").last()
    assert event.payload == {
        "program": "ev-hardware",
        "track": "var",
        "from": "authorized",
        "to": "silver",
        "kind": "promotion",
        "effective_on": "2025-09-18",
        "reason": "Requirements for Silver met on 2025-09-18.",
    }
    [message] = mail.outbox
    assert sorted(message.to) == ["admin@alpha.test", "second-admin@alpha.test"]
    assert "sales@alpha.test" not in message.to + message.cc + message.bcc
    assert message.subject == "Your partner tier changed: Alpha Charging"
    assert (
        "- Voltaris EV Charging Partner Program, track var: authorized → silver from 2025-09-18. "
        "Requirements for Silver met on 2025-09-18." in message.body
    )


def test_first_evaluation_with_entry_and_promotion_mails_the_promotion_only(
    world, deals, old_customer, django_capture_on_commit_callbacks
):
    qualify_for_silver(world.partner_a, deals, old_customer)
    qualify_for_silver(world.partner_b, deals, old_customer)
    qualify_for_silver(world.child_2, deals, old_customer)  # promoted, but has no users
    with django_capture_on_commit_callbacks(execute=True):
        summary = evaluate("2025-10-01")
    assert [c["kind"] for c in summary.changes].count("promotion") == 3
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@alpha.test", "admin@beta.test"]
    for message in mail.outbox:
        assert "authorized → silver" in message.body
        assert "- → authorized" not in message.body
    assert Event.objects.filter(partner=world.partner_a).count() == 1  # the promotion only


# --- (i) idempotence and (j) dry runs ---------------------------------------------------------


def test_a_second_evaluation_for_the_same_date_changes_nothing(
    world, deals, old_customer, ev_program, django_capture_on_commit_callbacks
):
    qualify_for_silver(world.partner_a, deals, old_customer)
    services.tier_override_create(
        actor=world.program_admin,
        partner=world.partner_b,
        program=ev_program,
        track_key="var",
        tier_key="gold",
        reason="Key account",
        starts_on=D(2025, 9, 1),
        expires_on=D(2025, 12, 31),
    )
    for day in ("2025-10-01", "2026-01-01", "2027-02-03"):
        evaluate(day)
        before = snapshot()
        runs = EvaluationRun.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            again = evaluate(day)
        assert again.changes == []
        assert snapshot() == before
        assert mail.outbox == []
        assert EvaluationRun.objects.count() == runs + 1
    # the review lowered both (the override ended on 2026-01-01 with no requirement met)
    assert state(world.partner_a)[0] == "authorized"
    assert state(world.partner_b)[0] == "authorized"


def test_dry_run_writes_nothing_and_reports_the_same_changes(world, deals, old_customer):
    qualify_for_silver(world.partner_a, deals, old_customer)
    dry = evaluate("2025-10-01", dry_run=True)
    assert (dry.dry_run, dry.run_id, dry.memberships) == (True, None, 5)
    assert [(c["partner_id"], c["kind"]) for c in dry.changes] == [
        (world.partner_a.pk, "entry"),
        (world.partner_a.pk, "promotion"),
        *[
            (p.pk, "entry")
            for p in sorted(
                [world.partner_b, world.operator, world.child_1, world.child_2],
                key=lambda p: p.pk,
            )
        ],
    ]
    assert dry.per_tier == {"ev-hardware/var/authorized": 4, "ev-hardware/var/silver": 1}
    assert snapshot() == ([], 0, 0)
    assert EvaluationRun.objects.count() == 0

    real = evaluate("2025-10-01", actor=world.program_admin)
    assert real.changes == dry.changes
    assert real.per_tier == dry.per_tier
    run = EvaluationRun.objects.get()
    assert (run.pk, run.as_of, run.dry_run, run.memberships, run.changes) == (
        real.run_id,
        D(2025, 10, 1),
        False,
        5,
        6,
    )
    assert run.triggered_by == world.program_admin and run.finished_at is not None
    assert TierChange.objects.filter(run=run).count() == 6
    # a dry run after the real one has nothing to report
    assert evaluate("2025-10-01", dry_run=True).changes == []


# --- (k) who is evaluated ----------------------------------------------------------------------


def test_suspended_and_terminated_partners_are_not_evaluated(world, deals, old_customer):
    qualify_for_silver(world.partner_b, deals, old_customer)
    world.partner_b.status = PartnerStatus.SUSPENDED
    world.partner_b.save()
    world.child_2.status = PartnerStatus.TERMINATED
    world.child_2.save()
    summary = evaluate("2025-10-01")
    assert summary.memberships == 3
    assert not PartnerTier.objects.filter(partner__in=[world.partner_b, world.child_2]).exists()
    assert not TierChange.objects.filter(partner=world.partner_b).exists()
    # reactivated: evaluated again from the next run
    world.partner_b.status = PartnerStatus.ACTIVE
    world.partner_b.save()
    evaluate("2025-10-02")
    assert state(world.partner_b)[0] == "silver"


def test_suspended_partner_keeps_its_tier_untouched(world, deals, old_customer):
    qualify_for_silver(world.partner_a, deals, old_customer)
    evaluate("2025-10-01")
    world.partner_a.status = PartnerStatus.SUSPENDED
    world.partner_a.save()
    before = PartnerTier.objects.get(partner=world.partner_a)
    evaluate("2027-02-03")  # a review that would lower an active partner
    after = PartnerTier.objects.get(partner=world.partner_a)
    assert (after.tier_key, after.last_evaluated_on) == ("silver", before.last_evaluated_on)


def test_memberships_starting_later_and_a_subset_of_partners(world, ev_program):
    # before the program's first version (effective 2025-02-01) nothing is evaluated
    summary = evaluate("2025-01-31")
    assert (summary.memberships, summary.changes) == (0, [])
    assert not PartnerTier.objects.exists()
    late = f.partner("Latecomer")
    f.join(late, ev_program, "var", "2025-11-01")
    summary = evaluate("2025-10-01", partner_ids=[world.partner_a.pk, late.pk])
    assert summary.memberships == 1
    assert list(PartnerTier.objects.values_list("partner_id", flat=True)) == [world.partner_a.pk]
    evaluate("2025-11-01")
    assert state(late) == ("authorized", D(2025, 11, 1), D(2025, 11, 1), "entry")
    # an older date than the last evaluation is skipped for the states already evaluated
    assert evaluate("2025-10-15").changes == []
