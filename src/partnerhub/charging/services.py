"""Every write to charging assets, hosting, tariffs, corporate billing and charge-point status.

Services are keyword-only, run in one transaction, validate fully before writing and raise
``ServiceError`` / ``Conflict`` naming the field (``evses.0.uid``, ``ocpi.elements.0...``).
Permission checks are the caller's job (API, admin and CLI ask ``core.permissions``).

Rules (see docs/charging.md):

- **Hosting history**: a charge point's hosting periods never overlap. ``hosting_assign``
  starts a new period on ``valid_from`` and closes the open one the day before; a change
  dated on or before the latest period's start would rewrite history already settled and is
  refused. ``ChargePoint.partner`` is the host today (``hostings_refresh`` keeps it in step
  once a future-dated change takes effect).
- **Tariffs** are OCPI 2.2.1 Tariff objects, validated by ``ocpi.parse_tariff``; errors name
  their JSON path under ``ocpi``. A partner's tariff applies only to assets that partner hosts.
- **Corporate billing**: a driver's corporate sessions in a calendar month (UTC) may not pass
  the driver's limit (its own, else the partner's default). ``authorize_session`` refuses a
  session once the limit is reached or when the expected amount would pass it.
- **Fault notifications**: a change to ``faulted`` e-mails (after commit) the host's
  technical contact when the host's contract in force has ``fault_notifications``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_countries import countries

from partnerhub.charging import ocpi, selectors
from partnerhub.charging.models import (
    ChargePoint,
    ChargePointHosting,
    ChargePointStatus,
    ChargingSession,
    Connector,
    ConnectorStandard,
    CorporateBilling,
    CurrentType,
    Driver,
    ElectricityPrice,
    Evse,
    Location,
    StatusNotification,
    Tariff,
    TariffAssignment,
    TariffGroup,
)
from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.events import emit
from partnerhub.core.money import from_minor, minor_digits, to_minor
from partnerhub.core.tasks import send_email_on_commit
from partnerhub.partners.models import ContactRole, Partner, PartnerStatus

MAX_AMOUNT_MINOR = 10**15
MAX_POWER_KW = Decimal("100000")
MAX_PRICE_PER_KWH = Decimal("999999")
MAX_EVSES = 64
MAX_CONNECTORS = 8


def today() -> dt.date:
    return timezone.localdate()


# --- validation helpers -----------------------------------------------------------------------


def _text(data: dict, name: str, *, required: bool = False, max_length: int = 200) -> str:
    value = data.get(name)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise ServiceError("This field is required.", field=name)
    if len(value) > max_length:
        raise ServiceError(f"Use at most {max_length} characters.", field=name)
    if "\x00" in value:
        raise ServiceError("Must not contain NUL characters.", field=name)
    return value


def _decimal(value: Any, field: str, *, minimum: Decimal | None = None, maximum=None) -> Decimal:
    if isinstance(value, bool | float):
        value = str(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ServiceError("Give a decimal number, e.g. 12.50.", field=field) from None
    if not number.is_finite():
        raise ServiceError("Give a finite number.", field=field)
    if minimum is not None and number < minimum:
        raise ServiceError(f"Must be at least {minimum}.", field=field)
    if maximum is not None and number > maximum:
        raise ServiceError(f"Must be at most {maximum}.", field=field)
    return number


def _places(number: Decimal, places: int, field: str) -> Decimal:
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise ServiceError(f"Use at most {places} decimal places.", field=field)
    return number


def _currency(value: Any, field: str = "currency") -> str:
    code = str(value or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ServiceError("Give a three-letter ISO 4217 currency code, e.g. EUR.", field=field)
    return code


def _amount_minor(value: Any, currency: str, field: str) -> int:
    """A non-negative amount in major units → minor units (exactly; no silent rounding)."""
    number = _decimal(value, field, minimum=Decimal(0))
    _places(number, minor_digits(currency), field)
    minor = to_minor(number, currency)
    if minor > MAX_AMOUNT_MINOR:
        raise ServiceError("The amount is too large.", field=field)
    return minor


def _date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise ServiceError("Give a date as YYYY-MM-DD.", field=field) from None


def _active_partner(partner: Partner, field: str = "partner_id") -> Partner:
    if partner.status == PartnerStatus.TERMINATED:
        raise ServiceError(f"{partner.display_name} is terminated.", field=field)
    return partner


# --- locations ----------------------------------------------------------------------------------

LOCATION_FIELDS = (
    "ocpi_id",
    "name",
    "address",
    "city",
    "postal_code",
    "country",
    "latitude",
    "longitude",
    "time_zone",
)


def _location_values(data: dict, *, current: Location | None = None) -> dict:
    def given(name):
        return current is None or name in data

    values: dict[str, Any] = {}
    if given("ocpi_id"):
        values["ocpi_id"] = _text(data, "ocpi_id", required=True, max_length=36)
        clash = Location.objects.filter(ocpi_id=values["ocpi_id"])
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            raise Conflict(
                f"A location with OCPI id {values['ocpi_id']} already exists.", field="ocpi_id"
            )
    for name, length, required in (
        ("name", 255, True),
        ("address", 255, True),
        ("city", 100, True),
        ("postal_code", 20, False),
    ):
        if given(name):
            values[name] = _text(data, name, required=required, max_length=length)
    if given("country"):
        code = _text(data, "country", required=True, max_length=2).upper()
        if code not in dict(countries):
            raise ServiceError("Give an ISO 3166 country code, e.g. DE.", field="country")
        values["country"] = code
    for name, limit in (("latitude", 90), ("longitude", 180)):
        if given(name):
            raw = data.get(name)
            if raw is None or raw == "":
                values[name] = None
                continue
            number = _decimal(raw, name, minimum=Decimal(-limit), maximum=Decimal(limit))
            values[name] = _places(number, 6, name)
    if (current is None or "latitude" in values or "longitude" in values) and (
        (values.get("latitude", getattr(current, "latitude", None)) is None)
        != (values.get("longitude", getattr(current, "longitude", None)) is None)
    ):
        raise ServiceError("Give both latitude and longitude, or neither.", field="longitude")
    if given("time_zone"):
        tz = _text(data, "time_zone", max_length=64) or "UTC"
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ServiceError(
                "Give an IANA time zone, e.g. Europe/Berlin.", field="time_zone"
            ) from None
        values["time_zone"] = tz
    return values


def _electricity_prices(items: list[dict]) -> list[tuple[dt.date, Decimal, str]]:
    """Validated periods: each from its ``valid_from`` until the next one's; two starting on
    the same day would overlap."""
    seen: dict[dt.date, int] = {}
    out = []
    for i, item in enumerate(items or []):
        base = f"electricity_prices.{i}"
        day = _date(item.get("valid_from"), f"{base}.valid_from")
        if day in seen:
            raise ServiceError(
                f"Two prices start on {day} (items {seen[day]} and {i}): periods may not overlap.",
                field=f"{base}.valid_from",
            )
        seen[day] = i
        price = _decimal(
            item.get("price_per_kwh"),
            f"{base}.price_per_kwh",
            minimum=Decimal(0),
            maximum=MAX_PRICE_PER_KWH,
        )
        _places(price, 6, f"{base}.price_per_kwh")
        out.append((day, price, _currency(item.get("currency"), f"{base}.currency")))
    return sorted(out)


def _check_price_currencies(location: Location, items: list[dict]) -> None:
    """Electricity prices are deducted from and reimbursed with revenue in the host's contract
    currency: a price in another currency than a contract of a partner hosting (or having
    hosted) a charge point here is refused (``docs/settlements.md``)."""
    if not items:
        return
    from partnerhub.settlements.models import Contract

    contracts = list(
        Contract.objects.filter(partner__hostings__charge_point__location=location)
        .select_related("partner")
        .order_by("partner_id", "start_month", "id")
        .distinct()
    )
    for i, item in enumerate(items):
        currency = _currency(item.get("currency"), f"electricity_prices.{i}.currency")
        for contract in contracts:
            if contract.currency != currency:
                raise ServiceError(
                    f"{contract.partner.display_name} hosts charge points here under contract "
                    f"'{contract.name}' in {contract.currency}: give electricity prices in "
                    f"{contract.currency}.",
                    field=f"electricity_prices.{i}.currency",
                )


def _check_prices_not_settled(location: Location, prices: list[tuple]) -> None:
    """A price change may not reach back into sessions already on a final statement: their
    electricity cost was deducted or reimbursed at the old price, and the location's price
    history must keep saying so. The change takes effect from the first day on which the old
    and the new periods differ."""
    from partnerhub.settlements.models import SessionSettlement

    old = {
        (p.valid_from, p.price_per_kwh, p.currency)
        for p in ElectricityPrice.objects.filter(location=location)
    }
    new = {(d, Decimal(p), c) for d, p, c in prices}
    changed = old ^ new
    if not changed:
        return
    since = min(day for day, _, _ in changed)
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    settled = (
        SessionSettlement.objects.filter(
            is_final=True,
            session__location=location,
            session__start__gte=start - dt.timedelta(days=1),  # any time zone's "that day"
        )
        .order_by("-session__start")
        .values_list("session__start", flat=True)
        .first()
    )
    if settled is not None:
        raise Conflict(
            f"Sessions at {location.name} up to {settled:%Y-%m-%d} are settled on final "
            f"statements at the prices in force then; this change would apply from {since}. "
            "Date new prices after the last settled day instead of changing past periods.",
            field="electricity_prices",
        )


@transaction.atomic
def location_create(*, data: dict) -> Location:
    values = _location_values(data)
    prices = _electricity_prices(data.get("electricity_prices") or [])
    location = Location.objects.create(**values)
    ElectricityPrice.objects.bulk_create(
        ElectricityPrice(location=location, valid_from=d, price_per_kwh=p, currency=c)
        for d, p, c in prices
    )
    emit("charging.location_created", payload={"location_id": location.pk})
    return location


@transaction.atomic
def location_update(*, location: Location, data: dict) -> Location:
    """Change the given fields; ``electricity_prices``, when given, replaces every period."""
    location = Location.objects.select_for_update().get(pk=location.pk)
    values = _location_values(data, current=location)
    prices = None
    if "electricity_prices" in data:
        prices = _electricity_prices(data.get("electricity_prices") or [])
        _check_price_currencies(location, data.get("electricity_prices") or [])
        _check_prices_not_settled(location, prices)
    for name, value in values.items():
        setattr(location, name, value)
    location.save()
    if prices is not None:
        location.electricity_prices.all().delete()
        ElectricityPrice.objects.bulk_create(
            ElectricityPrice(location=location, valid_from=d, price_per_kwh=p, currency=c)
            for d, p, c in prices
        )
    return location


# --- charge points ------------------------------------------------------------------------------


def _evse_specs(items: list[dict], *, keep: dict[str, Evse] | None = None) -> list[dict]:
    """Validated EVSEs with their connectors. ``keep``: EVSEs of the charge point being edited
    (their UIDs are theirs already)."""
    if not items:
        raise ServiceError("A charge point has at least one EVSE.", field="evses")
    if len(items) > MAX_EVSES:
        raise ServiceError(f"At most {MAX_EVSES} EVSEs per charge point.", field="evses")
    keep = keep or {}
    specs, uids = [], {}
    for i, item in enumerate(items):
        base = f"evses.{i}"
        uid = _text(item, "uid", required=True, max_length=36) if item.get("uid") else ""
        if not uid:
            raise ServiceError("This field is required.", field=f"{base}.uid")
        if uid in uids:
            raise ServiceError(
                f"EVSE UID {uid} is given twice (items {uids[uid]} and {i}).", field=f"{base}.uid"
            )
        uids[uid] = i
        current_type = str(item.get("current_type") or "").upper()
        if current_type not in CurrentType.values:
            raise ServiceError("Say AC or DC.", field=f"{base}.current_type")
        power = _decimal(
            item.get("max_power_kw"),
            f"{base}.max_power_kw",
            minimum=Decimal("0.01"),
            maximum=MAX_POWER_KW,
        )
        _places(power, 2, f"{base}.max_power_kw")
        connectors = []
        raw_connectors = item.get("connectors") or []
        if len(raw_connectors) > MAX_CONNECTORS:
            raise ServiceError(
                f"At most {MAX_CONNECTORS} connectors per EVSE.", field=f"{base}.connectors"
            )
        ids: set[str] = set()
        for j, conn in enumerate(raw_connectors):
            cbase = f"{base}.connectors.{j}"
            cid = str(conn.get("connector_id") or "").strip()
            if not cid or len(cid) > 36:
                raise ServiceError(
                    "Give a connector id (1-36 characters).", field=f"{cbase}.connector_id"
                )
            if cid in ids:
                raise ServiceError(
                    f"Connector {cid} is given twice.", field=f"{cbase}.connector_id"
                )
            ids.add(cid)
            standard = str(conn.get("standard") or "")
            if standard not in ConnectorStandard.values:
                raise ServiceError(
                    f"Use one of {', '.join(ConnectorStandard.values)}.",
                    field=f"{cbase}.standard",
                )
            fmt = str(conn.get("format") or "SOCKET").upper()
            if fmt not in ("SOCKET", "CABLE"):
                raise ServiceError("Say SOCKET or CABLE.", field=f"{cbase}.format")
            cpower = _decimal(
                conn.get("max_power_kw", power),
                f"{cbase}.max_power_kw",
                minimum=Decimal("0.01"),
                maximum=MAX_POWER_KW,
            )
            _places(cpower, 2, f"{cbase}.max_power_kw")
            connectors.append(
                {"connector_id": cid, "standard": standard, "format": fmt, "max_power_kw": cpower}
            )
        specs.append(
            {
                "uid": uid,
                "evse_id": _text(item, "evse_id", max_length=48),
                "current_type": current_type,
                "max_power_kw": power,
                "connectors": connectors,
            }
        )
    taken = dict(
        Evse.objects.filter(uid__in=list(uids))
        .exclude(pk__in=[e.pk for e in keep.values()])
        .values_list("uid", "charge_point__identity")
    )
    for uid, identity in taken.items():
        raise Conflict(
            f"EVSE UID {uid} already belongs to charge point {identity}.",
            field=f"evses.{uids[uid]}.uid",
        )
    return specs


def _write_evses(charge_point: ChargePoint, specs: list[dict], existing: dict[str, Evse]):
    for spec in specs:
        connectors = spec.pop("connectors")
        evse = existing.get(spec["uid"])
        if evse is None:
            evse = Evse.objects.create(charge_point=charge_point, **spec)
        else:
            for name, value in spec.items():
                setattr(evse, name, value)
            evse.save()
            evse.connectors.all().delete()
        Connector.objects.bulk_create(Connector(evse=evse, **c) for c in connectors)


def _tariff_group(value, field="tariff_group_id") -> TariffGroup | None:
    if value in (None, ""):
        return None
    group = TariffGroup.objects.filter(pk=value).first()
    if group is None:
        raise ServiceError(f"No tariff group {value}.", field=field)
    return group


@transaction.atomic
def charge_point_create(
    *,
    location: Location,
    data: dict,
    partner: Partner | None = None,
    hosted_from: dt.date | None = None,
    by=None,
) -> ChargePoint:
    """A charge point with its EVSEs and connectors; hosted by ``partner`` from
    ``hosted_from`` (today by default) when a partner is given."""
    identity = _text(data, "identity", required=True, max_length=48)
    if ChargePoint.objects.filter(identity=identity).exists():
        raise Conflict(f"A charge point {identity} already exists.", field="identity")
    group = _tariff_group(data.get("tariff_group_id"))
    if group is not None and group.partner_id and partner and group.partner_id != partner.pk:
        raise ServiceError("The tariff group belongs to another partner.", field="tariff_group_id")
    specs = _evse_specs(data.get("evses") or [])
    if partner is not None:
        _active_partner(partner)
    cp = ChargePoint.objects.create(
        location=location,
        identity=identity,
        vendor=_text(data, "vendor", max_length=100),
        model=_text(data, "model", max_length=100),
        tariff_group=group,
    )
    _write_evses(cp, specs, {})
    if partner is not None:
        _hosting_write(cp, partner, hosted_from or today(), by=by)
    emit(
        "charging.charge_point_created",
        partner=cp.partner,
        payload={"charge_point_id": cp.pk, "identity": cp.identity},
    )
    return cp


@transaction.atomic
def charge_point_update(*, charge_point: ChargePoint, data: dict) -> ChargePoint:
    """Change the given fields. ``evses``, when given, is the complete list: EVSEs are
    matched by UID (updated, added); one left out is removed unless it has sessions."""
    cp = ChargePoint.objects.select_for_update().get(pk=charge_point.pk)
    if "identity" in data:
        identity = _text(data, "identity", required=True, max_length=48)
        if ChargePoint.objects.filter(identity=identity).exclude(pk=cp.pk).exists():
            raise Conflict(f"A charge point {identity} already exists.", field="identity")
        cp.identity = identity
    for name in ("vendor", "model"):
        if name in data:
            setattr(cp, name, _text(data, name, max_length=100))
    if "location_id" in data:
        location = Location.objects.filter(pk=data["location_id"]).first()
        if location is None:
            raise ServiceError(f"No location {data['location_id']}.", field="location_id")
        cp.location = location
    if "tariff_group_id" in data:
        group = _tariff_group(data["tariff_group_id"])
        if group is not None and group.partner_id and group.partner_id != cp.partner_id:
            raise ServiceError(
                "The tariff group belongs to another partner.", field="tariff_group_id"
            )
        cp.tariff_group = group
    existing = {e.uid: e for e in cp.evses.all()}
    specs = None
    if "evses" in data:
        specs = _evse_specs(data["evses"] or [], keep=existing)
        gone = [e for uid, e in existing.items() if uid not in {s["uid"] for s in specs}]
        # Through the (charge point, start) index: sessions have no index on the EVSE alone.
        used = [
            e.uid for e in gone if ChargingSession.objects.filter(charge_point=cp, evse=e).exists()
        ]
        if used:
            raise Conflict(
                f"EVSE {used[0]} has charging sessions and cannot be removed.", field="evses"
            )
    cp.save()
    if specs is not None:
        for evse in gone:
            evse.delete()
        _write_evses(cp, specs, existing)
    return cp


# --- hosting ------------------------------------------------------------------------------------


def _hosting_write(cp: ChargePoint, partner: Partner | None, valid_from: dt.date, *, by=None):
    latest = cp.hostings.order_by("-valid_from").first()
    if latest is not None and valid_from <= latest.valid_from:
        raise Conflict(
            f"{cp.identity} is hosted by {latest.partner.display_name} from "
            f"{latest.valid_from}; a change dated {valid_from} would rewrite hosting history "
            f"that may already be settled. Date the change after {latest.valid_from}.",
            field="valid_from",
        )
    open_at_change = latest is not None and (
        latest.valid_to is None or latest.valid_to >= valid_from
    )
    if partner is not None and open_at_change and latest.partner_id == partner.pk:
        raise Conflict(
            f"{cp.identity} is already hosted by {partner.display_name}.", field="partner_id"
        )
    if partner is None and not open_at_change:
        raise Conflict(f"{cp.identity} has no host on {valid_from} to end.", field="partner_id")
    previous = latest.partner_id if open_at_change else None
    if open_at_change:
        latest.valid_to = valid_from - dt.timedelta(days=1)
        latest.save(update_fields=["valid_to"])
    hosting = None
    if partner is not None:
        hosting = ChargePointHosting.objects.create(
            charge_point=cp, partner=partner, valid_from=valid_from
        )
    cp.partner_id = selectors.host_on([cp.pk], today()).get(cp.pk)
    cp.save(update_fields=["partner", "updated_at"])
    emit(
        "charging.hosting_changed",
        partner=partner,
        payload={
            "charge_point_id": cp.pk,
            "identity": cp.identity,
            "from_partner_id": previous,
            "to_partner_id": partner.pk if partner else None,
            "valid_from": valid_from,
        },
    )
    return hosting


def _check_host_currency(cp: ChargePoint, partner: Partner) -> None:
    """The third side of the currency rule (with ``_check_price_currencies`` and the contract's
    own check): a partner whose contracts are in one currency does not start hosting a charge
    point at a location whose electricity is priced in another; settlement could deduct or
    reimburse that cost only by mixing currencies (``docs/settlements.md``)."""
    from partnerhub.settlements.models import Contract

    priced = dict(
        ElectricityPrice.objects.filter(location_id=cp.location_id)
        .order_by("-valid_from")
        .values_list("currency", "location__name")
    )
    if not priced:
        return
    for contract in Contract.objects.filter(partner=partner).order_by("start_month", "id"):
        other = next((c for c in priced if c != contract.currency), None)
        if other is not None:
            raise Conflict(
                f"{partner.display_name}'s contract '{contract.name}' is in "
                f"{contract.currency}, but electricity at {priced[other]} is priced in {other}: "
                "give the location's prices in the contract's currency first, or choose "
                "another host.",
                field="partner_id",
            )


@transaction.atomic
def hosting_assign(
    *, charge_point: ChargePoint, partner: Partner | None, valid_from: dt.date, by=None
) -> ChargePointHosting | None:
    """``partner`` hosts the charge point from ``valid_from`` (inclusive); the current period
    ends the day before. ``partner=None`` ends the hosting (the charge point is unhosted from
    ``valid_from``). Moving on the 16th settles days 1-15 to the old host and 16-31 to the new
    one. Refused (409) when dated on or before the latest period's start."""
    cp = ChargePoint.objects.select_for_update().get(pk=charge_point.pk)
    valid_from = _date(valid_from, "valid_from")
    if partner is not None:
        _active_partner(partner)
        _check_host_currency(cp, partner)
    hosting = _hosting_write(cp, partner, valid_from, by=by)
    charge_point.partner_id = cp.partner_id
    return hosting


