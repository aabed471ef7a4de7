"""Quote pricing, worked examples with the figures written out (service layer).

Partner A is a Gold VAR of ev-hardware: hardware −20%, deal registration −7.5%; the program
takes 5 percentage points off through a distributor and adds discounts (``add``) unless a test
switches it to ``compound``."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerhub.core.errors import NotAllowed, ServiceError
from partnerhub.quotes import services
from partnerhub.quotes.models import QuoteStatus
from partnerhub.sales.models import BillingLine, Customer

pytestmark = pytest.mark.django_db


def steps(line):
    return [(s["label"], s["percent"], s["amount"]) for s in line.steps]


def price(partner, **data):
    data.setdefault("lines", [{"sku": "WB-1000", "quantity": 1}])
    return services.quote_price(partner=partner, data=data)


def set_policy(program, **policies):
    version = program.versions.get()
    version.policies = {**version.policies, **policies}
    version.save()


def test_tier_discount_only(world, catalogue, gold, credit):
    credit()
    q = price(world.partner_a)
    (line,) = q.lines
    # List 1,000.00 → tier Gold hardware −20% (200.00) → net 800.00.
    assert line.list_price_minor == 1000_00
    assert steps(line) == [("tier Gold hardware −20%", "20", "200.00")]
    assert line.unit_net_minor == 800_00
    assert q.total_minor == 800_00 and q.list_total_minor == 1000_00
    assert q.direct_allowed is True and q.direct_message == ""
    assert q.valid_until == q.quote_date + dt.timedelta(days=30)


def test_entry_tier_when_never_evaluated(world, catalogue):
    """Without an evaluated tier, the track's entry tier (Authorized: hardware −10%) applies."""
    (line,) = price(world.partner_a).lines
    assert steps(line) == [("tier Authorized hardware −10%", "10", "100.00")]
    assert line.unit_net_minor == 900_00


def test_tier_held_on_the_quote_date(world, catalogue, gold, today):
    """A tier that took effect after the quote date does not count: the last tier change
    effective by then does (Silver: hardware −15%)."""
    from partnerhub.tiers.models import TierChange

    gold.since = today + dt.timedelta(days=1)
    gold.save()
    TierChange.objects.create(
        partner=world.partner_a,
        program=gold.program,
        track_key="var",
        from_tier_key="authorized",
        to_tier_key="silver",
        kind="promotion",
        effective_on=today - dt.timedelta(days=100),
        reason="met",
    )
    (line,) = price(world.partner_a).lines
    assert steps(line) == [("tier Silver hardware −15%", "15", "150.00")]
    assert line.unit_net_minor == 850_00


def test_deal_registration_adds_its_discount(world, catalogue, gold, credit, approved_registration):
    credit()
    reg = approved_registration()
    q = price(
        world.partner_a,
        registration_id=reg.pk,
        lines=[{"sku": "WB-1000", "quantity": 2}, {"sku": "CL-PRO", "quantity": 1}],
    )
    wallbox, cloud = q.lines
    # List 1,000.00 → tier Gold hardware −20% → deal registration −7.5% → net 725.00.
    assert steps(wallbox) == [
        ("tier Gold hardware −20%", "20", "200.00"),
        ("deal registration −7.5%", "7.5", "75.00"),
    ]
    assert wallbox.unit_net_minor == 725_00 and wallbox.line_total_minor == 1450_00
    # The cloud plan is not on the registration: tier only (Gold cloud −10%): 270.00.
    assert steps(cloud) == [("tier Gold cloud −10%", "10", "30.00")]
    assert cloud.unit_net_minor == 270_00
    assert q.total_minor == 1450_00 + 270_00
    assert q.registration == reg


def test_through_a_distributor_with_add_stacking(
    world, catalogue, gold, distributor, approved_registration
):
    reg = approved_registration()
    q = price(
        world.partner_a,
        registration_id=reg.pk,
        purchase_path="distributor",
        distributor_id=distributor.pk,
    )
    (line,) = q.lines
    # 20% + 7.5% − 5 pts = 22.5%: 1,000.00 → 775.00.
    assert steps(line) == [
        ("tier Gold hardware −20%", "20", "200.00"),
        ("deal registration −7.5%", "7.5", "75.00"),
        ("distributor −5 pts", "-5", "-50.00"),
    ]
    assert line.unit_net_minor == 775_00
    assert q.direct_allowed is True  # no credit needed through a distributor


