"""Charging-session imports: CSV files and OCPI 2.2.1 CDR JSON, idempotent by CDR id.

Public API::

    import_sessions_csv(source, *, progress=False, partial=True) -> ImportReport
    import_sessions_ocpi(data, *, partial=True, progress=False) -> ImportReport
    ImportReport(rows, created, skipped, flagged, drivers_created, errors, refused)
    RowError(row, field, message)

The CSV format and the OCPI mapping are documented in docs/charging-import.md.

The hot path is built for millions of rows (target: 100,000 sessions/s on SQLite):

- the CSV is stream-parsed with the ``csv`` module in chunks of 20,000 records, each checked
  column by column (``csv_fast``); a row that the columnar checks do not pass goes through
  the per-row validator (``_record_checker``, the one validator of the format: its messages
  are the only ones). The EVSEs (uid → EVSE, charge point, location, AC/DC) and the hosting
  history (charge point → periods) are loaded once into dicts;
- drivers are resolved per batch from a dict filled by one query per batch; missing drivers
  (not corporate ones: those must exist) are created in bulk;
- each batch of valid rows is written by one statement: SQLite ``executemany`` of
  ``INSERT ... ON CONFLICT (cdr_id) DO NOTHING``; PostgreSQL ``COPY`` into a temporary table
  then ``INSERT ... SELECT ... ON CONFLICT (cdr_id) DO NOTHING``. A CDR id already stored
  is counted as ``skipped``; a CDR id seen twice in one import is an error row;
- after the insert, corporate sessions over the driver's monthly limit are flagged by one
  window-function query (running sum per driver and calendar month, by start then id).
- SQLite: a 1 GiB page cache, no foreign-key enforcement for the import's own transaction
  (``_sqlite_unchecked_references``: every id written was read in that transaction), big
  imports rebuild the secondary indexes once at the end (``_Writer.drop_indexes``), and a
  batch's CDR ids are looked up first while they are found stored (a file sent again);
- Python's cyclic garbage collector is paused for the import (``_gc_paused``).

All of it runs in one transaction. ``partial=True`` stores the good rows and reports the
refused ones; ``partial=False`` stores nothing when any row is refused (``refused=True``).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from partnerhub.core.money import ISO_4217, from_minor, minor_digits

UTC = dt.UTC
BATCH_ROWS = 20_000
PG_BATCH_ROWS = 50_000
SQLITE_IMPORT_CACHE_KIB = 1024 * 1024  # page cache while importing (1 GiB at most)
# SQLite: an import of at least this many rows that at least half-doubles the session table
# drops its secondary indexes and builds them again at the end (see _Writer.drop_indexes).
BULK_MIN_ROWS = 250_000
MAX_WH = 10**12  # 1 TWh: beyond any session, within every database's bigint
MAX_MINOR = 10**15
MAX_SECONDS = 2**31 - 1
_ONE = Decimal(1)
_POW = (1, 10, 100, 1000, 10000)


# CSV columns: name → required in the header.
CSV_COLUMNS: dict[str, bool] = {
    "cdr_id": True,
    "evse_uid": True,
    "start": True,
    "end": True,
    "energy_kwh": True,
    "charging_seconds": False,
    "parking_seconds": False,
    "currency": False,
    "energy_cost": False,
    "time_cost": False,
    "parking_cost": False,
    "connection_fee": False,
    "total_excl_vat": False,
    "total_incl_vat": False,
    "payment_method": True,
    "driver_id": False,
    "driver_name": False,
    "driver_email": False,
}
COST_COLUMNS = (
    "energy_cost",
    "time_cost",
    "parking_cost",
    "connection_fee",
    "total_excl_vat",
    "total_incl_vat",
)
PAYMENT_METHODS = frozenset({"card", "balance", "corporate"})

# Session table columns written by the import, in this order.
COLUMNS = (
    "cdr_id",
    "evse_id",
    "charge_point_id",
    "location_id",
    "partner_id",
    "current_type",
    "start",
    "end",
    "energy_wh",
    "charging_seconds",
    "parking_seconds",
    "currency",
    "energy_cost_minor",
    "time_cost_minor",
    "parking_cost_minor",
    "connection_fee_minor",
    "total_excl_vat_minor",
    "total_incl_vat_minor",
    "payment_method",
    "driver_id",
    "corporate_partner_id",
    "flagged",
    "flag_reason",
    "tariff_id",
    "ocpi",
    "imported_at",
)


@dataclass(frozen=True)
class RowError:
    """A refused row: ``row`` is the CSV line (header = 1) or the CDR's position (from 1)."""

    row: int
    field: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0  # rows (CDRs) read
    created: int = 0  # sessions stored now
    skipped: int = 0  # CDR ids already stored before this import
    flagged: int = 0  # corporate sessions flagged as over the driver's monthly limit
    drivers_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    refused: bool = False  # partial=False and rows were refused: nothing was stored

    def as_dict(self, max_errors: int | None = None) -> dict:
        errors = self.errors if max_errors is None else self.errors[:max_errors]
        return {
            "rows": self.rows,
            "created": self.created,
            "skipped": self.skipped,
            "flagged": self.flagged,
            "drivers_created": self.drivers_created,
            "refused": self.refused,
            "error_count": len(self.errors),
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in errors],
        }


