"""The labelled pairs of ``benchmarks/deal_matching.py``: real organisation names, made into
pairs of deal registrations that are the same customer (positives) or not (negatives).

Where the names come from
=========================
The IEEE MA-L registry (``oui.txt``, the owners of MAC address blocks) as shipped inside the
``netaddr`` package: about 19,000 distinct spellings of real organisations from all over the
world (Apple, Hewlett Packard Enterprise, Shenzhen ... Technology Co., Ltd., Hottinger Brüel &
Kjaer GmbH ...), each with the country of its registered address (the last address line).

One organisation, one record
----------------------------
The registry lists many organisations more than once ("Apple, Inc." / "Apple Inc"). Entries
are grouped by a *labelling key* of this module's own, deliberately simpler than the matcher
under test: ASCII, lower case, full stops dropped and other punctuation gone, a short list of
common legal forms and a leading "The" removed, words in the singular ("Communications" =
"Communication"), spaces removed. Each group is one organisation: its name is the group's
most frequent spelling, its country the most frequent country. Names with the registry's
"?" for a lost character, and "Private" entries, are left out.

Derived fields (the registry has no websites or e-mail addresses)
-----------------------------------------------------------------
- **Website domain**: the organisation's words (labelling form, legal forms and articles
  dropped) joined, shortened to the first two words when long, sometimes hyphenated; the
  ending is ".com" or the country's usual ending (.de, .co.uk, .com.cn, .co.jp ...). Domains
  are unique: a clash gets the country code or a number appended, so different
  organisations never share a domain.
- **Website as typed**: that domain with or without scheme, "www.", another subdomain
  ("shop."), a path, a query, upper case.
- **Contact e-mail**: on the organisation's domain (sometimes a mail subdomain), or on a
  free-mail provider usual in its country (gmail.com, gmx.de, qq.com, mail.ru, naver.com ...).
- **Country**: the registry's, left empty on some records.

Positives: one organisation written twice
=========================================
Record A is the registry spelling; record B is a variation of it of one *kind* (reported per
kind): case, legal form changed/removed/added (also another language's form), punctuation,
diacritics added or stripped (also German umlauts for "ue"/"oe"/"ae"), "&"/"and", a typo (one
letter inserted, deleted, replaced or two swapped, in a word of six letters or more), two
words swapped, a space removed or added, "The" added/removed, abbreviations (dotted
initials "Z.T.E.", "Intl.", "Corp.", "Mfg."), the same domain on both with a different name
form (initials, the web name), a multinational (same domain, other country), both contacts on
free-mail, record B with the name only, websites under another ending (acme.com/acme.de).
About a third of the records get a second, mild variation (case, punctuation, legal form) on
top. Websites, e-mails and countries are present or missing at random on each record, so most
positives must be recognised by their names alone.

Negatives: two different organisations
======================================
- **first_word**: two organisations whose names start with the same word ("Cisco Systems" /
  "Cisco Meraki"-like; "Shenzhen ..." / "Shenzhen ...");
- **long_prefix**: names sharing their first two words or their first 8 letters;
- **same_last_word**: names ending in the same word ("... Technology", "... Electronics");
- **same_country**: two organisations of one country;
- **free_mail_collision**: first-word pairs whose contacts both use the same free-mail domain;
- **random**: any two organisations.
Both records get the same kind of mild variations as positives (so the registry spelling is no
give-away) and their own domain. Two kinds of pairs cannot be labelled from the registry and
are reported apart ("ambiguous", with how many the matcher flags) but not scored:

- one name's words all contained in the other's ("Extreme Networks" / "Extreme Networks
  Headquarters", "Samsung" / "Samsung Electronics"): the same organisation, a branch or a
  subsidiary?
- names of ten letters or more one letter apart ("Topwell International Holdinds" /
  "... Holdings"): the registry's own misspelling of one registrant, more often than not.

Misspelt or abbreviated duplicates beyond that ("Electornics" / "Electronics", "Tech." /
"Technology") do remain in the registry, and so among the negatives: they are the main source
of the few false positives the benchmark reports.

Reproducible: everything comes from ``random.Random`` seeded with ``--seed`` (and crc32 of
the organisation key), never from Python's per-process string hash. Organisations are split
in two halves by crc32 of their key: ``--half dev`` was used while developing the matcher,
``--half report`` (default) gives the reported figures, so the matcher was not fitted to them.
"""

