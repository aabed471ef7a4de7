"""Customer-identity normalisation and conflict matching (``partnerhub.deals.matching``).

Plain functions: no database, no Django. One test per normalisation case, the conflict decision
on true duplicates and hard non-duplicates, the explanations, and a few properties checked
with hypothesis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.deals import matching
from partnerhub.deals.matching import (
    CONFLICT_THRESHOLD,
    MatchResult,
    OrgIdentity,
    compare,
    identity,
    is_free_mail,
    name_trigrams,
    normalise_name,
    registrable_domain,
)

SRC = Path(__file__).resolve().parents[3]


def conflict(a: str, b: str, **kwargs) -> MatchResult:
    """Compare two names (and optional fields given as a_website=..., b_country=...)."""
    side = {"a": {}, "b": {}}
    for key, value in kwargs.items():
        who, field = key.split("_", 1)
        side[who][field] = value
    return compare(identity(a, **side["a"]), identity(b, **side["b"]))


def fields(result: MatchResult) -> dict[str, matching.FieldMatch]:
    return {f.field: f for f in result.fields}


# --- names ------------------------------------------------------------------------------------


def test_case_is_ignored():
    assert normalise_name("ACME Widgets") == normalise_name("acme widgets") == "acme widgets"


def test_punctuation_is_ignored():
    assert normalise_name("Acme-Widgets, (Europe)!") == "acme widgets europe"
    assert normalise_name("McDonald's") == normalise_name("McDonalds") == "mcdonalds"


def test_whitespace_is_collapsed():
    assert normalise_name("  Acme \t  Widgets\n") == "acme widgets"
    assert normalise_name("Acme\u00a0Widgets") == "acme widgets"  # no-break space


def test_diacritics_are_removed():
    assert normalise_name("Société Générale S.A.") == "societe generale"
    assert normalise_name("Ørsted A/S") == "orsted"
    assert normalise_name("Łódź Tech Sp. z o.o.") == "lodz tech"


def test_german_umlauts_match_both_transliterations():
    assert normalise_name("Müller GmbH") == "muller"
    for other in ("Mueller", "Muller", "MÜLLER AG"):
        result = conflict("Müller GmbH", other)
        assert result.is_conflict, other
        assert fields(result)["name"].score == 100.0, other


def test_cyrillic_is_transliterated():
    assert normalise_name("Газпром") == "gazprom"
    assert conflict("ПАО «Газпром»", "Gazprom PJSC").is_conflict


def test_greek_is_transliterated():
    assert normalise_name("Αθηναϊκή Ζυθοποιία Α.Ε.") == "athinaiki zythopoiia"
    assert conflict("Αθηναϊκή Ζυθοποιία Α.Ε.", "Athinaiki Zythopoiia SA").is_conflict


def test_chinese_is_transliterated():
    assert normalise_name("华为") == "huawei"
    assert conflict("华为", "Huawei").is_conflict


def test_ampersand_and_plus_mean_and():
    assert normalise_name("Johnson & Johnson") == "johnson and johnson"
    assert normalise_name("Johnson+Johnson") == "johnson and johnson"
    assert conflict("Johnson & Johnson", "Johnson and Johnson").is_conflict


@pytest.mark.parametrize(
    "name",
    [
        "Acme Inc.",
        "Acme, Inc",
        "Acme Incorporated",
        "Acme Corp.",
        "Acme Corporation",
        "Acme LLC",
        "Acme L.L.C.",
        "Acme Ltd",
        "Acme Limited",
        "Acme plc",
        "Acme GmbH",
        "Acme GmbH & Co. KG",
        "Acme Aktiengesellschaft",
        "Acme AG",
        "Acme S.A.",
        "Acme SA",
        "Acme S.A. de C.V.",
        "Acme SAS",
        "Acme SARL",
        "Acme B.V.",
        "Acme N.V.",
        "Acme S.p.A.",
        "Acme S.r.l.",
        "Acme Oy",
        "Acme Oyj",
        "Acme AB",
        "AB Acme",
        "Acme A/S",
        "Acme ApS",
        "Acme ASA",
        "Acme Pty Ltd",
        "Acme Pte. Ltd.",
        "Acme Sdn. Bhd.",
        "Acme Co., Ltd.",
        "Acme Co.,Ltd",
        "Acme CoLtd",
        "Acme K.K.",
        "Acme Kabushiki Kaisha",
        "Acme Sp. z o.o.",
        "Acme s.r.o.",
        "Acme Ltda.",
        "OOO Acme",
        "PT Acme Tbk",
        "Acme Limted",  # a typo in a long legal form
    ],
)
def test_legal_forms_are_removed(name):
    assert normalise_name(name) == "acme"


def test_a_name_that_is_only_a_legal_form_is_kept():
    assert normalise_name("AG") == "ag"
    assert normalise_name("The Company") == "company"
    assert normalise_name("Inc.") == "inc"


def test_leading_the_is_removed():
    assert normalise_name("The Coca-Cola Company") == "coca cola"


def test_abbreviations_with_dots_become_one_word():
    assert normalise_name("I.B.M.") == normalise_name("I. B. M.") == normalise_name("IBM") == "ibm"
    assert normalise_name("J.P. Morgan") == "jp morgan"


def test_separately_written_initials_stay_apart():
    # "X.Y." is part of the name, "S.p.A." its legal form: not one word "xyspa".
    assert normalise_name("Foo X.Y. S.p.A.") == "foo xy"
    assert normalise_name("Atenix E.E. s.r.l.") == "atenix"  # E.E. is a Greek legal form


def test_name_key_has_no_spaces():
    assert identity("Pay Pal Holdings").name_key == "paypalholdings"
    assert identity("Pay Pal").name_key == identity("PayPal Inc.").name_key == "paypal"


def test_a_name_with_letters_is_never_empty():
    assert identity("!!!").name_norm == ""
    assert identity("3").name_norm == "3"
    assert identity("Corp").name_norm == "corp"


def test_name_trigrams():
    assert name_trigrams("acme") == ["acm", "cme"]
    assert name_trigrams("aaaa") == ["aaa"]
    assert name_trigrams("ab") == []
    assert name_trigrams("ab cd") == ["ab ", "b c", " cd"]


# --- domains, e-mails, countries --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("acme.com", "acme.com"),
        ("https://acme.com", "acme.com"),
        ("http://www.acme.com/", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("https://www.shop.acme.co.uk/x", "acme.co.uk"),
        ("shop.eu.acme.com.au/path?q=1#top", "acme.com.au"),
        ("acme.co.jp", "acme.co.jp"),
        ("http://ACME.COM:8080/Index.html", "acme.com"),
        ("acme.com.", "acme.com"),
        ("jane.doe@mail.acme.de", "acme.de"),
        ("mailto:jane@acme.fr", "acme.fr"),
        ("https://user:secret@acme.io/", "acme.io"),
        ("müller.de", "xn--mller-kva.de"),
        ("xn--mller-kva.de", "xn--mller-kva.de"),
        ("acme.github.io", "acme.github.io"),  # a private suffix: Acme's own site
    ],
)
def test_registrable_domain(value, domain):
    assert registrable_domain(value) == domain


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "acme",
        "not a url",
        "co.uk",
        "localhost",
        "192.168.1.10",
        "http://[::1]/",
        "http://",
        "@",
        "acme..com",
        "-acme.com",
        "http://[bad",
    ],
)
def test_registrable_domain_of_garbage_is_empty(value):
    assert registrable_domain(value) == ""


@pytest.mark.parametrize(
    "domain",
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "yahoo.co.uk",
        "gmx.de",
        "web.de",
        "mail.ru",
        "qq.com",
        "163.com",
        "icloud.com",
        "proton.me",
    ],
)
def test_free_mail_domains_are_ignored(domain):
    assert is_free_mail(domain)
    assert is_free_mail(f"someone@{domain}")
    assert registrable_domain(f"someone@{domain}") == ""
    assert identity("Acme", email=f"someone@{domain}").email_domain == ""
    assert identity("Acme", website=domain).domain == ""


def test_a_free_mail_provider_as_the_customer_keeps_its_domain():
    telstra = identity("Telstra Corporation Ltd", "https://www.telstra.com.au", "jo@telstra.com.au")
    assert (telstra.domain, telstra.email_domain) == ("telstra.com.au", "telstra.com.au")
    assert identity("Acme Plumbing", "telstra.com.au", "jo@telstra.com.au").domain == ""
    assert identity("Acme Plumbing", "telstra.com.au", "jo@telstra.com.au").email_domain == ""
    assert identity("Naver Corp.", "naver.com").domain == "naver.com"


def test_company_domains_are_not_free_mail():
    for domain in ("acme.com", "siemens.de", "acme.co.uk"):
        assert not is_free_mail(domain)


def test_contact_email_domain():
    ident = identity("Acme", email="Jane.Doe@Mail.Acme.co.uk")
    assert ident.email_domain == "acme.co.uk"
    assert identity("Acme", email="not an address").email_domain == ""
    assert identity("Acme", email="acme.com").email_domain == ""  # no "@": not an e-mail


def test_pages_on_platforms_are_not_the_customers_website():
    assert registrable_domain("https://www.linkedin.com/company/acme") == ""
    assert registrable_domain("facebook.com/acme") == ""
    assert registrable_domain("https://sites.google.com/view/acme") == ""
    assert registrable_domain("linkedin.com") == "linkedin.com"  # LinkedIn itself


@pytest.mark.parametrize(
    ("value", "country"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        (" gb ", "GB"),
        ("UK", "GB"),
        ("", ""),
        ("Germany", ""),
        ("D", ""),
        ("1A", ""),
    ],
)
def test_country(value, country):
    assert identity("Acme", country=value).country == country


def test_public_suffix_list_is_the_bundled_snapshot_and_never_fetched(tmp_path):
    """No network: a fresh interpreter with every socket connection refused and an empty
    home (no tldextract cache) still extracts public-suffix aware domains, and writes no
    cache."""
    extract = matching._EXTRACT
    assert extract.suffix_list_urls == ()
    assert extract.fallback_to_snapshot
    script = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError('network access attempted')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from partnerhub.deals import matching\n"
        "assert matching.registrable_domain('https://www.shop.acme.co.uk/x') == 'acme.co.uk'\n"
        "assert matching.registrable_domain('a.b.acme.com.au') == 'acme.com.au'\n"
        "assert matching.is_free_mail('yahoo.co.uk')\n"
        "print('ok')\n"
    )
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": str(SRC),
        "TLDEXTRACT_CACHE": str(tmp_path / "tldextract"),
    }
    env.pop("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", None)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert not any(tmp_path.iterdir()), list(tmp_path.rglob("*"))


# --- the conflict decision --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme Corp", "ACME Corporation"),
        ("Müller GmbH", "Mueller"),
        ("Müller GmbH", "Muller"),
        ("Johnson & Johnson", "Johnson and Johnson"),
        ("Société Générale S.A.", "Societe Generale"),
        ("International Business Machines Corp.", "International Business Machines"),
        ("Siemens", "Siemns"),
        ("Deloitte Touche Tohmatsu", "Touche Tohmatsu Deloitte"),
        ("I.B.M.", "IBM"),
        ("Pay Pal", "PayPal"),
        ("The Coca-Cola Company", "Coca Cola"),
        ("Hewlett-Packard", "HewlettPackard Company"),
        ("Deutsche Telekom AG", "Deutsche Telecom"),
        ("Microsoft Corporation", "Mircosoft"),
        ("Acme", "Acme Group Holdings"),
        ("Acme International", "Acme Intl."),
        ("Shenzhen Acme Technology Co., Ltd.", "SHENZHEN ACME TECH CO LTD"),
        ("Shenzhen Acme Technology Co., Ltd.", "Shenzhen Acme Technolgy"),
        ("IBM", "International Business Machines"),
    ],
)
def test_true_duplicates_conflict(a, b):
    result = conflict(a, b)
    assert result.is_conflict, result.as_dict()
    assert result.score >= CONFLICT_THRESHOLD


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme Corp", "Acme Health"),
        ("General Motors", "General Mills"),
        ("Siemens Healthineers", "Siemens Energy"),
        ("Bank of America", "Bank of China"),
        ("Johnson Controls", "Johnson & Johnson"),
        ("Deutsche Bank", "Deutsche Börse"),
        ("Shenzhen Sunway Technology Co., Ltd.", "Shenzhen Sunwin Technology Co., Ltd."),
        ("Acme Systems", "Acme Solutions"),
        ("Global Services Group", "Global Solutions Group"),
        ("Acme", "Acne"),  # no typo tolerance in short words
        ("H3C Technologies", "H4C Technologies"),  # nor in numbers
        ("Delta Air Lines", "Delta Electronics"),
    ],
)
def test_hard_non_duplicates_do_not_conflict(a, b):
    result = conflict(a, b)
    assert not result.is_conflict, result.as_dict()
    assert result.score < CONFLICT_THRESHOLD


def test_same_website_domain_is_a_conflict_whatever_the_names():
    result = conflict(
        "Acme Corp",
        "Roadrunner Logistics",
        a_website="acme.com",
        b_website="https://www.acme.com/contact",
    )
    assert result.is_conflict
    assert fields(result)["domain"].detail == "same website domain acme.com"


def test_same_company_email_domain_is_a_conflict():
    result = conflict("Acme", "ACME Europe", a_email="jane@acme.de", b_email="joe@mail.acme.de")
    assert result.is_conflict
    assert fields(result)["email_domain"].score == 100.0


def test_website_of_one_is_email_domain_of_the_other():
    result = conflict("Acme", "Widgets Unlimited", a_website="acme.com", b_email="jo@acme.com")
    assert result.is_conflict
    assert "domain_vs_email" in fields(result)


def test_multinational_same_domain_in_two_countries_is_a_conflict():
    result = conflict(
        "Acme Inc.",
        "Acme GmbH",
        a_website="acme.com",
        b_website="acme.com",
        a_country="US",
        b_country="DE",
    )
    assert result.is_conflict
    assert fields(result)["country"].score == 0.0


def test_same_name_in_different_countries_is_not_a_conflict():
    result = conflict("Acme Inc.", "Acme GmbH", a_country="US", b_country="DE")
    assert not result.is_conflict
    assert fields(result)["name"].score == 100.0
    assert "different countries US and DE" in fields(result)["country"].detail


def test_empty_fields_are_neither_evidence_for_nor_against():
    bare = conflict("Acme Widgets", "Acme Widget")
    one_sided = conflict(
        "Acme Widgets", "Acme Widget", a_country="DE", a_website="acme.de", a_email="jo@acme.de"
    )
    assert bare.score == one_sided.score
    assert [f.field for f in one_sided.fields] == ["name"]


def test_free_mail_is_no_evidence():
    result = conflict(
        "Acme",
        "Zenith Systems",
        a_email="jo@gmail.com",
        b_email="al@gmail.com",
        a_website="gmail.com",
        b_website="https://gmail.com",
    )
    assert not result.is_conflict
    assert set(fields(result)) == {"name"}


def test_different_websites_weigh_against_a_name_match():
    same = conflict("Acme Widgets", "Acme Widgets Ltd")
    other = conflict(
        "Acme Widgets", "Acme Widgets Ltd", a_website="acme.com", b_website="acmewidgets.com"
    )
    assert other.score < same.score
    assert fields(other)["domain"].score == 0.0


def test_same_web_name_under_another_ending_supports_a_name_match():
    result = conflict("Acme", "Acme Ltd", a_website="acme.com", b_website="acme.co.uk")
    assert result.is_conflict
    assert fields(result)["domain"].score == 80.0


def test_generic_words_weigh_less_than_distinctive_words():
    generic = conflict("Acme", "Acme Holdings")
    distinctive = conflict("Acme", "Acme Health")
    assert generic.is_conflict and not distinctive.is_conflict
    assert generic.score > distinctive.score


# --- explanations -----------------------------------------------------------------------------


def test_explanation_lists_every_contributing_field_with_its_score():
    result = conflict(
        "ACME Corporation",
        "Acme Corp",
        a_website="www.acme.com",
        b_website="acme.com",
        a_country="de",
        b_country="DE",
    )
    data = result.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"score", "is_conflict", "fields"}
    assert data["is_conflict"] is True
    by_field = {f["field"]: f for f in data["fields"]}
    assert set(by_field) == {"domain", "name", "country"}
    assert by_field["name"] == {
        "field": "name",
        "score": 100.0,
        "detail": 'names "acme" and "acme" are identical after normalisation',
    }
    assert by_field["domain"]["score"] == 100.0
    assert by_field["country"]["detail"] == "both in DE"
    for f in data["fields"]:
        assert 0.0 <= f["score"] <= 100.0
        assert f["detail"]


def test_explanation_names_the_unmatched_and_the_typos():
    detail = fields(conflict("Acme Corp", "Acme Health"))["name"].detail
    assert 'no counterpart for "health"' in detail
    detail = fields(conflict("Siemens", "Siemns"))["name"].detail
    assert 'typo ("siemens"~"siemns")' in detail
    detail = fields(conflict("Acme Systems", "Acme Solutions"))["name"].detail
    assert "different generic words" in detail


def test_identities_from_stored_fields_compare_like_fresh_ones():
    fresh = identity("Müller GmbH", "mueller.de", "", "de")
    stored = OrgIdentity(
        name=fresh.name,
        name_norm=fresh.name_norm,
        name_key=fresh.name_key,
        domain=fresh.domain,
        email_domain=fresh.email_domain,
        country=fresh.country,
    )
    other = identity("Mueller AG")
    assert compare(stored, other) == compare(fresh, other)


# --- properties -------------------------------------------------------------------------------

_LEGAL = ["Inc.", "GmbH", "S.A.", "Co., Ltd.", "AG", "LLC", "B.V.", ""]
_names = st.builds(
    lambda words, legal: f"{words} {legal}".strip(),
    st.text(
        alphabet=st.characters(
            categories=("L", "N", "Zs", "P"),
            include_characters="&+'-./ ",
            exclude_characters="\x00",
        ),
        max_size=40,
    ),
    st.sampled_from(_LEGAL),
)
_slow = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_slow
@given(_names)
def test_normalise_name_is_idempotent(name):
    once = normalise_name(name)
    assert normalise_name(once) == once
    assert once == " ".join(once.split())
    assert once.isascii()


@_slow
@given(_names)
def test_a_name_with_letters_or_digits_never_normalises_to_nothing(name):
    if any(c.isalnum() for c in name):
        assert normalise_name(name)
        assert identity(name).name_key


@_slow
@given(
    _names,
    _names,
    st.sampled_from(["", "acme.com", "https://www.acme.co.uk", "gmail.com"]),
    st.sampled_from(["", "jo@acme.com", "al@gmail.com"]),
    st.sampled_from(["", "DE", "US"]),
    st.sampled_from(["", "DE", "US"]),
)
def test_compare_is_symmetric(a, b, website, email, country_a, country_b):
    x = identity(a, website, "", country_a)
    y = identity(b, "", email, country_b)
    xy, yx = compare(x, y), compare(y, x)
    assert xy.score == yx.score
    assert xy.is_conflict == yx.is_conflict
    assert {f.field for f in xy.fields} == {f.field for f in yx.fields}
    assert 0.0 <= xy.score <= 100.0


@_slow
@given(
    _names,
    st.sampled_from(["", "acme.com", "https://www.acme.co.uk", "gmail.com"]),
    st.sampled_from(["", "jo@acme.com", "al@gmail.com"]),
    st.sampled_from(["", "DE", "US"]),
)
def test_the_same_record_always_conflicts_with_itself(name, website, email, country):
    if any(c.isalnum() for c in name):
        ident = identity(name, website, email, country)
        result = compare(ident, identity(name, website, email, country))
        assert result.is_conflict
        assert fields(result)["name"].score == 100.0
