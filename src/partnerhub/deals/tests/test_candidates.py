"""Conflict candidates (``partnerhub.deals.candidates``): exact keys, trigram similarity, only
active registrations, the index kept right on every write path, and the plans using it.

Runs on SQLite (FTS5 trigram table + triggers) and on PostgreSQL (pg_trgm GIN index):
``scripts/with-postgres.sh .venv/bin/pytest src/partnerhub/deals/tests/test_candidates.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from partnerhub.deals import candidates as cand
from partnerhub.deals.matching import OrgIdentity, identity
from partnerhub.deals.models import ACTIVE_STATUSES, DealRegistration, DealStatus

pytestmark = pytest.mark.django_db

INACTIVE = [s for s in DealStatus.values if s not in ACTIVE_STATUSES]


@pytest.fixture(autouse=True)
def fresh_statistics():
    cand.reset_statistics()
    yield
    cand.reset_statistics()


@pytest.fixture
def make(world, ev_program):
    """Create a registration directly (no services): make("Acme GmbH", status=..., ...)."""

    def create(
        name: str,
        *,
        status: str = DealStatus.SUBMITTED,
        website: str = "",
        email: str = "",
        country: str = "DE",
        partner=None,
    ) -> DealRegistration:
        ident = identity(name, website, email, country)
        return DealRegistration.objects.create(
            partner=partner or world.partner_a,
            program=ev_program,
            customer_name=name,
            customer_website=website,
            customer_country=country,
            contact_email=email,
            name_norm=ident.name_norm,
            name_key=ident.name_key,
            domain_key=ident.domain,
            email_domain_key=ident.email_domain,
            estimated_value_minor=1_000_00,
            currency="EUR",
            expected_close_date=dt.date.today() + dt.timedelta(days=60),
            source="partner_sourced",
            status=status,
            submitted_at=None if status == DealStatus.DRAFT else timezone.now(),
        )

    return create


@pytest.fixture
def others(make):
    """Unrelated active customers around the ones a test creates."""
    return [
        make(name)
        for name in (
            "Zebra Foods Ltd",
            "Northwind Traders",
            "Contoso Pharmaceuticals",
            "Globex Corporation",
            "Initech Software",
            "Umbrella Medical",
            "Stark Industries",
            "Wayne Enterprises",
        )
    ]


def ids(name: str, website: str = "", email: str = "", country: str = "DE", **kwargs):
    return cand.candidate_ids(identity(name, website, email, country), **kwargs)


def fts_rows() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rowid, name FROM {cand.FTS_TABLE}")
        return dict(cursor.fetchall())


sqlite_only = pytest.mark.skipif(
    "connection.vendor != 'sqlite'", reason="the FTS5 table exists on SQLite only"
)
postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="pg_trgm exists on PostgreSQL only"
)


# --- what is found ----------------------------------------------------------------------------


def test_exact_name_key(make, others):
    paypal = make("Pay Pal Inc.")
    assert ids("PayPal")[0] == paypal.pk  # "paypal" = "paypal", spaces aside


def test_exact_name_key_even_when_trigrams_differ_a_lot(make, others):
    # "i b m" and "ibm" share a key but hardly a trigram.
    ibm = make("I.B.M. GmbH")
    assert ibm.name_key == "ibm"
    assert ids("IBM") == [ibm.pk]


def test_website_domain(make, others):
    acme = make("Totally Different Name Ltd", website="https://www.acme-widgets.com")
    assert ids("Whatever Corp", website="acme-widgets.com") == [acme.pk]


def test_email_domain(make, others):
    acme = make("Other Spelling AG", email="jana@acme-widgets.com")
    assert ids("Something Else", email="max@acme-widgets.com") == [acme.pk]


def test_website_of_one_is_email_domain_of_the_other(make, others):
    acme = make("Brand Name", website="acme-widgets.com")
    assert ids("Legal Name", email="max@acme-widgets.com") == [acme.pk]


def test_free_mail_is_no_key(make, others):
    make("Someone Else", email="a@gmail.com")
    assert ids("Another One", email="b@gmail.com") == []


def test_typo(make, others):
    siemens = make("Siemens Healthineers AG")
    assert ids("Siemans Healthineers")[0] == siemens.pk
    assert ids("Siemens Helthineers")[0] == siemens.pk


def test_word_order(make, others):
    acme = make("Acme Widget Logistics GmbH")
    assert ids("Logistics Acme Widget")[0] == acme.pk


def test_word_missing_or_added(make, others):
    acme = make("Acme Widget Logistics GmbH")
    assert acme.pk in ids("Acme Logistics")
    assert acme.pk in ids("Acme Widget Logistics Group")


def test_unrelated_names_are_not_candidates(make, others):
    make("Acme Widget Logistics GmbH")
    assert ids("Zzyzx Quartz") == []
    found = ids("Acme Widget Logistics")
    assert {o.pk for o in others}.isdisjoint(found)


def test_order_exact_keys_then_similarity_then_oldest(make, others):
    typo = make("Acme Widgetz Logistics")
    exact_late = make("Acme Widget Logistics")
    exact_early_same_domain = make("Acme-Widget Logistics Ltd", website="acmewidget.com")
    exact_same = make("Acme Widget Logistics")
    found = ids("Acme Widget Logistics", website="acmewidget.com")
    # 2 keys shared, then 1 key (same similarity: older first), then the typo.
    assert found == [exact_early_same_domain.pk, exact_late.pk, exact_same.pk, typo.pk]


def test_candidates_queryset_keeps_the_order(make, others):
    a = make("Acme Widgetz Logistics")
    b = make("Acme Widget Logistics")
    rows = list(cand.candidates(identity("Acme Widget Logistics")).select_related("partner"))
    assert [r.pk for r in rows] == [b.pk, a.pk]
    assert cand.candidates(identity("Zzyzx Quartz")).count() == 0


def test_identity_built_by_hand(make, others):
    acme = make("Acme Widget Logistics", website="acme-widgets.com")
    ident = OrgIdentity(
        name="ACME widget logistix",
        name_norm="acme widget logistix",
        name_key="acmewidgetlogistix",
        domain="",
        email_domain="",
        country="DE",
    )
    assert cand.candidate_ids(ident) == [acme.pk]


def test_empty_identity(make, others):
    ident = OrgIdentity(name="", name_norm="", name_key="", domain="", email_domain="", country="")
    assert cand.candidate_ids(ident) == []
    assert cand.candidate_ids(identity("Acme"), limit=0) == []


# --- active registrations only ----------------------------------------------------------------


def test_inactive_registrations_are_never_candidates(make, others):
    for status in INACTIVE:
        make(
            "Acme Widget Logistics",
            status=status,
            website="acme-widgets.com",
            email="a@acme-widgets.com",
        )
    active = [make("Acme Widget Logistics", status=s) for s in ACTIVE_STATUSES]
    for query in (
        identity("Acme Widget Logistics", "acme-widgets.com", "b@acme-widgets.com", "DE"),
        identity("Acme Widgett Logistics"),
    ):
        assert cand.candidate_ids(query) == [r.pk for r in active]  # same keys: oldest first
    assert cand.candidate_ids(identity("Other", "acme-widgets.com", "b@acme-widgets.com")) == []
    if connection.vendor == "sqlite":
        assert set(fts_rows()) == {r.pk for r in [*active, *others]}


def test_status_change_removes_and_restores(make, others):
    reg = make("Acme Widget Logistics")
    assert ids("Acme Widgett Logistics") == [reg.pk]

    reg.status = DealStatus.EXPIRED  # ORM save
    reg.save()
    assert ids("Acme Widgett Logistics") == []
    assert ids("Acme Widget Logistics") == []

    DealRegistration.objects.filter(pk=reg.pk).update(status=DealStatus.APPROVED)  # bulk update
    assert ids("Acme Widgett Logistics") == [reg.pk]

    DealRegistration.objects.filter(pk=reg.pk).update(status=DealStatus.WON)
    assert ids("Acme Widgett Logistics") == []

    DealRegistration.objects.filter(pk=reg.pk).update(status=DealStatus.SUBMITTED)
    DealRegistration.objects.filter(pk=reg.pk).update(status=DealStatus.APPROVED)  # active->active
    assert ids("Acme Widgett Logistics") == [reg.pk]
    if connection.vendor == "sqlite":
        assert fts_rows()[reg.pk] == " acme widget logistics "


def test_draft_submitted_later(make, others):
    reg = make("Acme Widget Logistics", status=DealStatus.DRAFT)
    assert ids("Acme Widget Logistics") == []
    reg.status, reg.submitted_at = DealStatus.SUBMITTED, timezone.now()
    reg.save()
    assert ids("Acme Widget Logistics") == [reg.pk]


def test_renamed_registration(make, others):
    reg = make("Acme Widget Logistics")
    new = identity("Brightfield Solar Parks")
    reg.customer_name, reg.name_norm, reg.name_key = new.name, new.name_norm, new.name_key
    reg.save()
    assert ids("Acme Widgett Logistics") == []
    assert ids("Brightfeld Solar Parks") == [reg.pk]


def test_unrelated_saves_of_active_rows_keep_the_index(make, others):
    reg = make("Acme Widget Logistics")
    reg.notes = "called the customer"
    reg.flagged = True
    reg.save()
    assert ids("Acme Widgett Logistics") == [reg.pk]


def test_delete_removes_from_the_index(make, others):
    reg = make("Acme Widget Logistics")
    pk = reg.pk
    reg.delete()
    assert ids("Acme Widget Logistics") == []
    assert ids("Acme Widgett Logistics") == []
    if connection.vendor == "sqlite":
        assert pk not in fts_rows()
    DealRegistration.objects.all().delete()  # the queryset path (what a test flush does)
    assert ids("Zebra Foods") == []
    if connection.vendor == "sqlite":
        assert fts_rows() == {}


def test_bulk_create(make, world, ev_program):
    template = make("Template Customer")
    rows = []
    for i, name in enumerate(["Acme Widget Logistics", "Brightfield Solar", "Cobalt Mining"]):
        ident = identity(name)
        rows.append(
            DealRegistration(
                partner=template.partner,
                program=template.program,
                customer_name=name,
                customer_country="DE",
                name_norm=ident.name_norm,
                name_key=ident.name_key,
                estimated_value_minor=100,
                currency="EUR",
                expected_close_date=template.expected_close_date,
                source="referral",
                status=DealStatus.APPROVED if i < 2 else DealStatus.REJECTED,
                submitted_at=timezone.now(),
            )
        )
    created = DealRegistration.objects.bulk_create(rows)
    assert ids("Acme Widgett Logistics") == [created[0].pk]
    assert ids("Brightfeld Solar") == [created[1].pk]
    assert ids("Cobalt Mining") == []


def test_raw_insert(make):
    template = make("Template Customer")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {cand.TABLE} (created_at, updated_at, partner_id, program_id, "
            "customer_name, customer_website, customer_country, customer_address, contact_name, "
            "contact_email, name_norm, name_key, domain_key, email_domain_key, "
            "estimated_value_minor, currency, expected_close_date, source, notes, status, "
            "submitted_at, flagged, decision_reason, override_reason, close_reason) VALUES "
            "(%s, %s, %s, %s, 'Raw Load', '', 'DE', '', '', '', 'raw load', 'rawload', '', '', "
            "100, 'EUR', %s, 'referral', '', 'approved', %s, %s, '', '', '')",
            [
                timezone.now(),
                timezone.now(),
                template.partner_id,
                template.program_id,
                template.expected_close_date,
                timezone.now(),
                False,
            ],
        )
    raw = DealRegistration.objects.get(name_key="rawload")
    assert ids("Raw Laod") == [raw.pk]


# --- exclude_id and limit ---------------------------------------------------------------------


def test_exclude_id(make, others):
    first = make("Acme Widget Logistics")
    second = make("Acme Widget Logistics", website="acme-widgets.com")
    query = identity("Acme Widget Logistics", "acme-widgets.com")
    assert cand.candidate_ids(query) == [second.pk, first.pk]
    assert cand.candidate_ids(query, exclude_id=second.pk) == [first.pk]
    assert cand.candidate_ids(query, exclude_id=first.pk) == [second.pk]
    assert cand.candidate_ids(identity("Acme Widgett Logistics"), exclude_id=first.pk) == [
        second.pk
    ]


def test_limit(make, others):
    same = [make("Acme Widget Logistics") for _ in range(4)]
    similar = [make(f"Acme Widget Logistics {n}") for n in ("North", "South", "East", "West")]
    everything = ids("Acme Widget Logistics")
    assert set(everything) == {r.pk for r in same + similar}
    assert everything[:4] == [r.pk for r in same]  # exact key first, oldest first
    assert ids("Acme Widget Logistics", limit=3) == [r.pk for r in same[:3]]
    assert len(ids("Acme Widget Logistics", limit=6)) == 6
    assert ids("Acme Widgett Logistics", limit=1) == [same[0].pk]


# --- when the budget leaves common trigrams out -----------------------------------------------


@pytest.fixture
def small_budget(monkeypatch):
    for name in ("SQLITE_POSTINGS", "SQLITE_POSTINGS_HARD", "PG_POSTINGS", "PG_POSTINGS_HARD"):
        monkeypatch.setattr(cand, name, 3)
    monkeypatch.setattr(cand, "SQLITE_MIN_TERMS", 1)
    monkeypatch.setattr(cand, "PG_MIN_TERMS", 1)


@pytest.mark.parametrize("long_name_mode", [False, True])
def test_rare_trigrams_still_find_typos(make, small_budget, monkeypatch, long_name_mode):
    if long_name_mode:  # PostgreSQL: regex guard alone, similarity() as a filter
        monkeypatch.setattr(cand, "PG_PERCENT_POSTINGS", 0)
        monkeypatch.setattr(cand, "PG_LONG_POSTINGS", 3)
        monkeypatch.setattr(cand, "PG_LONG_POSTINGS_HARD", 3)
    words = ("Trine", "Volta", "Brisk", "Quill", "Mango", "Pluto")
    commons = [make(f"{w} Electric") for w in words]
    for w in ("Trine", "Volta", "Brisk"):
        make(f"{w} Electric", status=DealStatus.LOST)
    if connection.vendor == "postgresql":
        sql, _ = cand._postgres_sql(connection, cand._Query.of(identity("Trie Electric"), None, 50))
        assert "name_norm ~ " in sql
        assert ("AS sim" in sql) == long_name_mode
    assert ids("Trie Electric")[0] == commons[0].pk
    assert ids("Electric Quil")[0] == commons[3].pk
    assert ids("Mangoo Electric")[0] == commons[4].pk


def test_a_typo_in_the_rarest_word_does_not_take_every_chosen_trigram():
    # "cloments": its typo trigrams ("clo", "lom", "ome") are the rarest; one of them alone
    # must not use up the budget, a trigram a few letters away is taken too.
    df = {"clo": 0.0, "lom": 0.0, "ome": 900.0, "men": 1200.0, "ent": 1500.0, "nts": 2000.0}
    df |= dict.fromkeys(("dis", "ist", "str", "tri", "rib", "ibu", "but", "uti", "tio"), 5000.0)
    usable = list(df)
    plain = cand._choose(usable, lambda t: df.get(t, 0.0), 1000, 1500, 3)
    spread = cand._choose_spread(
        "cloments distribution", usable, lambda t: df.get(t, 0.0), 1000, 3000, 3
    )
    assert plain == ["clo", "lom", "ome"]  # all three spoilt by the typo
    # "men" and "ent" overlap "ome" (one typo spoils all three): skipped; "nts" does not
    assert spread == ["clo", "lom", "ome", "nts"]


def test_shortest_similar_never_drops_a_similar_name():
    import random

    rng = random.Random(5)
    words = ["ab", "acme", "co", "energy", "x", "a", "solar", "k9", "power", "ltd", "aa", "aaaa"]
    for _ in range(3000):
        a = " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
        b = " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
        if cand.name_similarity(a, b) >= cand.SIMILARITY_THRESHOLD:
            assert len(b) >= cand._shortest_similar(a), (a, b)
    assert cand._shortest_similar("dongguan qisheng electronics industrial co ltd") > 10


@postgres_only
def test_postgres_lookup_sets_its_own_similarity_threshold(make, others):
    # The statement sets pg_trgm's threshold itself, before the index is read: a stricter
    # session setting must not hide a typo (similarity about 0.6).
    acme = make("Acme Widget Logistics")
    with connection.cursor() as cursor:
        cursor.execute("SET pg_trgm.similarity_threshold = 0.95")
    try:
        query = cand._Query.of(identity("Acme Widgett Logistik"), None, 50)
        sql, _ = cand._postgres_sql(connection, query)
        assert "name_norm %% %s" in sql  # the pg_trgm % path, which reads the setting
        assert ids("Acme Widgett Logistik") == [acme.pk]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET pg_trgm.similarity_threshold")


@postgres_only
def test_postgres_long_name_path_finds_typos(make, others, small_budget, monkeypatch):
    monkeypatch.setattr(cand, "PG_PERCENT_POSTINGS", 0)  # the regex-only path
    monkeypatch.setattr(cand, "PG_LONG_POSTINGS", 3)
    monkeypatch.setattr(cand, "PG_LONG_POSTINGS_HARD", 3)
    acme = make("Acme Widget Logistics International Holding")
    make("Acme", status=DealStatus.SUBMITTED)  # too short to be similar: dropped by length
    query = cand._Query.of(identity("Acme Widgett Logistics International Holding"), None, 50)
    sql, _ = cand._postgres_sql(connection, query)
    assert "length(name_norm) >= " in sql
    assert ids("Acme Widgett Logistics International Holding") == [acme.pk]


def test_trigram_similarity_matches_pg_trgm_definition():
    assert cand.trigrams("ab c") == ["  a", " ab", "ab ", "  c", " c "]
    assert cand.name_similarity("acme", "acme") == 1.0
    assert cand.name_similarity("acme widget", "widget acme") == 1.0
    assert cand.name_similarity("abc", "xyz") == 0.0


@postgres_only
def test_trigrams_and_similarity_equal_pg_trgm():
    names = ["acme widget logistics", "siemans healthineers", "a b c 3m", "x", "l oreal"]
    with connection.cursor() as cursor:
        for a in names:
            cursor.execute("SELECT show_trgm(%s)", [a])
            assert sorted(cursor.fetchone()[0]) == sorted(cand.trigrams(a))
            for b in names:
                cursor.execute("SELECT similarity(%s, %s)", [a, b])
                assert cand.name_similarity(a, b) == pytest.approx(cursor.fetchone()[0], abs=1e-6)


# --- the indexes are there and used -----------------------------------------------------------


def test_all_index_objects_exist():
    assert cand.missing_objects() == []


def _many_postgres(template: DealRegistration, n: int) -> None:
    """n registrations (30 % active) with made-up names ("3f9c1a2b solar"), in one INSERT."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {cand.TABLE} (created_at, updated_at, partner_id, program_id, "
            "customer_name, customer_website, customer_country, customer_address, contact_name, "
            "contact_email, name_norm, name_key, domain_key, email_domain_key, "
            "estimated_value_minor, currency, expected_close_date, source, notes, status, "
            "submitted_at, flagged, decision_reason, override_reason, close_reason) "
            "SELECT now(), now(), %s, %s, n, '', 'DE', '', '', '', n, replace(n, ' ', ''), '', '', "
            "100, 'EUR', %s, 'referral', '', "
            "CASE WHEN g %% 10 < 3 THEN 'approved' ELSE 'lost' END, now(), false, '', '', '' "
            "FROM (SELECT g, substr(md5(g::text), 1, 8) || ' ' || (ARRAY['energy', 'solar', "
            "'logistics', 'systems', 'charging', 'group', 'foods', 'retail'])[1 + g %% 8] AS n "
            "FROM generate_series(1, %s) AS g) AS s",
            [template.partner_id, template.program_id, template.expected_close_date, n],
        )
        cursor.execute(f"ANALYZE {cand.TABLE}")


