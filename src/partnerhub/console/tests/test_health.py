"""The program health snapshot: its figures equal a direct computation, the page reads it (and
says as of when), it is built once when missing and refreshed after tier evaluations and the
deal tasks that follow billing imports; partner managers get live figures over their partners.
"""

import datetime as dt
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.console import selectors
from partnerhub.console.models import ProgramHealth
from partnerhub.console.services import program_health_refresh


def _line(partner, amount_minor, day, ext, product, customer, currency="USD"):
    from partnerhub.sales.models import BillingLine

    return BillingLine.objects.create(
        external_id=ext,
        partner=partner,
        customer=customer,
        product=product,
        quantity=1,
        net_amount_minor=amount_minor,
        currency=currency,
        invoice_date=day,
    )


@pytest.fixture
def activity(world, ev_program, register, products):
    """Evaluated tiers, a promotion, three registrations and billing lines this fiscal year."""
    from partnerhub.deals import services
    from partnerhub.sales.models import Customer
    from partnerhub.tiers.models import TierChange
    from partnerhub.tiers.services import tiers_evaluate

    today = timezone.localdate()
    tiers_evaluate(as_of=today)
    TierChange.objects.create(
        partner=world.partner_b,
        program=ev_program,
        track_key="var",
        from_tier_key="authorized",
        to_tier_key="silver",
        kind="override",
        effective_on=selectors.month_ends(today)[-1],  # the last month end shown
        reason="override",
    )
    first = register(world.partner_a, name="Acme Logistics GmbH")  # 24,000.00 USD
    services.registration_approve(registration=first, approved_by=world.manager)
    register(world.partner_b, name="Harbour Fleet Services", estimated_value="1000.50")
    register(world.operator, name="Quay Depot Operations", estimated_value="99.50")
    customer = Customer.objects.create(
        external_id="C1", name="Depot Co", country="DE", activated_on=today
    )
    wallbox = products["wallbox"]
    _line(world.partner_b, 500000, today, "L1", wallbox, customer)
    _line(world.partner_a, 120000, today, "L2", wallbox, customer)
    _line(world.partner_a, -20000, today, "L3", wallbox, customer)  # a credit
    _line(world.operator, 999999, today, "L4", wallbox, customer, currency="EUR")  # not USD
    return today


def test_snapshot_figures_equal_a_direct_computation(world, activity, ev_program):
    today = activity
    snapshot = program_health_refresh(on=today)
    assert snapshot.figures == selectors.health_figures(world.program_admin, today)

    health = selectors.shape_health(snapshot.figures, snapshot)
    tracks = selectors.catalogue(today)
    ends = selectors.month_ends(today)
    # The same as the page's figures computed directly for a program admin.
    assert health.pipeline == selectors.pipeline(fetched_by=world.program_admin)
    assert [(t.track, t.counts, t.not_evaluated) for t in health.tiers_now] == [
        (t.track, t.counts, t.not_evaluated)
        for t in selectors.tiers_now(fetched_by=world.program_admin, tracks=tracks)
    ]
    direct = selectors.tiers_over_time(fetched_by=world.program_admin, tracks=tracks, ends=ends)
    assert [(h.tiers, h.counts) for h in health.history] == [(h.tiers, h.counts) for h in direct]
    assert health.top == selectors.top_partners_by_billings(
        fetched_by=world.program_admin, on=today
    )

    # Worked figures: 5 partners in var (all authorized now: B's override change was written
    # by hand, not evaluated), B silver at the last month end in the history.
    (var,) = health.tiers_now
    assert var.counts == [
        ("authorized", "Authorized", 5),
        ("silver", "Silver", 0),
        ("gold", "Gold", 0),
    ]
    assert var.total == 5
    (history,) = health.history
    assert history.counts[-1] == {"authorized": 4, "silver": 1, "gold": 0}
    pipeline = {row["status"]: row for row in health.pipeline}
    assert pipeline["submitted"]["count"] == 2
    assert [(a.amount, a.currency) for a in pipeline["submitted"]["values"]] == [
        (pytest.approx(1100), "USD")
    ]
    assert str(pipeline["submitted"]["values"][0].amount) == "1100.00"
    assert pipeline["approved"]["count"] == 1
    assert str(pipeline["approved"]["values"][0].amount) == "24000.00"
    (top,) = health.top
    assert top["program"] == ev_program and top["currency"] == "USD"
    # B 5,000.00; A 1,200.00 − 200.00 credit = 1,000.00; the operator's EUR line does not count.
    assert [(r["name"], str(r["total"])) for r in top["rows"]] == [
        ("Beta Energy", "5000.00"),
        ("Alpha Charging", "1000.00"),
    ]


def test_only_the_latest_snapshot_is_kept(world, activity):
    first = program_health_refresh(on=activity)
    second = program_health_refresh(on=activity)
    assert list(ProgramHealth.objects.all()) == [second]
    assert first.pk != second.pk
    assert second.figures["as_of"] == activity.isoformat()


