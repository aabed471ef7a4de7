"""Conformance: OCPI 2.2.1 examples and the ocpi-tariffs test data, read in place.

The data lives outside the repository (``../shared/conformance`` next to the checkout, or
``$PARTNERHUB_CONFORMANCE_DIR``) and is never copied in; without it these tests skip.

Comparison rule: expected figures are exact ``Decimal`` values parsed from the JSON (no
floats).  The calculator rounds its money totals to 4 decimals, which is the precision of the
expected data (the reference crate also rescales to 4 decimals before comparing), so the
figures are compared with ``==`` on ``Decimal`` (numeric equality: ``Decimal("5.0") ==
Decimal("5.0000")``).  A total the CDR omits is expected to be zero, as in the crate's own test.

``total_cost``: the crate at the pinned commit does not apply ``min_price``/``max_price``, so
its expected ``total_cost`` is the sum of the dimension totals, i.e. our ``subtotal``.  Our
``total_cost`` equals it too except where the OCPI min/max rule clamps it; that happens in one
case only (``025kwh_min_price/cdr2_less_than_2kWh``: 0.30 of energy under a 0.50 minimum),
which is asserted explicitly below.
"""

from __future__ import annotations

import os
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from partnerhub.charging.ocpi import (
    Cdr,
    Tariff,
    cdr_to_json,
    ocpi_dumps,
    ocpi_loads,
    parse_cdr,
    parse_tariff,
    tariff_to_json,
)
from partnerhub.charging.tariff_calc import Cost, price_cdr


def conformance_dir() -> Path:
    """``$PARTNERHUB_CONFORMANCE_DIR`` or ``<checkout>/../shared/conformance``."""
    override = os.environ.get("PARTNERHUB_CONFORMANCE_DIR")
    if override:
        return Path(override).resolve()
    # parents: [0] tests, [1] charging, [2] partnerhub, [3] src, [4] the checkout
    return (Path(__file__).resolve().parents[4] / "../shared/conformance").resolve()


ROOT = conformance_dir()
TARIFF_CASES = ROOT / "ocpi-tariffs" / "test_data"
EXAMPLES = ROOT / "ocpi-examples"


def _params(folder: Path, pattern: str, what: str) -> list[Any]:
    if not folder.is_dir():
        reason = (
            f"conformance data not found at {folder} ({what}); it lives beside the checkout in "
            "../shared/conformance or at $PARTNERHUB_CONFORMANCE_DIR"
        )
        return [pytest.param(None, id="missing", marks=pytest.mark.skip(reason=reason))]
    paths = sorted(folder.glob(pattern))
    if not paths:
        reason = f"no {pattern} files in {folder} ({what})"
        return [pytest.param(None, id="empty", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(path, id=str(path.relative_to(folder))) for path in paths]


def _load(path: Path) -> Any:
    return ocpi_loads(path.read_text(encoding="utf-8"))


def normalise(value: Any) -> Any:
    """JSON value with ``None`` members dropped and every number as a ``Decimal``."""
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    raise TypeError(f"unexpected {type(value).__name__} in JSON: {value!r}")


def assert_tariff_round_trips(data: dict[str, Any]) -> Tariff:
    tariff = parse_tariff(data)
    exported = tariff_to_json(tariff)
    assert parse_tariff(exported) == tariff
    assert normalise(exported) == normalise(data)
    # and through JSON text: Decimals written as numbers, read back exactly
    assert parse_tariff(ocpi_loads(ocpi_dumps(tariff))) == tariff
    return tariff


def assert_cdr_round_trips(data: dict[str, Any]) -> Cdr:
    cdr = parse_cdr(data)
    exported = cdr_to_json(cdr)
    assert parse_cdr(exported) == cdr
    assert normalise(exported) == normalise(data)
    assert parse_cdr(ocpi_loads(ocpi_dumps(cdr))) == cdr
    return cdr


# ---------------------------------------------------------------------------------------------
# ocpi-tariffs test data
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _params(TARIFF_CASES, "*/tariff.json", "ocpi-tariffs"))
def test_tariff_case_imports_and_round_trips(path: Path) -> None:
    assert_tariff_round_trips(_load(path))


