"""Certification gating: a product with a ``required_certification`` may be registered in a deal
or quoted only for a partner with at least one person holding that certification on the day.

    missing_certification(partner=p, product=prod, on=day)  -> Certification | None
    missing_certifications(partner=p, products=[...], on=day) -> {product: certification}
    require_certified(partner=p, products=[...], on=day)     # raises NotAllowed (403)

Only the partner's own people count (not those of its children or parent). "Holding" means
earned on or before ``on``, not expired (``expires_on > on``) and not revoked
(``revoked_on`` empty or ``> on``). One query for any number of products (plus one to name the
missing certifications when they were not loaded with the products).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from partnerhub.core.errors import NotAllowed
from partnerhub.training.models import Certification, PersonCertification
from partnerhub.training.selectors import current_q


def missing_certifications(*, partner, products: Iterable, on: dt.date) -> dict:
    """``{product: the certification it requires and the partner lacks}``, in input order."""
    products = list(dict.fromkeys(products))  # de-duplicated, order kept
    gated = [p for p in products if p.required_certification_id is not None]
    if not gated:
        return {}
    needed = {p.required_certification_id for p in gated}
    held = set(
        PersonCertification.objects.filter(
            current_q(on), partner_id=partner.pk, certification_id__in=needed
        )
        .values_list("certification_id", flat=True)
        .distinct()
    )
    missing = [p for p in gated if p.required_certification_id not in held]
    if not missing:
        return {}
    loaded = {
        p.required_certification_id: p._state.fields_cache["required_certification"]
        for p in missing
        if "required_certification" in p._state.fields_cache
    }
    to_load = {p.required_certification_id for p in missing} - set(loaded)
    if to_load:
        loaded |= Certification.objects.in_bulk(to_load)
    return {p: loaded[p.required_certification_id] for p in missing}


def missing_certification(*, partner, product, on: dt.date) -> Certification | None:
    """The certification ``product`` requires that ``partner`` does not hold on ``on``."""
    return missing_certifications(partner=partner, products=[product], on=on).get(product)


def _product_label(product) -> str:
    return f"{product.sku} ({product.name})" if product.name else product.sku


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def refusal_message(partner, missing: dict) -> str:
    """ "Alpha Charging has no person holding a current 'EV Installer' certification, required
    for CP-6000 (DC fast charger)." — one sentence per missing certification."""
    by_cert: dict[int, tuple[Certification, list[str]]] = {}
    for product, cert in missing.items():
        by_cert.setdefault(cert.pk, (cert, []))[1].append(_product_label(product))
    name = getattr(partner, "display_name", None) or str(partner)
    return " ".join(
        f"{name} has no person holding a current '{cert.name}' certification, "
        f"required for {_join(labels)}."
        for cert, labels in by_cert.values()
    )


def require_certified(
    *, partner, products: Iterable, on: dt.date, field: str | None = None
) -> None:
    """Raise ``NotAllowed`` (403, type ``certification_required``) naming each product and the
    certification it needs when ``partner`` lacks one. ``field`` defaults to "product" for a
    single product and "products" for several."""
    products = list(dict.fromkeys(products))
    missing = missing_certifications(partner=partner, products=products, on=on)
    if missing:
        raise NotAllowed(
            refusal_message(partner, missing),
            field=field or ("product" if len(products) == 1 else "products"),
            code="certification_required",
        )
