"""Worked examples and properties of the OCPI tariff calculator (figures written out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partnerhub.charging.ocpi import ChargingPeriod, parse_cdr, parse_tariff
from partnerhub.charging.tariff_calc import (
    Cost,
    Period,
    TariffNotActiveError,
    compile_tariff,
    price_cdr,
    price_session,
    price_simple,
)

D = Decimal


def at(text: str) -> datetime:
    """An aware UTC datetime from ``YYYY-MM-DD HH:MM``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def tariff(*elements: dict[str, Any], **extra: Any) -> Any:
    return parse_tariff({"id": "T1", "currency": "EUR", "elements": list(elements), **extra})


def component(kind: str, price: str, vat: str | None = None, step: int = 1) -> dict[str, Any]:
    data: dict[str, Any] = {"type": kind, "price": D(price), "step_size": step}
    if vat is not None:
        data["vat"] = D(vat)
    return data


def element(*components: dict[str, Any], **restrictions: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"price_components": list(components)}
    if restrictions:
        data["restrictions"] = restrictions
    return data


def cost(excl: str, incl: str) -> Cost:
    return Cost(D(excl), D(incl))


# ---------------------------------------------------------------------------------------------
# Worked examples
# ---------------------------------------------------------------------------------------------

ENERGY_FLAT_PARKING = tariff(
    element(
        component("FLAT", "2.00", "20"),
        component("ENERGY", "0.25", "10"),
        component("PARKING_TIME", "1.00", "0"),
    )
)


def test_energy_flat_and_parking() -> None:
    """20 kWh x 0.25 = 5.00 (+10 % = 5.50); flat 2.00 (+20 % = 2.40); 0.5 h parking x 1.00."""
    result = price_session(
        ENERGY_FLAT_PARKING,
        start=at("2024-03-05 18:00"),
        end=at("2024-03-05 20:30"),
        periods=[
            Period(start=at("2024-03-05 18:00"), energy=D(20), time=D(2)),
            Period(start=at("2024-03-05 20:00"), parking_time=D("0.5")),
        ],
    )
    assert result.total_energy_cost == cost("5.00", "5.50")
    assert result.total_fixed_cost == cost("2.00", "2.40")
    assert result.total_parking_cost == cost("0.50", "0.50")
    assert result.total_time_cost == cost("0", "0")  # no TIME component: free
    assert result.total_cost == cost("7.50", "8.40")
    assert (result.total_energy, result.total_time, result.total_parking_time) == (
        D(20),
        D("2.5"),
        D("0.5"),
    )
    assert result.currency == "EUR"


def test_price_simple_matches_explicit_periods() -> None:
    simple = price_simple(
        ENERGY_FLAT_PARKING,
        start=at("2024-03-05 18:00"),
        end=at("2024-03-05 20:30"),
        kwh="20",
        charging_hours=2,
        parking_hours=D("0.5"),
    )
    assert simple.total_cost == cost("7.50", "8.40")
    assert [p.start for p in simple.periods] == [at("2024-03-05 18:00"), at("2024-03-05 20:00")]


def test_time_of_day_split_across_18_00() -> None:
    """Energy costs 0.25 by day and 0.40 from 18:00 to 22:00: 10 x 0.25 + 8 x 0.40 = 5.70."""
    evening = tariff(
        element(component("ENERGY", "0.40", "20"), start_time="18:00", end_time="22:00"),
        element(component("ENERGY", "0.25", "20")),
    )
    result = price_session(
        evening,
        start=at("2024-03-05 17:00"),
        end=at("2024-03-05 19:00"),
        periods=[
            Period(start=at("2024-03-05 17:00"), energy=D(10)),
            Period(start=at("2024-03-05 18:00"), energy=D(8)),
        ],
    )
    assert result.total_energy_cost == cost("5.70", "6.84")
    assert [p.charges[0].element_index for p in result.periods] == [1, 0]