@pytest.mark.parametrize("path", _params(TARIFF_CASES, "*/cdr*.json", "ocpi-tariffs"))
def test_cdr_case_imports_and_round_trips(path: Path) -> None:
    assert_cdr_round_trips(_load(path))


def _expected(cdr: Cdr, name: str) -> Any:
    value = getattr(cdr, name)
    return Cost() if value is None else value


@pytest.mark.parametrize("path", _params(TARIFF_CASES, "*/cdr*.json", "ocpi-tariffs"))
def test_calculator_reproduces_expected_cdr_totals(path: Path) -> None:
    tariff = parse_tariff(_load(path.parent / "tariff.json"))
    cdr = parse_cdr(_load(path))

    # the crate's own test prices every case in UTC
    result = price_cdr(tariff, cdr, tz=UTC)

    mismatches = []
    for name in (
        "total_energy_cost",
        "total_time_cost",
        "total_parking_cost",
        "total_fixed_cost",
        "total_reservation_cost",
    ):
        expected, got = _expected(cdr, name), getattr(result, name)
        if expected.excl_vat != got.excl_vat:
            mismatches.append(f"{name}.excl_vat: expected {expected.excl_vat}, got {got}")
        if expected.incl_vat is not None and expected.incl_vat != got.incl_vat:
            mismatches.append(f"{name}.incl_vat: expected {expected.incl_vat}, got {got}")

    expected_total = cdr.total_cost
    if expected_total.excl_vat != result.subtotal.excl_vat or (
        expected_total.incl_vat is not None and expected_total.incl_vat != result.subtotal.incl_vat
    ):
        mismatches.append(f"total_cost: expected {expected_total}, got {result.subtotal}")

    for name, got in (
        ("total_energy", result.total_energy),
        ("total_time", result.total_time),
        ("total_parking_time", result.total_parking_time),
    ):
        expected_volume = getattr(cdr, name) or Decimal(0)
        if expected_volume != got:
            mismatches.append(f"{name}: expected {expected_volume}, got {got}")
    assert not mismatches, "\n".join(mismatches)

    # Our clamped total equals the crate's figure unless the OCPI min/max rule applies.
    if result.price_limit is None:
        assert result.total_cost == result.subtotal
    else:
        assert (path.parent.name, path.name, result.price_limit) == (
            "025kwh_min_price",
            "cdr2_less_than_2kWh.json",
            "min_price",
        )
        assert result.total_cost == Cost(Decimal("0.50"), Decimal("0.55"))


# ---------------------------------------------------------------------------------------------
# The specification's own examples
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _params(EXAMPLES, "tariff*.json", "OCPI 2.2.1 examples"))
def test_spec_tariff_example_imports_and_round_trips(path: Path) -> None:
    assert_tariff_round_trips(_load(path))


@pytest.mark.parametrize("path", _params(EXAMPLES, "cdr*.json", "OCPI 2.2.1 examples"))
def test_spec_cdr_example_imports_and_round_trips(path: Path) -> None:
    assert_cdr_round_trips(_load(path))


@pytest.mark.parametrize("path", _params(EXAMPLES, "cdr_example.json", "OCPI 2.2.1 examples"))
def test_spec_cdr_example_is_priced_as_published(path: Path) -> None:
    """1.973 h at 2.00/h (10 % VAT), step 300 s: billed 2 h = 4.00 / 4.40, as in the spec."""
    cdr = parse_cdr(_load(path))
    result = price_cdr(None, cdr)  # the tariff embedded in the CDR
    assert result.total_time_cost == Cost(
        cdr.total_time_cost.excl_vat, cdr.total_time_cost.incl_vat
    )
    assert result.total_cost == Cost(cdr.total_cost.excl_vat, cdr.total_cost.incl_vat)
    assert result.billed_charging_time == Decimal(2)
    assert result.total_charging_time == cdr.total_time


def test_spec_examples_folder_carries_its_licence_notice() -> None:
    if not EXAMPLES.is_dir():
        pytest.skip(f"conformance data not found at {EXAMPLES}")
    assert "EVRoaming Foundation" in (EXAMPLES / "copyright.asciidoc").read_text(encoding="utf-8")
