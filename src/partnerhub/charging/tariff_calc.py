"""Price a charging session with an OCPI 2.2.1 Tariff (pure Python, ``Decimal`` throughout).

Public API::

    price_session(tariff, *, start, end, periods, tz=UTC, reservation_expired=False)
        -> SessionCost
    price_cdr(tariff, cdr, *, tz=UTC, reservation_expired=False) -> SessionCost
    price_simple(tariff, *, start, end, kwh, charging_hours, parking_hours=0,
                 max_power_kw=None, tz=UTC) -> SessionCost
    compile_tariff(tariff) -> CompiledTariff   # pre-digest once for bulk pricing
    Period, Cost, Charge, PeriodCost, SessionCost, TariffNotActiveError

``tariff`` is an :class:`~partnerhub.charging.ocpi.Tariff`, a dict in OCPI shape or a
:class:`CompiledTariff`; ``periods`` are :class:`Period` objects or OCPI ``ChargingPeriod``s.

Rules (OCPI 2.2.1 "Tariffs" chapter, as interpreted by tandemdrive/ocpi-tariffs, whose test
data is the conformance suite):

* A charging period lasts from its ``start`` to the next period's start (the last one to the
  session ``end``).  Restrictions are evaluated at the period's *start* in the time zone ``tz``
  (tariff times are local times): ``start_time`` inclusive / ``end_time`` exclusive, a range
  with ``end_time < start_time`` wraps midnight (``20:00``-``00:00`` means from 20:00);
  ``start_date`` inclusive / ``end_date`` exclusive; ``day_of_week`` of the local date;
  ``min_kwh``/``max_kwh`` against the energy charged *before* the period; ``min_duration`` /
  ``max_duration`` (seconds) against the wall-clock time since the first period started;
  ``min_/max_current`` and ``min_/max_power`` against the period's ``MIN_``/``MAX_`` dimension
  (falling back to the average ``CURRENT``/``POWER``); a missing value does not restrict.
  ``min_*`` bounds are inclusive, ``max_*`` bounds exclusive.  Periods are not split at
  restriction boundaries: callers (and CDRs) provide periods already split there.
* For each dimension (ENERGY, TIME, PARKING_TIME, FLAT) the price component used in a period is
  the one of the *first* element, in tariff order, that has a component of that dimension and
  whose restrictions all match.  No such element: the dimension is free in that period.
* FLAT is charged once per session: in the first period that has an active FLAT component
  (the ``multiple_flat_fees`` case).
* ``step_size`` applies to the session *total* of a dimension: the total volume is rounded up
  to a multiple of the step size of the component active in the *last* period that carried the
  dimension, and the extra volume is billed at that component's price and VAT.  ENERGY steps
  are Wh, TIME/PARKING_TIME steps seconds; 0 means no rounding.  When the session had priced
  PARKING_TIME, the TIME step size is not applied (the specification: TIME's step size only
  matters when the session ends while charging); the PARKING_TIME step size then applies.
* VAT per component: ``incl_vat = excl_vat * (1 + vat / 100)``; no ``vat`` means incl = excl.
* Elements restricted with ``reservation`` only price RESERVATION_TIME (their TIME component)
  and a reservation fee (their FLAT, once) into ``total_reservation_cost``; they never price
  charging.  ``reservation_expired=True`` also admits ``RESERVATION_EXPIRES`` elements.
* ``min_price`` / ``max_price`` clamp the total (compared on ``excl_vat``).  When clamped,
  ``total_cost`` becomes the limit; its ``incl_vat`` is the limit's ``incl_vat`` or, when the
  tariff omits it, the limit's ``excl_vat`` scaled by the session's own (unrounded) incl/excl
  ratio.  The per-dimension totals are not changed, so ``subtotal`` (their sum) keeps the
  unclamped figure.
  Note: the reference crate at the conformance commit does *not* apply min/max price; its
  expected ``total_cost`` is our ``subtotal`` (see the ``025kwh_min_price`` case).

Rounding: nothing is rounded while pricing (a 60-digit ``Decimal`` context).  At the end each
per-dimension money total (excl and incl VAT separately) is rounded half-up to 4 decimals (OCPI
prices carry 4 decimals); ``subtotal`` is the sum of those rounded totals, so a CDR built from
the result always adds up.  (The crate rounds the unrounded sum instead; the two can differ by
at most 0.0002 and do not differ in any conformance case.)  Settlement rounds to cents later.
Volumes: ``total_energy``/``total_charging_time``/``total_parking_time`` are exact sums of the
inputs; ``total_time`` (hours between first period start and session end) is rounded to 4
decimals.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from . import ocpi

__all__ = [
    "Charge",
    "CompiledTariff",
    "Cost",
    "Period",
    "PeriodCost",
    "SessionCost",
    "TariffNotActiveError",
    "compile_tariff",
    "price_cdr",
    "price_session",
    "price_simple",
]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
SECONDS_PER_HOUR = Decimal(3600)
WH_PER_KWH = Decimal(1000)
OCPI_QUANTUM = Decimal("0.0001")
_CONTEXT = decimal.Context(prec=60, rounding=ROUND_HALF_UP)

ENERGY = "ENERGY"
TIME = "TIME"
PARKING_TIME = "PARKING_TIME"
FLAT = "FLAT"
RESERVATION_TIME = "RESERVATION_TIME"
RESERVATION_FLAT = "RESERVATION_FLAT"

_WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


class TariffNotActiveError(ValueError):
    """The session starts outside the tariff's ``start_date_time``/``end_date_time``."""