def test_home_computes_the_snapshot_once_then_reads_it(client, world, activity, products):
    from partnerhub.sales.models import Customer

    client.force_login(world.program_admin)
    assert not ProgramHealth.objects.exists()
    body = client.get(reverse("console:home")).content.decode()
    assert ProgramHealth.objects.count() == 1
    assert "Figures over every partner as of" in body
    assert "5,000.00 USD" in body

    # A new line changes nothing until the snapshot is refreshed.
    customer = Customer.objects.get(external_id="C1")
    _line(world.partner_a, 1000000, activity, "L5", products["wallbox"], customer)
    body = client.get(reverse("console:home")).content.decode()
    assert ProgramHealth.objects.count() == 1
    assert "11,000.00 USD" not in body
    assert body.index("Beta Energy</a>") < body.index("Alpha Charging</a>")

    program_health_refresh(on=activity)
    body = client.get(reverse("console:home")).content.decode()
    assert "11,000.00 USD" in body  # A: 1,000.00 + 10,000.00
    assert body.index("Alpha Charging</a>") < body.index("Beta Energy</a>")


@pytest.mark.parametrize("role", ["finance", "viewer"])
def test_all_partner_readers_see_the_snapshot(client, world, activity, role):
    program_health_refresh(on=activity)
    client.force_login(getattr(world, role))
    body = client.get(reverse("console:home")).content.decode()
    assert "Figures over every partner as of" in body
    assert "5,000.00 USD" in body


def test_a_manager_gets_live_figures_over_their_partners(client, world, activity):
    program_health_refresh(on=activity)  # over every partner: not for a manager
    client.force_login(world.manager)
    body = client.get(reverse("console:home")).content.decode()
    assert "Figures over your partners, as of now." in body
    assert "Beta Energy" not in body  # the other manager's partner
    assert "5,000.00 USD" not in body
    assert "1,000.00 USD" in body  # A's net billings
    assert "99.50 USD" in body  # the operator's submitted registration, not B's 1,000.50
    assert "1,000.50 USD" not in body


def test_a_snapshot_of_an_earlier_day_is_shown_and_a_refresh_queued(
    client, world, activity, django_capture_on_commit_callbacks
):
    old = program_health_refresh(on=activity - dt.timedelta(days=1))
    client.force_login(world.program_admin)
    with django_capture_on_commit_callbacks(execute=True):
        body = client.get(reverse("console:home")).content.decode()
    assert "A refresh for today has been queued." in body
    fresh = ProgramHealth.objects.get()  # the immediate test backend ran it
    assert fresh.pk != old.pk and fresh.as_of == activity


def test_refreshed_after_a_tier_evaluation(world, activity, django_capture_on_commit_callbacks):
    from partnerhub.tiers.services import tiers_evaluate

    with django_capture_on_commit_callbacks(execute=True):
        tiers_evaluate(as_of=activity, dry_run=True)
    assert not ProgramHealth.objects.exists()  # a dry run changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        tiers_evaluate(as_of=activity)
    snapshot = ProgramHealth.objects.get()
    assert snapshot.figures == selectors.health_figures(world.program_admin, activity)


def test_refreshed_after_a_billing_import(world, activity, django_capture_on_commit_callbacks):
    from partnerhub.sales.services import billing_lines_import

    row = {
        "external_id": "IMP-1",
        "partner_id": str(world.partner_b.pk),
        "customer_id": "C1",
        "customer_name": "Depot Co",
        "customer_country": "DE",
        "sku": "WB-22",
        "quantity": "1",
        "net_amount": "250.00",
        "currency": "USD",
        "invoice_date": activity.isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        report = billing_lines_import(rows=[row])
    assert report.created == 1, report.errors
    (top,) = selectors.shape_health(ProgramHealth.objects.get().figures).top
    assert [(r["name"], str(r["total"])) for r in top["rows"]][0] == ("Beta Energy", "5250.00")


# --- the month-end counts in SQL against a replay of the history in Python ------------------


def _replay(changes, ends):
    """The obvious computation: replay every change in order; count tiers at each month end."""
    state, out = {}, []
    ordered = sorted(changes, key=lambda c: (c[3], c[4]))
    for end in ends:
        for partner, track, tier, day, _seq in ordered:
            if day <= end:
                state[(partner, track)] = tier
        counted = Counter()
        for (_, track), tier in state.items():
            counted[(track, tier)] += 1
        out.append(counted)
        state = {}
    return out


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # partner
            st.sampled_from(["var", "distributor"]),
            st.sampled_from(["authorized", "silver", "gold"]),
            st.integers(0, 120),  # day offset
        ),
        max_size=25,
    )
)
def test_month_end_counts_match_a_replay(world, ev_program, changes):
    from partnerhub.tiers.models import TierChange

    TierChange.objects.all().delete()
    partners = [world.partner_a, world.partner_b, world.operator, world.child_1]
    base = dt.date(2026, 1, 1)
    rows = []
    for partner, track, tier, offset in changes:
        change = TierChange.objects.create(
            partner=partners[partner],
            program=ev_program,
            track_key=track,
            to_tier_key=tier,
            kind="promotion",
            effective_on=base + dt.timedelta(days=offset),
            reason="test",
        )
        rows.append((partner, track, tier, change.effective_on, change.pk))
    ends = selectors.month_ends(dt.date(2026, 4, 15), 4)  # Dec 2025 to Mar 2026
    got = [Counter() for _ in ends]
    for idx, _, track, tier, n in selectors.history_figures(world.program_admin, ends):
        got[idx][(track, tier)] += n
    assert got == _replay(rows, ends)


def test_refresh_command(world, activity):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("console", "refresh-health", "--on", activity.isoformat(), stdout=out)
    assert f"Program health as of {activity:%Y-%m-%d} stored" in out.getvalue()
    assert ProgramHealth.objects.get().as_of == activity
