"""Builders for the incentive tests: tiers held, won registrations, payments."""

from __future__ import annotations

import datetime as dt
import itertools

from partnerhub.tiers.tests.factories import bill, customer, day, join, load_program, partner

_seq = itertools.count(1)

__all__ = ["bill", "customer", "day", "hold", "join", "load_program", "partner", "won"]


def hold(p, program, track: str, tier: str, since="2025-02-01", rank: int = 1):
    """Record that ``p`` holds ``tier`` in ``track`` since a day (history and current)."""
    from partnerhub.tiers.models import PartnerTier, TierChange

    TierChange.objects.create(
        partner=p,
        program=program,
        track_key=track,
        from_tier_key="",
        to_tier_key=tier,
        kind="promotion",
        effective_on=day(since),
        reason="test",
    )
    PartnerTier.objects.update_or_create(
        partner=p,
        program=program,
        track_key=track,
        defaults={
            "tier_key": tier,
            "rank": rank,
            "since": day(since),
            "held_until": dt.date(2099, 1, 1),
            "source": "computed",
            "last_evaluated_on": day(since),
        },
    )


def won(p, program, line, *, source="partner_sourced", submitted_on="2025-03-01"):
    """A registration of ``line``'s customer, won by that line."""
    from partnerhub.deals.models import DealRegistration

    n = next(_seq)
    return DealRegistration.objects.create(
        partner=p,
        program=program,
        customer_name=line.customer.name,
        customer_country="DE",
        name_norm=f"cust {n}",
        name_key=f"cust {n}",
        estimated_value_minor=line.net_amount_minor,
        currency=line.currency,
        expected_close_date=day(submitted_on) + dt.timedelta(days=60),
        source=source,
        status="won",
        submitted_on=day(submitted_on),
        submitted_at=dt.datetime.combine(day(submitted_on), dt.time(9), tzinfo=dt.UTC),
        submission_seq=n,
        closed_on=line.invoice_date,
        won_billing_line=line,
    )
