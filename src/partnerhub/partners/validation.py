"""Validation and normalisation of partner data: VAT IDs, DUNS, phone numbers, domains."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_vat_id(vat_id: str, country: str) -> str:
    """Return the compact VAT ID, or raise ValidationError where the country has a scheme."""
    vat_id = (vat_id or "").strip()
    if not vat_id:
        return ""
    cc = (country or "").lower()
    eu_code = "el" if cc == "gr" else cc
    if eu_code in eu_vat.MEMBER_STATES:
        number = vat_id if vat_id[:2].isalpha() else f"{eu_code}{vat_id}"
        if number[:2].lower() != eu_code:
            raise ValidationError(
                f"'{vat_id}' is not a {country.upper()} VAT ID: it must start with "
                f"{eu_code.upper()}."
            )
        try:
            return eu_vat.validate(number)
        except StdnumError as exc:
            raise ValidationError(
                f"'{vat_id}' is not a valid {country.upper()} VAT ID: {exc}"
            ) from None
    module = get_cc_module(cc, "vat") if cc else None
    if module is None:
        return vat_id.upper()
    try:
        return module.validate(vat_id)
    except StdnumError as exc:
        raise ValidationError(
            f"'{vat_id}' is not a valid {country.upper()} VAT ID: {exc}"
        ) from None


def normalize_duns(duns: str) -> str:
    """Return the 9-digit DUNS number without spaces or dashes, or raise ValidationError.

    Only ASCII digits count (the model's ``\\d`` would also take e.g. Arabic-Indic digits)."""
    duns = re.sub(r"[\s-]", "", duns or "")
    if duns and not re.fullmatch(r"[0-9]{9}", duns):
        raise ValidationError("A DUNS number has exactly 9 digits.")
    return duns


def normalize_phone(phone: str, country: str) -> str:
    """Return the phone number in E.164, or raise ValidationError."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    try:
        parsed = phonenumbers.parse(phone, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise ValidationError(f"'{phone}' is not a phone number.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"'{phone}' is not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_domain(value: str) -> str:
    """Reduce a website address to its lower-case host name without scheme, www. or path."""
    value = (value or "").strip().lower()
    if not value:
        return ""
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    value = value.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    if value.startswith("www."):
        value = value[4:]
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"'{value}' is not a domain name.") from None
    if not _DOMAIN_RE.match(value):
        raise ValidationError(f"'{value}' is not a domain name such as example.com.")
    return value