def test_time_of_day_in_local_time_and_across_midnight() -> None:
    """Night rate 22:00-06:00 Amsterdam time (CET = UTC+1 in January) at 0.15, else 0.30.

    21:00 local (20:00Z) 5 kWh day = 1.50; 22:00 local 10 kWh night = 1.50; 00:30 local 4 kWh
    night = 0.60; 06:00 local 2 kWh day = 0.60 -> 4.20.
    """
    night = tariff(
        element(component("ENERGY", "0.15"), start_time="22:00", end_time="06:00"),
        element(component("ENERGY", "0.30")),
    )
    result = price_session(
        night,
        start=at("2024-01-10 20:00"),
        end=at("2024-01-11 06:00"),
        periods=[
            Period(start=at("2024-01-10 20:00"), energy=D(5)),
            Period(start=at("2024-01-10 21:00"), energy=D(10)),
            Period(start=at("2024-01-10 23:30"), energy=D(4)),
            Period(start=at("2024-01-11 05:00"), energy=D(2)),
        ],
        tz=ZoneInfo("Europe/Amsterdam"),
    )
    assert [p.charges[0].element_index for p in result.periods] == [1, 0, 0, 1]
    assert result.total_energy_cost == cost("4.20", "4.20")
    # the same session judged in UTC puts 21:00Z before 22:00: day rate
    in_utc = price_session(
        night,
        start=at("2024-01-10 20:00"),
        end=at("2024-01-11 06:00"),
        periods=list(result_periods(result)),
        tz=UTC,
    )
    assert [p.charges[0].element_index for p in in_utc.periods] == [1, 1, 0, 0]


def result_periods(result: Any) -> list[Period]:
    return [Period(start=p.start, energy=p.charges[0].volume) for p in result.periods]


def test_max_price_caps_the_total() -> None:
    """30 kWh x 0.50 = 15.00 (18.00 incl. 20 %) is capped to max_price 10.00 / 12.00."""
    capped = tariff(
        element(component("ENERGY", "0.50", "20")),
        max_price={"excl_vat": D("10.00"), "incl_vat": D("12.00")},
    )
    result = price_simple(
        capped,
        start=at("2024-03-05 10:00"),
        end=at("2024-03-05 12:00"),
        kwh=30,
        charging_hours=2,
    )
    assert result.subtotal == cost("15.00", "18.00")
    assert result.total_energy_cost == cost("15.00", "18.00")
    assert result.total_cost == cost("10.00", "12.00")
    assert result.price_limit == "max_price"

    below = price_simple(
        capped,
        start=at("2024-03-05 10:00"),
        end=at("2024-03-05 12:00"),
        kwh=10,
        charging_hours=2,
    )
    assert below.total_cost == cost("5.00", "6.00")
    assert below.price_limit is None


def test_limit_without_incl_vat_keeps_the_session_vat_ratio() -> None:
    capped = tariff(element(component("ENERGY", "0.50", "20")), max_price={"excl_vat": D("10.00")})
    result = price_simple(
        capped,
        start=at("2024-03-05 10:00"),
        end=at("2024-03-05 12:00"),
        kwh=30,
        charging_hours=2,
    )
    assert result.total_cost == cost("10.00", "12.00")


def test_min_price_raises_the_total() -> None:
    """1.2 kWh x 0.25 = 0.30 under a 0.50 / 0.55 minimum."""
    minimum = tariff(
        element(component("ENERGY", "0.25", "10")),
        min_price={"excl_vat": D("0.50"), "incl_vat": D("0.55")},
    )
    result = price_simple(
        minimum,
        start=at("2022-01-13 14:30"),
        end=at("2022-01-13 15:30"),
        kwh="1.2",
        charging_hours=1,
    )
    assert result.subtotal == cost("0.30", "0.33")
    assert result.total_cost == cost("0.50", "0.55")
    assert result.price_limit == "min_price"


