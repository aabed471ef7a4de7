"""Indexes that find conflict candidates (see ``partnerhub.deals.candidates``).

Both databases: partial B-tree indexes on the exact keys of *active* registrations.
PostgreSQL: pg_trgm and a partial GIN trigram index on ``name_norm``.
SQLite: an FTS5 trigram table of the active registrations' names, kept by triggers, and an
fts5vocab table over it.

Hand-written SQL, frozen here on purpose. Reversible. A later migration that makes Django
re-create ``deals_dealregistration`` on SQLite (many AlterField / AddField operations do)
drops the triggers and these indexes: run ``install`` from this module again after it.
"""

from django.db import migrations

ACTIVE = "status IN ('submitted', 'approved')"

TABLE = "deals_dealregistration"
EXACT = [
    f"CREATE INDEX IF NOT EXISTS deal_active_name_key ON {TABLE} (name_key, id) WHERE {ACTIVE}",
    f"CREATE INDEX IF NOT EXISTS deal_active_domain_key ON {TABLE} (domain_key, id) "
    f"WHERE {ACTIVE} AND domain_key <> ''",
    f"CREATE INDEX IF NOT EXISTS deal_active_email_domain_key ON {TABLE} "
    f"(email_domain_key, id) WHERE {ACTIVE} AND email_domain_key <> ''",
]
EXACT_DROP = [
    "DROP INDEX IF EXISTS deal_active_name_key",
    "DROP INDEX IF EXISTS deal_active_domain_key",
    "DROP INDEX IF EXISTS deal_active_email_domain_key",
]

POSTGRES = [
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it, no
    # superuser needed (checked 2026-11-23 with a non-superuser role owning the database).
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS deal_active_name_trgm ON deals_dealregistration "
    f"USING gin (name_norm gin_trgm_ops) WITH (fastupdate = off) WHERE {ACTIVE}",
    *EXACT,
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS deal_active_name_trgm", *EXACT_DROP]

FTS = "deals_dealregistration_trgm"
SQLITE = [
    # rowid = registration id; text = ' ' || name_norm || ' ' (word-start/-end trigrams).
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(name, tokenize = 'trigram', detail = 'none', "
    "columnsize = 0)",
    f"CREATE VIRTUAL TABLE {FTS}_vocab USING fts5vocab({FTS}, 'row')",
    f"INSERT INTO {FTS} (rowid, name) SELECT id, ' ' || name_norm || ' ' "
    f"FROM deals_dealregistration WHERE {ACTIVE}",
    f"""CREATE TRIGGER {FTS}_ai AFTER INSERT ON deals_dealregistration
    WHEN new.{ACTIVE}
    BEGIN
        INSERT OR REPLACE INTO {FTS} (rowid, name) VALUES (new.id, ' ' || new.name_norm || ' ');
    END""",
    f"""CREATE TRIGGER {FTS}_au AFTER UPDATE OF id, status, name_norm ON deals_dealregistration
    WHEN (old.{ACTIVE}) <> (new.{ACTIVE})
        OR (new.{ACTIVE} AND (old.name_norm IS NOT new.name_norm OR old.id <> new.id))
    BEGIN
        DELETE FROM {FTS} WHERE rowid = old.id;
        INSERT OR REPLACE INTO {FTS} (rowid, name)
            SELECT new.id, ' ' || new.name_norm || ' ' WHERE new.{ACTIVE};
    END""",
    f"""CREATE TRIGGER {FTS}_ad AFTER DELETE ON deals_dealregistration
    BEGIN
        DELETE FROM {FTS} WHERE rowid = old.id;
    END""",
    *EXACT,
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS}_ai",
    f"DROP TRIGGER IF EXISTS {FTS}_au",
    f"DROP TRIGGER IF EXISTS {FTS}_ad",
    f"DROP TABLE IF EXISTS {FTS}_vocab",
    f"DROP TABLE IF EXISTS {FTS}",
    *EXACT_DROP,
]


def _check_sqlite(connection) -> None:
    with connection.cursor() as cursor:
        try:
            cursor.execute(
                "CREATE VIRTUAL TABLE temp.deals_trigram_probe USING fts5(x, tokenize='trigram')"
            )
            cursor.execute("DROP TABLE temp.deals_trigram_probe")
        except Exception as exc:  # sqlite3.OperationalError: no such module / tokenizer
            cursor.execute("SELECT sqlite_version()")
            raise RuntimeError(
                "Conflict candidates need SQLite 3.34+ with FTS5 (trigram tokenizer); this "
                f"Python's sqlite3 is SQLite {cursor.fetchone()[0]}: {exc}"
            ) from exc


def install(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        statements = POSTGRES
    elif connection.vendor == "sqlite":
        _check_sqlite(connection)
        statements = [*SQLITE_DROP, *SQLITE]  # idempotent: also repairs after a table remake
    else:
        return
    for sql in statements:
        schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        statements = POSTGRES_DROP
    elif connection.vendor == "sqlite":
        statements = SQLITE_DROP
    else:
        return
    for sql in statements:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
