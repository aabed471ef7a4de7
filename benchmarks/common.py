"""Shared helpers of the benchmarks: a fresh database, Django set up on it, bulk loaders,
timers and the JSON report.

Every benchmark runs against a database of its own:

- ``--database sqlite`` (default): a new SQLite file in a temporary folder, removed at the end
  unless ``--keep``;
- ``--database postgres``: a new database (``partnerhub_bench_<pid>``) created on the server
  that ``DATABASE_URL`` points to (``scripts/with-postgres.sh`` starts a throwaway one), dropped
  at the end unless ``--keep``. The database named in ``DATABASE_URL`` itself is never touched.

Big tables are filled through the fastest plain path of each database, never the ORM per row:
SQLite ``executemany`` in large transactions with ``synchronous=OFF`` and foreign-key checks off
during the load, PostgreSQL ``COPY ... FROM STDIN`` through psycopg 3 ``cursor.copy()`` with
triggers (foreign-key checks) off for the loading session. Secondary indexes are dropped before
a big load and built again after it. Table and column names come from ``Model._meta``; columns
a benchmark does not give get their model default (or NULL, '' for blank text, "now" for
auto timestamps).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_T0 = time.perf_counter()


QUIET = False


def log(message: str) -> None:
    """Progress on stderr (stdout carries only the JSON result); silent with --quiet."""
    if QUIET:
        return
    print(f"[{time.perf_counter() - _T0:8.1f}s] {message}", file=sys.stderr, flush=True)


def arguments(description: str, argv: Sequence[str] | None = None, extra=None):
    """The options every benchmark takes: --scale, --database, --keep, --seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full size (default 1.0)"
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--keep", action="store_true", help="keep the benchmark database afterwards"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    global QUIET
    QUIET = args.quiet
    if args.scale <= 0:
        parser.error("--scale must be positive")
    return args


def scaled(full: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(full * scale))


# --- the database -----------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    vendor: str  # "sqlite" or "postgresql"
    url: str
    keep: bool
    location: str  # SQLite file path or PostgreSQL database name
    _cleanup: Callable[[], None] | None = None

    def cleanup(self) -> None:
        from django.db import connections

        connections.close_all()
        if self.keep:
            log(f"kept the benchmark database: {self.location}")
        elif self._cleanup:
            self._cleanup()


def setup_django(database: str, keep: bool = False) -> BenchDatabase:
    """Create a fresh database, point Django at it, set Django up and migrate."""
    if database == "postgres":
        bench = _fresh_postgres(keep)
    else:
        folder = tempfile.mkdtemp(prefix="partnerhub-bench-")
        path = Path(folder) / "bench.sqlite3"
        bench = BenchDatabase(
            "sqlite",
            f"sqlite:///{path}",
            keep,
            str(path),
            lambda: shutil.rmtree(folder, ignore_errors=True),
        )
    os.environ["DATABASE_URL"] = bench.url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return bench


