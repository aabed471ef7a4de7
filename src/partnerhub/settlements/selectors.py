"""Reads of contracts, statements, runs, running figures and end-user receipts, always through
what the acting user may see (404 otherwise)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from partnerhub.core.permissions import visible_partners
from partnerhub.settlements.compute import compute_month, month_start, next_month
from partnerhub.settlements.models import (
    Contract,
    SessionSettlement,
    SettlementRun,
    Statement,
    StatementLine,
    StatementStatus,
)

TOTAL_FIELDS = (
    "sessions",
    "energy_wh",
    "revenue_minor",
    "shareable_minor",
    "partner_share_minor",
    "operator_share_minor",
    "reimbursement_minor",
    "fees_minor",
    "platform_fees_minor",
    "vat_minor",
    "corporate_minor",
    "adjustments_minor",
    "net_minor",
)


# --- contracts ---------------------------------------------------------------------------------


def contract_list(*, fetched_by, partner_id: int | None = None) -> QuerySet[Contract]:
    qs = Contract.objects.filter(partner__in=visible_partners(fetched_by)).select_related("partner")
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    return qs.order_by("partner_id", "start_month", "id")


def contract_get(*, fetched_by, contract_id: int) -> Contract:
    return get_object_or_404(contract_list(fetched_by=fetched_by), pk=contract_id)


# --- statements --------------------------------------------------------------------------------


def statement_list(
    *,
    fetched_by,
    month: dt.date | None = None,
    partner_id: int | None = None,
    status: str | None = None,
) -> QuerySet[Statement]:
    qs = Statement.objects.filter(partner__in=visible_partners(fetched_by)).select_related(
        "partner"
    )
    if month is not None:
        qs = qs.filter(month=month)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-month", "partner_id")


def statement_get(*, fetched_by, statement_id: int) -> Statement:
    return get_object_or_404(
        statement_list(fetched_by=fetched_by).select_related("contract"), pk=statement_id
    )


def statement_replacing(*, fetched_by, statement_id: int) -> Statement | None:
    """The statement, visible to ``fetched_by``, that now stands for a draft a re-run of its
    month replaced (its partner's statement of that month); None if there is none."""
    from partnerhub.settlements.models import ReplacedDraft

    gone = ReplacedDraft.objects.filter(statement_id=statement_id).first()
    if gone is None:
        return None
    return (
        statement_list(fetched_by=fetched_by)
        .filter(partner_id=gone.partner_id, month=gone.month)
        .order_by("-id")
        .first()
    )


def statement_lines(statement: Statement) -> QuerySet[StatementLine]:
    return StatementLine.objects.filter(statement=statement).order_by(
        "is_adjustment", "original_month", "position", "current_type", "id"
    )


def statement_sessions(statement: Statement) -> QuerySet[SessionSettlement]:
    """A statement's per-session lines. A draft's are written on their first read (a run
    sums the sessions without writing a line per session; see ``compute.materialise``)."""
    if not statement.session_lines_ready:
        from partnerhub.settlements.services import statement_session_lines_write

        statement_session_lines_write(statement=statement)
    return (
        SessionSettlement.objects.filter(statement=statement)
        .select_related("session")
        .order_by("id")
    )


def payments(statement: Statement):
    return statement.payments.order_by("paid_on", "id")


# --- runs --------------------------------------------------------------------------------------


def run_list() -> QuerySet[SettlementRun]:
    return SettlementRun.objects.order_by("-id")


def run_get(run_id: int) -> SettlementRun:
    return get_object_or_404(SettlementRun, pk=run_id)


# --- running figures ---------------------------------------------------------------------------


@dataclass
class RunningFigures:
    """A statement's numbers computed now, without keeping anything."""

    partner_id: int
    month: dt.date
    currency: str
    status: str  # "running" (computed now) or "final"
    number: str | None
    warning: str
    totals: dict[str, int]
    lines: list[dict[str, Any]] = field(default_factory=list)


def _line_dict(line: StatementLine) -> dict[str, Any]:
    data = {f.attname: getattr(line, f.attname) for f in StatementLine._meta.concrete_fields}
    data.pop("statement_id", None)
    data["description"] = line.description
    return data


def running_figures(*, partner, month: dt.date) -> RunningFigures:
    """The month's figures of one partner as a statement would show them now: the final
    statement when there is one, else the same set-based computation as a run, done inside a
    savepoint that is rolled back (nothing is kept, drafts included)."""
    month = month_start(month)
    final = Statement.objects.filter(
        partner=partner, month=month, status=StatementStatus.FINAL
    ).first()
    if final is not None:
        return RunningFigures(
            partner.pk,
            month,
            final.currency,
            "final",
            final.number,
            final.warning,
            {name: getattr(final, name) for name in TOTAL_FIELDS},
            [_line_dict(line) for line in statement_lines(final)],
        )
    figures = None
    with transaction.atomic():
        compute_month(month, partner_ids=[partner.pk])
        draft = Statement.objects.filter(partner=partner, month=month).first()
        if draft is not None:
            figures = RunningFigures(
                partner.pk,
                month,
                draft.currency,
                "running",
                None,
                draft.warning,
                {name: getattr(draft, name) for name in TOTAL_FIELDS},
                [_line_dict(line) for line in statement_lines(draft)],
            )
        transaction.set_rollback(True)
    if figures is None:
        figures = RunningFigures(
            partner.pk, month, "EUR", "running", None, "", dict.fromkeys(TOTAL_FIELDS, 0)
        )
    return figures


# --- receipts ----------------------------------------------------------------------------------


def operator_identity() -> dict[str, str]:
    op = getattr(settings, "PARTNERHUB_OPERATOR", {}) or {}
    return {
        "name": op.get("name", "PartnerHub Charging Operator"),
        "address": op.get("address", ""),
        "vat_id": op.get("vat_id", ""),
    }


def driver_get(*, fetched_by, driver_id: int):
    """A driver account: staff who read every partner see every driver; others see the
    drivers of the partners they see."""
    from partnerhub.charging.models import Driver
    from partnerhub.core.permissions import reads_all_partners

    qs = Driver.objects.select_related("partner")
    if not reads_all_partners(fetched_by):
        qs = qs.filter(partner__in=visible_partners(fetched_by))
    return get_object_or_404(qs, pk=driver_id)


def driver_receipts(*, driver, month: dt.date) -> list[dict[str, Any]]:
    """The driver's monthly receipts, one per supplier: a partner whose contract in force
    has ``supplier_on_receipts`` supplies the sessions on its charge points paid by card or
    corporate billing; the operator supplies every other session (balance / top-up included)."""
    from partnerhub.charging.models import ChargingSession

    a = month_start(month)
    start = dt.datetime.combine(a, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(next_month(a), dt.time(), tzinfo=dt.UTC)
    sessions = (
        ChargingSession.objects.filter(driver=driver, start__gte=start, start__lt=end)
        .select_related("partner", "location")
        .order_by("start", "id")
    )
    return _receipts(sessions, a, {})


def _month_sessions(month: dt.date, **filters):
    """The sessions that started in ``month`` (UTC) matching ``filters``, by driver and start,
    with what a receipt shows."""
    from partnerhub.charging.models import ChargingSession

    a = month_start(month)
    start = dt.datetime.combine(a, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(next_month(a), dt.time(), tzinfo=dt.UTC)
    return (
        ChargingSession.objects.filter(start__gte=start, start__lt=end, **filters)
        .select_related("partner", "location", "driver")
        .order_by("driver__external_id", "driver_id", "start", "id")
    )


def _receipts_by_driver(sessions, month: dt.date) -> list[tuple[Any, dict[str, Any]]]:
    """``(driver, receipt)`` pairs of ``sessions`` (ordered by driver): one query for the
    contracts in force per supplier partner, not per driver."""
    by_driver: dict[int, list] = {}
    drivers = {}
    for s in sessions:
        by_driver.setdefault(s.driver_id, []).append(s)
        drivers[s.driver_id] = s.driver
    contracts: dict[int, Contract | None] = {}
    return [
        (drivers[driver_id], receipt)
        for driver_id, items in by_driver.items()
        for receipt in _receipts(items, month_start(month), contracts)
    ]


def partner_driver_receipts(*, partner, month: dt.date) -> list[tuple[Any, dict[str, Any]]]:
    """The month's receipts of the partner's own drivers (its corporate-billing users), as
    ``(driver, receipt)`` pairs ordered by driver."""
    return _receipts_by_driver(_month_sessions(month, driver__partner=partner), month)


def issued_receipts(*, partner, month: dt.date) -> list[tuple[Any, dict[str, Any]]]:
    """The month's receipts issued in ``partner``'s name, as ``(driver, receipt)`` pairs by
    driver: the receipts of the drivers (its own, another partner's, the operator's) who
    charged at its charge points and paid by card or corporate billing, while its contract in
    force makes it the supplier on receipts. The supplier keeps them for its books: each is the
    receipt the driver gets for those sessions (``driver_receipts``). Sessions without a driver
    account get no receipt."""
    from partnerhub.charging.models import PaymentMethod

    sessions = _month_sessions(
        month,
        partner=partner,
        driver__isnull=False,
        payment_method__in=(PaymentMethod.CARD, PaymentMethod.CORPORATE),
    )
    return [
        (driver, receipt)
        for driver, receipt in _receipts_by_driver(sessions, month)
        if receipt["supplier"]["partner_id"] == partner.pk
    ]


def _receipts(sessions, a: dt.date, contracts: dict) -> list[dict[str, Any]]:
    """Group sessions (of one driver, ordered by start) into receipts, one per supplier and
    currency. ``contracts`` caches the contract in force per partner."""
    from partnerhub.charging.models import PaymentMethod
    from partnerhub.core.money import from_minor
    from partnerhub.settlements.services import contract_in_force

    receipts: dict[tuple, dict[str, Any]] = {}
    for s in sessions:
        supplier = None
        if s.partner_id and s.payment_method in (PaymentMethod.CARD, PaymentMethod.CORPORATE):
            if s.partner_id not in contracts:
                contracts[s.partner_id] = contract_in_force(s.partner_id, a)
            contract = contracts[s.partner_id]
            if contract is not None and contract.supplier_on_receipts:
                supplier = s.partner
        if supplier is not None:
            address = ", ".join(
                x
                for x in (
                    supplier.address_line1,
                    f"{supplier.postal_code} {supplier.city}".strip(),
                    str(supplier.country.name or ""),
                )
                if x
            )
            key = ("partner", supplier.pk, s.currency)
            who = {
                "kind": "partner",
                "partner_id": supplier.pk,
                "name": supplier.legal_name or supplier.display_name,
                "address": address,
                "vat_id": supplier.vat_id,
            }
        else:
            key = ("operator", None, s.currency)
            who = {"kind": "operator", "partner_id": None, **operator_identity()}
        receipt = receipts.setdefault(
            key,
            {
                "supplier": who,
                "month": a,
                "currency": s.currency,
                "sessions": [],
                "total_excl_vat_minor": 0,
                "vat_minor": 0,
                "total_incl_vat_minor": 0,
            },
        )
        receipt["sessions"].append(
            {
                "cdr_id": s.cdr_id,
                "start": s.start,
                "end": s.end,
                "location": s.location.name,
                "energy_kwh": Decimal(s.energy_wh) / 1000,
                "payment_method": s.payment_method,
                "total_excl_vat": from_minor(s.total_excl_vat_minor, s.currency),
                "vat": from_minor(s.total_incl_vat_minor - s.total_excl_vat_minor, s.currency),
                "total_incl_vat": from_minor(s.total_incl_vat_minor, s.currency),
            }
        )
        receipt["total_excl_vat_minor"] += s.total_excl_vat_minor
        receipt["vat_minor"] += s.total_incl_vat_minor - s.total_excl_vat_minor
        receipt["total_incl_vat_minor"] += s.total_incl_vat_minor
    ordered = sorted(receipts.items(), key=lambda kv: (kv[0][0] != "operator", kv[0][1] or 0))
    out = []
    for _, receipt in ordered:
        cur = receipt["currency"]
        for name in ("total_excl_vat", "vat", "total_incl_vat"):
            receipt[name] = from_minor(receipt[f"{name}_minor"], cur)
        out.append(receipt)
    return out