def _dec(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not bool")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(value)
    except (decimal.InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not a number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def _opt_dec(value: Any, name: str) -> Decimal | None:
    return None if value is None else _dec(value, name)


# Step sizes add volumes such as 299.64 s / 3600 that have no finite decimal form, so a price
# times such a volume can land a hair (10**-58) below an exact half: 0.21904999...9 for what is
# exactly 0.21905. Settle that noise at 30 decimals first, then round half-up to 4.
_NOISE_QUANTUM = Decimal(1).scaleb(-30)


def _round(value: Decimal) -> Decimal:
    settled = value.quantize(_NOISE_QUANTUM, rounding=ROUND_HALF_UP, context=_CONTEXT)
    return settled.quantize(OCPI_QUANTUM, rounding=ROUND_HALF_UP, context=_CONTEXT)


# --------------------------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cost:
    """An amount of money excluding and including VAT."""

    excl_vat: Decimal = ZERO
    incl_vat: Decimal = ZERO

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            _CONTEXT.add(self.excl_vat, other.excl_vat),
            _CONTEXT.add(self.incl_vat, other.incl_vat),
        )

    def rounded(self) -> Cost:
        """Both amounts rounded half-up to 4 decimals."""
        return Cost(_round(self.excl_vat), _round(self.incl_vat))

    def to_ocpi(self) -> ocpi.Price:
        """As an OCPI ``Price``."""
        return ocpi.Price(excl_vat=self.excl_vat, incl_vat=self.incl_vat)


@dataclass(frozen=True, slots=True)
class Period:
    """One charging period: its start and the CdrDimension volumes measured in it.

    ``energy`` kWh; ``time``, ``parking_time``, ``reservation_time`` hours; powers kW;
    currents A.  ``None`` means the dimension is absent from the period.
    """

    start: datetime
    energy: Decimal | None = None
    time: Decimal | None = None
    parking_time: Decimal | None = None
    reservation_time: Decimal | None = None
    max_power: Decimal | None = None
    min_power: Decimal | None = None
    power: Decimal | None = None
    max_current: Decimal | None = None
    min_current: Decimal | None = None
    current: Decimal | None = None

    def __post_init__(self) -> None:
        for name in (
            "energy",
            "time",
            "parking_time",
            "reservation_time",
            "max_power",
            "min_power",
            "power",
            "max_current",
            "min_current",
            "current",
        ):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Decimal):
                object.__setattr__(self, name, _dec(value, name))

    _OCPI_FIELDS = {
        "ENERGY": "energy",
        "TIME": "time",
        "PARKING_TIME": "parking_time",
        "RESERVATION_TIME": "reservation_time",
        "MAX_POWER": "max_power",
        "MIN_POWER": "min_power",
        "POWER": "power",
        "MAX_CURRENT": "max_current",
        "MIN_CURRENT": "min_current",
        "CURRENT": "current",
    }

    @classmethod
    def from_ocpi(cls, period: ocpi.ChargingPeriod) -> Period:
        """Build from an OCPI ChargingPeriod (first occurrence of each dimension wins)."""
        values: dict[str, Decimal] = {}
        for dimension in period.dimensions:
            name = cls._OCPI_FIELDS.get(str(dimension.type))
            if name is not None and name not in values:
                values[name] = dimension.volume
        return cls(start=period.start_date_time, **values)

    @property
    def is_reservation_only(self) -> bool:
        return self.reservation_time is not None and (
            self.energy is None and self.time is None and self.parking_time is None
        )


