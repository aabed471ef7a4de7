"""Closed-won: an order of the same customer within the program's window of the submission."""

import datetime as dt

import pytest

from partnerhub.deals import services
from partnerhub.deals.models import DealStatus
from partnerhub.sales.services import billing_lines_import

pytestmark = pytest.mark.django_db

SUBMITTED = dt.datetime(2026, 3, 15, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def approved(world, register, monkeypatch):
    """An approved registration of partner A submitted on 15 March 2026."""

    def make(partner=None, source="partner_sourced", name="Acme Logistics GmbH"):
        monkeypatch.setattr(services, "today", lambda: dt.date(2026, 3, 15))
        reg = register(partner or world.partner_a, submit=False, source=source, name=name)
        services.registration_submit(registration=reg, submitted_by=None, at=SUBMITTED)
        services.registration_approve(
            registration=reg, approved_by=world.manager, on=dt.date(2026, 3, 16)
        )
        monkeypatch.undo()
        reg.refresh_from_db()
        return reg

    return make


def _order(
    partner,
    day,
    *,
    customer="Acme Logistics",
    website="acme-logistics.de",
    ext=None,
    amount="1000.00",
    customer_id="C-ACME",
):
    report = billing_lines_import(
        rows=[
            {
                "external_id": ext or f"INV-{partner.pk}-{day}-{customer_id}-{amount}",
                "partner_id": str(partner.pk),
                "customer_id": customer_id,
                "customer_name": customer,
                "customer_country": "DE",
                "sku": "WB-22",
                "quantity": "1",
                "net_amount": amount,
                "currency": "USD",
                "invoice_date": day.isoformat(),
            }
        ]
    )
    assert not report.errors, report.errors
    from partnerhub.sales.models import Customer

    Customer.objects.filter(external_id=customer_id).update(website_domain=website)
    c = Customer.objects.get(external_id=customer_id)
    from partnerhub.sales.services import _set_identity_keys

    _set_identity_keys(c).save()


@pytest.mark.parametrize(
    ("invoice_day", "won"),
    [
        (dt.date(2026, 9, 15), True),  # six months to the day: inside the window
        (dt.date(2026, 9, 16), False),  # one day later: outside
        (dt.date(2026, 3, 15), True),  # the submission day itself
        (dt.date(2026, 3, 14), False),  # before the submission
    ],
)
def test_six_month_window_on_both_sides_of_its_edge(world, approved, invoice_day, won):
    reg = approved()
    _order(world.partner_a, invoice_day)
    assert services.orders_match(on=dt.date(2026, 10, 1)) == (1 if won else 0)
    reg.refresh_from_db()
    assert (reg.status == DealStatus.WON) is won
    if won:
        assert reg.closed_on == invoice_day
        assert reg.won_billing_line.invoice_date == invoice_day


def test_matching_survives_spelling_variants(world, approved):
    reg = approved(name="Acme Logistics GmbH")
    _order(world.partner_a, dt.date(2026, 5, 1), customer="ACME LOGISTICS", website="")
    services.orders_match()
    reg.refresh_from_db()
    assert reg.status == DealStatus.WON


def test_another_customer_does_not_win_it(world, approved):
    reg = approved(name="Acme Logistics GmbH")
    _order(
        world.partner_a,
        dt.date(2026, 5, 1),
        customer="Acme Health",
        website="acmehealth.com",
        customer_id="C-HEALTH",
    )
    assert services.orders_match() == 0
    reg.refresh_from_db()
    assert reg.status == DealStatus.APPROVED


def test_sourced_deal_needs_the_registering_partners_order(world, approved):
    reg = approved()
    _order(world.partner_b, dt.date(2026, 5, 1))
    assert services.orders_match() == 0
    reg.refresh_from_db()
    assert reg.status == DealStatus.APPROVED


def test_referral_is_won_by_any_partners_order(world, approved):
    reg = approved(source="referral")
    _order(world.partner_b, dt.date(2026, 5, 1))
    assert services.orders_match() == 1
    reg.refresh_from_db()
    assert reg.status == DealStatus.WON


def test_credit_notes_do_not_win(world, approved):
    reg = approved()
    _order(world.partner_a, dt.date(2026, 5, 1), amount="-500.00")
    assert services.orders_match() == 0
    reg.refresh_from_db()
    assert reg.status == DealStatus.APPROVED


def test_an_expired_registration_can_still_be_won_within_the_window(world, approved):
    reg = approved()
    services.registrations_expire(on=dt.date(2026, 6, 1))
    reg.refresh_from_db()
    assert reg.status == DealStatus.EXPIRED
    _order(world.partner_a, dt.date(2026, 7, 1))
    assert services.orders_match() == 1
    reg.refresh_from_db()
    assert reg.status == DealStatus.WON


def test_matching_twice_wins_once(world, approved):
    approved()
    _order(world.partner_a, dt.date(2026, 5, 1))
    assert services.orders_match() == 1
    assert services.orders_match() == 0


def test_billing_import_triggers_matching_after_commit(
    world, approved, django_capture_on_commit_callbacks
):
    reg = approved()
    with django_capture_on_commit_callbacks(execute=True):
        billing_lines_import(
            rows=[
                {
                    "external_id": "INV-1",
                    "partner_id": str(world.partner_a.pk),
                    "customer_id": "C-9",
                    "customer_name": "Acme Logistics GmbH",
                    "customer_country": "DE",
                    "sku": "WB-22",
                    "quantity": "1",
                    "net_amount": "100",
                    "currency": "USD",
                    "invoice_date": "2026-04-01",
                }
            ]
        )
    reg.refresh_from_db()
    assert reg.status == DealStatus.WON
