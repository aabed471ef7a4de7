"""``settlement_world``: the root conftest's partners (A, B, the operator and its children)
hosting charge points at two sites, with electricity prices, and helpers that create
contracts and charging sessions directly (no import needed)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def months_are_over(monkeypatch):
    """These tests settle and finalise fixed months of 2026 (October to December): they take
    place on 1 February 2027, when those months are over. ``test_month_rules.py`` sets other
    days."""
    from partnerhub.settlements import services

    monkeypatch.setattr(services, "today", lambda: dt.date(2027, 2, 1))


def written() -> int:
    """Write the deferred per-session lines of every draft, as their first read does (a run
    sums the sessions without writing them; ``compute.materialise``)."""
    from partnerhub.settlements.compute import materialise
    from partnerhub.settlements.models import Statement

    return materialise(
        Statement.objects.filter(session_lines_ready=False).values_list("pk", flat=True)
    )


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@dataclass
class SettlementWorld:
    world: object
    berlin: object  # location, electricity 0.250000 EUR/kWh from 2026-01-01
    paris: object  # location, electricity 0.180000 EUR/kWh, 0.200000 from 2026-10-16
    cp_a: object  # at berlin, hosted by partner A: AC EVSE + DC EVSE
    cp_dc: object  # at paris, hosted by partner B: two DC EVSEs (a DC-only site)
    ac_a: object
    dc_a: object
    dc_b1: object
    dc_b2: object

    def contract(self, partner=None, **overrides):
        from partnerhub.settlements.services import contract_create

        data = {
            "name": "Site host contract",
            "currency": "EUR",
            "start_month": "2026-01",
            "end_month": "2026-12",
            "ac_share_percent": "30",
            "dc_share_percent": "40",
        }
        data.update(overrides)
        return contract_create(partner=partner or self.world.partner_a, data=data)

    def session(self, evse, start, *, kwh="10", excl="5.00", incl=None, fee="0.00", **kw):
        """A finished session on ``evse`` (its charge point's host on the start day)."""
        from partnerhub.charging.models import ChargingSession
        from partnerhub.core.money import to_minor

        excl_minor = to_minor(Decimal(excl), "EUR")
        incl_minor = to_minor(Decimal(incl), "EUR") if incl else round(excl_minor * 1.19)
        cp = evse.charge_point
        host = kw.pop("partner", "host")
        if host == "host":
            host = hosting_partner(cp, start.date())
        values = {
            "cdr_id": f"CDR-{next(_ids)}",
            "evse": evse,
            "charge_point": cp,
            "location": cp.location,
            "partner": host,
            "current_type": evse.current_type,
            "start": start,
            "end": start + dt.timedelta(hours=1),
            "energy_wh": int(Decimal(kwh) * 1000),
            "charging_seconds": 3600,
            "currency": "EUR",
            "energy_cost_minor": excl_minor - to_minor(Decimal(fee), "EUR"),
            "connection_fee_minor": to_minor(Decimal(fee), "EUR"),
            "total_excl_vat_minor": excl_minor,
            "total_incl_vat_minor": incl_minor,
            "payment_method": "card",
        }
        values.update(kw)
        return ChargingSession.objects.create(**values)


def hosting_partner(cp, day):
    from django.db.models import Q

    from partnerhub.charging.models import ChargePointHosting

    h = (
        ChargePointHosting.objects.filter(charge_point=cp, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .first()
    )
    return h.partner if h else None


@pytest.fixture
def settlement_world(world):
    from partnerhub.charging.models import (
        ChargePoint,
        ChargePointHosting,
        ElectricityPrice,
        Evse,
        Location,
    )

    berlin = Location.objects.create(
        ocpi_id="LOC-BER", name="Berlin depot", address="Hafenstr. 1", city="Berlin", country="DE"
    )
    paris = Location.objects.create(
        ocpi_id="LOC-PAR", name="Paris fast", address="Rue 1", city="Paris", country="FR"
    )
    ElectricityPrice.objects.create(
        location=berlin, valid_from=dt.date(2026, 1, 1), price_per_kwh="0.25", currency="EUR"
    )
    ElectricityPrice.objects.create(
        location=paris, valid_from=dt.date(2025, 1, 1), price_per_kwh="0.18", currency="EUR"
    )
    ElectricityPrice.objects.create(
        location=paris, valid_from=dt.date(2026, 10, 16), price_per_kwh="0.2", currency="EUR"
    )
    cp_a = ChargePoint.objects.create(location=berlin, identity="CP-A", partner=world.partner_a)
    cp_dc = ChargePoint.objects.create(location=paris, identity="CP-DC", partner=world.partner_b)
    ChargePointHosting.objects.create(
        charge_point=cp_a, partner=world.partner_a, valid_from=dt.date(2025, 6, 1)
    )
    ChargePointHosting.objects.create(
        charge_point=cp_dc, partner=world.partner_b, valid_from=dt.date(2025, 6, 1)
    )
    ac_a = Evse.objects.create(charge_point=cp_a, uid="A-AC", current_type="AC", max_power_kw=22)
    dc_a = Evse.objects.create(charge_point=cp_a, uid="A-DC", current_type="DC", max_power_kw=50)
    dc_b1 = Evse.objects.create(
        charge_point=cp_dc, uid="B-DC1", current_type="DC", max_power_kw=150
    )
    dc_b2 = Evse.objects.create(
        charge_point=cp_dc, uid="B-DC2", current_type="DC", max_power_kw=150
    )
    return SettlementWorld(world, berlin, paris, cp_a, cp_dc, ac_a, dc_a, dc_b1, dc_b2)
