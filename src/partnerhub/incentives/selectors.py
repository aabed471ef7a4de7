"""Reads of the incentives app: the ledger (scoped to the partners the caller sees), balances,
statements for a period, the liability across partners, runs, closes, campaigns and claims.

    entry_list(fetched_by, partner_id=None, kind=None, entry_type=None, date_from=None,
               date_to=None) -> QuerySet[LedgerEntry]
    partner_balances(partner) -> [KindBalance]        one GROUP BY
    statement(partner, date_from, date_to) -> Statement
    liability(fetched_by=None) -> [KindBalance]       sums per kind and currency
    balance_rows(fetched_by, partner_id=None) -> QuerySet of dicts per partner, kind, currency

Every sum is one SQL statement over the ledger, never a loop over entries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from partnerhub.core.permissions import membership, scope_to_visible_partners
from partnerhub.incentives.models import (
    AccrualRun,
    CustomerPayment,
    EntryType,
    IncentiveKind,
    LedgerEntry,
    PayoutRun,
    RebateClose,
    ReferralElection,
    SourceType,
    SpiffCampaign,
    SpiffClaim,
)

KIND_LABELS = dict(IncentiveKind.choices)
TYPE_LABELS = dict(EntryType.choices)
SOURCE_LABELS = dict(SourceType.choices)


# --- the ledger --------------------------------------------------------------------------------


def entry_list(
    *,
    fetched_by,
    partner_id: int | None = None,
    kind: str | None = None,
    entry_type: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[LedgerEntry]:
    """The entries of the partners ``fetched_by`` sees, newest first (filters never widen)."""
    qs = scope_to_visible_partners(LedgerEntry.objects.all(), fetched_by)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if kind:
        qs = qs.filter(kind=kind)
    if entry_type:
        qs = qs.filter(entry_type=entry_type)
    if date_from:
        qs = qs.filter(booked_on__gte=date_from)
    if date_to:
        qs = qs.filter(booked_on__lte=date_to)
    return qs.select_related("partner").order_by("-booked_on", "-id")


@dataclass(frozen=True)
class KindBalance:
    kind: str
    currency: str
    total_minor: int
    payable_minor: int
    held_minor: int

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


def _sums(qs) -> QuerySet:
    return qs.annotate(
        total=Coalesce(Sum("amount_minor"), 0),
        payable_sum=Coalesce(Sum("amount_minor", filter=Q(payable=True)), 0),
    )


def _kind_balances(qs) -> list[KindBalance]:
    rows = _sums(qs.values("kind", "currency").order_by()).order_by("currency", "kind")
    order = {k: i for i, k in enumerate(IncentiveKind.values)}
    out = [
        KindBalance(
            r["kind"],
            r["currency"],
            int(r["total"]),
            int(r["payable_sum"]),
            int(r["total"]) - int(r["payable_sum"]),
        )
        for r in rows
    ]
    return sorted(out, key=lambda b: (b.currency, order.get(b.kind, 99)))


def partner_balances(partner, *, upto: dt.date | None = None) -> list[KindBalance]:
    """The partner's balance per kind and currency (payable and held): one query."""
    qs = LedgerEntry.objects.filter(partner_id=getattr(partner, "pk", partner))
    if upto:
        qs = qs.filter(booked_on__lte=upto)
    return _kind_balances(qs)


def liability(*, fetched_by=None) -> list[KindBalance]:
    """What is owed to partners, per kind and currency (the partners ``fetched_by`` sees, all
    of them without a user): one GROUP BY over the ledger."""
    qs = LedgerEntry.objects.all()
    if fetched_by is not None:
        qs = scope_to_visible_partners(qs, fetched_by)
    return _kind_balances(qs)


def balance_rows(*, fetched_by, partner_id: int | None = None) -> QuerySet:
    """Per partner, kind and currency the sums (dicts: partner_id, kind, currency, total,
    payable_sum), ordered by partner: a paginated list for the API."""
    qs = scope_to_visible_partners(LedgerEntry.objects.all(), fetched_by)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    return _sums(qs.values("partner_id", "kind", "currency").order_by()).order_by(
        "partner_id", "currency", "kind"
    )


# --- statements ----------------------------------------------------------------------------------


@dataclass
class StatementEntry:
    id: int
    booked_on: dt.date
    kind: str
    entry_type: str
    amount_minor: int
    payable: bool
    memo: str
    source_type: str
    source_id: int | None
    description: str
    program_id: int | None = None
    basis_minor: int | None = None
    rate_bp: int | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.entry_type, self.entry_type)