@dataclass(slots=True)
class Charge:
    """What one dimension cost in one period (exact, unrounded)."""

    dimension: str  # ENERGY, TIME, PARKING_TIME, FLAT, RESERVATION_TIME, RESERVATION_FLAT
    element_index: int
    price: Decimal
    vat: Decimal | None
    volume: Decimal  # as measured (1 for a flat fee); kWh or hours
    billed_volume: Decimal  # volume plus any step-size rounding billed in this period

    @property
    def cost(self) -> Cost:
        excl = _CONTEXT.multiply(self.price, self.billed_volume)
        if self.vat is None:
            return Cost(excl, excl)
        factor = _CONTEXT.add(ONE, _CONTEXT.divide(self.vat, HUNDRED))
        return Cost(excl, _CONTEXT.multiply(excl, factor))


@dataclass(frozen=True, slots=True)
class PeriodCost:
    """Breakdown of one period: its bounds and the charges in it."""

    start: datetime
    end: datetime
    charges: tuple[Charge, ...]

    @property
    def cost(self) -> Cost:
        total = Cost()
        for charge in self.charges:
            total = total + charge.cost
        return total


@dataclass(frozen=True, slots=True)
class SessionCost:
    """Result of pricing a session.  Money fields are rounded to 4 decimals (half-up)."""

    currency: str
    total_cost: Cost
    subtotal: Cost  # sum of the dimension totals, before min_price/max_price
    total_energy_cost: Cost
    total_time_cost: Cost
    total_parking_cost: Cost
    total_fixed_cost: Cost
    total_reservation_cost: Cost
    total_energy: Decimal  # kWh
    total_time: Decimal  # hours, first period start to session end
    total_charging_time: Decimal  # hours of TIME
    total_parking_time: Decimal  # hours of PARKING_TIME
    total_reservation_time: Decimal  # hours of RESERVATION_TIME
    billed_energy: Decimal  # after step size
    billed_charging_time: Decimal
    billed_parking_time: Decimal
    price_limit: str | None = None  # "min_price" or "max_price" when the total was clamped
    periods: tuple[PeriodCost, ...] = field(default=(), repr=False)

    def cdr_totals(self) -> dict[str, Any]:
        """The OCPI CDR ``total_*`` fields (``Price`` dicts / Decimals) for this session."""

        def as_price(cost: Cost) -> dict[str, Decimal]:
            return {"excl_vat": cost.excl_vat, "incl_vat": cost.incl_vat}

        return {
            "total_cost": as_price(self.total_cost),
            "total_fixed_cost": as_price(self.total_fixed_cost),
            "total_energy": self.total_energy,
            "total_energy_cost": as_price(self.total_energy_cost),
            "total_time": self.total_time,
            "total_time_cost": as_price(self.total_time_cost),
            "total_parking_time": self.total_parking_time,
            "total_parking_cost": as_price(self.total_parking_cost),
            "total_reservation_cost": as_price(self.total_reservation_cost),
        }