@transaction.atomic
def hostings_refresh(*, day: dt.date | None = None) -> int:
    """Set every ``ChargePoint.partner`` to its host on ``day`` (today): run daily so that
    future-dated hosting changes take effect. Returns the number of charge points changed."""
    hosts = selectors.host_on(None, day or today())
    changed = 0
    current = dict(ChargePoint.objects.values_list("pk", "partner_id"))
    moves: dict[int | None, list[int]] = {}
    for cp_id, partner_id in current.items():
        new = hosts.get(cp_id)
        if new != partner_id:
            moves.setdefault(new, []).append(cp_id)
            changed += 1
    for partner_id, ids in moves.items():
        for i in range(0, len(ids), selectors.CHUNK):
            ChargePoint.objects.filter(pk__in=ids[i : i + selectors.CHUNK]).update(
                partner_id=partner_id
            )
    return changed


# --- status and fault notifications ------------------------------------------------------------


@transaction.atomic
def charge_point_report_status(
    *,
    charge_point: ChargePoint,
    status: str,
    error_code: str = "",
    info: str = "",
    reported_by=None,
    at: dt.datetime | None = None,
) -> StatusNotification:
    """Record a status notification. On a change to ``faulted`` the outbox event
    ``charging.charge_point_faulted`` is written and, when the host's contract in force has
    ``fault_notifications``, its technical contact is e-mailed once the transaction commits."""
    if status not in ChargePointStatus.values:
        raise ServiceError(f"Use one of {', '.join(ChargePointStatus.values)}.", field="status")
    error_code = _text({"error_code": error_code}, "error_code", max_length=50)
    info = _text({"info": info}, "info", max_length=255)
    at = at or timezone.now()
    cp = (
        ChargePoint.objects.select_for_update(of=("self",))
        .select_related("partner", "location")
        .get(pk=charge_point.pk)
    )
    previous = cp.status
    notification = StatusNotification(
        charge_point=cp,
        from_status=previous,
        to_status=status,
        error_code=error_code,
        info=info,
        reported_at=at,
        reported_by=reported_by if getattr(reported_by, "pk", None) else None,
    )
    if status != previous:
        cp.status = status
        cp.status_changed_at = at
        cp.save(update_fields=["status", "status_changed_at", "updated_at"])
    if status == ChargePointStatus.FAULTED and previous != ChargePointStatus.FAULTED:
        contact = _fault_contact(cp)
        if contact is not None:
            notification.notified_email = contact.email
            send_email_on_commit(
                to=[contact.email],
                subject=f"Charge point {cp.identity} is faulted",
                body=_fault_email(cp, contact, error_code, info, at),
            )
        emit(
            "charging.charge_point_faulted",
            partner=cp.partner,
            payload={
                "charge_point_id": cp.pk,
                "identity": cp.identity,
                "location_id": cp.location_id,
                "error_code": error_code,
                "info": info,
                "at": at,
                "notified": notification.notified_email,
            },
        )
    notification.save()
    charge_point.status = cp.status
    return notification