@dataclass
class CurrencyStatement:
    currency: str
    opening_minor: int = 0
    opening_payable_minor: int = 0
    entries: list[StatementEntry] = field(default_factory=list)
    kind_totals: dict[str, int] = field(default_factory=dict)
    period_minor: int = 0
    closing_minor: int = 0
    closing_payable_minor: int = 0
    closing_held_minor: int = 0

    @property
    def opening_held_minor(self) -> int:
        return self.opening_minor - self.opening_payable_minor

    @property
    def kind_rows(self) -> list[tuple[str, str, int]]:
        return [(k, KIND_LABELS.get(k, k), v) for k, v in self.kind_totals.items()]


@dataclass
class Statement:
    partner: object
    date_from: dt.date
    date_to: dt.date
    currencies: list[CurrencyStatement]

    @property
    def entry_count(self) -> int:
        return sum(len(c.entries) for c in self.currencies)


def describe_sources(entries) -> dict[tuple[str, int | None], str]:
    """A human description of each entry's source, one query per source type present: the
    billing line's external id and customer, the referral's customer, the rebate and its
    period, the SPIFF campaign, the payout reference."""
    from partnerhub.deals.models import DealRegistration
    from partnerhub.sales.models import BillingLine

    ids: dict[str, set[int]] = {}
    for e in entries:
        if e.source_id is not None:
            ids.setdefault(e.source_type, set()).add(e.source_id)
    out: dict[tuple[str, int | None], str] = {}
    line_ids = ids.get(SourceType.BILLING_LINE, set()) | ids.get(SourceType.CUSTOMER_PAYMENT, set())
    if line_ids:
        for pk, ext, customer in BillingLine.objects.filter(pk__in=line_ids).values_list(
            "pk", "external_id", "customer__name"
        ):
            out[(SourceType.BILLING_LINE, pk)] = f"Invoice line {ext} ({customer})"
            out[(SourceType.CUSTOMER_PAYMENT, pk)] = f"Customer payment on line {ext} ({customer})"
    if ref := ids.get(SourceType.REFERRAL):
        for pk, name in DealRegistration.objects.filter(pk__in=ref).values_list(
            "pk", "customer_name"
        ):
            out[(SourceType.REFERRAL, pk)] = f"Referral of {name} (registration #{pk})"
    if closes := ids.get(SourceType.REBATE_CLOSE):
        for c in RebateClose.objects.filter(pk__in=closes):
            out[(SourceType.REBATE_CLOSE, c.pk)] = (
                f"Rebate {c.rebate_key}, {c.period_start:%Y-%m-%d} to {c.period_end:%Y-%m-%d}"
            )
    if claims := ids.get(SourceType.SPIFF_CLAIM):
        for pk, name in SpiffClaim.objects.filter(pk__in=claims).values_list(
            "pk", "campaign__name"
        ):
            out[(SourceType.SPIFF_CLAIM, pk)] = f"SPIFF {name} (claim #{pk})"
    if runs := ids.get(SourceType.PAYOUT_RUN):
        for pk, ref_ in PayoutRun.objects.filter(pk__in=runs).values_list("pk", "reference"):
            out[(SourceType.PAYOUT_RUN, pk)] = f"Payout {ref_}"
    return out


def _description(entry, described: dict) -> str:
    text = described.get((entry.source_type, entry.source_id))
    if text:
        return text
    label = SOURCE_LABELS.get(entry.source_type, entry.source_type)
    if entry.source_type == SourceType.MANUAL:
        return f"{label}: {entry.memo}" if entry.memo else label
    if entry.source_type == SourceType.MDF_ACCRUAL:
        return f"{label} #{entry.source_id}" if entry.source_id else label
    return f"{label} #{entry.source_id}" if entry.source_id else label