TIME_STEP_300 = tariff(element(component("TIME", "2.00", "10", step=300)))


def test_time_step_size_of_300_seconds() -> None:
    """1.973 h = 7102.8 s -> 24 steps of 300 s = 7200 s = 2 h -> 4.00 / 4.40 (spec CDR)."""
    result = price_simple(
        TIME_STEP_300,
        start=at("2015-06-29 21:39:09"),
        end=at("2015-06-29 23:37:32"),
        kwh="15.342",
        charging_hours="1.973",
    )
    assert result.billed_charging_time == D(2)
    assert result.total_time_cost == cost("4.00", "4.40")


def test_time_step_size_applies_to_the_session_total() -> None:
    """0.25 h + 0.26 h = 1836 s -> 2100 s (7 x 300 s) = 0.58333.. h x 2.00 = 1.1667.

    Rounding each period separately would bill 900 s + 1200 s = 2100 s too, but 61 min in one
    period shows the difference: 3660 s -> 3900 s = 1.08333.. h x 2.00 = 2.1667.
    """
    result = price_session(
        TIME_STEP_300,
        start=at("2024-03-05 10:00"),
        end=at("2024-03-05 10:30:36"),
        periods=[
            Period(start=at("2024-03-05 10:00"), time=D("0.25")),
            Period(start=at("2024-03-05 10:15"), time=D("0.26")),
        ],
    )
    assert result.total_time_cost == cost("1.1667", "1.2833")
    # the rounding is billed in the last period that carried TIME
    assert [c.billed_volume > c.volume for p in result.periods for c in p.charges] == [
        False,
        True,
    ]
    one_hour_one_minute = price_simple(
        TIME_STEP_300,
        start=at("2024-03-05 10:00"),
        end=at("2024-03-05 11:01"),
        kwh=0,
        charging_hours=D(61) / D(60),
    )
    assert one_hour_one_minute.total_time_cost.excl_vat == D("2.1667")


def test_time_step_size_is_ignored_once_parking_was_priced() -> None:
    """TIME 0.1 h at 2.00, step 900 s (would bill 0.25 h); parking 0.1 h at 1.00, step 900 s.

    Parking was priced, so TIME is billed exact: 0.20; parking 360 s -> 900 s = 0.25.
    """
    both = tariff(
        element(component("TIME", "2.00", step=900), component("PARKING_TIME", "1.00", step=900))
    )
    result = price_simple(
        both,
        start=at("2024-03-05 10:00"),
        end=at("2024-03-05 10:12"),
        kwh=1,
        charging_hours=D("0.1"),
        parking_hours=D("0.1"),
    )
    assert result.total_time_cost == cost("0.20", "0.20")
    assert result.total_parking_cost == cost("0.25", "0.25")
    assert result.billed_charging_time == D("0.1")
    assert result.billed_parking_time == D("0.25")


def test_energy_step_size_in_wh_billed_at_last_component() -> None:
    """7 kWh at 0.20 before 18:00, 5 kWh at 0.30 after with step 5000 Wh: 12 -> 15 kWh.

    The 3 extra kWh are billed at the last component: 1.40 + 8 x 0.30 = 3.80.
    """
    stepped = tariff(
        element(component("ENERGY", "0.20", step=1000), end_time="18:00"),
        element(component("ENERGY", "0.30", step=5000)),
    )
    result = price_session(
        stepped,
        start=at("2024-03-05 17:00"),
        end=at("2024-03-05 19:00"),
        periods=[
            Period(start=at("2024-03-05 17:00"), energy=D(7)),
            Period(start=at("2024-03-05 18:00"), energy=D(5)),
        ],
    )
    assert result.billed_energy == D(15)
    assert result.total_energy_cost == cost("3.80", "3.80")