from __future__ import annotations

import importlib.resources
import random
import re
import string
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import tldextract
from anyascii import anyascii
from rapidfuzz.distance import Levenshtein

# --- the registry -----------------------------------------------------------------------------

# fmt: off
_LABEL_LEGAL = frozenset([
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc",
    "gmbh", "mbh", "ag", "kg", "sa", "spa", "bv", "nv", "oy", "oyj", "ab", "as", "asa", "aps",
    "kk", "plc", "pte", "pty", "pvt", "private", "srl", "sl", "sas", "sarl", "ltda", "lda", "bhd",
    "sdn", "berhad", "se", "sro", "zoo", "sp", "dd", "doo", "ad", "ae", "sau", "sae", "sac",
    "sacv", "cv", "de", "kft", "zrt", "ou", "uab", "sia", "jsc", "ooo",
])
# fmt: on
_LABEL_STOP = frozenset(
    ["the", "and", "of", "de", "la", "le", "der", "die", "das", "und", "et", "y"]
)


def label_words(name: str) -> list[str]:
    """The benchmark's own plain word list of a name (see the module doc: labelling key):
    singular ("Communications" and "Communication" are one registrant)."""
    text = anyascii(name).lower().replace("&", " and ").replace(".", "").replace("'", "")
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    while len(words) > 1 and words[-1] in _LABEL_LEGAL | {"and"}:
        words.pop()
    while len(words) > 1 and words[0] == "the":
        words.pop(0)
    return [_singular(w) for w in words]


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def label_key(name: str) -> str:
    return "".join(label_words(name))


@dataclass
class Org:
    key: str
    name: str
    country: str
    words: list[str]
    domain: str = ""
    half: int = 0