def test_through_a_distributor_with_compound_stacking(
    world, catalogue, gold, distributor, approved_registration, ev_program
):
    set_policy(ev_program, discount_stacking="compound")
    reg = approved_registration()
    (line,) = price(
        world.partner_a,
        registration_id=reg.pk,
        purchase_path="distributor",
        distributor_id=distributor.pk,
    ).lines
    # Tier 20% − 5 pts = 15%: 1,000.00 × 0.85 = 850.00; × (1 − 7.5%) = 786.25.
    assert steps(line) == [
        ("tier Gold hardware −20%", "20", "200.00"),
        ("distributor −5 pts", "-5", "-50.00"),
        ("deal registration −7.5%", "7.5", "63.75"),
    ]
    assert line.unit_net_minor == 786_25


def test_distributor_reduction_never_makes_a_negative_discount(
    world, catalogue, distributor, ev_program
):
    """Authorized services: no discount; 5 points off nothing leaves the list price."""
    (line,) = price(
        world.partner_a,
        lines=[{"sku": "SUP-1", "quantity": 1}],
        purchase_path="distributor",
        distributor_id=distributor.pk,
    ).lines
    assert line.steps == [] and line.unit_net_minor == 500_00


def test_rounding_once_per_unit_then_per_line(world, catalogue, ev_program):
    """Cable 9.99, Authorized hardware −10%: 8.991 → 8.99 per unit; × 2.5 = 22.475 → 22.48."""
    (line,) = price(world.partner_a, lines=[{"sku": "CABLE-9", "quantity": "2.5"}]).lines
    assert line.unit_net_minor == 899
    assert line.line_total_minor == 2248
    assert steps(line) == [("tier Authorized hardware −10%", "10", "1.00")]


def test_rounding_difference_is_a_step(world, catalogue, gold, approved_registration):
    """Plug 1.00 on a registration, Gold: 20% + 7.5% = 27.5%, net 0.725 → 0.73. The steps
    round to 0.20 and 0.075 → 0.08 = 0.28, one cent more than 1.00 − 0.73 = 0.27: a
    "rounding" step of −0.01 makes them add up."""
    reg = approved_registration(products=("PLUG-1",))
    (line,) = price(
        world.partner_a, registration_id=reg.pk, lines=[{"sku": "PLUG-1", "quantity": 1}]
    ).lines
    assert line.unit_net_minor == 73
    assert steps(line) == [
        ("tier Gold hardware −20%", "20", "0.20"),
        ("deal registration −7.5%", "7.5", "0.08"),
        ("rounding", None, "-0.01"),
    ]
    assert sum(Decimal(s["amount"]) for s in line.steps) == Decimal("1.00") - Decimal("0.73")


def test_direct_refused_without_a_credit_line(world, catalogue, gold, distributor):
    q = price(world.partner_a)
    assert q.direct_allowed is False
    assert q.total_minor == 800_00  # still priced
    assert q.direct_message == (
        "Buy through an authorised distributor: Alpha Charging has no credit line for direct "
        "purchases. Authorised distributors: Delta Distribution."
    )
    assert q.distributors == [distributor]


def test_direct_refused_over_the_limit_with_the_figures(
    world, catalogue, gold, distributor, credit, today
):
    credit(limit="10000.00")
    customer = Customer.objects.create(external_id="C1", name="Acme", activated_on=today)

    def billed(ext, amount, days_ago, path="direct"):
        BillingLine.objects.create(
            external_id=ext,
            partner=world.partner_a,
            customer=customer,
            product=catalogue["wallbox"],
            quantity=1,
            net_amount_minor=amount,
            currency="USD",
            invoice_date=today - dt.timedelta(days=days_ago),
            purchase_path=path,
            distributor=distributor if path == "distributor" else None,
        )

    billed("INV-1", 9000_00, 10)
    billed("INV-2", -1000_00, 5)  # a credit note reduces what is used
    billed("INV-OLD", 5000_00, 90)  # 90 days ago: outside the last 90 days
    billed("INV-DIST", 5000_00, 3, path="distributor")  # not on the partner's credit
    assert services.credit_used(partner=world.partner_a, currency="USD", on=today) == 8000_00
    q = price(world.partner_a, lines=[{"sku": "WB-1000", "quantity": 3}])
    # 3 × 800.00 = 2,400.00; 8,000.00 + 2,400.00 = 10,400.00 > 10,000.00.
    assert q.total_minor == 2400_00
    assert q.direct_allowed is False
    assert q.direct_message == (
        "Buy through an authorised distributor: credit used 8,000.00 USD + this quote "
        "2,400.00 USD = 10,400.00 USD exceeds the credit limit of 10,000.00 USD. "
        "Authorised distributors: Delta Distribution."
    )
    # Two units (1,600.00) fit: 9,600.00 ≤ 10,000.00.
    assert price(world.partner_a, lines=[{"sku": "WB-1000", "quantity": 2}]).direct_allowed