def test_flat_fee_is_charged_once() -> None:
    flat = tariff(element(component("FLAT", "1.00", "0", step=0)))
    result = price_session(
        flat,
        start=at("2015-06-29 15:00"),
        end=at("2015-06-29 16:30"),
        periods=[
            Period(start=at("2015-06-29 15:00"), time=D("0.5")),
            Period(start=at("2015-06-29 15:30"), time=D("0.5")),
            Period(start=at("2015-06-29 16:00"), time=D("0.5")),
        ],
    )
    assert result.total_fixed_cost == cost("1.00", "1.00")
    assert result.total_cost == cost("1.00", "1.00")


def test_flat_fee_follows_first_matching_element() -> None:
    """Weekday start fee 1.00, otherwise 0.50 (2024-03-09 is a Saturday)."""
    fees = tariff(
        element(
            component("FLAT", "1.00"),
            day_of_week=["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
        ),
        element(component("FLAT", "0.50"), component("ENERGY", "0.30")),
    )
    saturday = price_simple(
        fees, start=at("2024-03-09 10:00"), end=at("2024-03-09 11:00"), kwh=10, charging_hours=1
    )
    friday = price_simple(
        fees, start=at("2024-03-08 10:00"), end=at("2024-03-08 11:00"), kwh=10, charging_hours=1
    )
    assert saturday.total_fixed_cost.excl_vat == D("0.50")
    assert friday.total_fixed_cost.excl_vat == D("1.00")
    # ENERGY comes from the second element on both days: the first has no ENERGY component
    assert friday.total_energy_cost.excl_vat == saturday.total_energy_cost.excl_vat == D("3.00")


def test_parking_grace_period_by_duration() -> None:
    """First 30 min of the session free parking, then 3.00/h: 0.25 h x 3.00 = 0.75."""
    grace = tariff(
        element(component("PARKING_TIME", "0.0"), min_duration=0, max_duration=1800),
        element(component("PARKING_TIME", "3.0"), min_duration=1800),
        element(component("ENERGY", "0.25", "10")),
    )
    result = price_session(
        grace,
        start=at("2015-06-29 15:00"),
        end=at("2015-06-29 16:15"),
        periods=[
            Period(start=at("2015-06-29 15:00"), parking_time=D("0.5")),
            Period(start=at("2015-06-29 15:30"), parking_time=D("0.25")),
            Period(start=at("2015-06-29 15:45"), energy=D(10)),
        ],
    )
    assert result.total_parking_cost == cost("0.75", "0.75")
    assert result.total_cost == cost("3.25", "3.50")


def test_kwh_restriction_uses_energy_charged_before_the_period() -> None:
    """First 10 kWh at 0.20, later energy at 0.35: 10 x 0.20 + 6 x 0.35 = 4.10."""
    tiers = tariff(
        element(component("ENERGY", "0.20"), max_kwh=D(10)),
        element(component("ENERGY", "0.35"), min_kwh=D(10)),
    )
    result = price_session(
        tiers,
        start=at("2024-03-05 10:00"),
        end=at("2024-03-05 12:00"),
        periods=[
            Period(start=at("2024-03-05 10:00"), energy=D(10)),
            Period(start=at("2024-03-05 11:00"), energy=D(6)),
        ],
    )
    assert result.total_energy_cost.excl_vat == D("4.10")


def test_power_restriction() -> None:
    """The spec's max_power example: < 16 kW 0.20, < 32 kW 0.35, otherwise 0.50 (+20 %)."""
    by_power = tariff(
        element(component("ENERGY", "0.20", "20"), max_power=D(16)),
        element(component("ENERGY", "0.35", "20"), max_power=D(32)),
        element(component("ENERGY", "0.50", "20")),
    )
    for power, price in (("11", "0.20"), ("16", "0.35"), ("22", "0.35"), ("50", "0.50")):
        result = price_simple(
            by_power,
            start=at("2024-03-05 10:00"),
            end=at("2024-03-05 11:00"),
            kwh=10,
            charging_hours=1,
            max_power_kw=power,
        )
        assert result.total_energy_cost.excl_vat == D(price) * 10, power
    # no power reported: the restriction does not exclude the first element
    unknown = price_simple(
        by_power,
        start=at("2024-03-05 10:00"),
        end=at("2024-03-05 11:00"),
        kwh=10,
        charging_hours=1,
    )
    assert unknown.total_energy_cost.excl_vat == D("2.00")


def test_current_and_weekday_restrictions_of_the_complex_example() -> None:
    """Spec tariff example 4: TIME 1.00/h below 32 A, 2.00/h from 32 A on weekdays."""
    complex_tariff = tariff(
        element(component("TIME", "1.00", "20", step=900), max_current=D(32)),
        element(
            component("TIME", "2.00", "20", step=600),
            min_current=D(32),
            day_of_week=["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
        ),
        element(
            component("TIME", "1.25", "20", step=600),
            min_current=D(32),
            day_of_week=["SATURDAY", "SUNDAY"],
        ),
    )

    def hour_at(day: str, amps: str) -> Decimal:
        return price_session(
            complex_tariff,
            start=at(f"{day} 10:00"),
            end=at(f"{day} 11:00"),
            periods=[
                Period(
                    start=at(f"{day} 10:00"), time=D(1), min_current=D(amps), max_current=D(amps)
                )
            ],
        ).total_time_cost.excl_vat

    assert hour_at("2024-03-05", "16") == D("1.00")  # Tuesday, 16 A
    assert hour_at("2024-03-05", "32") == D("2.00")  # Tuesday, 32 A
    assert hour_at("2024-03-09", "32") == D("1.25")  # Saturday, 32 A


def test_date_restrictions() -> None:
    promo = tariff(
        element(component("ENERGY", "0.10"), start_date="2024-03-01", end_date="2024-04-01"),
        element(component("ENERGY", "0.30")),
    )

    def price_on(day: str) -> Decimal:
        return price_simple(
            promo, start=at(f"{day} 10:00"), end=at(f"{day} 11:00"), kwh=1, charging_hours=1
        ).total_energy_cost.excl_vat

    assert price_on("2024-02-29") == D("0.30")
    assert price_on("2024-03-01") == D("0.10")
    assert price_on("2024-03-31") == D("0.10")
    assert price_on("2024-04-01") == D("0.30")  # end_date is exclusive


def test_time_without_matching_element_is_free() -> None:
    """TIME is only priced during office hours; an evening hour of charging costs nothing."""
    office = tariff(
        element(component("TIME", "3.00"), start_time="09:00", end_time="17:00"),
        element(component("ENERGY", "0.30")),
    )
    result = price_simple(
        office,
        start=at("2024-03-05 19:00"),
        end=at("2024-03-05 20:00"),
        kwh=10,
        charging_hours=1,
    )
    assert result.total_time_cost == cost("0", "0")
    assert result.total_cost == cost("3.00", "3.00")


def test_reservation_elements_price_only_reservation_time() -> None:
    """Spec example 16: reservation fee 2.00 + 5.00/h reserved; charging 0.50 + 0.25/kWh."""
    reservation = tariff(
        element(
            component("FLAT", "2.00", "20"),
            component("TIME", "5.00", "20", step=60),
            reservation="RESERVATION",
        ),
        element(component("FLAT", "0.50", "20"), component("ENERGY", "0.25", "10")),
    )
    result = price_session(
        reservation,
        start=at("2024-03-05 10:00"),
        end=at("2024-03-05 11:30"),
        periods=[
            Period(start=at("2024-03-05 10:00"), reservation_time=D("0.5")),
            Period(start=at("2024-03-05 10:30"), energy=D(10), time=D(1)),
        ],
    )
    assert result.total_reservation_cost == cost("4.50", "5.40")  # 2.00 + 0.5 h x 5.00
    assert result.total_fixed_cost == cost("0.50", "0.60")
    assert result.total_energy_cost == cost("2.50", "2.75")
    assert result.total_time_cost == cost("0", "0")  # the reservation TIME never prices charging
    assert result.total_cost == cost("7.50", "8.75")


def test_tariff_validity_window() -> None:
    dated = tariff(
        element(component("ENERGY", "0.30")),
        start_date_time="2024-01-01T00:00:00Z",
        end_date_time="2025-01-01T00:00:00Z",
    )
    ok = price_simple(
        dated, start=at("2024-06-01 10:00"), end=at("2024-06-01 11:00"), kwh=1, charging_hours=1
    )
    assert ok.total_cost.excl_vat == D("0.30")
    with pytest.raises(TariffNotActiveError):
        price_simple(
            dated,
            start=at("2025-01-01 00:00"),
            end=at("2025-01-01 01:00"),
            kwh=1,
            charging_hours=1,
        )


def test_input_errors() -> None:
    with pytest.raises(ValueError, match="starts before"):
        price_session(
            ENERGY_FLAT_PARKING,
            start=at("2024-03-05 10:00"),
            end=at("2024-03-05 12:00"),
            periods=[
                Period(start=at("2024-03-05 11:00"), energy=D(1)),
                Period(start=at("2024-03-05 10:00"), energy=D(1)),
            ],
        )
    with pytest.raises(ValueError, match="negative"):
        price_simple(
            ENERGY_FLAT_PARKING,
            start=at("2024-03-05 10:00"),
            end=at("2024-03-05 11:00"),
            kwh=-1,
            charging_hours=1,
        )
    with pytest.raises(ValueError, match="end is before start"):
        price_simple(
            ENERGY_FLAT_PARKING,
            start=at("2024-03-05 10:00"),
            end=at("2024-03-05 09:00"),
            kwh=1,
            charging_hours=1,
        )


def test_accepts_dicts_ocpi_periods_naive_datetimes_and_compiled_tariffs() -> None:
    raw = {
        "id": "T9",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 1}]}],
    }
    compiled = compile_tariff(raw)
    periods = [
        ChargingPeriod.model_validate(
            {
                "start_date_time": "2024-03-05T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": 4},
                    {"type": "MAX_POWER", "volume": 11},
                ],
            }
        )
    ]
    results = [
        price_session(
            t, start=at("2024-03-05 10:00"), end=at("2024-03-05 11:00"), periods=periods
        ).total_cost
        for t in (raw, compiled, compiled.tariff)
    ]
    assert results == [cost("1.00", "1.00")] * 3
    naive = price_simple(
        compiled,
        start=datetime(2024, 3, 5, 10),
        end=datetime(2024, 3, 5, 11),
        kwh=4,
        charging_hours=1,
        tz="Europe/Amsterdam",
    )
    assert naive.periods[0].start.utcoffset() == timedelta(hours=1)


