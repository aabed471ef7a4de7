"""Conflict candidates: the active registrations that *may* name the same customer as a new
one, found through indexes only (never a scan of every registration). The caller scores them
with :func:`partnerhub.deals.matching.compare` and keeps the conflicts.

    candidate_ids(ident, exclude_id=None, limit=50) -> [registration id, ...]   best first
    candidates(ident, exclude_id=None, limit=50)    -> QuerySet of those rows, same order

What is a candidate
===================
An *active* registration (status submitted or approved) that

1. has the same ``name_key`` (normalised name without spaces: "Pay Pal" = "PayPal");
2. has one of the identity's domains (website or company e-mail domain) as its website domain
   or its e-mail domain: ``matching.compare`` calls "same website", "same e-mail domain" and "the
   website of one is the e-mail domain of the other" a conflict, so all four pairings are
   looked up; or
3. is among the most trigram-similar names: pg_trgm's similarity (shared trigrams of the
   padded words / all distinct trigrams of both) of at least :data:`SIMILARITY_THRESHOLD`
   (0.3, pg_trgm's default), which still finds one or two typos ("siemans"), words in another
   order ("widgets acme"), a word missing or added.

Order: most exact keys shared first (name, website domain, e-mail domain), then the higher
trigram similarity, then the older registration (lower id: earlier submissions have
priority). At most ``limit`` ids; each exact key contributes its ``limit`` oldest rows, so
only a customer with more than ``limit`` active registrations is cut. The order is computed in
Python from the fetched rows, so it is the same on both databases.

The indexes (migration ``0002_candidate_index``)
================================================
Exact keys, both databases: partial B-tree indexes on ``(name_key, id)``, ``(domain_key, id)``
and ``(email_domain_key, id)`` holding active registrations only (and non-empty domains).

**PostgreSQL**: ``deal_active_name_trgm``, a partial GIN index ``USING gin (name_norm
gin_trgm_ops) WITH (fastupdate = off) WHERE status IN ('submitted', 'approved')``. The
migration runs ``CREATE EXTENSION IF NOT EXISTS pg_trgm``: in production a superuser must have
created the extension once (or the migrating role must be allowed to), the test and benchmark
clusters run as superuser. ``fastupdate = off`` keeps lookups predictable (no pending list to
scan after many inserts); deal registrations are written rarely, so the dearer insert does not
matter.

**SQLite** (needs 3.34+ built with FTS5; Python's sqlite3 here has 3.40):
``deals_dealregistration_trgm``, an FTS5 table with ``tokenize='trigram'`` (``detail=none``,
``columnsize=0``: only which rows hold a trigram is stored) whose rowid is the registration id
and whose text is ``' ' || name_norm || ' '`` (the padding gives the first and last word their
word-start / word-end trigrams, as pg_trgm has them), for active registrations only. SQL
triggers on ``deals_dealregistration`` keep it exact on every write path (ORM save, update(),
bulk_create, raw INSERTs of a bulk load, and the DELETEs of Django's test flush): insert of an
active row, update of status / name_norm / id (only when activeness or the name changes),
delete (always). ``deals_dealregistration_trgm_vocab`` (fts5vocab) gives each trigram's
document frequency.

Caution: Django re-creates a SQLite table for many ``AlterField``/``AddField`` operations and
then loses the triggers and raw indexes; :func:`missing_objects` (checked by the tests) lists
what is gone, and such a migration must run 0002's forward step again.

How the trigram part stays fast
===============================
A query's rare trigrams locate its typos and distinctive words; its common ones ("ion",
"ter", " gr") are shared by tens of thousands of names and would make every lookup read (or
recheck) all of them. Both backends therefore pick the query's trigrams in order of document
frequency (rarest first) until a budget of postings is used up, and only registrations holding
at least one of those are considered:

- **SQLite**: one ``SELECT rowid ... MATCH '"abc"'`` per chosen trigram, UNION ALL, grouped by
  rowid and ranked by the sum of the matched trigrams' weights (ln(1 + N/df), an IDF: the
  "min-should-match" of a search engine); the best ``2 * limit`` are then ranked by the exact
  similarity (computed here) and those below the threshold dropped. Budget
  :data:`SQLITE_POSTINGS` (reading postings costs ~0.05 µs each, the GROUP BY ~0.3 µs).
  Document frequencies come from the fts5vocab table, per trigram, cached per process.
  (1M registrations, idle 2-core machine, 2026-11-23: candidate_ids p99 9 ms, whole
  check p99 13 ms, recall 0.965.)
- **PostgreSQL**: GIN cannot rank (pg_trgm has no document frequencies and rechecks every row
  it returns against the heap: ~5-10 us a row, similarity computed twice), and a bare
  ``name_norm % 'trie electric'`` returns every "... electric" (10,000 rows, 60+ ms on 1M
  registrations). So the query is ``name_norm % q AND name_norm ~ 'rie|(^| )tr|...'``: the
  chosen rare trigrams as a regular expression, which pg_trgm answers from the same GIN index
  in the same index scan (budget :data:`PG_POSTINGS`, at most :data:`PG_RECHECK_CAP` rows
  ranked by ``similarity()``). Word-end trigrams are never chosen: pg_trgm cannot use
  ``ie( |$)`` from the index. For a long name or common words (the trigrams' postings above
  :data:`PG_PERCENT_POSTINGS`) reading every posting list for ``%`` costs more than it saves:
  the scan uses the rare trigrams alone (budget :data:`PG_LONG_POSTINGS`) and ``similarity()``
  filters; names too short to reach the threshold (:func:`_shortest_similar`) are dropped by
  their length before ``similarity()``, which is most of a row's cost. (1M registrations,
  idle 2-core machine, 2026-11-23: candidate_ids p99 16 ms, whole check p99 19 ms, recall
  0.906; ``PG_PERCENT_POSTINGS =
  300_000`` and ``PG_LONG_POSTINGS = 1_000`` give recall 0.945 at p99 29 ms.) The trigrams
  are chosen rarest first, but a trigram counts towards :data:`PG_MIN_TERMS` only if some
  registration has it and no single typo can spoil it together with one already counted
  (:func:`_choose_spread`): the rarest trigrams of a query are often its own typo's, and
  before, they could use the whole budget. Document frequencies are estimated from a
  ``TABLESAMPLE SYSTEM ... REPEATABLE (0)`` of about 20,000 registrations (exact on smaller
  tables; repeatable, so the same table gives the same choices), cached per process.
  PostgreSQL's budget is ~10x smaller than SQLite's (rows cost ~100x more than postings), so
  its recall is a little lower; raising ``PG_POSTINGS`` trades latency for recall (see the
  benchmark).

  One statement, one round trip: ``%`` reads its threshold from the setting
  ``pg_trgm.similarity_threshold``, which the statement sets itself (``set_config(..., true)``
  in a ``MATERIALIZED`` CTE that the lookup joins ``LATERAL``, so it runs before the index
  scan starts); no BEGIN / SET / COMMIT round trips around it. The plans cost ~200, far
  below ``jit_above_cost`` (100,000): JIT never compiles them.

When every usable trigram fits the budget (small databases, distinctive names) nothing is
left out: every registration sharing a trigram with the query is considered (on PostgreSQL,
pg_trgm's plain ``%`` search). Otherwise a name sharing only common
trigrams with the query can be missed; the exact keys still find it when name, website or
e-mail domain agree. ``benchmarks/deal_conflicts.py`` measures the recall and the latency on
1,000,000 registrations.

Cached statistics are refreshed every :data:`STATS_TTL_SECONDS`; stale ones only change which
trigrams are read first (and so cost or recall a little), never a result's correctness: a
trigram whose frequency is not known counts as rare.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router
from django.db.models import Case, IntegerField, QuerySet, Value, When

from partnerhub.deals.models import ACTIVE_STATUSES, DealRegistration

__all__ = [
    "SIMILARITY_THRESHOLD",
    "candidate_ids",
    "candidates",
    "explain",
    "missing_objects",
    "name_similarity",
    "trigrams",
]

SIMILARITY_THRESHOLD = 0.3

# The statuses the partial indexes, the FTS table and its triggers hold (0002_candidate_index).
# They must be ACTIVE_STATUSES: changing those needs a migration that re-creates the indexes.
INDEXED_STATUSES = ("submitted", "approved")
assert set(ACTIVE_STATUSES) == set(INDEXED_STATUSES), "re-create the candidate indexes"
_ACTIVE = "status IN ('submitted', 'approved')"

TABLE = DealRegistration._meta.db_table
FTS_TABLE = "deals_dealregistration_trgm"
FTS_VOCAB = "deals_dealregistration_trgm_vocab"
FTS_TRIGGERS = (
    "deals_dealregistration_trgm_ai",
    "deals_dealregistration_trgm_au",
    "deals_dealregistration_trgm_ad",
)
PG_TRGM_INDEX = "deal_active_name_trgm"
EXACT_INDEXES = ("deal_active_name_key", "deal_active_domain_key", "deal_active_email_domain_key")

# Tuning, measured with benchmarks/deal_conflicts.py on 1M registrations (300k active).
SQLITE_POSTINGS = 20_000  # postings read per query (rarest trigrams first) ...
SQLITE_POSTINGS_HARD = 40_000  # ... exceeded only to reach SQLITE_MIN_TERMS trigrams
SQLITE_MIN_TERMS = 4
SQLITE_FETCH = 2.0  # rows taken from the FTS ranking, times ``limit``
PG_POSTINGS = 2_000
PG_POSTINGS_HARD = 3_000
PG_MIN_TERMS = 3
PG_RECHECK_CAP = 1_500  # rows passing the index that are ranked by similarity()
PG_PERCENT_POSTINGS = 150_000  # above: looked up by its rare trigrams alone, no % in the scan
PG_LONG_POSTINGS = 1_500
PG_LONG_POSTINGS_HARD = 2_000
PG_SAMPLE_ROWS = 20_000  # registrations read (TABLESAMPLE) to estimate trigram frequencies
MAX_TERMS = 64  # of a very long name, the rarest
STATS_TTL_SECONDS = 900.0

_COLUMNS = "id, name_norm, name_key, domain_key, email_domain_key"
_WORD = re.compile(r"[^\W_]+")
_PLAIN = re.compile(r"[a-z0-9 ]{3}")


# --- trigrams ---------------------------------------------------------------------------------


def trigrams(name_norm: str) -> list[str]:
    """pg_trgm's trigrams of a name, in order of first appearance: every word (run of letters
    and digits, lower-cased) padded with two spaces before and one after, cut in threes
    ("ab c" -> "  a", " ab", "ab ", "  c", " c ")."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(name_norm.lower()):
        padded = f"  {word} "
        for i in range(len(padded) - 2):
            seen.setdefault(padded[i : i + 3], None)
    return list(seen)