# --------------------------------------------------------------------------------------------
# Compiled tariff
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Component:
    element_index: int
    price: Decimal
    vat: Decimal | None
    step_size: int


@dataclass(frozen=True, slots=True)
class _Element:
    index: int
    restrictions: ocpi.TariffRestrictions | None
    reservation: str | None
    components: dict[str, _Component]  # first component of each dimension type


@dataclass(frozen=True, slots=True)
class CompiledTariff:
    """A Tariff pre-digested for pricing; build once with :func:`compile_tariff`."""

    tariff: ocpi.Tariff
    elements: tuple[_Element, ...]

    @property
    def currency(self) -> str:
        return self.tariff.currency


def compile_tariff(tariff: ocpi.Tariff | Mapping[str, Any] | CompiledTariff) -> CompiledTariff:
    """Validate (if a dict) and pre-digest a tariff; reuse the result for bulk pricing."""
    if isinstance(tariff, CompiledTariff):
        return tariff
    if not isinstance(tariff, ocpi.Tariff):
        tariff = ocpi.parse_tariff(tariff)
    elements = []
    for index, element in enumerate(tariff.elements):
        components: dict[str, _Component] = {}
        for component in element.price_components:
            components.setdefault(
                str(component.type),
                _Component(index, component.price, component.vat, component.step_size),
            )
        restrictions = element.restrictions
        reservation = (
            str(restrictions.reservation)
            if restrictions is not None and restrictions.reservation is not None
            else None
        )
        elements.append(_Element(index, restrictions, reservation, components))
    return CompiledTariff(tariff=tariff, elements=tuple(elements))


# --------------------------------------------------------------------------------------------
# Restrictions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Instant:
    local: datetime  # period start in the tariff's local time zone
    energy_before: Decimal  # kWh charged before this period
    seconds_before: Decimal  # wall-clock seconds since the first period started
    period: Period


def _first(*values: Decimal | None) -> Decimal | None:
    for value in values:
        if value is not None:
            return value
    return None


def _matches(restrictions: ocpi.TariffRestrictions | None, at: _Instant) -> bool:
    if restrictions is None:
        return True
    r = restrictions
    local_time = at.local.time().replace(tzinfo=None)
    if r.start_time is not None and r.end_time is not None and r.end_time < r.start_time:
        if not (local_time >= r.start_time or local_time < r.end_time):
            return False
    else:
        if r.start_time is not None and local_time < r.start_time:
            return False
        if r.end_time is not None and local_time >= r.end_time:
            return False
    local_date = at.local.date()
    if r.start_date is not None and local_date < r.start_date:
        return False
    if r.end_date is not None and local_date >= r.end_date:
        return False
    if r.day_of_week and _WEEKDAYS[local_date.weekday()] not in r.day_of_week:
        return False
    if r.min_kwh is not None and at.energy_before < r.min_kwh:
        return False
    if r.max_kwh is not None and at.energy_before >= r.max_kwh:
        return False
    if r.min_duration is not None and at.seconds_before < r.min_duration:
        return False
    if r.max_duration is not None and at.seconds_before >= r.max_duration:
        return False
    p = at.period
    if r.min_current is not None:
        value = _first(p.min_current, p.current)
        if value is not None and value < r.min_current:
            return False
    if r.max_current is not None:
        value = _first(p.max_current, p.current)
        if value is not None and value >= r.max_current:
            return False
    if r.min_power is not None:
        value = _first(p.min_power, p.power)
        if value is not None and value < r.min_power:
            return False
    if r.max_power is not None:
        value = _first(p.max_power, p.power)
        if value is not None and value >= r.max_power:
            return False
    return True