def test_results_fill_a_valid_cdr() -> None:
    result = price_simple(
        ENERGY_FLAT_PARKING,
        start=at("2024-03-05 18:00"),
        end=at("2024-03-05 20:30"),
        kwh=20,
        charging_hours=2,
        parking_hours=D("0.5"),
    )
    cdr = parse_cdr(
        {
            "start_date_time": "2024-03-05T18:00:00Z",
            "end_date_time": "2024-03-05T20:30:00Z",
            "currency": result.currency,
            "charging_periods": [
                {
                    "start_date_time": "2024-03-05T18:00:00Z",
                    "dimensions": [{"type": "ENERGY", "volume": 20}, {"type": "TIME", "volume": 2}],
                },
                {
                    "start_date_time": "2024-03-05T20:00:00Z",
                    "dimensions": [{"type": "PARKING_TIME", "volume": D("0.5")}],
                },
            ],
            "last_updated": "2024-03-05T21:00:00Z",
            **result.cdr_totals(),
        }
    )
    assert cdr.total_cost.incl_vat == D("8.40")
    assert price_cdr(ENERGY_FLAT_PARKING, cdr).total_cost == result.total_cost


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=10, places=4)
vats = st.none() | st.decimals(min_value=0, max_value=30, places=1)
kwh = st.decimals(min_value=0, max_value=200, places=3)
hours = st.decimals(min_value=0, max_value=12, places=4)
time_steps = st.sampled_from([0, 1, 60, 300, 900, 1800])
energy_steps = st.sampled_from([0, 1, 100, 1000, 5000])
START = at("2024-03-05 08:00")


