"""Money: exact Decimals with a currency at the edges, integer minor units in the database.

SQLite has no decimal type (SUM over a DECIMAL column returns a float), so every amount is
stored as an integer number of minor units (cents) beside its ISO 4217 currency code and
converted here. Rounding rule: amounts are rounded half-up to the currency's minor unit when
they enter the system; sums of stored amounts are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not 2 digits; every other code uses 2.
MINOR_DIGITS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}


def minor_digits(currency: str) -> int:
    return MINOR_DIGITS.get(currency.upper(), 2)


# Active ISO 4217 codes (and the funds / precious-metal codes are left out on purpose).
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()  # noqa: SIM905
)


def currency_code(value, *, field: str = "currency") -> str:
    """A currency as typed (any case, spaces) → its active ISO 4217 code; anything else is
    refused at ``field`` (a made-up "XYZ" would otherwise be booked, shown and summed)."""
    from partnerhub.core.errors import ServiceError

    code = str(value or "").strip().upper()
    if code not in ISO_4217:
        shown = str(value or "").strip()[:20]
        raise ServiceError(
            f"'{shown}' is not an ISO 4217 currency code (e.g. EUR, USD)."
            if shown
            else "Give an ISO 4217 currency code (e.g. EUR, USD).",
            field=field,
        )
    return code


def to_minor(amount: Decimal | int | str, currency: str) -> int:
    """Decimal amount → integer minor units, rounded half-up (12.345 EUR → 1235)."""
    digits = minor_digits(currency)
    quantum = Decimal(1).scaleb(-digits)
    return int((Decimal(amount).quantize(quantum, rounding=ROUND_HALF_UP)).scaleb(digits))


def from_minor(minor: int, currency: str) -> Decimal:
    """Integer minor units → Decimal amount with the currency's digits (1235 EUR → 12.35)."""
    digits = minor_digits(currency)
    return (Decimal(int(minor)).scaleb(-digits)).quantize(Decimal(1).scaleb(-digits))


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