def _fault_contact(cp: ChargePoint):
    """The host's technical contact, when the host opted in through its contract in force."""
    if cp.partner_id is None:
        return None
    contract = selectors.contract_in_force(partner_id=cp.partner_id, day=today())
    if contract is None or not contract.fault_notifications:
        return None
    return cp.partner.contacts.filter(role=ContactRole.TECHNICAL).order_by("id").first()


def _fault_email(cp: ChargePoint, contact, error_code: str, info: str, at: dt.datetime) -> str:
    lines = [
        f"Hello {contact.name},",
        "",
        f"charge point {cp.identity} at {cp.location.name} ({cp.location.address}, "
        f"{cp.location.city}) reported a fault at {at:%Y-%m-%d %H:%M} UTC.",
    ]
    if error_code:
        lines.append(f"Error code: {error_code}")
    if info:
        lines.append(f"Details: {info}")
    lines += [
        "",
        "You receive this message because fault notifications are enabled in your contract.",
    ]
    return "\n".join(lines)


# --- tariffs ------------------------------------------------------------------------------------


def tariff_parse(data: Any) -> ocpi.Tariff:
    """Validate an OCPI Tariff object; errors become a ServiceError (422) naming the first
    failing JSON path under ``ocpi`` and listing every problem in the message."""
    if not isinstance(data, dict):
        raise ServiceError("Send the OCPI Tariff object.", field="ocpi", code="ocpi_invalid")
    try:
        return ocpi.parse_tariff(data)
    except ocpi.OcpiValidationError as exc:
        raise TariffInvalid(exc.errors) from None