@st.composite
def components(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = draw(
        st.lists(
            st.sampled_from(["ENERGY", "FLAT", "TIME", "PARKING_TIME"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    result = []
    for kind in kinds:
        step = draw(energy_steps if kind == "ENERGY" else time_steps)
        data = {"type": kind, "price": draw(prices), "step_size": step}
        vat = draw(vats)
        if vat is not None:
            data["vat"] = vat
        result.append(data)
    return result


restrictions = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "start_time": st.sampled_from(["00:00", "08:00", "12:00", "18:00", "22:00"]),
        "end_time": st.sampled_from(["00:00", "06:00", "12:00", "18:00"]),
        "max_kwh": st.decimals(min_value=1, max_value=50, places=1),
        "min_duration": st.integers(min_value=0, max_value=7200),
        "max_power": st.decimals(min_value=1, max_value=150, places=0),
    },
)


@st.composite
def any_tariff(draw: st.DrawFn) -> Any:
    elements = []
    for comps in draw(st.lists(components(), min_size=1, max_size=4)):
        data: dict[str, Any] = {"price_components": comps}
        restriction = draw(restrictions)
        if restriction:
            data["restrictions"] = restriction
        elements.append(data)
    return compile_tariff({"id": "P", "currency": "EUR", "elements": elements})


@st.composite
def any_periods(draw: st.DrawFn) -> tuple[list[Period], datetime]:
    moment = START + timedelta(minutes=draw(st.integers(min_value=0, max_value=24 * 60)))
    periods = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        duration = draw(hours)
        if draw(st.booleans()):
            periods.append(
                Period(
                    start=moment,
                    energy=draw(kwh),
                    time=duration,
                    max_power=draw(st.none() | st.decimals(min_value=1, max_value=150, places=1)),
                )
            )
        else:
            periods.append(Period(start=moment, parking_time=duration))
        moment += timedelta(seconds=int(duration * 3600))
    return periods, moment


MONEY = ("total_energy_cost", "total_time_cost", "total_parking_cost", "total_fixed_cost")


@settings(max_examples=200, deadline=None)
@given(any_tariff(), any_periods())
def test_cost_never_negative_and_vat_never_reduces(compiled: Any, session: Any) -> None:
    periods, end = session
    result = price_session(compiled, start=periods[0].start, end=end, periods=periods)
    for name in (*MONEY, "total_reservation_cost", "subtotal", "total_cost"):
        value = getattr(result, name)
        assert value.excl_vat >= 0, name
        assert value.incl_vat >= value.excl_vat, name


@settings(max_examples=200, deadline=None)
@given(any_tariff(), any_periods())
def test_total_is_the_sum_of_dimension_totals(compiled: Any, session: Any) -> None:
    periods, end = session
    result = price_session(compiled, start=periods[0].start, end=end, periods=periods)
    summed = Cost()
    for name in (*MONEY, "total_reservation_cost"):
        summed = summed + getattr(result, name)
    assert result.subtotal == summed
    assert result.total_cost == summed  # no min/max price in these tariffs


@settings(max_examples=200, deadline=None)
@given(
    price=prices,
    vat=vats,
    step=energy_steps,
    limits=st.sampled_from([None, "min", "max"]),
    a=kwh,
    b=kwh,
)
def test_energy_only_cost_is_monotone_in_energy(
    price: Decimal, vat: Decimal | None, step: int, limits: str | None, a: Decimal, b: Decimal
) -> None:
    extra: dict[str, Any] = {}
    if limits == "min":
        extra["min_price"] = {"excl_vat": D("2.00")}
    elif limits == "max":
        extra["max_price"] = {"excl_vat": D("20.00")}
    energy_tariff = compile_tariff(
        tariff(
            element(component("ENERGY", str(price), None if vat is None else str(vat), step)),
            **extra,
        )
    )
    low, high = sorted((a, b))

    def price_of(energy: Decimal) -> Cost:
        return price_simple(
            energy_tariff,
            start=START,
            end=START + timedelta(hours=1),
            kwh=energy,
            charging_hours=1,
        ).total_cost

    cheap, dear = price_of(low), price_of(high)
    assert cheap.excl_vat <= dear.excl_vat
    assert cheap.incl_vat <= dear.incl_vat


@settings(max_examples=200, deadline=None)
@given(
    comps=components(),
    energy=kwh,
    charging=hours,
    parking=hours,
    energy_share=st.decimals(min_value=0, max_value=1, places=3),
    time_share=st.decimals(min_value=0, max_value=1, places=3),
    split_parking=st.booleans(),
)
def test_splitting_a_period_does_not_change_the_cost(
    comps: list[dict[str, Any]],
    energy: Decimal,
    charging: Decimal,
    parking: Decimal,
    energy_share: Decimal,
    time_share: Decimal,
    split_parking: bool,
) -> None:
    """Same volumes, same (unrestricted) element: one period or two gives the same result."""
    unrestricted = compile_tariff(tariff(element(*comps)))
    parking_start = START + timedelta(seconds=int(charging * 3600))
    end = parking_start + timedelta(seconds=int(parking * 3600))
    whole = [
        Period(start=START, energy=energy, time=charging),
        Period(start=parking_start, parking_time=parking),
    ]
    if split_parking:
        first = (parking * time_share).quantize(D("0.0001"))
        middle = parking_start + timedelta(seconds=int(first * 3600))
        split = [
            whole[0],
            Period(start=parking_start, parking_time=first),
            Period(start=middle, parking_time=parking - first),
        ]
    else:
        first_time = (charging * time_share).quantize(D("0.0001"))
        first_energy = (energy * energy_share).quantize(D("0.001"))
        middle = START + timedelta(seconds=int(first_time * 3600))
        split = [
            Period(start=START, energy=first_energy, time=first_time),
            Period(start=middle, energy=energy - first_energy, time=charging - first_time),
            whole[1],
        ]
    one = price_session(unrestricted, start=START, end=end, periods=whole)
    two = price_session(unrestricted, start=START, end=end, periods=split)
    for name in (*MONEY, "total_cost", "billed_energy", "billed_charging_time"):
        assert getattr(one, name) == getattr(two, name), name


def test_step_size_rounding_is_exact_at_a_half():
    """1.0001 h at 0.2022/h with 300 s steps bills 3,900 s = 13/12 h: exactly 0.21905, which
    rounds half-up to 0.2191 whether the hour is one period or split in two (found by the
    splitting property: the non-terminating 299.64 s / 3600 used to leave 0.2190499...9)."""
    priced = compile_tariff(tariff(element({"type": "TIME", "price": "0.2022", "step_size": 300})))
    end = START + timedelta(seconds=3600.36)
    whole = [Period(start=START, time=D("1.0001"))]
    split = [
        Period(start=START, time=D("0.0840")),
        Period(start=START + timedelta(seconds=302.4), time=D("0.9161")),
    ]
    for periods in (whole, split):
        cost = price_session(priced, start=START, end=end, periods=periods)
        assert cost.total_time_cost.excl_vat == D("0.2191")