def _fresh_postgres(keep: bool) -> BenchDatabase:
    import dj_database_url
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit(
            "--database postgres needs DATABASE_URL pointing to a PostgreSQL server, e.g. "
            "scripts/with-postgres.sh .venv/bin/python benchmarks/tiers.py --database postgres"
        )
    params = dj_database_url.parse(url)
    name = f"partnerhub_bench_{os.getpid()}"
    conninfo = {
        "host": params.get("HOST") or None,
        "port": params.get("PORT") or None,
        "user": params.get("USER") or None,
        "password": params.get("PASSWORD") or None,
        "dbname": "postgres",
    }
    conninfo = {k: v for k, v in conninfo.items() if v}

    def admin(sql: str) -> None:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{name}"')
    admin(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(url)
    return BenchDatabase(
        "postgresql",
        urllib.parse.urlunsplit(parts._replace(path=f"/{name}")),
        keep,
        name,
        lambda: admin(f'DROP DATABASE IF EXISTS "{name}"'),
    )


def machine() -> dict[str, Any]:
    from django.db import connection

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15min": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
    }
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        info["memory_gib"] = round(kib / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            info["database_version"] = "SQLite " + cursor.fetchone()[0]
        else:
            cursor.execute("show server_version")
            info["database_version"] = "PostgreSQL " + cursor.fetchone()[0]
    return info


# --- timers and output ------------------------------------------------------------------------


@dataclass
class Timings:
    """Named durations in seconds, in the order they were taken."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # of this process only

    @contextmanager
    def time(self, name: str, announce: bool = True) -> Iterator[None]:
        if announce:
            log(f"{name} ...")
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            took = time.perf_counter() - start
            self.seconds[name] = round(self.seconds.get(name, 0.0) + took, 3)
            used = time.process_time() - cpu
            self.cpu_seconds[name] = round(self.cpu_seconds.get(name, 0.0) + used, 3)
            if announce:
                log(f"{name}: {took:.2f} s")


def emit(result: dict[str, Any]) -> None:
    """The benchmark's result: one JSON object on stdout."""
    print(json.dumps(result, indent=2, default=str), flush=True)


# --- bulk loading -----------------------------------------------------------------------------


def _constant(model, f, now: dt.datetime):
    from django.db import models

    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return now
    if f.has_default():
        return f.get_default()
    if f.null:
        return None
    if f.blank and isinstance(f, models.CharField | models.TextField):
        return ""
    raise ValueError(f"{model.__name__}.{f.name} has no default: give it a value")


def _db_value(f, value, vendor: str):
    from django.db import connection, models

    if value is None:
        return None
    if isinstance(f, models.JSONField):
        return json.dumps(value)
    if vendor == "sqlite" and isinstance(f, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value(value)
    return value


class BulkLoader:
    """Insert rows (tuples in the order of ``fields``) into a model's table, fast.

    Every concrete field not in ``fields`` (except an auto primary key) gets a constant: its
    default, NULL, '' or the load's start time. Values must already be database values: ints,
    ISO date strings, str, bool or None."""

    def __init__(self, chunk_rows: int = 250_000):
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.chunk_rows = chunk_rows
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        if self.vendor == "sqlite":
            self.now = self.now.replace(tzinfo=None)

    def columns(self, model, fields: Sequence[str]) -> tuple[list[str], tuple]:
        meta = model._meta
        given = [meta.get_field(name) for name in fields]
        columns = [f.column for f in given]
        constants = []
        for f in meta.concrete_fields:
            if f in given or (f.primary_key and f.get_internal_type().endswith("AutoField")):
                continue
            columns.append(f.column)
            constants.append(_db_value(f, _constant(model, f, self.now), self.vendor))
        return columns, tuple(constants)

    def load(self, model, fields: Sequence[str], rows: Iterable[tuple]) -> int:
        return self.load_table(model._meta.db_table, *self.columns(model, fields), rows)

    def load_table(
        self, table: str, columns: Sequence[str], constants: tuple, rows: Iterable[tuple]
    ) -> int:
        if constants:
            rows = (row + constants for row in rows)
        if self.vendor == "sqlite":
            return self._sqlite(table, columns, rows)
        return self._postgres(table, columns, rows)

    def _sqlite(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        self.connection.ensure_connection()
        raw = self.connection.connection
        quoted = ", ".join(f'"{c}"' for c in columns)
        sql = f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join("?" * len(columns))})'
        total = 0
        iterator = iter(rows)
        while True:
            chunk = list(itertools.islice(iterator, self.chunk_rows * 4))
            if not chunk:
                return total
            raw.execute("BEGIN")
            raw.executemany(sql, chunk)
            raw.execute("COMMIT")
            total += len(chunk)

    def _postgres(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        self.connection.ensure_connection()
        raw = self.connection.connection
        quoted = ", ".join(f'"{c}"' for c in columns)
        total = 0
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                total += 1
        return total


@contextmanager
def load_mode() -> Iterator[None]:
    """Session settings for bulk loading; restored afterwards."""
    from django.db import connection

    connection.ensure_connection()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("PRAGMA cache_size=-1048576")  # 1 GiB while loading
            cursor.execute("PRAGMA temp_store=MEMORY")  # index builds sort in memory
            cursor.execute("PRAGMA threads=2")  # ... with a helper thread
        else:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            try:
                cursor.execute("SET session_replication_role = replica")  # no FK triggers
            except Exception:  # not a superuser: load with the checks on
                log("cannot set session_replication_role (not superuser): FK checks stay on")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA cache_size=-2000")
                cursor.execute("PRAGMA temp_store=DEFAULT")
                cursor.execute("PRAGMA threads=0")
            else:
                cursor.execute("RESET session_replication_role")
                cursor.execute("RESET maintenance_work_mem")


def secondary_indexes(model) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes of a table that can be dropped and rebuilt."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                [table],
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
                "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
        return list(cursor.fetchall())


def drop_indexes(models: Iterable) -> list[tuple[str, str]]:
    from django.db import connection

    dropped = []
    for model in models:
        for name, create in secondary_indexes(model):
            with connection.cursor() as cursor:
                cursor.execute(f'DROP INDEX "{name}"')
            dropped.append((name, create))
    return dropped


def create_indexes(dropped: Iterable[tuple[str, str]]) -> None:
    from django.db import connection

    for _, create in dropped:
        with connection.cursor() as cursor:
            cursor.execute(create)


def reset_sequences(models: Iterable) -> None:
    """After inserting explicit ids on PostgreSQL, move the id sequences past them."""
    from django.core.management.color import no_style
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(sql)


def analyze() -> None:
    """Planner statistics and (PostgreSQL) the visibility map, as a maintained production
    database has them after autovacuum: without VACUUM, index-only scans of freshly COPYed
    tables still visit every heap page."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
            cursor.execute("ANALYZE")
        else:
            cursor.execute("VACUUM ANALYZE")


def connection_cursor():
    from django.db import connection

    return connection.cursor()


def table_counts(models: Iterable) -> dict[str, int]:
    return {m._meta.db_table: m.objects.count() for m in models}