def test_accepted_direct_quotes_use_credit_for_30_days(world, catalogue, gold, credit, today):
    credit(limit="2000.00")
    first = services.quote_create(
        partner=world.partner_a, data={"lines": [{"sku": "WB-1000", "quantity": 2}]}
    )
    assert first.direct_allowed and first.total_minor == 1600_00
    services.quote_accept(quote=first)
    assert services.credit_used(partner=world.partner_a, currency="USD", on=today) == 1600_00
    second = price(world.partner_a)
    assert not second.direct_allowed
    assert "credit used 1,600.00 USD + this quote 800.00 USD = 2,400.00 USD" in (
        second.direct_message
    )
    later = today + dt.timedelta(days=30)
    assert services.credit_used(partner=world.partner_a, currency="USD", on=later) == 0


def test_expired_or_other_currency_credit_line(world, catalogue, gold, credit, today):
    credit(approved_on="2024-01-01", expires_on=(today - dt.timedelta(days=1)).isoformat())
    assert "expired on" in price(world.partner_a).direct_message
    credit(currency="EUR")
    assert "is in EUR, this quote in USD" in price(world.partner_a).direct_message


def test_credit_line_needs_the_duns_number(world):
    with pytest.raises(ServiceError) as e:
        services.credit_line_set(partner=world.partner_b, data={"limit": "1000", "currency": "EUR"})
    assert e.value.field == "duns"
    assert "Beta Energy has no DUNS number" in e.value.message


def test_gated_product_is_refused_naming_product_and_certification(world, catalogue, gold):
    from partnerhub.training.models import Certification

    cert = Certification.objects.create(key="ev-installer", name="EV Installer")
    catalogue["wallbox"].required_certification = cert
    catalogue["wallbox"].save()
    with pytest.raises(NotAllowed) as e:
        price(world.partner_a)
    assert e.value.status_code == 403 and e.value.field == "lines"
    assert e.value.message == (
        "Alpha Charging has no person holding a current 'EV Installer' certification, "
        "required for WB-1000 (Wallbox 22 kW)."
    )


def test_registration_must_be_own_approved_and_protected(
    world, catalogue, gold, approved_registration
):
    from partnerhub.deals import services as deals

    other = approved_registration(partner=world.partner_b)
    with pytest.raises(ServiceError) as e:
        price(world.partner_a, registration_id=other.pk)
    assert e.value.field == "registration"
    assert f"no deal registration #{other.pk}" in e.value.message
    mine = approved_registration()
    deals.registration_close(registration=mine, by=None, outcome="lost", reason="No budget")
    with pytest.raises(ServiceError) as e:
        price(world.partner_a, registration_id=mine.pk)
    assert e.value.field == "registration"
    assert "is not approved and protected" in e.value.message
    late = approved_registration()
    with pytest.raises(ServiceError) as e:
        price(
            world.partner_a,
            registration_id=late.pk,
            quote_date=(late.protected_until + dt.timedelta(days=1)).isoformat(),
        )
    assert f"its protection ended on {late.protected_until}" in e.value.message


def test_mixed_currencies_are_refused(world, catalogue, gold):
    with pytest.raises(ServiceError) as e:
        price(world.partner_a, lines=[{"sku": "WB-1000"}, {"sku": "WB-EU"}])
    assert e.value.field == "lines"
    assert "priced in EUR, USD" in e.value.message


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"purchase_path": "distributor"}, "distributor_id"),
        ({"purchase_path": "distributor", "distributor_id": 987654}, "distributor_id"),
        ({"purchase_path": "barter"}, "purchase_path"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "WB-1000", "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "NOPE"}]}, "lines.0"),
        ({"quote_date": "yesterday"}, "quote_date"),
    ],
)
def test_bad_input_names_the_field(world, catalogue, gold, data, field):
    with pytest.raises(ServiceError) as e:
        price(world.partner_a, **data)
    assert e.value.field == field