class TariffInvalid(ServiceError):
    """An OCPI Tariff that does not validate: one detail per error, each with its path."""

    status_code = 422

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        path, message = errors[0]
        super().__init__(f"{path}: {message}", field=f"ocpi.{path}", code="ocpi_invalid")

    def as_details(self) -> list[dict]:
        details = []
        for path, message in self.errors:
            loc = ["body", "ocpi"] + [
                int(p) if p.isdigit() else p for p in path.split(".") if p != "<root>"
            ]
            details.append({"loc": loc, "msg": message, "type": "ocpi_invalid"})
        return details


def _stored(tariff: ocpi.Tariff) -> dict:
    """The tariff as JSON for the database (numbers as JSON numbers, written exactly)."""
    import json

    return json.loads(ocpi.ocpi_dumps(ocpi.tariff_to_json(tariff)))


def _tariff_name(parsed: ocpi.Tariff, name: str) -> str:
    if name:
        return name
    for text in parsed.tariff_alt_text or []:
        if text.language == "en":
            return text.text[:200]
    if parsed.tariff_alt_text:
        return parsed.tariff_alt_text[0].text[:200]
    return parsed.id


@transaction.atomic
def tariff_create(*, data: Any, partner: Partner | None = None, name: str = "") -> Tariff:
    """Import an OCPI Tariff. ``partner``: the site host managing it (None: the operator's)."""
    parsed = tariff_parse(data)
    name = _text({"name": name}, "name", max_length=200)
    if Tariff.objects.filter(ocpi_id=parsed.id).exists():
        raise Conflict(f"A tariff with id {parsed.id} already exists.", field="ocpi.id")
    if partner is not None:
        _active_partner(partner)
    try:
        with transaction.atomic():
            tariff = Tariff.objects.create(
                ocpi_id=parsed.id,
                name=_tariff_name(parsed, name),
                currency=parsed.currency.upper(),
                ocpi=_stored(parsed),
                partner=partner,
            )
    except IntegrityError:
        raise Conflict(f"A tariff with id {parsed.id} already exists.", field="ocpi.id") from None
    emit(
        "charging.tariff_created",
        partner=partner,
        payload={"tariff_id": tariff.pk, "ocpi_id": tariff.ocpi_id},
    )
    return tariff