def _active_components(
    elements: Sequence[_Element], at: _Instant, reservation_kinds: frozenset[str | None]
) -> dict[str, _Component]:
    active: dict[str, _Component] = {}
    for element in elements:
        if element.reservation not in reservation_kinds:
            continue
        if not _matches(element.restrictions, at):
            continue
        for dimension, component in element.components.items():
            active.setdefault(dimension, component)
        if len(active) == 4:
            break
    return active


# --------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------


def _resolve_tz(tz: tzinfo | str | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, str):
        return ZoneInfo(tz)
    return tz


def _aware(value: datetime, tz: tzinfo, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)


def _step_delta(total: Decimal, step: int, unit: Decimal) -> Decimal:
    """Extra volume (in the volume's unit) to reach the next multiple of ``step``.

    ``unit`` is how many step units one volume unit holds (3600 s per hour, 1000 Wh per kWh).
    """
    if step <= 0:
        return ZERO
    in_units = _CONTEXT.multiply(total, unit)
    steps = _CONTEXT.divide(in_units, Decimal(step)).to_integral_value(rounding=ROUND_CEILING)
    billed_units = _CONTEXT.multiply(steps, Decimal(step))
    return _CONTEXT.divide(_CONTEXT.subtract(billed_units, in_units), unit)


def _limit(limit: ocpi.Price, exact: Cost) -> Cost:
    """The clamped total; without ``incl_vat`` the session's exact incl/excl ratio is used."""
    if limit.incl_vat is not None:
        return Cost(limit.excl_vat, limit.incl_vat)
    if exact.excl_vat == 0:
        return Cost(limit.excl_vat, limit.excl_vat)
    ratio = _CONTEXT.divide(exact.incl_vat, exact.excl_vat)
    return Cost(limit.excl_vat, _round(_CONTEXT.multiply(limit.excl_vat, ratio)))


def _charger(charges: list[Charge]):
    def charge(dimension: str, component: _Component, volume: Decimal) -> Charge:
        item = Charge(
            dimension=dimension,
            element_index=component.element_index,
            price=component.price,
            vat=component.vat,
            volume=volume,
            billed_volume=volume,
        )
        charges.append(item)
        return item

    return charge


