"""``partnerhub deals import FILE``: migrate existing registrations from another system (CSV),
with the same validation as the API, idempotent by ``external_id``.

Columns (header names, any order; see docs/deals.md): ``external_id``*, ``partner_id``*,
``program``, ``customer_name``*, ``customer_website``, ``customer_country``*,
``customer_address``, ``contact_name``, ``contact_email``, ``products``* (``SKU:quantity``
separated by ``;``), ``estimated_value``*, ``currency``*, ``expected_close_date``*
(YYYY-MM-DD), ``source``*, ``notes``, ``status`` (``draft``, ``submitted`` — the default — or
``approved``), ``submitted_at`` (ISO date-time; default now; sets the priority order),
``approved_on`` (YYYY-MM-DD, with ``status=approved``).

All or nothing by default: any bad row and nothing is stored, every error names its row and
column. With ``partial`` the good rows are stored. Rows are submitted in ``submitted_at`` order,
so the earliest submission keeps its priority and later conflicting ones are flagged; an
imported ``approved`` row that conflicts with an earlier one is approved with the override
reason "imported from <system>".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from partnerhub.core.errors import ServiceError
from partnerhub.deals import services
from partnerhub.deals.models import DealRegistration
from partnerhub.partners.models import Partner
from partnerhub.sales.imports import CsvRows
from partnerhub.sales.services import ROW_ERROR_KEY, ROW_KEY

COLUMNS: dict[str, tuple[bool, int]] = {
    "external_id": (True, 100),
    "partner_id": (True, 20),
    "program": (False, 64),
    "customer_name": (True, 200),
    "customer_website": (False, 253),
    "customer_country": (True, 2),
    "customer_address": (False, 1000),
    "contact_name": (False, 200),
    "contact_email": (False, 254),
    "products": (True, 5000),
    "estimated_value": (True, 40),
    "currency": (True, 3),
    "expected_close_date": (True, 10),
    "source": (True, 24),
    "notes": (False, 5000),
    "status": (False, 16),
    "submitted_at": (False, 40),
    "approved_on": (False, 10),
}


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    submitted: int = 0
    errors: list[dict] = field(default_factory=list)
    refused: bool = False

    def add_error(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": message})


def registration_rows(lines: Iterable[bytes | str]) -> CsvRows:
    return CsvRows(lines, columns=COLUMNS)


class RowError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message


def _products(value: str) -> list[dict]:
    items = []
    for part in [p.strip() for p in value.split(";") if p.strip()]:
        sku, _, qty = part.partition(":")
        try:
            quantity = Decimal(qty.strip() or "1")
        except ArithmeticError:
            raise RowError("products", f"quantity of {sku.strip()!r} is not a number") from None
        items.append({"sku": sku.strip(), "quantity": quantity})
    return items


def _when(value: str) -> dt.datetime | None:
    if not value.strip():
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise RowError("submitted_at", "use an ISO date-time like 2026-03-01T09:30:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _day(value: str, column: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise RowError(column, "use a date like 2026-03-01") from None


def registrations_import(
    *, rows: Iterable[dict], actor=None, partial: bool = False, progress=None
) -> ImportReport:
    report = ImportReport()
    parsed: list[tuple[int, dict, Partner, str, dt.datetime | None, dt.date | None]] = []
    now = timezone.now()
    with transaction.atomic():
        seen: set[str] = set()
        for raw in rows:
            report.rows += 1
            row = raw.get(ROW_KEY, report.rows + 1)
            if progress is not None:
                progress.update(1)
            if ROW_ERROR_KEY in raw:
                report.add_error(row, "", raw[ROW_ERROR_KEY])
                continue
            try:
                for name, (required, limit) in COLUMNS.items():
                    value = (raw.get(name) or "").strip()
                    if required and not value:
                        raise RowError(name, "required")
                    if len(value) > limit:
                        raise RowError(name, f"at most {limit} characters")
                ext = raw["external_id"].strip()
                if ext in seen:
                    raise RowError("external_id", f"{ext!r} appears twice in this file")
                seen.add(ext)
                status = (raw.get("status") or "submitted").strip().lower()
                if status not in ("draft", "submitted", "approved"):
                    raise RowError("status", "use draft, submitted or approved")
                try:
                    partner = Partner.objects.get(pk=int(raw["partner_id"]))
                except (ValueError, Partner.DoesNotExist):
                    raise RowError("partner_id", f"no partner {raw['partner_id']!r}") from None
                submitted_at = _when(raw.get("submitted_at") or "")
                approved_on = _day(raw.get("approved_on") or "", "approved_on")
                if status == "approved" and approved_on is None:
                    raise RowError("approved_on", "an approved registration needs its date")
                data = {
                    name: (raw.get(name) or "").strip()
                    for name in COLUMNS
                    if name not in ("partner_id", "status", "submitted_at", "approved_on")
                }
                data["products"] = _products(raw["products"])
                data["program"] = data["program"] or None
                if DealRegistration.objects.filter(external_id=ext).exists():
                    report.unchanged += 1
                    continue
                parsed.append((row, data, partner, status, submitted_at, approved_on))
            except RowError as exc:
                report.add_error(row, exc.column, exc.message)
        # Submit in the order they were submitted in the old system (priority follows it).
        parsed.sort(key=lambda p: (p[4] or now, p[0]))
        for row, data, partner, status, submitted_at, approved_on in parsed:
            try:
                with transaction.atomic():
                    reg = services.registration_create(partner=partner, data=data, created_by=actor)
                    if status != "draft":
                        services.registration_submit(
                            registration=reg, submitted_by=actor, at=submitted_at or now
                        )
                        report.submitted += 1
                    if status == "approved":
                        reg.refresh_from_db()
                        services.registration_approve(
                            registration=reg,
                            approved_by=actor,
                            override_reason="imported with the approval of the previous system",
                            on=approved_on,
                        )
                report.created += 1
            except ServiceError as exc:
                report.add_error(row, exc.field or "", exc.message)
        report.errors.sort(key=lambda e: e["row"])
        if report.errors and not partial:
            transaction.set_rollback(True)
            report.refused = True
            report.created = report.submitted = 0
    return report