@transaction.atomic
def tariff_update(*, tariff: Tariff, data: Any = None, name: str | None = None) -> Tariff:
    """Rename a tariff and/or replace its OCPI object (its ``id`` may not change: it is what
    CDRs cite)."""
    parsed = tariff_parse(data) if data is not None else None
    if parsed is not None and parsed.id != tariff.ocpi_id:
        raise ServiceError(
            f"The tariff id is {tariff.ocpi_id}; it cannot change to {parsed.id}.",
            field="ocpi.id",
        )
    tariff = Tariff.objects.select_for_update().get(pk=tariff.pk)
    if name is not None:
        tariff.name = _text({"name": name}, "name", max_length=200)
    if parsed is not None:
        tariff.name = tariff.name or _tariff_name(parsed, "")
        tariff.currency = parsed.currency.upper()
        tariff.ocpi = _stored(parsed)
    tariff.save()
    emit(
        "charging.tariff_updated",
        partner=tariff.partner,
        payload={"tariff_id": tariff.pk, "ocpi_id": tariff.ocpi_id},
    )
    return tariff


@transaction.atomic
def tariff_delete(*, tariff: Tariff) -> None:
    if tariff.assignments.exists():
        raise Conflict(
            f"Tariff {tariff.ocpi_id} is assigned; remove its assignments first.",
            field="tariff_id",
        )
    emit(
        "charging.tariff_deleted",
        partner=tariff.partner,
        payload={"tariff_id": tariff.pk, "ocpi_id": tariff.ocpi_id},
    )
    tariff.delete()


