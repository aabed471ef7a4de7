"""The price of one quote line, step by step (pure Python, no database).

    price_unit(list_minor, discounts, stacking=...) -> UnitPrice(net_minor, steps)
    line_total(unit_net_minor, quantity) -> int

``discounts`` are the percentages that apply to the line (tier, deal registration, referral
customer discount) and the distributor reduction in percentage points. Stacking:

- ``add``: total % = tier + deal + referral − distributor points (never below 0, at most 100);
  net = list × (1 − total %).
- ``compound``: the distributor points are taken off the tier discount first (what is left
  of them off the deal discount, then the referral discount; never below 0);
  net = list × (1 − tier) × (1 − deal) × (1 − referral).

Rounding (docs/money.md, "Quote rounding"): the exact net unit price is rounded half-up to the
minor unit once; each step's amount is rounded half-up too, and when the rounded steps do not
add up to list − net the difference is shown as a last "rounding" step, so the steps always
sum to list − net exactly. The line total is unit net × quantity, rounded half-up once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from partnerhub.core.money import from_minor

HUNDRED = Decimal(100)
ZERO = Decimal(0)


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def pct_text(value: Decimal) -> str:
    """20 → "20", 7.50 → "7.5"."""
    text = format(Decimal(value).normalize(), "f")
    return text


@dataclass(frozen=True)
class Discounts:
    tier: Decimal = ZERO
    tier_label: str = "tier"
    deal: Decimal = ZERO
    referral: Decimal = ZERO
    distributor_points: Decimal = ZERO  # only on the distributor path


@dataclass
class UnitPrice:
    list_minor: int
    net_minor: int
    steps: list[dict] = field(default_factory=list)  # amounts in minor units (int)

    def steps_out(self, currency: str) -> list[dict]:
        """The steps as stored and shown: amounts as decimal strings in the currency."""
        return [
            {
                "label": s["label"],
                "percent": s["percent"],
                "amount": str(from_minor(s["amount"], currency)),
            }
            for s in self.steps
        ]


def _step(steps: list, label: str, percent: Decimal | None, exact: Decimal) -> None:
    steps.append(
        {
            "label": label,
            "percent": None if percent is None else pct_text(percent),
            "exact": exact,
        }
    )


def price_unit(list_minor: int, d: Discounts, *, stacking: str = "add") -> UnitPrice:
    """The net unit price of a product listed at ``list_minor`` with discounts ``d``."""
    base = Decimal(list_minor)
    steps: list[dict] = []
    tier, deal, referral = (max(ZERO, x) for x in (d.tier, d.deal, d.referral))
    points = max(ZERO, d.distributor_points)
    if stacking == "compound":
        tier_eff = max(ZERO, tier - points)
        left = points - (tier - tier_eff)
        deal_eff = max(ZERO, deal - left)
        left -= deal - deal_eff
        referral_eff = max(ZERO, referral - left)
        if tier:
            _step(steps, f"{d.tier_label} −{pct_text(tier)}%", tier, base * tier / HUNDRED)
        if points and (tier - tier_eff):
            taken = tier - tier_eff
            _step(
                steps,
                f"distributor −{pct_text(taken)} pts",
                -taken,
                -base * taken / HUNDRED,
            )
        price = base * (HUNDRED - tier_eff) / HUNDRED
        if deal_eff:
            amount = price * deal_eff / HUNDRED
            label = f"deal registration −{pct_text(deal_eff)}%"
            if deal_eff != deal:
                label += f" (of {pct_text(deal)}%, less distributor points)"
            _step(steps, label, deal_eff, amount)
            price -= amount
        if referral_eff:
            amount = price * referral_eff / HUNDRED
            _step(
                steps,
                f"referral customer discount −{pct_text(referral_eff)}%",
                referral_eff,
                amount,
            )
            price -= amount
        exact_net = price
    else:
        total = tier + deal + referral
        applied_points = min(points, total)
        if tier:
            _step(steps, f"{d.tier_label} −{pct_text(tier)}%", tier, base * tier / HUNDRED)
        if deal:
            _step(steps, f"deal registration −{pct_text(deal)}%", deal, base * deal / HUNDRED)
        if referral:
            _step(
                steps,
                f"referral customer discount −{pct_text(referral)}%",
                referral,
                base * referral / HUNDRED,
            )
        if applied_points:
            _step(
                steps,
                f"distributor −{pct_text(applied_points)} pts",
                -applied_points,
                -base * applied_points / HUNDRED,
            )
        total -= applied_points
        if total > HUNDRED:
            _step(steps, "discount capped at 100%", None, -base * (total - HUNDRED) / HUNDRED)
            total = HUNDRED
        exact_net = base * (HUNDRED - total) / HUNDRED
    net_minor = max(0, min(list_minor, half_up(exact_net)))
    out = [
        {"label": s["label"], "percent": s["percent"], "amount": half_up(s["exact"])} for s in steps
    ]
    residual = (list_minor - net_minor) - sum(s["amount"] for s in out)
    if residual:
        out.append({"label": "rounding", "percent": None, "amount": residual})
    return UnitPrice(list_minor=list_minor, net_minor=net_minor, steps=out)


def line_total(unit_net_minor: int, quantity: Decimal) -> int:
    """Unit net × quantity, rounded half-up to the minor unit once."""
    return half_up(Decimal(unit_net_minor) * Decimal(quantity))


def nfr_price(list_minor: int, quantity: int, discount: Decimal) -> int:
    """An NFR order: list × (1 − discount %) per unit, rounded half-up, × quantity."""
    unit = half_up(Decimal(list_minor) * (HUNDRED - Decimal(discount)) / HUNDRED)
    return unit * quantity
