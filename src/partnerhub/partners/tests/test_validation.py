"""Normalisation and validation of partner data (no database needed)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from partnerhub.partners.models import duns_validator
from partnerhub.partners.validation import (
    normalize_domain,
    normalize_duns,
    normalize_phone,
    normalize_vat_id,
)


@pytest.mark.parametrize(
    "raw,country,expected",
    [
        ("", "DE", ""),
        ("   ", "DE", ""),
        ("DE136695976", "DE", "DE136695976"),
        ("de 136 695 976", "DE", "DE136695976"),
        ("136695976", "DE", "DE136695976"),  # the country prefix is added
        ("DE-136.695.976", "de", "DE136695976"),
        ("FR40303265045", "FR", "FR40303265045"),
        ("40303265045", "FR", "FR40303265045"),
        ("NL004495445B01", "NL", "NL004495445B01"),
        ("abc-123", "ZW", "ABC-123"),  # no known scheme: kept, upper-cased
        ("CHE-109.322.551 MWST", "CH", "CHE109322551MWST"),  # a non-EU scheme
    ],
)
def test_valid_vat_ids_are_normalised(raw, country, expected):
    assert normalize_vat_id(raw, country) == expected


@pytest.mark.parametrize(
    "raw,country",
    [
        ("DE123", "DE"),
        ("DE136695977", "DE"),  # check digit
        ("123", "DE"),
        ("FR40303265045", "DE"),  # valid, but French
        ("DE136695976", "FR"),  # valid, but German
        ("XX136695976", "DE"),
        ("CHE-109.322.552", "CH"),
    ],
)
def test_invalid_vat_ids_say_which_country(raw, country):
    with pytest.raises(ValidationError) as exc:
        normalize_vat_id(raw, country)
    assert country.upper() in exc.value.messages[0]
    assert raw in exc.value.messages[0]


@pytest.mark.parametrize(
    "raw,country,expected",
    [
        ("", "DE", ""),
        ("030 1234567", "DE", "+49301234567"),
        ("+49 30 1234567", "FR", "+49301234567"),  # an explicit prefix wins
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("(202) 555-0143", "US", "+12025550143"),
    ],
)
def test_phone_numbers_become_e164(raw, country, expected):
    assert normalize_phone(raw, country) == expected


@pytest.mark.parametrize("raw", ["12", "not a number", "+49 0", "0301234567890123456"])
def test_invalid_phone_numbers(raw):
    with pytest.raises(ValidationError) as exc:
        normalize_phone(raw, "DE")
    assert raw.strip() in exc.value.messages[0]


def test_phone_without_country_needs_a_prefix():
    assert normalize_phone("+4930 1234567", "") == "+49301234567"
    with pytest.raises(ValidationError):
        normalize_phone("030 1234567", "")


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("", ""),
        ("example.com", "example.com"),
        ("https://www.Example.com/path", "example.com"),
        ("HTTP://WWW.EXAMPLE.COM", "example.com"),
        ("example.com.", "example.com"),
        ("https://user:pw@shop.example.co.uk:8443/a?b#c", "shop.example.co.uk"),
        ("example.com?x=1", "example.com"),
        ("example.com#top", "example.com"),
        ("wwwexample.com", "wwwexample.com"),
        ("www2.example.com", "www2.example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("  sub-domain.example.org  ", "sub-domain.example.org"),
    ],
)
def test_domains_are_reduced_to_the_host(raw, expected):
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "not a domain",
        "localhost",
        "http://",
        "-example.com",
        "example-.com",
        "exa_mple.com",
        "example.c",
        "example.123",
        "a" * 64 + ".com",  # label too long
        ".".join(["a" * 60] * 5) + ".com",  # name too long
        "https://[::1]/",
        "xn--.com",
    ],
)
def test_invalid_domains(raw):
    with pytest.raises(ValidationError) as exc:
        normalize_domain(raw)
    assert "domain" in exc.value.messages[0]


@pytest.mark.parametrize(
    "raw,expected",
    [("", ""), ("123456789", "123456789"), (" 15-048-3782 ", "150483782"), ("000000000", "0" * 9)],
)
def test_duns_is_nine_digits(raw, expected):
    assert normalize_duns(raw) == expected
    if expected:
        duns_validator(expected)  # and the model agrees


@pytest.mark.parametrize(
    "raw",
    ["12345678", "1234567890", "12345678a", "12 345 678", "١٢٣٤٥٦٧٨٩", "１２３４５６７８９"],
)
def test_bad_duns(raw):
    with pytest.raises(ValidationError, match="9 digits"):
        normalize_duns(raw)