def tariff_export(tariff: Tariff) -> dict:
    """The OCPI Tariff object (numbers as ``Decimal``: serialise with ``ocpi.ocpi_dumps``)."""
    return ocpi.tariff_to_json(ocpi.parse_tariff(tariff.ocpi))


@transaction.atomic
def tariff_group_create(*, name: str, partner: Partner | None = None) -> TariffGroup:
    name = _text({"name": name}, "name", required=True, max_length=200)
    if partner is not None:
        _active_partner(partner)
    group = TariffGroup.objects.create(name=name, partner=partner)
    emit("charging.tariff_group_created", partner=partner, payload={"tariff_group_id": group.pk})
    return group


@transaction.atomic
def tariff_group_update(*, group: TariffGroup, data: dict) -> TariffGroup:
    if "name" in data:
        group.name = _text(data, "name", required=True, max_length=200)
    group.save()
    return group


def _target_owner_id(target) -> int | None:
    if isinstance(target, Evse):
        return target.charge_point.partner_id
    return target.partner_id


@transaction.atomic
def assignment_create(
    *,
    tariff: Tariff,
    target: TariffGroup | ChargePoint | Evse,
    valid_from: dt.datetime | None = None,
) -> TariffAssignment:
    """Apply ``tariff`` to a tariff group, a charge point or one EVSE from ``valid_from`` (now
    by default). A partner's own tariff applies only to what that partner hosts (or its own
    tariff groups); the EVSE's current type does not restrict the tariff."""
    valid_from = valid_from or timezone.now()
    owner = _target_owner_id(target)
    if tariff.partner_id is not None and tariff.partner_id != owner:
        raise ServiceError(
            f"Tariff {tariff.ocpi_id} belongs to {tariff.partner.display_name}; it applies only "
            "to that partner's assets.",
            field="tariff_id",
        )
    kind = {TariffGroup: "tariff_group", ChargePoint: "charge_point", Evse: "evse"}[type(target)]
    if TariffAssignment.objects.filter(**{kind: target}, valid_from=valid_from).exists():
        raise Conflict("Another tariff is assigned here from the same moment.", field="valid_from")
    assignment = TariffAssignment.objects.create(
        tariff=tariff, valid_from=valid_from, **{kind: target}
    )
    emit(
        "charging.tariff_assigned",
        partner=tariff.partner,
        payload={
            "assignment_id": assignment.pk,
            "tariff_id": tariff.pk,
            kind + "_id": target.pk,
            "valid_from": valid_from,
        },
    )
    return assignment