@postgres_only
def test_postgres_plan_uses_the_trigram_and_key_indexes(make, others, small_budget):
    acme = make("Acme Widget Logistics", website="acme-widgets.com")
    _many_postgres(acme, 20_000)
    query = identity("Acme Widgett Logistics", "acme-widgets.com")
    plan = cand.explain(query)
    assert f"Bitmap Index Scan on {cand.PG_TRGM_INDEX}" in plan, plan
    assert "(name_norm)::text ~ " in plan  # the rare-trigram guard, in the same index scan
    for column in ("name_key", "domain_key", "email_domain_key"):  # each from an index
        assert f"Index Cond: (({column})::text = " in plan, plan
    assert "Seq Scan" not in plan, plan
    assert cand.candidate_ids(query) == [acme.pk]


@sqlite_only
def test_sqlite_plan_uses_the_fts_table_and_key_indexes(make, others):
    make("Acme Widget Logistics", website="acme-widgets.com")
    plan = cand.explain(identity("Acme Widgett Logistics", "acme-widgets.com"))
    assert f"{cand.FTS_TABLE} VIRTUAL TABLE INDEX" in plan
    assert "SCAN deals_dealregistration " not in plan + " "  # never a scan of the table
    for index in cand.EXACT_INDEXES:
        assert f"USING INDEX {index}" in plan
    assert "SEARCH d USING INTEGER PRIMARY KEY" in plan
