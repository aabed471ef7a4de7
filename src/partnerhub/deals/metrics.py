"""Tier metrics read from deal registrations (replacing the tier engine's placeholders).

- ``registered_deals``: registrations submitted in the period, whatever became of them, except
  the rejected ones (a duplicate or an unqualified registration must not lift a partner's tier).
- ``approved_deals``: registrations approved in the period.
- ``closed_won_deals``: registrations and referrals closed-won in the period.
- ``pipeline_value``: estimated value of registrations approved on or before the date and still
  open (approved, protected), in the program's currency (other currencies are not converted).

Each is one aggregate query for every partner; ``met_dates`` tells the day the Nth one
happened, for promotions effective the day requirements were met.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from partnerhub.core.money import from_minor
from partnerhub.tiers.metrics import BaseProvider, _as_decimal, _nth_dates, register


def _registrations():
    from partnerhub.deals.models import DealRegistration

    return DealRegistration.objects.all()


@dataclass
class DealCountProvider(BaseProvider):
    date_field: str = "submitted_on"
    statuses: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def _qs(self, ctx, key):
        start, end = ctx.bounds(key)
        qs = _registrations().filter(
            **{f"{self.date_field}__gte": start, f"{self.date_field}__lte": end}
        )
        if self.statuses:
            qs = qs.filter(status__in=self.statuses)
        if self.excluded:
            qs = qs.exclude(status__in=self.excluded)
        return ctx.scope(qs)

    def values(self, ctx, key):
        rows = self._qs(ctx, key).values("partner_id").annotate(value=Count("id")).order_by()
        return _as_decimal(rows)

    def met_dates(self, ctx, key, threshold, partner_ids):
        return _nth_dates(self._qs(ctx, key), self.date_field, threshold, partner_ids, "id")


@dataclass
class PipelineProvider(BaseProvider):
    unit: str = "money"

    def values(self, ctx, key):
        qs = ctx.scope(
            _registrations().filter(
                Q(status="approved"),
                approved_on__lte=ctx.as_of,
                protected_until__gte=ctx.as_of,
                currency=ctx.currency,
            )
        )
        rows = qs.values("partner_id").annotate(value=Sum("estimated_value_minor")).order_by()
        return {r["partner_id"]: from_minor(r["value"] or 0, ctx.currency) for r in rows}


for _p in (
    DealCountProvider("registered_deals", date_field="submitted_on", excluded=("rejected",)),
    DealCountProvider("approved_deals", date_field="approved_on"),
    DealCountProvider("closed_won_deals", date_field="closed_on", statuses=("won",)),
    PipelineProvider("pipeline_value"),
):
    register(_p)