@transaction.atomic
def assignment_delete(*, assignment: TariffAssignment) -> None:
    emit(
        "charging.tariff_unassigned",
        partner=assignment.tariff.partner,
        payload={"assignment_id": assignment.pk, "tariff_id": assignment.tariff_id},
    )
    assignment.delete()


# --- pricing ------------------------------------------------------------------------------------


def price_session(
    *,
    tariff: Tariff,
    start: dt.datetime,
    end: dt.datetime,
    kwh: Decimal | None = None,
    charging_hours: Decimal | None = None,
    parking_hours: Decimal = Decimal(0),
    max_power_kw: Decimal | None = None,
    charging_periods: list[dict] | None = None,
    time_zone: str = "UTC",
):
    """The OCPI cost of a session under ``tariff`` (``tariff_calc``): from totals (kWh,
    charging and parking hours) or from OCPI ``charging_periods``. Restrictions by time of day
    and weekday are judged in ``time_zone`` (the location's)."""
    from partnerhub.charging import tariff_calc

    try:
        zone = zoneinfo.ZoneInfo(time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ServiceError(
            "Give an IANA time zone, e.g. Europe/Berlin.", field="time_zone"
        ) from None
    if end < start:
        raise ServiceError("The session ends before it starts.", field="end")
    compiled = tariff_parse(tariff.ocpi)
    try:
        if charging_periods:
            cdr = ocpi.parse_cdr(
                {
                    "start_date_time": start,
                    "end_date_time": end,
                    "currency": compiled.currency,
                    "charging_periods": charging_periods,
                    "total_cost": {"excl_vat": 0},
                    "total_energy": 0,
                    "total_time": 0,
                    "last_updated": timezone.now(),
                }
            )
            return tariff_calc.price_cdr(compiled, cdr, tz=zone)
        if kwh is None:
            raise ServiceError("Give kwh, or the OCPI charging_periods.", field="kwh")
        if charging_hours is None:
            hours = Decimal((end - start).total_seconds()) / Decimal(3600)
            charging_hours = max(hours - (parking_hours or 0), Decimal(0))
        return tariff_calc.price_simple(
            compiled,
            start=start,
            end=end,
            kwh=kwh,
            charging_hours=charging_hours,
            parking_hours=parking_hours or 0,
            max_power_kw=max_power_kw,
            tz=zone,
        )
    except ocpi.OcpiValidationError as exc:
        path, message = exc.errors[0]
        raise ServiceError(f"{path}: {message}", field="charging_periods") from None
    except tariff_calc.TariffNotActiveError:
        raise ServiceError(
            f"Tariff {tariff.ocpi_id} is not valid at {start:%Y-%m-%d %H:%M}.", field="start"
        ) from None
    except ValueError as exc:
        raise ServiceError(str(exc), field="body") from None


# --- corporate billing --------------------------------------------------------------------------


@transaction.atomic
def corporate_billing_set(
    *,
    partner: Partner,
    enabled: bool,
    currency: str,
    monthly_limit: Any,
    discount_percent: Any = 0,
) -> CorporateBilling:
    """Configure (or change) a partner's corporate billing: on/off, the default monthly limit
    per driver incl. VAT, and its discount on service fees (0-100 %)."""
    currency = _currency(currency)
    limit = _amount_minor(monthly_limit, currency, "monthly_limit")
    discount = _decimal(
        discount_percent, "discount_percent", minimum=Decimal(0), maximum=Decimal(100)
    )
    _places(discount, 2, "discount_percent")
    billing, created = CorporateBilling.objects.select_for_update().get_or_create(
        partner=partner,
        defaults={
            "enabled": enabled,
            "currency": currency,
            "monthly_limit_minor": limit,
            "discount_percent": discount,
        },
    )
    if not created:
        billing.enabled = enabled
        billing.currency = currency
        billing.monthly_limit_minor = limit
        billing.discount_percent = discount
        billing.save()
    emit(
        "charging.corporate_billing_changed",
        partner=partner,
        payload={
            "enabled": enabled,
            "currency": currency,
            "monthly_limit_minor": limit,
            "discount_percent": discount,
        },
    )
    return billing


def _require_corporate(partner: Partner, field: str) -> CorporateBilling:
    billing = selectors.corporate_billing_of(partner)
    if billing is None or not billing.enabled:
        raise ServiceError(
            f"{partner.display_name} has no corporate billing enabled; the vendor enables it.",
            field=field,
        )
    return billing


@transaction.atomic
def driver_create(*, partner: Partner, data: dict) -> Driver:
    """A driver account of one of the partner's own users (its CSMS token / account id)."""
    _active_partner(partner)
    external_id = _text(data, "external_id", required=True, max_length=64)
    if Driver.objects.filter(external_id=external_id).exists():
        raise Conflict(f"A driver {external_id} already exists.", field="external_id")
    driver = Driver(
        partner=partner,
        external_id=external_id,
        name=_text(data, "name", max_length=200),
        email=_text(data, "email", max_length=254),
    )
    _driver_corporate(driver, data)
    driver.save()
    emit("charging.driver_created", partner=partner, payload={"driver_id": driver.pk})
    return driver


def _driver_corporate(driver: Driver, data: dict) -> None:
    corporate = data.get("corporate_billing", driver.corporate_billing)
    wants_limit = "monthly_limit" in data and data["monthly_limit"] not in (None, "")
    billing = None
    if corporate or wants_limit:
        field = (
            "corporate_billing" if corporate and "corporate_billing" in data else "monthly_limit"
        )
        if driver.partner is None:
            raise ServiceError("The driver belongs to no partner.", field=field)
        billing = _require_corporate(driver.partner, field)
    driver.corporate_billing = bool(corporate)
    if "monthly_limit" in data:
        if data["monthly_limit"] in (None, ""):
            driver.monthly_limit_minor = None
        else:
            driver.monthly_limit_minor = _amount_minor(
                data["monthly_limit"], billing.currency, "monthly_limit"
            )


@transaction.atomic
def driver_update(*, driver: Driver, data: dict) -> Driver:
    """Mark a driver as corporate (its sessions are charged to the partner) and set its own
    monthly limit (``null``: the partner's default). Needs the partner's corporate billing
    enabled."""
    driver = (
        Driver.objects.select_for_update(of=("self",)).select_related("partner").get(pk=driver.pk)
    )
    for name, length in (("name", 200), ("email", 254)):
        if name in data:
            setattr(driver, name, _text(data, name, max_length=length))
    _driver_corporate(driver, data)
    driver.save()
    return driver


@dataclass(frozen=True)
class Authorization:
    """The answer to a corporate authorisation (amounts in minor units of ``currency``)."""

    authorized: bool
    corporate: bool
    message: str
    currency: str = ""
    partner_id: int | None = None
    limit_minor: int | None = None
    month_to_date_minor: int | None = None
    remaining_minor: int | None = None
    month: dt.date | None = None


def driver_limit(driver: Driver, billing: CorporateBilling) -> int:
    return (
        driver.monthly_limit_minor
        if driver.monthly_limit_minor is not None
        else billing.monthly_limit_minor
    )


def authorize_session(
    *,
    driver: Driver,
    evse: Evse,
    expected_amount: Decimal | None = None,
    at: dt.datetime | None = None,
) -> Authorization:
    """May this driver start a session on this EVSE under corporate billing?

    A driver who is not corporate (or whose partner has corporate billing switched off) is
    authorised to pay by its own means (``corporate=False``). A corporate driver is refused
    (``Conflict``, 409) when its corporate sessions this calendar month (UTC, sum of
    ``total_incl_vat``) already reach its limit, or when ``expected_amount`` (incl. VAT, in
    the billing currency) would pass it. Otherwise authorised with the remaining allowance."""
    at = at or timezone.now()
    if evse.charge_point.status in (ChargePointStatus.FAULTED, ChargePointStatus.REMOVED):
        raise Conflict(
            f"Charge point {evse.charge_point.identity} is {evse.charge_point.status}.",
            field="evse_uid",
        )
    billing = selectors.corporate_billing_of(driver.partner) if driver.partner_id else None
    if not driver.corporate_billing or billing is None or not billing.enabled:
        return Authorization(
            authorized=True,
            corporate=False,
            message="Not a corporate driver: the driver pays.",
        )
    currency = billing.currency
    expected_minor = 0
    if expected_amount is not None:
        expected_minor = _amount_minor(expected_amount, currency, "expected_amount")
    month = at.astimezone(dt.UTC).date().replace(day=1)
    spent = selectors.corporate_month_to_date([driver.pk], month).get(driver.pk, 0)
    limit = driver_limit(driver, billing)

    def fmt(minor: int) -> str:
        return f"{from_minor(minor, currency)} {currency}"

    if spent >= limit:
        raise Conflict(
            f"Corporate monthly limit reached: {fmt(spent)} of {fmt(limit)} used in {month:%B %Y}.",
            field="driver_external_id",
            code="corporate_limit_reached",
        )
    if spent + expected_minor > limit:
        raise Conflict(
            f"The expected {fmt(expected_minor)} would pass the corporate monthly limit of "
            f"{fmt(limit)}: {fmt(spent)} already used in {month:%B %Y}, "
            f"{fmt(limit - spent)} left.",
            field="expected_amount",
            code="corporate_limit_exceeded",
        )
    return Authorization(
        authorized=True,
        corporate=True,
        message=f"Charged to {driver.partner.display_name}: {fmt(limit - spent)} left this month.",
        currency=currency,
        partner_id=driver.partner_id,
        limit_minor=limit,
        month_to_date_minor=spent,
        remaining_minor=limit - spent,
        month=month,
    )
