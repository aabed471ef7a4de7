"""Charging fixtures: a site in Berlin with an AC and a DC charge point hosted by partner A, a
site in Lyon hosted by partner B, contracts, and helpers to build tariffs and sessions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest


def ocpi_tariff(tariff_id: str, *, energy="0.25", flat=None, currency="EUR") -> dict:
    """A tariff as the API receives it (JSON numbers)."""
    components = [{"type": "ENERGY", "price": float(energy), "vat": 19.0, "step_size": 1}]
    if flat is not None:
        components.insert(0, {"type": "FLAT", "price": float(flat), "vat": 19.0, "step_size": 1})
    return {
        "country_code": "DE",
        "party_id": "ALL",
        "id": tariff_id,
        "currency": currency,
        "elements": [{"price_components": components}],
        "last_updated": "2025-01-01T00:00:00Z",
    }


def evse_body(uid: str, current_type: str = "AC", power: str = "22") -> dict:
    standard = "IEC_62196_T2" if current_type == "AC" else "IEC_62196_T2_COMBO"
    return {
        "uid": uid,
        "evse_id": f"DE*ACM*E{uid}",
        "current_type": current_type,
        "max_power_kw": power,
        "connectors": [{"connector_id": "1", "standard": standard, "format": "SOCKET"}],
    }


@pytest.fixture
def contract_for(db):
    """``contract_for(partner, **options)``: a site-host contract in force from 2024 on."""
    from partnerhub.settlements.models import Contract

    def make(partner, **options):
        values = {
            "name": f"{partner.display_name} site contract",
            "partner": partner,
            "currency": "EUR",
            "start_month": dt.date(2024, 1, 1),
            "end_month": dt.date(2099, 12, 1),
            "ac_share_percent": Decimal("50"),
            "dc_share_percent": Decimal("40"),
        }
        values.update(options)
        return Contract.objects.create(**values)

    return make


@pytest.fixture
def site(world):
    """Berlin: charge point CP-AC (EVSE E-AC, 22 kW) and CP-DC (E-DC, 150 kW) hosted by A
    since 1 January 2025; Lyon: CP-FR (E-FR) hosted by B."""
    from partnerhub.charging import services

    berlin = services.location_create(
        data={
            "ocpi_id": "LOC-BER",
            "name": "Alpha Depot",
            "address": "Hafenweg 1",
            "city": "Berlin",
            "country": "DE",
            "latitude": "52.520008",
            "longitude": "13.404954",
            "time_zone": "Europe/Berlin",
            "electricity_prices": [
                {"valid_from": "2025-01-01", "price_per_kwh": "0.200000", "currency": "EUR"}
            ],
        }
    )
    lyon = services.location_create(
        data={
            "ocpi_id": "LOC-LYS",
            "name": "Beta Parking",
            "address": "1 rue de la Paix",
            "city": "Lyon",
            "country": "FR",
            "time_zone": "Europe/Paris",
        }
    )
    start = dt.date(2025, 1, 1)
    ac = services.charge_point_create(
        location=berlin,
        data={"identity": "CP-AC", "evses": [evse_body("E-AC")]},
        partner=world.partner_a,
        hosted_from=start,
    )
    dc = services.charge_point_create(
        location=berlin,
        data={"identity": "CP-DC", "evses": [evse_body("E-DC", "DC", "150")]},
        partner=world.partner_a,
        hosted_from=start,
    )
    fr = services.charge_point_create(
        location=lyon,
        data={"identity": "CP-FR", "evses": [evse_body("E-FR")]},
        partner=world.partner_b,
        hosted_from=start,
    )
    from types import SimpleNamespace

    return SimpleNamespace(berlin=berlin, lyon=lyon, ac=ac, dc=dc, fr=fr)


@pytest.fixture
def session_for(db):
    """``session_for(evse, start, total_incl, driver=None, corporate=True)``: one CDR row."""
    from partnerhub.charging.models import ChargingSession

    counter = {"n": 0}

    def make(evse, start: dt.datetime, total_incl_minor: int, driver=None, corporate=True):
        counter["n"] += 1
        excl = round(total_incl_minor / Decimal("1.19"))
        return ChargingSession.objects.create(
            cdr_id=f"CDR-{counter['n']}",
            evse=evse,
            charge_point=evse.charge_point,
            location=evse.charge_point.location,
            partner=evse.charge_point.partner,
            current_type=evse.current_type,
            start=start,
            end=start + dt.timedelta(hours=1),
            energy_wh=10_000,
            currency="EUR",
            energy_cost_minor=excl,
            total_excl_vat_minor=excl,
            total_incl_vat_minor=total_incl_minor,
            payment_method="corporate" if corporate else "card",
            driver=driver,
            corporate_partner=driver.partner if (driver and corporate) else None,
        )

    return make