def read_registry() -> list[tuple[str, str]]:
    """(organisation name, country) of every entry of netaddr's copy of the IEEE MA-L
    registry (``netaddr/eui/oui.txt``)."""
    try:
        path = importlib.resources.files("netaddr.eui") / "oui.txt"
        text = path.read_text(encoding="utf-8", errors="replace")
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise SystemExit(
            "benchmarks/deal_matching.py needs the netaddr package (its IEEE registry): "
            f"pip install 'netaddr>=1.0,<2' ({error})"
        ) from None
    entries: list[tuple[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if "(base 16)" in lines[i]:
            name = " ".join(lines[i].split("(base 16)", 1)[1].split())
            address: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip():
                address.append(lines[i].strip())
                i += 1
            country = address[-1] if address and re.fullmatch(r"[A-Z]{2}", address[-1]) else ""
            entries.append((unicodedata.normalize("NFC", name), country))
        i += 1
    return entries


_TLDS = {
    "US": ["com"],
    "CN": ["com.cn", "cn"],
    "KR": ["co.kr", "kr"],
    "TW": ["com.tw", "tw"],
    "JP": ["co.jp", "jp"],
    "DE": ["de"],
    "GB": ["co.uk"],
    "CA": ["ca"],
    "MY": ["com.my"],
    "FR": ["fr"],
    "HK": ["com.hk", "hk"],
    "IT": ["it"],
    "CH": ["ch"],
    "FI": ["fi"],
    "DK": ["dk"],
    "IL": ["co.il"],
    "SE": ["se"],
    "NL": ["nl"],
    "AU": ["com.au"],
    "IN": ["co.in", "in"],
    "RU": ["ru"],
    "SG": ["com.sg"],
    "BR": ["com.br"],
    "ES": ["es"],
}
_OTHER_TLDS = ["de", "fr", "co.uk", "com.au", "co.jp", "it", "nl", "com.br", "ca", "ch"]


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def organisations(seed: int) -> list[Org]:
    """One Org per labelling key, with a unique derived domain; sorted by key."""
    spellings: dict[str, Counter] = defaultdict(Counter)
    countries: dict[str, Counter] = defaultdict(Counter)
    for name, country in read_registry():
        if "?" in name or name.lower() == "private" or sum(c.isalpha() for c in name) < 2:
            continue
        key = label_key(name)
        if len(key) < 2:
            continue
        spellings[key][name] += 1
        if country:
            countries[key][country] += 1
    orgs = []
    taken: set[str] = set()
    for key in sorted(spellings):
        name = sorted(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        country = countries[key].most_common(1)[0][0] if countries[key] else ""
        words = label_words(name)
        org = Org(key, name, country, words, half=_crc(key) % 2)
        org.domain = _domain(org, random.Random(seed * 1_000_003 + _crc(key)), taken)
        taken.add(org.domain.split(".", 1)[0])
        orgs.append(org)
    return orgs


def _domain(org: Org, rng: random.Random, taken: set[str]) -> str:
    words = [w for w in org.words if w not in _LABEL_STOP] or org.words
    if len("".join(words)) > 20:
        words = words[:2]
    sep = "-" if len(words) > 1 and rng.random() < 0.2 else ""
    label = sep.join(words)[:40].strip("-")
    if len(label) < 3:
        label = f"{label}{org.country.lower() or 'co'}"
    if label in taken:
        label = f"{label}-{org.country.lower()}" if org.country else label
    n = 2
    base = label
    while label in taken:
        label = f"{base}{n}"
        n += 1
    tlds = _TLDS.get(org.country, ["com"])
    tld = "com" if rng.random() < 0.5 else rng.choice(tlds)
    if _EXTRACT(f"{label}.{tld}").domain != label:  # "ad.jp" is a public suffix itself
        label = f"{label}-{org.country.lower() or 'co'}"
    return f"{label}.{tld}"


_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


# --- name variations --------------------------------------------------------------------------

# Trailing legal forms as typed in registrations, longest first.
_LEGAL_SURFACE = [
    r"GmbH\s*&\s*Co\.?\s*KG",
    r"Co\.?\s*,?\.?\s*Ltd\.?",
    r"Company\s+Limited",
    r"Private\s+Limited",
    r"Pte\.?\s*Ltd\.?",
    r"Pty\.?\s*Ltd\.?",
    r"Pvt\.?\s*Ltd\.?",
    r"Sdn\.?\s*Bhd\.?",
    r"Sp\.\s*z\s*o\.\s*o\.",
    r"S\.?\s*A\.?\s+de\s+C\.?\s*V\.?",
    r"S\.?p\.?A\.?",
    r"S\.?A\.?S\.?",
    r"S\.?A\.?R\.?L\.?",
    r"S\.?R\.?L\.?",
    r"S\.?L\.?",
    r"S\.?A\.?U?",
    r"B\.?V\.?",
    r"N\.?V\.?",
    r"A/S",
    r"ApS",
    r"K\.?K\.?",
    r"L\.?L\.?C\.?",
    r"Inc\.?",
    r"Incorporated",
    r"Corp\.?",
    r"Corporation",
    r"Co\.?",
    r"Company",
    r"Ltd\.?",
    r"Limited",
    r"Ltda\.?",
    r"Lda\.?",
    r"GmbH",
    r"AG",
    r"Oyj?",
    r"AB",
    r"ASA",
    r"AS",
    r"d\.?\s*o\.?\s*o\.?",
    r"d\.?\s*d\.?",
    r"s\.?\s*r\.?\s*o\.?",
    r"Kft\.?",
    r"Berhad",
    r"Private",
    r"plc",
    r"SE",
]
_LEGAL_RE = re.compile(r"[\s,]+(?:" + "|".join(_LEGAL_SURFACE) + r")\s*$", re.IGNORECASE)
_FORMS_BY_COUNTRY = {
    "US": ["Inc.", "Inc", "Corp.", "Corporation", "LLC", "Incorporated"],
    "CA": ["Inc.", "Ltd.", "Corp."],
    "GB": ["Ltd", "Ltd.", "Limited", "plc"],
    "CN": ["Co., Ltd.", "Co.,Ltd", "Company Limited", "CO., LTD."],
    "HK": ["Limited", "Co., Ltd.", "Company Limited"],
    "TW": ["Co., Ltd.", "Corporation", "Inc."],
    "KR": ["Co., Ltd.", "Corp.", "Inc."],
    "JP": ["Co., Ltd.", "K.K.", "Kabushiki Kaisha", "Corporation"],
    "DE": [
        "GmbH",
        "AG",
        "Aktiengesellschaft",
        "GmbH & Co. KG",
        "Gesellschaft mit beschränkter Haftung",
    ],
    "AT": ["GmbH", "AG"],
    "CH": ["AG", "GmbH", "SA", "S.A."],
    "FR": ["S.A.", "SAS", "S.A.S.", "SARL", "Société Anonyme"],
    "IT": ["S.p.A.", "SpA", "S.r.l.", "Società per Azioni"],
    "ES": ["S.A.", "S.L.", "Sociedad Anónima"],
    "NL": ["B.V.", "BV", "N.V.", "Besloten Vennootschap"],
    "BE": ["NV", "SA", "BVBA"],
    "SE": ["AB", "Aktiebolag"],
    "FI": ["Oy", "Oyj"],
    "DK": ["A/S", "ApS"],
    "NO": ["AS", "ASA"],
    "BR": ["Ltda.", "Ltda", "S.A."],
    "PL": ["Sp. z o.o.", "S.A."],
    "MY": ["Sdn. Bhd.", "Sdn Bhd", "Berhad"],
    "SG": ["Pte. Ltd.", "Pte Ltd"],
    "AU": ["Pty Ltd", "Pty. Ltd.", "Limited"],
    "IN": ["Pvt. Ltd.", "Private Limited", "Limited"],
    "RU": ["OOO", "JSC", "LLC"],
}
_DEFAULT_FORMS = ["Ltd.", "Inc.", "Limited", "Corp.", "Co., Ltd.", "Corporation"]
_ABBREVIATIONS = {
    "international": "Intl.",
    "corporation": "Corp.",
    "company": "Co.",
    "manufacturing": "Mfg.",
    "technology": "Tech.",
    "technologies": "Tech.",
    "brothers": "Bros.",
    "associates": "Assoc.",
    "laboratories": "Labs",
    "holdings": "Hldgs.",
    "services": "Svcs.",
    "management": "Mgmt.",
    "national": "Natl.",
    "university": "Univ.",
    "institute": "Inst.",
    "center": "Ctr.",
}
_ACCENTS = {
    "a": "áàâä",
    "e": "éèêë",
    "i": "íî",
    "o": "óôö",
    "u": "úü",
    "c": "ç",
    "n": "ñ",
}
_UMLAUTS = {"ue": "ü", "oe": "ö", "ae": "ä", "Ue": "Ü", "Oe": "Ö", "Ae": "Ä"}


def split_legal(name: str) -> tuple[str, str]:
    """(name without its trailing legal form, the legal form as typed or '')."""
    name = name.rstrip(" ,")
    m = _LEGAL_RE.search(name)
    if m and m.start() > 0:
        return name[: m.start()].rstrip(" ,"), name[m.start() :].strip(" ,")
    return name, ""


def _forms(country: str) -> list[str]:
    return _FORMS_BY_COUNTRY.get(country, _DEFAULT_FORMS)


def _words_with_positions(text: str) -> list[re.Match]:
    return list(re.finditer(r"[^\W\d_]+", text))


def v_case(name: str, org: Org, rng: random.Random) -> str | None:
    options = {name.upper(), name.lower(), string.capwords(name)} - {name}
    return rng.choice(sorted(options)) if options else None


def v_legal_form(name: str, org: Org, rng: random.Random) -> str | None:
    base, form = split_legal(name)
    choice = rng.random()
    if form and choice < 0.4:
        return base  # removed
    if form:
        others = [f for f in _forms(org.country) + _DEFAULT_FORMS if f.lower() != form.lower()]
        return (
            f"{base} {rng.choice(others)}"
            if rng.random() < 0.5
            else f"{base}, {rng.choice(others)}"
        )
    return f"{name} {rng.choice(_forms(org.country))}"


def v_punctuation(name: str, org: Org, rng: random.Random) -> str | None:
    options = []
    # Full stops, commas and apostrophes vanish, other punctuation becomes a space.
    stripped = re.sub(r"[^\w\s&.,']", " ", name)
    stripped = re.sub(r"[.,']", "" if rng.random() < 0.5 else " ", stripped)
    options.append(" ".join(stripped.split()))
    if "-" in name:
        options.append(name.replace("-", " "))
    words = name.split()
    if len(words) >= 2:
        i = rng.randrange(len(words) - 1)
        options.append(" ".join(words[:i] + [words[i] + "-" + words[i + 1]] + words[i + 2 :]))
    base, form = split_legal(name)
    if form:
        options.append(
            f"{base}, {form}" if not name[len(base) :].startswith(",") else f"{base} {form}"
        )
    options = [o for o in options if o and o != name]
    return rng.choice(options) if options else None


def v_diacritics(name: str, org: Org, rng: random.Random) -> str | None:
    if not name.isascii():
        stripped = "".join(
            c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn"
        )
        if rng.random() < 0.5:
            stripped = name
            for plain, umlaut in _UMLAUTS.items():
                stripped = stripped.replace(umlaut, plain)
        return unicodedata.normalize("NFC", stripped) if stripped != name else None
    for plain, umlaut in _UMLAUTS.items():
        if plain in name and rng.random() < 0.7:
            return name.replace(plain, umlaut, 1)
    base, _form = split_legal(name)
    spots = [
        m.start() + k
        for m in _words_with_positions(base)
        if len(m.group()) >= 3
        for k, c in enumerate(m.group())
        if c.lower() in _ACCENTS
    ]
    if not spots:
        return None
    out = list(name)
    for pos in rng.sample(spots, min(len(spots), rng.choice((1, 1, 2)))):
        accented = rng.choice(_ACCENTS[out[pos].lower()])
        out[pos] = accented.upper() if out[pos].isupper() else accented
    return "".join(out)


def v_ampersand(name: str, org: Org, rng: random.Random) -> str | None:
    if "&" in name:
        return re.sub(r"\s*&\s*", rng.choice([" and ", " And ", " + "]), name, count=1)
    if re.search(r"\band\b", name, re.IGNORECASE):
        return re.sub(r"\s+and\s+", " & ", name, count=1, flags=re.IGNORECASE)
    return None


def v_typo(name: str, org: Org, rng: random.Random) -> str | None:
    words = [m for m in _words_with_positions(name) if len(m.group()) >= 6]
    if not words:
        return None
    m = rng.choice(words)
    w = m.group()
    op = rng.choice(("insert", "delete", "substitute", "transpose"))
    i = rng.randrange(1, len(w) - 1)
    letter = rng.choice(string.ascii_lowercase)
    letter = letter.upper() if w.isupper() else letter
    if op == "insert":
        new = w[:i] + letter + w[i:]
    elif op == "delete":
        new = w[:i] + w[i + 1 :]
    elif op == "substitute":
        new = w[:i] + (letter if letter.lower() != w[i].lower() else "x") + w[i + 1 :]
    else:
        if w[i].lower() == w[i + 1].lower():
            return None
        new = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    return name[: m.start()] + new + name[m.end() :]


def v_word_order(name: str, org: Org, rng: random.Random) -> str | None:
    base, form = split_legal(name)
    words = base.split()
    if len(words) < 2:
        return None
    if rng.random() < 0.5:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    else:
        words = words[1:] + words[:1]
    out = " ".join(words)
    return f"{out} {form}".strip() if form else out


def v_spacing(name: str, org: Org, rng: random.Random) -> str | None:
    base, form = split_legal(name)
    words = base.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 8 and w.isalpha()]
    if len(words) >= 2 and (not long_words or rng.random() < 0.5):
        i = rng.randrange(len(words) - 1)
        words = words[:i] + [words[i] + words[i + 1]] + words[i + 2 :]
    elif long_words:
        i = rng.choice(long_words)
        cut = rng.randrange(3, len(words[i]) - 2)
        words = words[:i] + [words[i][:cut], words[i][cut:]] + words[i + 1 :]
    else:
        return None
    out = " ".join(words)
    return f"{out} {form}".strip() if form else out


def v_the_prefix(name: str, org: Org, rng: random.Random) -> str | None:
    if name.lower().startswith("the "):
        return name[4:]
    return ("THE " if name.isupper() else "The ") + name


def v_abbreviation(name: str, org: Org, rng: random.Random) -> str | None:
    base, _form = split_legal(name)  # initials of the name, not of its legal form
    caps = [m for m in re.finditer(r"\b[A-Z]{2,5}\b", base) if not split_legal("x " + m.group())[1]]
    if caps and rng.random() < 0.7:
        m = rng.choice(caps)
        sep = "." if rng.random() < 0.7 else ". "
        dotted = sep.join(m.group()) + "."
        return (name[: m.start()] + dotted.strip() + name[m.end() :]).replace("  ", " ")
    words = [m for m in _words_with_positions(name) if m.group().lower() in _ABBREVIATIONS]
    if not words:
        return None
    m = rng.choice(words)
    short = _ABBREVIATIONS[m.group().lower()]
    short = short.upper() if m.group().isupper() else short
    return name[: m.start()] + short + name[m.end() :]


NAME_VARIATIONS: dict[str, Callable[[str, Org, random.Random], str | None]] = {
    "case": v_case,
    "legal_form": v_legal_form,
    "punctuation": v_punctuation,
    "diacritics": v_diacritics,
    "ampersand": v_ampersand,
    "typo": v_typo,
    "word_order": v_word_order,
    "spacing": v_spacing,
    "the_prefix": v_the_prefix,
    "abbreviation": v_abbreviation,
}
MILD = ("case", "punctuation", "legal_form")


def _mild(name: str, org: Org, rng: random.Random) -> str:
    out = NAME_VARIATIONS[rng.choice(MILD)](name, org, rng)
    return out or name


# --- fields -----------------------------------------------------------------------------------

_FREE_BY_COUNTRY = {
    "CN": ["qq.com", "163.com", "126.com"],
    "KR": ["naver.com", "hanmail.net"],
    "DE": ["gmx.de", "web.de", "t-online.de"],
    "RU": ["mail.ru", "yandex.ru"],
    "GB": ["yahoo.co.uk", "btinternet.com", "hotmail.co.uk"],
    "JP": ["yahoo.co.jp", "gmail.com"],
    "FR": ["orange.fr", "free.fr", "laposte.net"],
}
_FREE_DEFAULT = ["gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "aol.com"]
_LOCALS = [
    "info",
    "sales",
    "purchasing",
    "it",
    "procurement",
    "j.smith",
    "m.chen",
    "a.kim",
    "l.mueller",
    "contact",
    "office",
]


def website(domain: str, rng: random.Random) -> str:
    """The domain as somebody might type it."""
    forms = [
        domain,
        f"www.{domain}",
        f"https://www.{domain}",
        f"http://{domain}/",
        f"https://{domain}/en/contact",
        f"WWW.{domain.upper()}",
        f"https://shop.{domain}",
        f"https://www.{domain}/?utm_source=partner",
        f"http://www.{domain}:80/index.html",
    ]
    return rng.choice(forms)


def company_email(domain: str, rng: random.Random) -> str:
    host = domain if rng.random() < 0.85 else f"{rng.choice(['mail', 'eu', 'corp'])}.{domain}"
    return f"{rng.choice(_LOCALS)}@{host}"


def free_email(country: str, rng: random.Random, provider: str = "") -> str:
    provider = provider or rng.choice(_FREE_BY_COUNTRY.get(country, _FREE_DEFAULT))
    return f"{rng.choice(_LOCALS)}{rng.randrange(1, 999)}@{provider}"


@dataclass
class Record:
    name: str
    website: str = ""
    email: str = ""
    country: str = ""


@dataclass
class Pair:
    label: bool
    kind: str
    a: Record
    b: Record
    orgs: tuple[str, str] = field(default=("", ""))
    why_unlabelled: str = ""


def _fields(
    org: Org, name: str, rng: random.Random, *, p_web=0.5, p_mail=0.6, p_free=0.35, p_country=0.85
) -> Record:
    rec = Record(name)
    if rng.random() < p_web:
        rec.website = website(org.domain, rng)
    if rng.random() < p_mail:
        if rng.random() < p_free:
            rec.email = free_email(org.country, rng)
        else:
            rec.email = company_email(org.domain, rng)
    if org.country and rng.random() < p_country:
        rec.country = org.country
    return rec


# --- pairs ------------------------------------------------------------------------------------

POSITIVE_KINDS = (
    *NAME_VARIATIONS,
    "same_domain_other_name",
    "multinational",
    "free_mail",
    "name_only",
    "other_ending",
)
NEGATIVE_KINDS = (
    "first_word",
    "long_prefix",
    "same_last_word",
    "same_country",
    "free_mail_collision",
    "random",
)


def _initialism(org: Org) -> str:
    words = [w for w in org.words if w not in _LABEL_STOP]
    if len(words) >= 2:
        return "".join(w[0] for w in words).upper()
    return ""


def positive(org: Org, kind: str, rng: random.Random) -> Pair | None:
    name = org.name
    a = _fields(org, name, rng)
    if kind in NAME_VARIATIONS:
        other = NAME_VARIATIONS[kind](name, org, rng)
        if not other or other == name:
            return None
        b = _fields(org, other, rng)
    elif kind == "same_domain_other_name":
        other = rng.choice([o for o in (_initialism(org), org.domain.split(".")[0]) if o])
        b = _fields(org, other, rng)
        if rng.random() < 0.5:
            a.website, b.website = website(org.domain, rng), website(org.domain, rng)
        else:
            a.website, b.email = website(org.domain, rng), company_email(org.domain, rng)
    elif kind == "multinational":
        b = _fields(org, _mild(name, org, rng), rng)
        a.country = org.country or "US"
        b.country = rng.choice(
            [c for c in ("US", "DE", "GB", "FR", "JP", "CN", "BR", "IN") if c != a.country]
        )
        if rng.random() < 0.5:
            a.website, b.website = website(org.domain, rng), website(org.domain, rng)
        else:
            a.email, b.email = company_email(org.domain, rng), company_email(org.domain, rng)
    elif kind == "free_mail":
        b = _fields(org, _mild(name, org, rng), rng)
        a.website = b.website = ""
        a.email, b.email = free_email(org.country, rng), free_email(org.country, rng)
    elif kind == "name_only":
        b = Record(_mild(name, org, rng))
    elif kind == "other_ending":
        b = _fields(org, _mild(name, org, rng), rng)
        label, _tld = org.domain.split(".", 1)
        other_tld = rng.choice([t for t in _OTHER_TLDS if not org.domain.endswith("." + t)])
        a.website = website(org.domain, rng)
        b.website = website(f"{label}.{other_tld}", rng)
        if b.email and not b.email.split("@")[1].endswith(tuple(_FREE_DEFAULT)):
            b.email = ""
    else:
        raise ValueError(kind)
    if rng.random() < 0.33 and kind not in ("name_only",):
        b.name = _mild(b.name, org, rng)
    return Pair(True, kind, a, b, (org.key, org.key))


def _negative_record(org: Org, rng: random.Random) -> Record:
    name = _mild(org.name, org, rng) if rng.random() < 0.5 else org.name
    return _fields(org, name, rng)


def ambiguous(x: Org, y: Org) -> str:
    """Why two registry organisations cannot be labelled as different ('' if they can)."""
    wx = {w for w in x.words if w not in _LABEL_STOP}
    wy = {w for w in y.words if w not in _LABEL_STOP}
    if wx <= wy or wy <= wx:
        return "one name's words contained in the other's (branch, subsidiary or the same)"
    if min(len(x.key), len(y.key)) >= 10 and Levenshtein.distance(x.key, y.key) <= 1:
        return "names one letter apart (the registry's own misspelling of one registrant)"
    return ""


def negative(x: Org, y: Org, kind: str, rng: random.Random) -> Pair:
    a, b = _negative_record(x, rng), _negative_record(y, rng)
    if kind == "free_mail_collision":
        provider = rng.choice(_FREE_DEFAULT)
        a.website = b.website = ""
        a.email = free_email(x.country, rng, provider)
        b.email = free_email(y.country, rng, provider)
    return Pair(False, kind, a, b, (x.key, y.key))


class Partners:
    """Indexes of the organisations for drawing hard negatives."""

    def __init__(self, orgs: list[Org]):
        self.orgs = orgs
        self.first: dict[str, list[Org]] = defaultdict(list)
        self.prefix: dict[str, list[Org]] = defaultdict(list)
        self.last: dict[str, list[Org]] = defaultdict(list)
        self.country: dict[str, list[Org]] = defaultdict(list)
        for o in orgs:
            content = [w for w in o.words if w not in _LABEL_STOP] or o.words
            self.first[content[0]].append(o)
            if len(content) >= 2:
                self.prefix[" ".join(content[:2])].append(o)
            if len(o.key) >= 8:
                self.prefix[o.key[:8]].append(o)
            if len(content) >= 2:
                self.last[content[-1]].append(o)
            if o.country:
                self.country[o.country].append(o)

        def groups(index: dict[str, list[Org]]) -> list[list[Org]]:
            return [g for _k, g in sorted(index.items()) if len(g) >= 2]

        self.groups = {
            "first_word": groups(self.first),
            "free_mail_collision": groups(self.first),
            "long_prefix": groups(self.prefix),
            "same_last_word": groups(self.last),
            "same_country": groups(self.country),
            "random": [self.orgs],
        }

    def draw(self, kind: str, rng: random.Random) -> tuple[Org, Org]:
        group = rng.choice(self.groups[kind])
        x, y = rng.sample(group, 2)
        return x, y


def build(seed: int, positives: int, negatives: int, half: str) -> tuple[list[Pair], list[Pair]]:
    """(labelled pairs, ambiguous pairs) for one half of the organisations."""
    rng = random.Random(seed)
    orgs = organisations(seed)
    if half != "all":
        orgs = [o for o in orgs if o.half == (0 if half == "dev" else 1)]
    pairs: list[Pair] = []
    kinds = list(POSITIVE_KINDS)
    attempts = 0
    while sum(p.label for p in pairs) < positives and attempts < positives * 50:
        attempts += 1
        kind = kinds[len(pairs) % len(kinds)] if rng.random() < 0.5 else rng.choice(kinds)
        pair = positive(rng.choice(orgs), kind, rng)
        if pair:
            pairs.append(pair)
    partners = Partners(orgs)
    unlabelled: list[Pair] = []
    made = 0
    attempts = 0
    while made < negatives and attempts < negatives * 50:
        attempts += 1
        kind = NEGATIVE_KINDS[made % len(NEGATIVE_KINDS)]
        x, y = partners.draw(kind, rng)
        if x.key == y.key:
            continue
        pair = negative(x, y, kind, rng)
        pair.why_unlabelled = ambiguous(x, y)
        if pair.why_unlabelled:
            unlabelled.append(pair)
            continue
        pairs.append(pair)
        made += 1
    return pairs, unlabelled