def price_session(
    tariff: ocpi.Tariff | Mapping[str, Any] | CompiledTariff,
    *,
    start: datetime,
    end: datetime,
    periods: Sequence[Period | ocpi.ChargingPeriod],
    tz: tzinfo | str | None = UTC,
    reservation_expired: bool = False,
) -> SessionCost:
    """Price a session given as charging periods (ascending by start) under ``tariff``.

    ``start`` is the session start (checked against the tariff's validity window), ``end`` the
    session end (end of the last period).  ``tz`` is the location's time zone used for the
    time-of-day, date and weekday restrictions (naive datetimes are taken to be in ``tz``).
    Raises :class:`TariffNotActiveError` if the tariff is not valid at ``start`` and
    ``ValueError`` for unordered periods or a period starting after ``end``.
    """
    compiled = compile_tariff(tariff)
    zone = _resolve_tz(tz)
    start = _aware(start, zone, "start")
    end = _aware(end, zone, "end")
    source = compiled.tariff
    if source.start_date_time is not None and start < source.start_date_time:
        raise TariffNotActiveError(
            f"tariff {source.id!r} starts at {source.start_date_time}, session at {start}"
        )
    if source.end_date_time is not None and start >= source.end_date_time:
        raise TariffNotActiveError(
            f"tariff {source.id!r} ended at {source.end_date_time}, session starts {start}"
        )

    items = [p if isinstance(p, Period) else Period.from_ocpi(p) for p in periods]
    starts = [_aware(p.start, zone, f"periods[{i}].start") for i, p in enumerate(items)]
    for i in range(1, len(starts)):
        if starts[i] < starts[i - 1]:
            raise ValueError(f"periods[{i}] starts before periods[{i - 1}]")
    if starts and starts[-1] > end:
        raise ValueError("the last period starts after the session end")

    normal_kinds: frozenset[str | None] = frozenset({None})
    reservation_kinds: frozenset[str | None] = frozenset(
        {"RESERVATION", "RESERVATION_EXPIRES"} if reservation_expired else {"RESERVATION"}
    )

    period_costs: list[PeriodCost] = []
    step_last: dict[str, Charge] = {}  # dimension -> charge of the last period carrying it
    step_size: dict[str, int] = {}
    has_flat = has_reservation_flat = False
    energy = charging = parking = reserved = ZERO

    with decimal.localcontext(_CONTEXT):
        for index, period in enumerate(items):
            period_start = starts[index]
            period_end = starts[index + 1] if index + 1 < len(items) else end
            at = _Instant(
                local=period_start.astimezone(zone),
                energy_before=energy,
                seconds_before=_seconds(period_start - starts[0]),
                period=period,
            )
            charges: list[Charge] = []
            charge = _charger(charges)

            if not period.is_reservation_only:
                active = _active_components(compiled.elements, at, normal_kinds)
                flat = active.get(FLAT)
                if flat is not None and not has_flat:
                    has_flat = True
                    charge(FLAT, flat, ONE)
                for dimension, volume in (
                    (ENERGY, period.energy),
                    (TIME, period.time),
                    (PARKING_TIME, period.parking_time),
                ):
                    if volume is None:
                        continue
                    component = active.get(dimension)
                    if component is not None:
                        step_last[dimension] = charge(dimension, component, volume)
                        step_size[dimension] = component.step_size
                energy += period.energy or ZERO
                charging += period.time or ZERO
                parking += period.parking_time or ZERO

            if period.reservation_time is not None:
                active = _active_components(compiled.elements, at, reservation_kinds)
                flat = active.get(FLAT)
                if flat is not None and not has_reservation_flat:
                    has_reservation_flat = True
                    charge(RESERVATION_FLAT, flat, ONE)
                component = active.get(TIME)
                if component is not None:
                    step_last[RESERVATION_TIME] = charge(
                        RESERVATION_TIME, component, period.reservation_time
                    )
                    step_size[RESERVATION_TIME] = component.step_size
                reserved += period.reservation_time

            period_costs.append(PeriodCost(period_start, period_end, tuple(charges)))

        billed = {ENERGY: energy, TIME: charging, PARKING_TIME: parking}
        totals_by_dimension = {
            ENERGY: energy,
            TIME: charging,
            PARKING_TIME: parking,
            RESERVATION_TIME: reserved,
        }
        for dimension, last in step_last.items():
            if dimension == TIME and PARKING_TIME in step_last:
                continue  # TIME step size only applies when the session ended charging
            unit = WH_PER_KWH if dimension == ENERGY else SECONDS_PER_HOUR
            delta = _step_delta(totals_by_dimension[dimension], step_size[dimension], unit)
            if delta:
                last.billed_volume += delta
                if dimension in billed:
                    billed[dimension] += delta

        sums = {key: Cost() for key in (ENERGY, TIME, PARKING_TIME, FLAT, "RESERVATION")}
        for period_cost in period_costs:
            for item in period_cost.charges:
                key = "RESERVATION" if item.dimension.startswith("RESERVATION") else item.dimension
                sums[key] = sums[key] + item.cost

    rounded = {key: value.rounded() for key, value in sums.items()}
    subtotal = exact = Cost()
    for key, value in rounded.items():
        subtotal = subtotal + value
        exact = exact + sums[key]

    total = subtotal
    price_limit = None
    if source.min_price is not None and subtotal.excl_vat < source.min_price.excl_vat:
        total, price_limit = _limit(source.min_price, exact), "min_price"
    elif source.max_price is not None and subtotal.excl_vat > source.max_price.excl_vat:
        total, price_limit = _limit(source.max_price, exact), "max_price"

    total_time = _round(_seconds(end - starts[0]) / SECONDS_PER_HOUR) if starts else ZERO
    return SessionCost(
        currency=source.currency,
        total_cost=total,
        subtotal=subtotal,
        total_energy_cost=rounded[ENERGY],
        total_time_cost=rounded[TIME],
        total_parking_cost=rounded[PARKING_TIME],
        total_fixed_cost=rounded[FLAT],
        total_reservation_cost=rounded["RESERVATION"],
        total_energy=energy,
        total_time=total_time,
        total_charging_time=charging,
        total_parking_time=parking,
        total_reservation_time=reserved,
        billed_energy=billed[ENERGY],
        billed_charging_time=billed[TIME],
        billed_parking_time=billed[PARKING_TIME],
        price_limit=price_limit,
        periods=tuple(period_costs),
    )