def _trigram_set(name_norm: str) -> set[str]:
    out: set[str] = set()
    for word in _WORD.findall(name_norm.lower()):
        padded = f"  {word} "
        out.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return out


def name_similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity(a, b)``: shared trigrams / distinct trigrams of both."""
    return _similarity(_trigram_set(a), b)


def _similarity(query: set[str], other: str) -> float:
    theirs = _trigram_set(other)
    union = len(query | theirs)
    return len(query & theirs) / union if union else 0.0


# --- the query --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    name_norm: str
    name_key: str
    domains: tuple[str, ...]  # the identity's website and e-mail domain, distinct, non-empty
    exclude_id: int | None
    limit: int

    @classmethod
    def of(cls, ident: Any, exclude_id: int | None, limit: int) -> _Query:
        domains = []
        for d in (getattr(ident, "domain", ""), getattr(ident, "email_domain", "")):
            d = (d or "").strip().lower()
            if d and d not in domains:
                domains.append(d)
        return cls(
            name_norm=" ".join((getattr(ident, "name_norm", "") or "").split())[:400],
            name_key=(getattr(ident, "name_key", "") or "")[:400],
            domains=tuple(domains),
            exclude_id=exclude_id,
            limit=limit,
        )


def candidate_ids(ident: Any, *, exclude_id: int | None = None, limit: int = 50) -> list[int]:
    """Ids of active registrations that may be the same customer as ``ident`` (an
    ``matching.OrgIdentity``, or anything with ``name_norm``, ``name_key``, ``domain`` and
    ``email_domain``), best first, at most ``limit`` (see the module docstring)."""
    if limit <= 0:
        return []
    query = _Query.of(ident, exclude_id, limit)
    connection = connections[router.db_for_read(DealRegistration)]
    if connection.vendor == "postgresql":
        rows = _postgres_rows(connection, query)
    elif connection.vendor == "sqlite":
        rows = _sqlite_rows(connection, query)
    else:
        raise NotImplementedError(
            f"conflict candidates need SQLite or PostgreSQL, not {connection.vendor}"
        )
    return _rank(query, rows)


def candidates(
    ident: Any, *, exclude_id: int | None = None, limit: int = 50
) -> QuerySet[DealRegistration]:
    """The rows of :func:`candidate_ids`, in that order (still active when read)."""
    ids = candidate_ids(ident, exclude_id=exclude_id, limit=limit)
    if not ids:
        return DealRegistration.objects.none()
    position = Case(
        *(When(pk=pk, then=Value(i)) for i, pk in enumerate(ids)), output_field=IntegerField()
    )
    return DealRegistration.objects.filter(pk__in=ids, status__in=ACTIVE_STATUSES).order_by(
        position
    )


def _rank(query: _Query, rows: Iterable[Sequence]) -> list[int]:
    mine = _trigram_set(query.name_norm)
    domains = set(query.domains)
    keyed: dict[int, tuple[int, float, int]] = {}
    for pk, name_norm, name_key, domain_key, email_domain_key in rows:
        if pk in keyed or pk == query.exclude_id:
            continue
        shared = (
            (bool(query.name_key) and name_key == query.name_key)
            + (domain_key in domains)
            + (email_domain_key in domains)
        )
        similarity = _similarity(mine, name_norm) if mine else 0.0
        if not shared and similarity < SIMILARITY_THRESHOLD:
            continue
        keyed[pk] = (-shared, -similarity, pk)
    return [key[2] for key in sorted(keyed.values())[: query.limit]]


def _exact_parts(query: _Query) -> tuple[list[str], list]:
    """The exact-key sub-selects (same SQL on both databases) and their parameters."""
    parts, params = [], []
    exclude = ""
    if query.exclude_id is not None:
        exclude = " AND id <> %s"
    if query.name_key:
        parts.append(
            f"SELECT * FROM (SELECT {_COLUMNS} FROM {TABLE} WHERE {_ACTIVE} AND name_key = %s"
            f"{exclude} ORDER BY id LIMIT %s) AS e_name"
        )
        params += [query.name_key, *([query.exclude_id] if exclude else []), query.limit]
    if query.domains:
        marks = ", ".join(["%s"] * len(query.domains))
        for column, alias in (("domain_key", "e_domain"), ("email_domain_key", "e_email")):
            parts.append(
                f"SELECT * FROM (SELECT {_COLUMNS} FROM {TABLE} WHERE {_ACTIVE} AND "
                f"{column} <> '' AND {column} IN ({marks}){exclude} ORDER BY id LIMIT %s) "
                f"AS {alias}"
            )
            params += [*query.domains, *([query.exclude_id] if exclude else []), query.limit]
    return parts, params


def _choose(terms: Iterable[str], frequency, budget: float, hard: float, minimum: int) -> list[str]:
    """The rarest terms whose postings fit the budget (at least ``minimum`` of them within
    ``hard``, and always the rarest one)."""
    chosen: list[str] = []
    total = 0.0
    for term in sorted(terms, key=lambda t: (frequency(t), t))[:MAX_TERMS]:
        df = frequency(term)
        if chosen and total + df > budget and (len(chosen) >= minimum or total + df > hard):
            break
        chosen.append(term)
        total += df
    return chosen


def _positions(name_norm: str) -> dict[str, tuple[int, int]]:
    """Each trigram of :func:`trigrams` -> (word number, offset in the padded word) of its first
    appearance."""
    out: dict[str, tuple[int, int]] = {}
    for w, word in enumerate(_WORD.findall(name_norm.lower())):
        padded = f"  {word} "
        for i in range(len(padded) - 2):
            out.setdefault(padded[i : i + 3], (w, i))
    return out


def _choose_spread(
    name_norm: str, terms: Iterable[str], frequency, budget: float, hard: float, minimum: int
) -> list[str]:
    """Like :func:`_choose`, but a term counts towards ``minimum`` only if it occurs among the
    registrations (an estimated frequency of at least 1: a trigram no registration has is
    most likely the query's own typo, free to read but no help) and no single typo can destroy
    it together with a counted one (another word, or 3+ letters apart: one changed, missing or
    added letter spoils at most three neighbouring trigrams of one word). So a typo in the
    query's rarest word cannot take every chosen trigram with it. Beyond ``budget`` (up to
    ``hard``) only trigrams that count are taken."""
    where = _positions(name_norm)
    chosen: list[str] = []
    counted: list[tuple[int, int]] = []
    total = 0.0
    for term in sorted(terms, key=lambda t: (frequency(t), t))[:MAX_TERMS]:
        df = frequency(term)
        w, i = where.get(term, (-1, -1))
        counts = df >= 1.0 and all(w != w2 or abs(i - i2) >= 3 for w2, i2 in counted)
        if chosen and total + df > budget:
            if len(counted) >= minimum or total + df > hard:
                break
            if not counts:  # over the budget only for a trigram that counts
                continue
        chosen.append(term)
        total += df
        if counts:
            counted.append((w, i))
    return chosen


# --- statistics (document frequency of trigrams among active registrations) -------------------


@dataclass
class _Stats:
    loaded_at: float
    active: float  # number of active registrations (an estimate on PostgreSQL)
    df: dict[str, float] = field(default_factory=dict)
    df_at: dict[str, float] = field(default_factory=dict)  # SQLite: when each df was read


_STATS: dict[tuple[str, str], _Stats] = {}
_STATS_LOCK = threading.Lock()


def _stats_key(connection) -> tuple[str, str]:
    return (connection.alias, str(connection.settings_dict.get("NAME")))


def reset_statistics() -> None:
    """Forget the cached trigram frequencies (tests, or after a bulk load)."""
    with _STATS_LOCK:
        _STATS.clear()


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_stats(connection, terms: list[str]) -> _Stats:
    now = time.monotonic()
    key = _stats_key(connection)
    stats = _STATS.get(key)
    if stats is None or now - stats.loaded_at > STATS_TTL_SECONDS:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE {_ACTIVE}")
            stats = _Stats(loaded_at=now, active=float(cursor.fetchone()[0]))
        with _STATS_LOCK:
            _STATS[key] = stats
    missing = [t for t in terms if now - stats.df_at.get(t, -math.inf) > STATS_TTL_SECONDS]
    if missing:
        found = dict.fromkeys(missing, 0)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT term, doc FROM {FTS_VOCAB} WHERE term IN "
                f"({', '.join(['%s'] * len(missing))})",
                missing,
            )
            found.update(cursor.fetchall())
        for term, df in found.items():
            stats.df[term] = float(df)
            stats.df_at[term] = now
    return stats


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _sqlite_trigram_part(connection, query: _Query) -> tuple[str, list] | None:
    # The FTS text is ' ' + name_norm + ' ': every pg_trgm trigram except "  x" (a word
    # starting with x) is a substring of it.
    terms = [t for t in trigrams(query.name_norm) if not t.startswith("  ")]
    if not terms:
        return None
    stats = _sqlite_stats(connection, terms)
    df = stats.df.get
    chosen = _choose(
        terms, lambda t: df(t, 0.0), SQLITE_POSTINGS, SQLITE_POSTINGS_HARD, SQLITE_MIN_TERMS
    )
    total = max(stats.active, 1.0)
    selects, params = [], []
    for term in chosen:
        selects.append(f"SELECT rowid AS r, %s AS w FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s")
        params += [math.log(1.0 + total / (1.0 + df(term, 0.0))), _fts_phrase(term)]
    exclude = ""
    if query.exclude_id is not None:
        exclude = "WHERE r <> %s "
        params.append(query.exclude_id)
    params.append(max(1, round(SQLITE_FETCH * query.limit)))
    sql = (
        f"SELECT d.id, d.name_norm, d.name_key, d.domain_key, d.email_domain_key FROM ("
        f"SELECT r, sum(w) AS s FROM ({' UNION ALL '.join(selects)}) {exclude}"
        f"GROUP BY r ORDER BY s DESC, r LIMIT %s) AS t "
        f"JOIN {TABLE} AS d ON d.id = t.r WHERE d.{_ACTIVE}"
    )
    return sql, params


def _sqlite_sql(connection, query: _Query) -> tuple[str, list]:
    parts, params = _exact_parts(query)
    trigram = _sqlite_trigram_part(connection, query) if query.name_norm else None
    if trigram:
        parts.append(f"SELECT * FROM ({trigram[0]})")
        params += trigram[1]
    return " UNION ALL ".join(parts), params


def _sqlite_rows(connection, query: _Query) -> list[tuple]:
    sql, params = _sqlite_sql(connection, query)
    if not sql:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- PostgreSQL -------------------------------------------------------------------------------


def _postgres_stats(connection) -> _Stats:
    now = time.monotonic()
    key = _stats_key(connection)
    stats = _STATS.get(key)
    if stats is not None and now - stats.loaded_at <= STATS_TTL_SECONDS:
        return stats
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [TABLE])
        reltuples = float(cursor.fetchone()[0])
        percent = 100.0
        if reltuples > PG_SAMPLE_ROWS:
            percent = max(0.01, 100.0 * PG_SAMPLE_ROWS / reltuples)
        sample = f"TABLESAMPLE SYSTEM ({percent:.4f}) REPEATABLE (0)" if percent < 100.0 else ""
        cursor.execute(
            f"WITH s AS MATERIALIZED (SELECT name_norm FROM {TABLE} {sample} WHERE {_ACTIVE}) "
            "SELECT NULL, count(*) FROM s UNION ALL "
            "SELECT t, count(*) FROM (SELECT unnest(show_trgm(name_norm)) AS t FROM s) AS x "
            "GROUP BY t"
        )
        scale = 100.0 / percent
        stats = _Stats(loaded_at=now, active=0.0)
        for term, count in cursor.fetchall():
            if term is None:
                stats.active = count * scale
            else:
                stats.df[term] = count * scale
    with _STATS_LOCK:
        _STATS[key] = stats
    return stats


def _regex_of(term: str) -> str:
    return f"(^| ){term[1:]}" if term.startswith(" ") else term


def _postgres_trigram_part(connection, query: _Query) -> tuple[str, list] | None:
    terms = trigrams(query.name_norm)
    if not terms:
        return None
    # Trigrams pg_trgm can look up for a regular expression: inside a word, or a word's start.
    usable = [
        t for t in terms if _PLAIN.fullmatch(t) and " " not in t[1:] and not t.startswith("  ")
    ]
    df = _postgres_stats(connection).df.get

    def frequency(term: str) -> float:
        return df(term, 0.0)

    chosen = (
        _choose_spread(
            query.name_norm, usable, frequency, PG_POSTINGS, PG_POSTINGS_HARD, PG_MIN_TERMS
        )
        if usable
        else []
    )
    exclude, tail = "", []
    if query.exclude_id is not None:
        exclude, tail = " AND id <> %s", [query.exclude_id]
    if len(chosen) == len(usable) or sum(frequency(t) for t in terms) <= PG_PERCENT_POSTINGS:
        # Every trigram is rare enough (or few are read in all): pg_trgm's own % search,
        # restricted to the rare trigrams when some were left out. % reads its threshold from
        # a setting: the statement sets it (for its transaction) in a materialised CTE the
        # lookup refers to laterally, so it is set before the index is scanned, and the check
        # costs one round trip.
        guard, params = "", [str(SIMILARITY_THRESHOLD), query.name_norm]
        if len(chosen) < len(usable):
            guard = " AND name_norm ~ %s"
            params.append("|".join(_regex_of(t) for t in chosen))
        sql = (
            "WITH cfg AS MATERIALIZED (SELECT set_config('pg_trgm.similarity_threshold', %s, "
            f"true) AS v) SELECT {_COLUMNS} FROM cfg, LATERAL (SELECT {_COLUMNS} FROM {TABLE} "
            f"WHERE {_ACTIVE} AND cfg.v IS NOT NULL AND name_norm %% %s{guard}{exclude} "
            "LIMIT %s) AS c ORDER BY similarity(name_norm, %s) DESC, id LIMIT %s"
        )
        return sql, [*params, *tail, PG_RECHECK_CAP, query.name_norm, query.limit]
    # A long name: reading every trigram's postings for % would cost more than checking the
    # rows that hold one of its (many) rare trigrams.
    chosen = _choose_spread(
        query.name_norm,
        usable,
        frequency,
        PG_LONG_POSTINGS,
        PG_LONG_POSTINGS_HARD,
        PG_MIN_TERMS,
    )
    # similarity() is most of the cost of a row (it makes both names' trigrams every time):
    # a name too short to reach the threshold is dropped first, by its length.
    shortest = _shortest_similar(query.name_norm)
    sql = (
        f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS}, similarity(name_norm, %s) AS sim FROM "
        f"(SELECT {_COLUMNS} FROM {TABLE} WHERE {_ACTIVE} AND name_norm ~ %s{exclude} LIMIT %s)"
        " AS c WHERE length(name_norm) >= %s"
        ") AS s WHERE sim >= %s ORDER BY sim DESC, id LIMIT %s"
    )
    guard = "|".join(_regex_of(t) for t in chosen)
    return sql, [
        query.name_norm,
        guard,
        *tail,
        PG_RECHECK_CAP,
        shortest,
        SIMILARITY_THRESHOLD,
        query.limit,
    ]


def _shortest_similar(name_norm: str) -> int:
    """A length every name at least :data:`SIMILARITY_THRESHOLD` similar to ``name_norm`` has
    (in characters): a name of n characters has at most n + 1 trigrams (a word of k letters
    has k + 1), and a similarity is at most the smaller trigram count over the larger one. One
    character of margin for rounding."""
    return max(0, math.ceil(SIMILARITY_THRESHOLD * len(_trigram_set(name_norm))) - 2)


def _postgres_sql(connection, query: _Query) -> tuple[str, list]:
    parts, params = _exact_parts(query)
    trigram = _postgres_trigram_part(connection, query) if query.name_norm else None
    if trigram:
        parts.append(f"SELECT * FROM ({trigram[0]}) AS t_name")
        params += trigram[1]
    return " UNION ALL ".join(parts), params


def _postgres_rows(connection, query: _Query) -> list[tuple]:
    sql, params = _postgres_sql(connection, query)
    if not sql:
        return []
    with connection.cursor() as cursor:  # one statement, one round trip (no BEGIN / COMMIT)
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- checks -----------------------------------------------------------------------------------


def explain(ident: Any, *, exclude_id: int | None = None, limit: int = 50) -> str:
    """The database's plan for :func:`candidate_ids` (EXPLAIN QUERY PLAN / EXPLAIN)."""
    query = _Query.of(ident, exclude_id, limit)
    connection = connections[router.db_for_read(DealRegistration)]
    if connection.vendor == "sqlite":
        sql, params = _sqlite_sql(connection, query)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
    sql, params = _postgres_sql(connection, query)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def missing_objects(using: str | None = None) -> list[str]:
    """The candidate indexes, tables and triggers that are not in the database (should be
    empty after ``migrate``; a SQLite table re-created by a later migration loses them)."""
    connection = connections[using or router.db_for_read(DealRegistration)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            wanted = [PG_TRGM_INDEX, *EXACT_INDEXES]
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [TABLE])
        else:
            wanted = [FTS_TABLE, FTS_VOCAB, *FTS_TRIGGERS, *EXACT_INDEXES]
            cursor.execute("SELECT name FROM sqlite_master")
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in wanted if name not in present]
