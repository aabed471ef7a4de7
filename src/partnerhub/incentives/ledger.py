"""The ledger's one write path and its sums.

    post(partner=, kind=, entry_type=, amount_minor=, currency=, booked_on=, source_type=,
         source_id=, program=None, payable=True, memo="", basis_minor=None, rate_bp=None,
         actor=None) -> LedgerEntry
    balances(partner=, kind=None, currency=None, upto=None) -> {currency: Balance}

Entries are only ever inserted. Callers post inside their own transaction (services are
atomic), so a refused operation leaves no entry behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from partnerhub.core.errors import ServiceError
from partnerhub.incentives.models import EntryType, IncentiveKind, LedgerEntry, SourceType


@dataclass(frozen=True)
class Balance:
    currency: str
    total_minor: int  # everything owed: payable + held
    payable_minor: int
    held_minor: int


def post(
    *,
    partner,
    kind: str,
    entry_type: str,
    amount_minor: int,
    currency: str,
    booked_on: dt.date,
    source_type: str,
    source_id: int | None = None,
    program=None,
    payable: bool = True,
    memo: str = "",
    basis_minor: int | None = None,
    rate_bp: int | None = None,
    actor=None,
) -> LedgerEntry:
    if kind not in IncentiveKind.values:
        raise ServiceError(f"Unknown incentive kind {kind!r}.", field="kind")
    if entry_type not in EntryType.values:
        raise ServiceError(f"Unknown entry type {entry_type!r}.", field="entry_type")
    if source_type not in SourceType.values:
        raise ServiceError(f"Unknown source type {source_type!r}.", field="source_type")
    return LedgerEntry.objects.create(
        partner_id=getattr(partner, "pk", partner),
        program_id=getattr(program, "pk", program),
        kind=kind,
        entry_type=entry_type,
        amount_minor=int(amount_minor),
        currency=currency,
        booked_on=booked_on,
        payable=payable,
        source_type=source_type,
        source_id=source_id,
        basis_minor=basis_minor,
        rate_bp=rate_bp,
        memo=memo[:300],
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def balances(
    *,
    partner,
    kind: str | None = None,
    currency: str | None = None,
    upto: dt.date | None = None,
    before: dt.date | None = None,
    program=None,
) -> dict[str, Balance]:
    """Sums per currency of the partner's entries (optionally one kind, booked up to a day
    inclusive or before a day exclusive)."""
    qs = LedgerEntry.objects.filter(partner_id=getattr(partner, "pk", partner))
    if kind:
        qs = qs.filter(kind=kind)
    if currency:
        qs = qs.filter(currency=currency)
    if upto:
        qs = qs.filter(booked_on__lte=upto)
    if before:
        qs = qs.filter(booked_on__lt=before)
    if program is not None:
        qs = qs.filter(program_id=getattr(program, "pk", program))
    rows = qs.values("currency").annotate(
        total=Coalesce(Sum("amount_minor"), 0),
        payable=Coalesce(Sum("amount_minor", filter=Q(payable=True)), 0),
    )
    return {
        r["currency"]: Balance(
            r["currency"], int(r["total"]), int(r["payable"]), int(r["total"] - r["payable"])
        )
        for r in rows
    }