class _Refused(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


# --- value parsing (fast paths first) -----------------------------------------------------------


def _scaled(text: str, digits: int) -> int:
    """A decimal string → an integer of ``10**-digits`` units, half-up beyond ``digits``
    ("12.34", 2 → 1234; "0.0005", 3 → 1). Raises ValueError when it is not a number."""
    whole, dot, frac = text.partition(".")
    if whole.isdigit() and len(frac) <= digits and (frac.isdigit() or not frac):
        if not dot or not frac:
            return int(whole) * _POW[digits]
        return int(whole) * _POW[digits] + int(frac) * _POW[digits - len(frac)]
    try:
        value = Decimal(text)
        if not value.is_finite():
            raise ValueError(text)
        return int(value.scaleb(digits).quantize(_ONE, rounding=ROUND_HALF_UP))
    except (InvalidOperation, OverflowError):
        raise ValueError(text) from None


def _amount(text: str, name: str, digits: int) -> int:
    try:
        minor = _scaled(text, digits)
    except ValueError:
        raise _Refused(name, f"{text!r} is not an amount; write it like 12.34") from None
    if minor < 0:
        raise _Refused(name, "must not be negative")
    if minor > MAX_MINOR:
        raise _Refused(name, "is too large")
    return minor


def _when(text: str, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Refused(name, f"{text!r} is not an ISO 8601 date-time") from None
    offset = value.utcoffset()
    if offset is None:
        raise _Refused(name, "give the time zone: end the time with Z or an offset like +01:00")
    if offset:
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise _Refused(name, "is out of range") from None
    return value if value.tzinfo is UTC else value.replace(tzinfo=UTC)


def _seconds(text: str, name: str) -> int:
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise _Refused(name, f"{text!r} is not a whole number of seconds") from None
    if value < 0:
        raise _Refused(name, "must not be negative")
    if value > MAX_SECONDS:
        raise _Refused(name, "is too large")
    return value


def _currency(text: str, name: str = "currency") -> str:
    code = text.strip().upper()
    if code not in ISO_4217:
        raise _Refused(name, f"{text!r} is not an ISO 4217 currency code (e.g. EUR)")
    return code


def _text(value: str, name: str, limit: int) -> str:
    if len(value) > limit:
        raise _Refused(name, f"at most {limit} characters")
    if "\x00" in value:
        raise _Refused(name, "must not contain NUL characters")
    return value


def _sqlite_time(value: dt.datetime, text: str) -> str:
    """What Django's SQLite backend stores for an aware time: naive UTC text. ``text`` in the
    common form ``2025-03-10T08:00:00Z`` is cut, not formatted (the hot path)."""
    if (
        len(text) == 20
        and text[19] == "Z"
        and text[4] == "-" == text[7]
        and text[13] == ":" == text[16]
        and text[10] in "T "
    ):  # "YYYY-MM-DD?HH:MM:SSZ", already validated by fromisoformat
        return f"{text[:10]} {text[11:19]}"
    return str(value.replace(tzinfo=None))


def _as_is(value: dt.datetime, text: str) -> dt.datetime:
    return value


# --- reference data ---------------------------------------------------------------------------

# EVSE uid → (evse id, charge point id, location id, current type, max power kW)
EvseInfo = tuple[int, int, int, str, Decimal]


class _Lookups:
    """Everything a row is resolved against, loaded once per import."""

    def __init__(self):
        from partnerhub.charging.models import CorporateBilling, Evse, Location
        from partnerhub.charging.selectors import hosting_periods

        self.evses: dict[str, EvseInfo] = {
            uid: (pk, cp, loc, current, power)
            for uid, pk, cp, loc, current, power in Evse.objects.values_list(
                "uid",
                "id",
                "charge_point_id",
                "charge_point__location_id",
                "current_type",
                "max_power_kw",
            ).iterator(chunk_size=20_000)
        }
        # The EVSE ID (eMI3, e.g. "DE*PHB*E0011", what the pages show) names an EVSE too,
        # when it is no other EVSE's uid and no two EVSEs share it.
        by_evse_id: dict[str, list[str]] = {}
        for uid, evse_id in Evse.objects.exclude(evse_id="").values_list("uid", "evse_id"):
            by_evse_id.setdefault(evse_id, []).append(uid)
        for evse_id, uids in by_evse_id.items():
            if len(uids) == 1 and evse_id not in self.evses:
                self.evses[evse_id] = self.evses[uids[0]]
        # charge point → ((first day ordinal, last day ordinal, partner), ...), by first day
        self.hostings = {
            cp: tuple(
                (start.toordinal(), end.toordinal() if end else 10**7, partner)
                for start, end, partner in periods
            )
            for cp, periods in hosting_periods().items()
        }
        self.billing: dict[int, tuple[bool, str, int]] = {
            partner: (enabled, currency, limit)
            for partner, enabled, currency, limit in CorporateBilling.objects.values_list(
                "partner_id", "enabled", "currency", "monthly_limit_minor"
            )
        }
        self.db_time = _sqlite_time if connection.vendor == "sqlite" else _as_is
        self._location_tz: dict[int, str] | None = None
        self._Location = Location
        # driver external id → (id, partner id, corporate flag)
        self.drivers: dict[str, tuple[int, int | None, bool]] = {}
        self._compiled: dict[int, Any] = {}

    def host(self, charge_point_id: int, day: int) -> int | None:
        """The partner hosting the charge point on the day (an ordinal), or None."""
        periods = self.hostings.get(charge_point_id)
        if periods is None:
            return None
        for start, end, partner in periods:
            if start <= day <= end:
                return partner
            if start > day:
                return None
        return None

    def location_tz(self, location_id: int) -> str:
        if self._location_tz is None:
            self._location_tz = dict(self._Location.objects.values_list("id", "time_zone"))
        return self._location_tz.get(location_id) or "UTC"

    def resolve_drivers(self, external_ids: set[str]) -> None:
        from partnerhub.charging.models import Driver

        missing = [ext for ext in external_ids if ext not in self.drivers]
        for i in range(0, len(missing), 5000):
            for ext, pk, partner, corporate in Driver.objects.filter(
                external_id__in=missing[i : i + 5000]
            ).values_list("external_id", "id", "partner_id", "corporate_billing"):
                self.drivers[ext] = (pk, partner, corporate)

    def compiled_tariff(self, tariff):
        from partnerhub.charging.tariff_calc import compile_tariff

        if tariff.pk not in self._compiled:
            self._compiled[tariff.pk] = compile_tariff(tariff.ocpi)
        return self._compiled[tariff.pk]


# --- the pending row -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    row: int
    cdr_id: str
    evse: EvseInfo
    partner_id: int | None
    start: dt.datetime
    end: dt.datetime
    start_db: Any  # as written to the database (text on SQLite)
    end_db: Any
    energy_wh: int
    charging_seconds: int
    parking_seconds: int
    currency: str
    costs: tuple[int, int, int, int, int, int]  # energy, time, parking, fee, excl, incl
    payment_method: str
    driver: str  # external id or ""
    driver_name: str
    driver_email: str
    tariff_id: int | None = None
    ocpi: str | None = None


def _priced(lookups: _Lookups, row: _Row, currency_given: str) -> None:
    """Fill the costs of a row without any cost column from the EVSE's tariff."""
    from partnerhub.charging import tariff_calc
    from partnerhub.charging.selectors import tariff_for_evse

    evse_id, _, location_id, _, power = row.evse
    tariff = tariff_for_evse(evse_id, row.start)
    if tariff is None:
        raise _Refused(
            "total_excl_vat",
            "no cost was given and no tariff applies to this EVSE at the session's start",
        )
    currency = tariff.currency.upper()
    if currency_given and currency_given != currency:
        raise _Refused("currency", f"the EVSE's tariff {tariff.ocpi_id} is in {currency}")
    if currency not in ISO_4217:
        raise _Refused("currency", f"the tariff's currency {currency!r} is not ISO 4217")
    try:
        cost = tariff_calc.price_simple(
            lookups.compiled_tariff(tariff),
            start=row.start,
            end=row.end,
            kwh=Decimal(row.energy_wh) / 1000,
            charging_hours=Decimal(row.charging_seconds) / 3600,
            parking_hours=Decimal(row.parking_seconds) / 3600,
            max_power_kw=power,
            tz=lookups.location_tz(location_id),
        )
    except ValueError as exc:  # TariffNotActiveError included
        raise _Refused(
            "total_excl_vat", f"the tariff {tariff.ocpi_id} cannot price it: {exc}"
        ) from None
    digits = minor_digits(currency)

    def minor(value: Decimal) -> int:
        return int(value.scaleb(digits).quantize(_ONE, rounding=ROUND_HALF_UP))

    row.currency = currency
    row.costs = (
        minor(cost.total_energy_cost.excl_vat),
        minor(cost.total_time_cost.excl_vat),
        minor(cost.total_parking_cost.excl_vat),
        minor(cost.total_fixed_cost.excl_vat),
        minor(cost.total_cost.excl_vat),
        minor(cost.total_cost.incl_vat),
    )
    row.tariff_id = tariff.pk


# --- CSV ---------------------------------------------------------------------------------------


class _FileError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _text_lines(source) -> tuple[Iterable[str], Callable[[], None]]:
    """(text stream, close) for a path, a text file or a binary file (UTF-8, BOM allowed)."""
    if isinstance(source, str | Path):
        fh = open(source, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by caller
        return fh, fh.close
    probe = source.read(0)
    if isinstance(probe, bytes):
        wrapper = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
        return wrapper, wrapper.detach
    return source, lambda: None


def _csv_rows(
    source, lookups: _Lookups, report: ImportReport, seen: set[str], importer=None
) -> Iterator[_Row | list[tuple]]:
    """Valid rows of the CSV; refused ones go to ``report.errors``. Raises _FileError.
    With ``importer``: lists of insert tuples, one per chunk of rows (``csv_fast``)."""
    stream, close = _text_lines(source)
    try:
        reader = csv.reader(stream)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise _FileError(1, f"the header cannot be read: {exc}") from None
        if header is None:
            raise _FileError(1, "the file is empty; expected a header line")
        names = [name.strip().lower().removeprefix("\ufeff") for name in header]
        problems = []
        unknown = [n for n in names if n not in CSV_COLUMNS]
        twice = sorted({n for n in names if names.count(n) > 1})
        missing = [n for n, required in CSV_COLUMNS.items() if required and n not in names]
        if unknown:
            problems.append("unknown columns: " + ", ".join(repr(n) for n in unknown))
        if twice:
            problems.append("columns given twice: " + ", ".join(twice))
        if missing:
            problems.append("missing columns: " + ", ".join(missing))
        if problems:
            hint = ""
            if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
                hint = " (columns must be separated by commas)"
            raise _FileError(1, "; ".join(problems) + hint)
        if importer is None:
            yield from _parse_csv(reader, names, lookups, report, seen)
        else:
            from partnerhub.charging.csv_fast import fast_chunks

            yield from fast_chunks(reader, names, importer)
    except UnicodeDecodeError:
        raise _FileError(_utf8_error_line(source), "the file is not UTF-8 text") from None
    finally:
        close()


def _utf8_error_line(source) -> int:
    """The first line that is not UTF-8 (text is decoded ahead in blocks, so the error
    itself does not say which line it is)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            return _first_bad_line(fh)
    try:
        source.seek(0)
    except (OSError, ValueError):
        return 1
    return _first_bad_line(source)


def _first_bad_line(fh) -> int:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    number = 0
    try:
        for number, raw in enumerate(fh, start=1):  # noqa: B007
            decoder.decode(raw)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        pass
    return max(number, 1)


def _record_checker(
    names, lookups: _Lookups, report: ImportReport, seen: set[str]
) -> Callable[[list[str], int], _Row | None]:
    """The per-row validator: ``check(record, row_no)`` → the valid row, or None (refused
    rows go to ``report.errors``, empty lines are skipped). ``csv_fast`` sends it the rows
    its columnar checks do not pass, so its messages are the only ones. Written for speed:
    each record is padded with one empty value that every absent optional column points at,
    so a row is read by plain indexing; parsed energies, amounts and currencies are memoised
    by their text; times in the common form ``2025-03-10T08:00:00Z`` are cut to SQLite's text
    form, not formatted."""
    width = len(names)
    # Absent optional columns read the empty value appended to every record (index ``width``).
    at = {name: names.index(name) if name in names else width for name in CSV_COLUMNS}
    i_cdr, i_evse, i_start, i_end, i_kwh, i_pay = (
        at["cdr_id"],
        at["evse_uid"],
        at["start"],
        at["end"],
        at["energy_kwh"],
        at["payment_method"],
    )
    i_cs, i_ps, i_cur, i_drv, i_name, i_mail = (
        at["charging_seconds"],
        at["parking_seconds"],
        at["currency"],
        at["driver_id"],
        at["driver_name"],
        at["driver_email"],
    )
    i_c0, i_c1, i_c2, i_c3, i_c4, i_c5 = (at[n] for n in COST_COLUMNS)
    evses, host, errors, db_time = lookups.evses, lookups.host, report.errors, lookups.db_time
    # Parsed values by their text: amounts, energies and currencies repeat a lot in real files.
    energies: dict[str, int] = {}
    amounts: dict[int, dict[str, int]] = {}
    fromiso = dt.datetime.fromisoformat
    currencies: dict[str, tuple[str, int]] = {}  # text → (ISO code, minor digits)
    no_costs = (0, 0, 0, 0, 0, 0)

    def check(record: list[str], row_no: int) -> _Row | None:
        if len(record) != width:
            if not any(v.strip() for v in record):
                return None  # an empty line
            report.rows += 1
            errors.append(
                RowError(row_no, "", f"the row has {len(record)} values, the header {width}")
            )
            return None
        report.rows += 1
        record.append("")
        try:
            cdr_id = record[i_cdr].strip()
            if not cdr_id or len(cdr_id) > 64 or "\x00" in cdr_id:
                _text(cdr_id, "cdr_id", 64)
                raise _Refused("cdr_id", "required")
            if cdr_id in seen:
                raise _Refused("cdr_id", f"{cdr_id!r} appears twice in this import")
            seen.add(cdr_id)
            evse = evses.get(record[i_evse].strip())
            if evse is None:
                raise _Refused(
                    "evse_uid", f"no EVSE with uid or EVSE ID {record[i_evse].strip()!r}"
                )
            start_text, end_text = record[i_start].strip(), record[i_end].strip()
            try:  # the common case inline: ISO text ending in Z
                start, end = fromiso(start_text), fromiso(end_text)
            except ValueError:
                start, end = _when(start_text, "start"), _when(end_text, "end")
            if start.tzinfo is not UTC:
                start = _when(start_text, "start")
            if end.tzinfo is not UTC:
                end = _when(end_text, "end")
            if end < start:
                raise _Refused("end", "the session ends before it starts")
            kwh = record[i_kwh].strip()
            energy_wh = energies.get(kwh)
            if energy_wh is None:
                try:
                    energy_wh = _scaled(kwh, 3)
                except ValueError:
                    raise _Refused("energy_kwh", f"{kwh!r} is not a number of kWh") from None
                if energy_wh < 0:
                    raise _Refused("energy_kwh", "must not be negative")
                if energy_wh > MAX_WH:
                    raise _Refused("energy_kwh", "is too large")
                if len(energies) < 1_000_000:
                    energies[kwh] = energy_wh
            charging = record[i_cs].strip()
            charging = _seconds(charging, "charging_seconds") if charging else 0
            parking = record[i_ps].strip()
            parking = _seconds(parking, "parking_seconds") if parking else 0
            currency = record[i_cur].strip()
            digits = 2
            if currency:
                known_currency = currencies.get(currency)
                if known_currency is None:
                    code = _currency(currency)
                    known_currency = currencies[currency] = (code, minor_digits(code))
                currency, digits = known_currency
            payment = record[i_pay].strip()
            if payment not in PAYMENT_METHODS:
                payment = payment.lower()
                if payment not in PAYMENT_METHODS:
                    raise _Refused("payment_method", "use card, balance or corporate")
            driver = record[i_drv].strip()
            name = email = ""
            if driver:
                _text(driver, "driver_id", 64)
                name, email = record[i_name].strip(), record[i_mail].strip()
                if name:
                    _text(name, "driver_name", 200)
                if email:
                    _text(email, "driver_email", 254)
                    if "@" not in email:
                        raise _Refused("driver_email", f"{email!r} is not an e-mail address")
            elif payment == "corporate":
                raise _Refused("driver_id", "a corporate-billed session needs its driver")
            row = _Row(
                row_no,
                cdr_id,
                evse,
                host(evse[1], start.toordinal()),
                start,
                end,
                db_time(start, start_text),
                db_time(end, end_text),
                energy_wh,
                charging,
                parking,
                currency,
                no_costs,
                payment,
                driver,
                name,
                email,
            )
            costs = (
                record[i_c0].strip(),
                record[i_c1].strip(),
                record[i_c2].strip(),
                record[i_c3].strip(),
                record[i_c4].strip(),
                record[i_c5].strip(),
            )
            if any(costs):
                if not currency:
                    raise _Refused("currency", "required with the amounts")
                if not costs[4]:
                    raise _Refused("total_excl_vat", "required with the other amounts")
                if not costs[5]:
                    raise _Refused("total_incl_vat", "required with the other amounts")
                known = amounts.get(digits)
                if known is None:
                    known = amounts[digits] = {"": 0}
                try:
                    values = tuple([known[text] for text in costs])
                except KeyError:
                    values = tuple(
                        [
                            _known_amount(known, text, column, digits)
                            for text, column in zip(costs, COST_COLUMNS, strict=True)
                        ]
                    )
                if values[5] < values[4]:
                    raise _Refused("total_incl_vat", "is less than total_excl_vat")
                row.costs = values
            else:
                _priced(lookups, row, currency)
        except _Refused as exc:
            errors.append(RowError(row_no, exc.field, exc.message))
            return None
        return row

    return check


def _parse_csv(reader, names, lookups: _Lookups, report: ImportReport, seen: set[str]):
    """Valid rows of the CSV, one record at a time through ``_record_checker``."""
    check = _record_checker(names, lookups, report, seen)
    last_line = 1
    while True:
        try:
            record = next(reader, None)
        except csv.Error as exc:
            raise _FileError(reader.line_num, f"not valid CSV: {exc}") from None
        if record is None:
            return
        row_no, last_line = last_line + 1, reader.line_num
        row = check(record, row_no)
        if row is not None:
            yield row


def _known_amount(known: dict[str, int], text: str, column: str, digits: int) -> int:
    """``text`` in minor units through the memo ``known`` (amount text → minor units)."""
    minor = known.get(text)
    if minor is None:
        minor = _amount(text, column, digits)
        if len(known) < 1_000_000:
            known[text] = minor
    return minor


# --- OCPI CDR JSON ---------------------------------------------------------------------------


def _unstorable(value) -> str | None:
    """Why the CDR cannot be stored as JSON on every database (NUL characters, numbers out of
    PostgreSQL's range), or None."""
    if isinstance(value, str):
        return "the CDR contains NUL characters" if "\x00" in value else None
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        number = Decimal(value) if not isinstance(value, Decimal) else value
        if not number.is_finite() or (number and abs(number.adjusted()) > 1000):
            return "the CDR contains a number out of range"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _unstorable(key) or _unstorable(item)
            if problem:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = _unstorable(item)
            if problem:
                return problem
    return None


def _ocpi_rows(cdrs: list, lookups: _Lookups, report: ImportReport, seen: set[str]):
    from partnerhub.charging import ocpi
    from partnerhub.charging.models import Tariff

    tariff_ids: dict[str, int | None] = {}
    for index, raw in enumerate(cdrs, start=1):
        report.rows += 1
        try:
            if not isinstance(raw, dict):
                raise _Refused("", "a CDR must be a JSON object")
            problem = _unstorable(raw)
            if problem:
                raise _Refused("", problem)
            try:
                cdr = ocpi.parse_cdr(raw)
            except ocpi.OcpiValidationError as exc:
                path, message = exc.errors[0]
                more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
                raise _Refused(path, message + more) from None
            if not cdr.id:
                raise _Refused("id", "required: the CDR id identifies the session")
            if cdr.id in seen:
                raise _Refused("id", f"{cdr.id!r} appears twice in this import")
            seen.add(cdr.id)
            location = cdr.cdr_location
            uid = location.evse_uid if location else None
            if not uid:
                raise _Refused("cdr_location.evse_uid", "required")
            evse = lookups.evses.get(uid)
            if evse is None:
                raise _Refused("cdr_location.evse_uid", f"no EVSE with uid or EVSE ID {uid!r}")
            start, end = cdr.start_date_time, cdr.end_date_time
            if end < start:
                raise _Refused("end_date_time", "the session ends before it starts")
            currency = _currency(cdr.currency)
            digits = minor_digits(currency)

            def minor(price, name: str, incl: bool = False, digits: int = digits) -> int:
                if price is None:
                    return 0
                value = price.incl_vat if incl and price.incl_vat is not None else price.excl_vat
                return _amount(str(value), name, digits)

            costs = (
                minor(cdr.total_energy_cost, "total_energy_cost"),
                minor(cdr.total_time_cost, "total_time_cost"),
                minor(cdr.total_parking_cost, "total_parking_cost"),
                minor(cdr.total_fixed_cost, "total_fixed_cost"),
                minor(cdr.total_cost, "total_cost.excl_vat"),
                minor(cdr.total_cost, "total_cost.incl_vat", incl=True),
            )
            if costs[5] < costs[4]:
                raise _Refused("total_cost.incl_vat", "is less than excl_vat")
            energy_wh = _scaled(str(cdr.total_energy), 3)
            if not 0 <= energy_wh <= MAX_WH:
                raise _Refused("total_energy", "must be between 0 and 10^9 kWh")
            parking_h = cdr.total_parking_time or Decimal(0)
            total_s = _scaled(str(cdr.total_time * 3600), 0)
            parking_s = _scaled(str(parking_h * 3600), 0)
            if not 0 <= parking_s <= total_s <= MAX_SECONDS:
                raise _Refused("total_time", "must cover total_parking_time (hours, ≥ 0)")
            token = cdr.cdr_token
            driver = _text(token.uid, "cdr_token.uid", 64) if token else ""
            payment = "card" if token is None or token.type == "AD_HOC_USER" else "balance"
            tariff_ocpi_id = next(
                (p.tariff_id for p in cdr.charging_periods if p.tariff_id),
                cdr.tariffs[0].id if cdr.tariffs else None,
            )
            if tariff_ocpi_id and tariff_ocpi_id not in tariff_ids:
                tariff_ids[tariff_ocpi_id] = (
                    Tariff.objects.filter(ocpi_id=tariff_ocpi_id).values_list("id", flat=True)
                ).first()
            row = _Row(
                index,
                cdr.id,
                evse,
                lookups.host(evse[1], start.toordinal()),
                start,
                end,
                lookups.db_time(start, ""),
                lookups.db_time(end, ""),
                energy_wh,
                total_s - parking_s,
                parking_s,
                currency,
                costs,
                payment,
                driver,
                "",
                "",
                tariff_ids.get(tariff_ocpi_id) if tariff_ocpi_id else None,
                ocpi.ocpi_dumps(raw),
            )
        except _Refused as exc:
            report.errors.append(RowError(index, exc.field, exc.message))
            continue
        yield row


# --- writing ---------------------------------------------------------------------------------


class _Writer:
    """Inserts batches of session tuples, ``ON CONFLICT (cdr_id) DO NOTHING``."""

    def __init__(self):
        from partnerhub.charging.models import ChargingSession

        meta = ChargingSession._meta
        self.table = meta.db_table
        quote = connection.ops.quote_name
        self.columns = ", ".join(quote(meta.get_field(name).column) for name in COLUMNS)
        self.cdr_column = quote(meta.get_field("cdr_id").column)
        self.vendor = connection.vendor
        self.temp = None
        self.cache_size = None
        self.dropped: list[tuple[str, str]] = []
        if self.vendor == "sqlite":
            # A big page cache for the import: the session table's indexes are updated at
            # random places, and SQLite's default 2 MB cache would re-read pages constantly.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                self.cache_size = cursor.fetchone()[0]
                cursor.execute(f"PRAGMA cache_size = {-SQLITE_IMPORT_CACHE_KIB}")
        if self.vendor == "postgresql":
            self.temp = "_partnerhub_session_import"
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{self.temp}")
                cursor.execute(
                    f"CREATE TEMP TABLE {self.temp} AS SELECT {self.columns} "
                    f"FROM {quote(self.table)} WITH NO DATA"
                )

    def insert(self, rows: list[tuple]) -> int:
        if not rows:
            return 0
        quote = connection.ops.quote_name
        if self.vendor == "postgresql":
            raw = connection.connection
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {self.temp} ({self.columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    f"INSERT INTO {quote(self.table)} ({self.columns}) "
                    f"SELECT {self.columns} FROM {self.temp} "
                    f"ON CONFLICT ({self.cdr_column}) DO NOTHING"
                )
                created = cursor.rowcount
                cursor.execute(f"TRUNCATE {self.temp}")
            return created
        marks = ", ".join("?" * len(COLUMNS))
        sql = (
            f"INSERT INTO {quote(self.table)} ({self.columns}) VALUES ({marks}) "
            f"ON CONFLICT ({self.cdr_column}) DO NOTHING"
        )
        if self.vendor == "sqlite":
            cursor = connection.connection.cursor()
            try:
                cursor.executemany(sql, rows)
                return cursor.rowcount
            finally:
                cursor.close()
        with connection.cursor() as cursor:  # any other database: the portable path
            cursor.executemany(sql.replace("?", "%s"), rows)
            return cursor.rowcount

    def stored_cdr_ids(self, cdr_ids: list[str]) -> set[str]:
        """Those of the CDR ids that are stored already (one indexed look-up each)."""
        quote = connection.ops.quote_name
        found: set[str] = set()
        with connection.cursor() as cursor:
            for i in range(0, len(cdr_ids), 5000):
                chunk = cdr_ids[i : i + 5000]
                cursor.execute(
                    f"SELECT {self.cdr_column} FROM {quote(self.table)} "
                    f"WHERE {self.cdr_column} IN ({', '.join(['%s'] * len(chunk))})",
                    chunk,
                )
                found.update(cdr for (cdr,) in cursor.fetchall())
        return found

    def drop_indexes(self) -> None:
        """SQLite, big imports: drop the table's secondary indexes now and build them again in
        ``close`` (sorting once is several times faster than updating a dozen indexes at
        random places row by row). The unique CDR id index stays; DDL is transactional, so a
        rolled-back import leaves the indexes as they were."""
        if self.vendor != "sqlite" or self.dropped:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [self.table],
            )
            self.dropped = cursor.fetchall()
            for name, _ in self.dropped:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")

    def close(self) -> None:
        if self.dropped:
            with connection.cursor() as cursor:
                for _, sql in self.dropped:
                    cursor.execute(sql)
            self.dropped = []
        if self.cache_size is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(self.cache_size)}")
            self.cache_size = None
        if self.temp:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{self.temp}")


def _expected_rows(source) -> int:
    """About how many rows a CSV source holds (0 when unknown): ~120 bytes a row."""
    try:
        if isinstance(source, str | Path):
            return os.path.getsize(source) // 120
        here = source.tell()
        size = source.seek(0, os.SEEK_END) - here
        source.seek(here)
        return size // 120
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return 0


class _Importer:
    def __init__(self, *, partial: bool, progress, expected_rows: int = 0):
        self.partial = partial
        self.report = ImportReport()
        self.lookups = _Lookups()
        self.seen: set[str] = set()
        self.stamp = timezone.now()
        self.writer = _Writer()
        self.sqlite = connection.vendor == "sqlite"
        self.stamp_value = self._dt(self.stamp)
        # (driver id, first day of month) of the corporate sessions imported
        self.corporate: set[tuple[int, dt.date]] = set()
        self.progress = progress
        # SQLite: look the batch's CDR ids up before inserting while they are found stored
        # (a file sent again: its rows are left out of the insert instead of each one
        # conflicting); the first batch is always looked up.
        self.look_up_stored = self.sqlite
        # SQLite, big imports: drop the secondary indexes at the first insert, unless that
        # batch was mostly stored already (see _Writer.drop_indexes).
        self.bulk = False
        if expected_rows >= BULK_MIN_ROWS and connection.vendor == "sqlite":
            from partnerhub.charging.models import ChargingSession

            stored = ChargingSession.objects.order_by("-id").values_list("id", flat=True)[:1]
            self.bulk = expected_rows * 2 >= (stored[0] if stored else 0)

    def _dt(self, value: dt.datetime):
        if self.sqlite:  # what Django's SQLite backend stores: naive UTC text
            return str(value.astimezone(UTC).replace(tzinfo=None))
        return value

    def run(self, rows: Iterator[_Row]) -> None:
        batch: list[_Row] = []
        size = PG_BATCH_ROWS if connection.vendor == "postgresql" else BATCH_ROWS
        read = 0
        for row in rows:
            if type(row) is list:  # a CSV chunk (csv_fast): tuples ready to insert, in order
                self.flush(batch)
                batch = []
                self.store(row)
            else:
                batch.append(row)
            if len(batch) >= size:
                self.flush(batch)
                batch = []
            if self.progress is not None and self.report.rows - read >= 1000:
                self.progress.update(self.report.rows - read)
                read = self.report.rows
        self.flush(batch)
        if self.progress is not None:
            self.progress.update(self.report.rows - read)

    def _refuse(self, row: _Row, name: str, message: str) -> None:
        self.report.errors.append(RowError(row.row, name, message))

    def flush(self, batch: list[_Row]) -> None:
        if batch:
            self.store(self.prepare(batch))

    def store(self, values: list[tuple]) -> None:
        if not values or (self.report.errors and not self.partial):
            return
        count = len(values)
        if self.look_up_stored:
            stored = self.writer.stored_cdr_ids([v[0] for v in values])
            if stored:
                values = [v for v in values if v[0] not in stored]
            self.look_up_stored = bool(stored)
        if self.bulk:
            self.bulk = False
            if len(values) * 2 >= count:
                self.writer.drop_indexes()
        created = self.writer.insert(values) if values else 0
        self.report.created += created
        self.report.skipped += count - created

    def prepare(self, batch: list[_Row]) -> list[tuple]:
        """The rows' insert tuples (``COLUMNS``), in order: drivers resolved (unknown ones
        created), corporate rows checked (refused ones go to the report)."""
        lookups = self.lookups
        wanted = {row.driver for row in batch if row.driver}
        lookups.resolve_drivers(wanted)
        # Drivers to create: unknown ones on non-corporate rows (corporate ones must exist).
        new: dict[str, tuple[str, str]] = {}
        for row in batch:
            if (
                row.driver
                and row.driver not in lookups.drivers
                and row.payment_method != "corporate"
                and row.driver not in new
            ):
                new[row.driver] = (row.driver_name, row.driver_email)
        if new:
            self._create_drivers(new)
        values = []
        is_ocpi_driver_field = "cdr_token.uid"
        for row in batch:
            driver = lookups.drivers.get(row.driver) if row.driver else None
            corporate_partner = None
            payment = row.payment_method
            # OCPI: corporate when the token's driver is a corporate-billed driver.
            if row.ocpi is not None and driver and driver[2] and driver[1] is not None:
                billing = lookups.billing.get(driver[1])
                if billing and billing[0] and billing[1] == row.currency:
                    payment = "corporate"
            if payment == "corporate":
                field = "driver_id" if row.ocpi is None else is_ocpi_driver_field
                if driver is None:
                    self._refuse(row, field, f"no driver {row.driver!r}: add the driver first")
                    continue
                if driver[1] is None or not driver[2]:
                    self._refuse(
                        row, field, f"driver {row.driver!r} is not a corporate-billed driver"
                    )
                    continue
                billing = lookups.billing.get(driver[1])
                if billing is None or not billing[0]:
                    self._refuse(
                        row,
                        field,
                        f"the partner of driver {row.driver!r} has no enabled corporate billing",
                    )
                    continue
                if billing[1] != row.currency:
                    self._refuse(
                        row, "currency", f"the partner's corporate billing is in {billing[1]}"
                    )
                    continue
                corporate_partner = driver[1]
                self.corporate.add((driver[0], row.start.date().replace(day=1)))
            if self.report.errors and not self.partial:
                continue  # nothing will be stored: only look for further errors
            values.append(
                (
                    row.cdr_id,
                    row.evse[0],
                    row.evse[1],
                    row.evse[2],
                    row.partner_id,
                    row.evse[3],
                    row.start_db,
                    row.end_db,
                    row.energy_wh,
                    row.charging_seconds,
                    row.parking_seconds,
                    row.currency,
                    *row.costs,
                    payment,
                    driver[0] if driver else None,
                    corporate_partner,
                    False,
                    "",
                    row.tariff_id,
                    row.ocpi,
                    self.stamp_value,
                )
            )
        return values

    def _create_drivers(self, new: dict[str, tuple[str, str]]) -> None:
        from partnerhub.charging.models import Driver

        Driver.objects.bulk_create(
            [Driver(external_id=ext, name=name, email=email) for ext, (name, email) in new.items()],
            ignore_conflicts=True,
            batch_size=2000,
        )
        before = len(self.lookups.drivers)
        self.lookups.resolve_drivers(set(new))
        self.report.drivers_created += len(self.lookups.drivers) - before

    def flag_over_limit(self) -> None:
        """Flag the corporate sessions that pass their driver's monthly limit: one window
        query (running sum of ``total_incl_vat_minor`` per driver and calendar month (UTC),
        by start then id) over the drivers and months this import touched."""
        if not self.corporate:
            return
        from partnerhub.charging.models import ChargingSession, CorporateBilling, Driver

        quote = connection.ops.quote_name
        s, d, cb = (
            quote(ChargingSession._meta.db_table),
            quote(Driver._meta.db_table),
            quote(CorporateBilling._meta.db_table),
        )
        if connection.vendor == "postgresql":
            month = "to_char(s.start AT TIME ZONE 'UTC', 'YYYY-MM')"
        else:
            month = "strftime('%%Y-%%m', s.start)"
        wanted = {(driver, f"{first:%Y-%m}") for driver, first in self.corporate}
        drivers = sorted({driver for driver, _ in self.corporate})
        since = min(first for _, first in self.corporate)
        until = (max(first for _, first in self.corporate) + dt.timedelta(days=32)).replace(day=1)
        adapt = connection.ops.adapt_datetimefield_value
        updates: list[tuple[bool, str, int]] = []
        with connection.cursor() as cursor:
            for i in range(0, len(drivers), 5000):
                chunk = drivers[i : i + 5000]
                cursor.execute(
                    f"""
                    SELECT id, driver_id, month, running, monthly_limit, currency, external_id
                    FROM (
                      SELECT s.id, s.driver_id, s.flagged, {month} AS month, cb.currency,
                             d.external_id,
                             COALESCE(d.monthly_limit_minor, cb.monthly_limit_minor)
                               AS monthly_limit,
                             SUM(s.total_incl_vat_minor) OVER (
                               PARTITION BY s.driver_id, {month}
                               ORDER BY s.start, s.id
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                             ) AS running
                      FROM {s} s
                      JOIN {d} d ON d.id = s.driver_id
                      JOIN {cb} cb ON cb.partner_id = s.corporate_partner_id
                      WHERE s.payment_method = 'corporate'
                        AND s.driver_id IN ({", ".join(["%s"] * len(chunk))})
                        AND s.start >= %s AND s.start < %s
                    ) x
                    WHERE running > monthly_limit AND NOT flagged
                    """,
                    [
                        *chunk,
                        # As the column stores them (SQLite: naive UTC text; a raw aware
                        # datetime would be '... 00:00:00+00:00' and sort after midnight).
                        adapt(dt.datetime.combine(since, dt.time(), UTC)),
                        adapt(dt.datetime.combine(until, dt.time(), UTC)),
                    ],
                )
                for pk, driver, month_key, running, limit, currency, external in cursor:
                    if (driver, month_key) not in wanted:
                        continue
                    reason = (
                        f"Over the corporate monthly limit of {from_minor(limit, currency)} "
                        f"{currency} of driver {external} in {month_key}: "
                        f"{from_minor(running, currency)} {currency} with this session"
                    )
                    updates.append((True, reason[:200], pk))
            if updates:
                cursor.executemany(
                    f"UPDATE {s} SET flagged = %s, flag_reason = %s WHERE id = %s", updates
                )
        self.report.flagged += len(updates)

    def finish(self) -> None:
        report = self.report
        refused = bool(report.errors) and not self.partial
        if refused:
            self.writer.dropped = []  # the rollback brings the indexes back
        self.writer.close()
        report.errors.sort(key=lambda e: e.row)
        if refused:
            transaction.set_rollback(True)
            report.refused = True
            report.created = report.skipped = report.flagged = report.drivers_created = 0
            return
        self.flag_over_limit()
        if report.created:
            from partnerhub.core.events import emit

            emit(
                "charging.sessions_imported",
                payload={
                    "created": report.created,
                    "skipped": report.skipped,
                    "flagged": report.flagged,
                    "refused": len(report.errors),
                },
            )


@contextmanager
def _sqlite_unchecked_references():
    """SQLite: switch foreign-key enforcement off for the import's own transaction and back on
    after it. Each inserted session would otherwise look up its seven parent rows (EVSE, charge
    point, location, host, driver, corporate partner, tariff) by primary key — a quarter of
    the insert's cost. The import takes every id it writes from rows it read in the same
    transaction (the EVSE map, the hosting history, the drivers, the tariffs), and SQLite lets
    one writer at a time commit on top of that snapshot, so the references hold without the
    check. SQLite ignores the pragma inside a transaction: an import called within an outer
    ``atomic`` block (a test, a request) keeps the checks, which only makes it slower."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    if connection.in_atomic_block or not raw.execute("PRAGMA foreign_keys").fetchone()[0]:
        yield
        return
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        if connection.connection is raw:  # a reopened connection enforces them already
            raw.execute("PRAGMA foreign_keys = ON")


@contextmanager
def _gc_paused():
    """Python's cyclic garbage collector off for the import (and back on after it). The import
    holds chunks of 20,000 records of strings: with the collector on, each chunk's allocations
    set off collections that walk every object the process holds (a third of the CSV reading
    time). The import creates no reference cycles to speak of; the memory it holds is the
    same either way."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _progress_bar(progress):
    if progress is True:
        from tqdm import tqdm

        return tqdm(unit=" rows", file=sys.stderr, mininterval=0.5)
    if progress is False or progress is None:
        return None
    return progress


def import_sessions_csv(source, *, progress=False, partial: bool = True) -> ImportReport:
    """Import sessions from a CSV file (a path, or a text or binary file object).

    ``progress``: True for a tqdm bar on stderr, or an object with ``update(n)``. A file that
    cannot be read as this CSV at all (header, encoding, CSV syntax) stores nothing and
    reports one error naming its line."""
    bar = _progress_bar(progress)
    try:
        with _gc_paused(), _sqlite_unchecked_references(), transaction.atomic():
            importer = _Importer(
                partial=partial, progress=bar, expected_rows=_expected_rows(source)
            )
            try:
                importer.run(
                    _csv_rows(source, importer.lookups, importer.report, importer.seen, importer)
                )
            except _FileError as exc:
                importer.writer.dropped = []  # the rollback brings the indexes back
                importer.writer.close()
                transaction.set_rollback(True)
                return ImportReport(
                    rows=importer.report.rows,
                    errors=[RowError(exc.line, "file", exc.message)],
                    refused=True,
                )
            importer.finish()
            return importer.report
    finally:
        if bar is not None and progress is True:
            bar.close()


def import_sessions_ocpi(data: list[dict] | dict, *, partial: bool = True, progress=False):
    """Import OCPI 2.2.1 CDRs (one object or a list). Rows are the CDRs' positions (from 1);
    ``field`` is the CDR's JSON path. Each CDR is stored as received in ``ocpi``."""
    cdrs = data if isinstance(data, list) else [data]
    bar = _progress_bar(progress)
    try:
        with _sqlite_unchecked_references(), transaction.atomic():
            importer = _Importer(partial=partial, progress=bar)
            importer.run(_ocpi_rows(cdrs, importer.lookups, importer.report, importer.seen))
            importer.finish()
            return importer.report
    finally:
        if bar is not None and progress is True:
            bar.close()


def load_ocpi_file(path: str | Path) -> list | dict:
    """Read a JSON file of CDRs with every number as an exact Decimal."""
    from partnerhub.charging.ocpi import ocpi_loads

    return ocpi_loads(Path(path).read_bytes())


__all__ = [
    "ImportReport",
    "RowError",
    "import_sessions_csv",
    "import_sessions_ocpi",
    "load_ocpi_file",
]