def statement(partner, date_from: dt.date, date_to: dt.date) -> Statement:
    """The partner's statement for ``date_from``..``date_to`` (inclusive), per currency: the
    opening balance (entries booked before the period), the period's entries (booked_on, id),
    totals per kind, the closing balance (opening + the period's entries) with its payable and
    held parts. Three queries plus one per source type described."""
    partner_id = getattr(partner, "pk", partner)
    base = LedgerEntry.objects.filter(partner_id=partner_id)
    opening = {
        r["currency"]: r
        for r in _sums(base.filter(booked_on__lt=date_from).values("currency").order_by())
    }
    entries = list(
        base.filter(booked_on__gte=date_from, booked_on__lte=date_to).order_by("booked_on", "id")
    )
    closing = {
        r["currency"]: r
        for r in _sums(base.filter(booked_on__lte=date_to).values("currency").order_by())
    }
    described = describe_sources(entries)
    by_currency: dict[str, CurrencyStatement] = {}
    for cur in sorted(set(opening) | set(closing)):
        o = opening.get(cur, {"total": 0, "payable_sum": 0})
        by_currency[cur] = CurrencyStatement(
            currency=cur,
            opening_minor=int(o["total"]),
            opening_payable_minor=int(o["payable_sum"]),
        )
    order = {k: i for i, k in enumerate(IncentiveKind.values)}
    for e in entries:
        cs = by_currency[e.currency]
        cs.entries.append(
            StatementEntry(
                id=e.pk,
                booked_on=e.booked_on,
                kind=e.kind,
                entry_type=e.entry_type,
                amount_minor=e.amount_minor,
                payable=e.payable,
                memo=e.memo,
                source_type=e.source_type,
                source_id=e.source_id,
                description=_description(e, described),
                program_id=e.program_id,
                basis_minor=e.basis_minor,
                rate_bp=e.rate_bp,
            )
        )
        cs.kind_totals[e.kind] = cs.kind_totals.get(e.kind, 0) + e.amount_minor
        cs.period_minor += e.amount_minor
    for cur, cs in by_currency.items():
        cs.kind_totals = dict(sorted(cs.kind_totals.items(), key=lambda kv: order.get(kv[0], 99)))
        c = closing.get(cur, {"total": 0, "payable_sum": 0})
        cs.closing_minor = int(c["total"])
        cs.closing_payable_minor = int(c["payable_sum"])
        cs.closing_held_minor = cs.closing_minor - cs.closing_payable_minor
        # The statement reconciles: what was owed, plus the period, is what is owed now.
        assert cs.closing_minor == cs.opening_minor + cs.period_minor, (
            f"statement of partner {partner_id} in {cur} does not reconcile"
        )
        assert cs.period_minor == sum(cs.kind_totals.values())
    return Statement(
        partner=partner,
        date_from=date_from,
        date_to=date_to,
        currencies=list(by_currency.values()),
    )


# --- runs, closes, elections, campaigns, claims ------------------------------------------------


def payment_list(*, fetched_by) -> QuerySet[CustomerPayment]:
    """Imported customer payments on the billing lines of the partners ``fetched_by`` sees,
    newest import first."""
    return (
        scope_to_visible_partners(
            CustomerPayment.objects.all(), fetched_by, field="billing_line__partner"
        )
        .select_related("billing_line__partner")
        .order_by("-imported_at", "-id")
    )


def accrual_runs() -> QuerySet[AccrualRun]:
    return AccrualRun.objects.select_related("triggered_by").order_by("-started_at", "-id")


def payout_runs() -> QuerySet[PayoutRun]:
    return PayoutRun.objects.select_related("created_by").order_by("-created_at", "-id")


def rebate_closes() -> QuerySet[RebateClose]:
    return RebateClose.objects.select_related("program", "closed_by").order_by(
        "-period_start", "rebate_key", "-id"
    )


def election_list(*, fetched_by, partner_id: int | None = None) -> QuerySet[ReferralElection]:
    """Elections (the history, newest first) of the partners ``fetched_by`` sees."""
    qs = scope_to_visible_partners(ReferralElection.objects.all(), fetched_by)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    return qs.select_related("program", "partner", "elected_by").order_by("-effective_from", "-id")


def current_elections(partner, on: dt.date) -> dict[int, ReferralElection]:
    """Per program, the election in force on ``on`` (latest effective_from <= on)."""
    out: dict[int, ReferralElection] = {}
    for e in (
        ReferralElection.objects.filter(partner=partner, effective_from__lte=on)
        .select_related("program")
        .order_by("program_id", "effective_from", "id")
    ):
        out[e.program_id] = e
    return out


def campaign_list(*, fetched_by=None, open_on: dt.date | None = None) -> QuerySet[SpiffCampaign]:
    """Every campaign (any signed-in user reads them), newest first; ``open_on`` keeps those
    running on that day."""
    qs = SpiffCampaign.objects.select_related("program").prefetch_related("products")
    if open_on is not None:
        qs = qs.filter(starts_on__lte=open_on, ends_on__gte=open_on)
    return qs.order_by("-starts_on", "name", "id")


def campaign_get(*, campaign_id: int) -> SpiffCampaign:
    return get_object_or_404(SpiffCampaign.objects.select_related("program"), pk=campaign_id)


def claim_list(
    *,
    fetched_by,
    partner_id: int | None = None,
    status: str | None = None,
    campaign_id: int | None = None,
) -> QuerySet[SpiffClaim]:
    qs = scope_to_visible_partners(SpiffClaim.objects.all(), fetched_by)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if status:
        qs = qs.filter(status=status)
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    return qs.select_related("campaign", "partner", "billing_line").order_by("-submitted_at", "-id")


def claim_get(*, fetched_by, claim_id: int) -> SpiffClaim:
    """A claim of a partner ``fetched_by`` sees; 404 otherwise (no existence leak)."""
    qs = scope_to_visible_partners(SpiffClaim.objects.all(), fetched_by)
    return get_object_or_404(qs.select_related("campaign", "partner"), pk=claim_id)


def own_partner_id(user) -> int | None:
    """A partner user's own organisation (None for staff)."""
    m = membership(user)
    return m.partner_id if m is not None else None
