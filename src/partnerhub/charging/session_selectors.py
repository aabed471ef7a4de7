"""Reads of charging sessions (CDRs), through what the acting user may see, and the OCPI CDR
export of a session.

Visibility is decided by ``core.permissions.visible_charging_sessions``: a session is seen by
whoever sees the partner that hosted its charge point on the session's start day
(``session.partner``) or the partner billed for it under corporate billing
(``corporate_partner``); program admins, finance and viewers see every session. Anything else
answers 404, so existence never leaks.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import Http404
from django_countries import countries

from partnerhub.charging.models import ChargingSession
from partnerhub.charging.ocpi import ocpi_loads
from partnerhub.core.money import from_minor
from partnerhub.core.permissions import visible_charging_sessions

_MICRO_HOUR = Decimal("0.000001")


def session_list(
    *,
    fetched_by,
    partner_id: int | None = None,
    charge_point_id: int | None = None,
    month: dt.date | None = None,
    payment_method: str | None = None,
    flagged: bool | None = None,
    corporate_partner_id: int | None = None,
) -> QuerySet[ChargingSession]:
    """Sessions ``fetched_by`` may see, by start then id. ``partner_id`` filters on the host
    (``session.partner``), ``month`` (its first day) on the start's calendar month in UTC."""
    qs = visible_charging_sessions(fetched_by)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if corporate_partner_id is not None:
        qs = qs.filter(corporate_partner_id=corporate_partner_id)
    if charge_point_id is not None:
        qs = qs.filter(charge_point_id=charge_point_id)
    if month is not None:
        first = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
        until = (first + dt.timedelta(days=32)).replace(day=1)
        qs = qs.filter(start__gte=first, start__lt=until)
    if payment_method:
        qs = qs.filter(payment_method=payment_method)
    if flagged is not None:
        qs = qs.filter(flagged=flagged)
    return (
        _with_flags(qs.defer("ocpi"))
        .select_related("evse", "driver", "tariff")
        .order_by("start", "id")
    )


def _with_flags(qs: QuerySet[ChargingSession]) -> QuerySet[ChargingSession]:
    return qs.annotate(
        received_as_ocpi=ExpressionWrapper(Q(ocpi__isnull=False), output_field=BooleanField())
    )


def session_get(*, fetched_by, session_id: int) -> ChargingSession:
    """One session, or 404 when it does not exist or ``fetched_by`` may not see it."""
    session = (
        _with_flags(visible_charging_sessions(fetched_by))
        .select_related("evse", "driver", "tariff", "location")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise Http404("Not found.")
    return session


def _hours(seconds: int) -> Decimal:
    """Seconds as hours with at most 6 decimals, written without trailing zeros."""
    text = f"{(Decimal(seconds) / 3600).quantize(_MICRO_HOUR):f}"
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)


def _price(excl: int, incl: int | None, currency: str) -> dict:
    price = {"excl_vat": from_minor(excl, currency)}
    if incl is not None:
        price["incl_vat"] = from_minor(incl, currency)
    return price


def session_cdr(session: ChargingSession) -> dict[str, Any]:
    """The session as an OCPI 2.2.1 CDR: the CDR as received when it was imported as OCPI
    JSON, else one built from the columns (numbers as ``Decimal``; write it with
    ``ocpi.ocpi_dumps``). Built CDRs carry the cost components excl. VAT only (the CSV gives
    no VAT per component), one charging period (ENERGY, TIME) and a PARKING_TIME period
    when the session parked; ``country_code``/``party_id`` come from the
    ``PARTNERHUB_OCPI_PARTY`` setting when it is set."""
    if session.ocpi is not None:
        # The stored JSON text, read with exact numbers (4.00 stays 4.00).
        text = (
            ChargingSession.objects.filter(pk=session.pk)
            .annotate(text=Cast("ocpi", TextField()))
            .values_list("text", flat=True)
            .first()
        )
        return ocpi_loads(text)
    currency = session.currency
    location, evse = session.location, session.evse
    cdr_location: dict[str, Any] = {
        "id": location.ocpi_id,
        "name": location.name[:255],
        "address": location.address[:45],
        "city": location.city[:45],
        "country": countries.alpha3(location.country.code) or location.country.code,
        "evse_uid": evse.uid,
        "evse_id": evse.evse_id or evse.uid,
    }
    if location.postal_code:
        cdr_location["postal_code"] = location.postal_code[:10]
    if location.latitude is not None and location.longitude is not None:
        cdr_location["coordinates"] = {
            "latitude": str(location.latitude),
            "longitude": str(location.longitude),
        }
    connector = evse.connectors.order_by("connector_id").first()
    if connector is not None:
        cdr_location |= {
            "connector_id": connector.connector_id,
            "connector_standard": connector.standard,
            "connector_format": connector.format,
            "connector_power_type": "DC" if session.current_type == "DC" else "AC_3_PHASE",
        }
    tariff_id = session.tariff.ocpi_id if session.tariff_id else None
    energy = {"type": "ENERGY", "volume": Decimal(session.energy_wh) / 1000}
    periods = [
        {
            "start_date_time": session.start,
            "dimensions": [energy, {"type": "TIME", "volume": _hours(session.charging_seconds)}],
        }
    ]
    if session.parking_seconds:
        periods.append(
            {
                "start_date_time": min(
                    session.start + dt.timedelta(seconds=session.charging_seconds), session.end
                ),
                "dimensions": [{"type": "PARKING_TIME", "volume": _hours(session.parking_seconds)}],
            }
        )
    if tariff_id:
        for period in periods:
            period["tariff_id"] = tariff_id
    total_seconds = session.charging_seconds + session.parking_seconds
    if not total_seconds:
        total_seconds = int((session.end - session.start).total_seconds())
    cdr: dict[str, Any] = dict(getattr(settings, "PARTNERHUB_OCPI_PARTY", None) or {})
    cdr |= {
        "id": session.cdr_id,
        "start_date_time": session.start,
        "end_date_time": session.end,
    }
    if session.driver_id:
        uid = session.driver.external_id
        cdr["cdr_token"] = {
            "uid": uid,
            "type": "AD_HOC_USER" if session.payment_method == "card" else "APP_USER",
            "contract_id": uid,
        }
    cdr |= {
        "auth_method": "AUTH_REQUEST",
        "cdr_location": cdr_location,
        "currency": currency,
        "charging_periods": periods,
        "total_cost": _price(session.total_excl_vat_minor, session.total_incl_vat_minor, currency),
        "total_fixed_cost": _price(session.connection_fee_minor, None, currency),
        "total_energy": Decimal(session.energy_wh) / 1000,
        "total_energy_cost": _price(session.energy_cost_minor, None, currency),
        "total_time": _hours(total_seconds),
        "total_time_cost": _price(session.time_cost_minor, None, currency),
        "total_parking_time": _hours(session.parking_seconds),
        "total_parking_cost": _price(session.parking_cost_minor, None, currency),
        "last_updated": session.imported_at,
    }
    return cdr