def test_referral_customer_discount_when_elected(
    world, catalogue, gold, approved_registration, ev_program, today
):
    """A won referral whose partner had elected the customer discount before submitting it;
    Gold grants a 4% referral customer discount. Won, it is no longer protected, so no deal
    registration discount: 20% + 4% = 24%, 1,000.00 → 760.00."""
    from partnerhub.deals.models import DealStatus
    from partnerhub.incentives.models import ReferralElection
    from partnerhub.programs.models import Tier

    tier = Tier.objects.get(track__version__program=ev_program, track__key="var", key="gold")
    tier.benefits = {**tier.benefits, "referral_customer_discount": "4"}
    tier.save()
    ReferralElection.objects.create(
        partner=world.partner_a,
        program=ev_program,
        choice="discount",
        effective_from=today - dt.timedelta(days=10),
    )
    reg = approved_registration(source="referral")
    reg.status = DealStatus.WON
    reg.save()
    (line,) = price(world.partner_a, registration_id=reg.pk).lines
    assert steps(line) == [
        ("tier Gold hardware −20%", "20", "200.00"),
        ("referral customer discount −4%", "4", "40.00"),
    ]
    assert line.unit_net_minor == 760_00
    # Electing the fee (later) does not change a referral submitted before it.
    ReferralElection.objects.create(
        partner=world.partner_a, program=ev_program, choice="fee", effective_from=today
    )
    reg.submitted_on = today
    reg.save()
    (line,) = price(world.partner_a, registration_id=reg.pk).lines
    assert line.unit_net_minor == 800_00


def test_quotes_are_numbered_without_gaps_and_accepted(world, catalogue, gold, credit, today):
    credit()
    data = {"lines": [{"sku": "WB-1000", "quantity": 1}]}
    a = services.quote_create(partner=world.partner_a, data=data, created_by=world.admin_a)
    b = services.quote_create(partner=world.partner_a, data=data)
    assert (a.number, b.number) == (f"Q-{today.year}-00001", f"Q-{today.year}-00002")
    line = a.lines.get()
    assert (line.list_price_minor, line.unit_net_minor, line.line_total_minor) == (
        1000_00,
        800_00,
        800_00,
    )
    assert line.steps == [{"label": "tier Gold hardware −20%", "percent": "20", "amount": "200.00"}]
    services.quote_accept(quote=a, accepted_by=world.admin_a)
    a.refresh_from_db()
    assert a.status == QuoteStatus.ACCEPTED
    from partnerhub.core.errors import Conflict

    with pytest.raises(Conflict):
        services.quote_accept(quote=a)
    with pytest.raises(Conflict) as e:
        services.quote_accept(quote=b, on=b.valid_until + dt.timedelta(days=1))
    assert "was valid until" in e.value.message
    assert services.quotes_expire(on=b.valid_until + dt.timedelta(days=1)) == 1
    b.refresh_from_db()
    assert b.status == QuoteStatus.EXPIRED


def test_direct_quote_without_credit_cannot_be_accepted(world, catalogue, gold):
    from partnerhub.core.errors import Conflict

    quote = services.quote_create(partner=world.partner_a, data={"lines": [{"sku": "WB-1000"}]})
    assert quote.direct_allowed is False
    with pytest.raises(Conflict) as e:
        services.quote_accept(quote=quote)
    assert e.value.message.startswith("Buy through an authorised distributor")


def test_expire_command(world, catalogue, gold, today):
    from io import StringIO

    from django.core.management import call_command

    q = services.quote_create(partner=world.partner_a, data={"lines": [{"sku": "WB-1000"}]})
    out = StringIO()
    call_command("quotes", "expire", "--on", q.valid_until.isoformat(), stdout=out)
    assert out.getvalue().strip() == "0 quote(s) expired."  # still valid on its last day
    day = (q.valid_until + dt.timedelta(days=1)).isoformat()
    call_command("quotes", "expire", "--on", day, stdout=out)
    assert "1 quote(s) expired." in out.getvalue()


def test_schedule_queues_the_daily_run_once(db, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from django_tasks_db.models import DBTaskResult

    from partnerhub.quotes.tasks import quotes_daily

    first, second = StringIO(), StringIO()
    call_command("quotes", "schedule", stdout=first)
    call_command("quotes", "schedule", stdout=second)
    assert first.getvalue().startswith("Daily quote run queued for ")
    assert second.getvalue().strip() == "The daily quote run is already queued."
    assert DBTaskResult.objects.filter(task_path=quotes_daily.module_path).count() == 1