def _first_active_tariff(tariffs: Sequence[ocpi.Tariff], start: datetime) -> ocpi.Tariff:
    for candidate in tariffs:
        if candidate.start_date_time is not None and start < candidate.start_date_time:
            continue
        if candidate.end_date_time is not None and start >= candidate.end_date_time:
            continue
        return candidate
    raise TariffNotActiveError("none of the CDR's tariffs is valid at the session start")


def price_cdr(
    tariff: ocpi.Tariff | Mapping[str, Any] | CompiledTariff | None,
    cdr: ocpi.Cdr | Mapping[str, Any],
    *,
    tz: tzinfo | str | None = UTC,
    reservation_expired: bool = False,
) -> SessionCost:
    """Price a CDR's ``charging_periods`` (start/end from the CDR) under ``tariff``.

    With ``tariff=None`` the first of ``cdr.tariffs`` valid at the session start is used.
    ``tz`` as in :func:`price_session` (OCPI CdrLocation carries no time zone).
    """
    if not isinstance(cdr, ocpi.Cdr):
        cdr = ocpi.parse_cdr(cdr)
    if tariff is None:
        tariff = _first_active_tariff(cdr.tariffs or [], cdr.start_date_time)
    return price_session(
        tariff,
        start=cdr.start_date_time,
        end=cdr.end_date_time,
        periods=cdr.charging_periods,
        tz=tz,
        reservation_expired=reservation_expired,
    )


def price_simple(
    tariff: ocpi.Tariff | Mapping[str, Any] | CompiledTariff,
    *,
    start: datetime,
    end: datetime,
    kwh: Decimal | int | str | float,
    charging_hours: Decimal | int | str | float,
    parking_hours: Decimal | int | str | float = 0,
    max_power_kw: Decimal | int | str | float | None = None,
    tz: tzinfo | str | None = UTC,
) -> SessionCost:
    """Price a session known only by totals (CSV imports) with the same engine.

    Builds one charging period at ``start`` (ENERGY ``kwh``, TIME ``charging_hours`` and
    MAX_POWER ``max_power_kw`` when given) and, when ``parking_hours > 0``, a PARKING_TIME
    period starting ``charging_hours`` later (capped at ``end``).  Time-of-day restrictions are
    therefore judged at those two instants only.  Pass a :class:`CompiledTariff` in bulk loops.
    """
    kwh_d = _dec(kwh, "kwh")
    charging_d = _dec(charging_hours, "charging_hours")
    parking_d = _dec(parking_hours, "parking_hours")
    power_d = _opt_dec(max_power_kw, "max_power_kw")
    for name, value in (
        ("kwh", kwh_d),
        ("charging_hours", charging_d),
        ("parking_hours", parking_d),
    ):
        if value < 0:
            raise ValueError(f"{name} must not be negative")
    zone = _resolve_tz(tz)
    start = _aware(start, zone, "start")
    end = _aware(end, zone, "end")
    if end < start:
        raise ValueError("end is before start")
    periods = [Period(start=start, energy=kwh_d, time=charging_d, max_power=power_d)]
    if parking_d > 0:
        parking_start = min(start + timedelta(seconds=float(charging_d * SECONDS_PER_HOUR)), end)
        periods.append(Period(start=parking_start, parking_time=parking_d))
    return price_session(tariff, start=start, end=end, periods=periods, tz=zone)
