"""A session imported while a settlement run is under way is settled by that run or by the
next one, never lost (PostgreSQL, two connections; SQLite has one writer at a time).

Under READ COMMITTED the run's id watermark (``max(id)`` of the sessions) could pass over a
session whose id was taken before, but which committed after, the run read it: with the month
finalised by that run, the session was neither on it nor a late session of the next run."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from partnerhub.settlements.models import SessionSettlement
from partnerhub.settlements.services import settlement_run
from partnerhub.settlements.tests.conftest import utc


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections")
def test_a_session_committed_during_a_run_is_in_that_run_or_the_next(settlement_world):
    w = settlement_world
    w.contract(w.world.partner_a)
    errors: list[BaseException] = []
    slow_ids: list[int] = []
    inserted, release, run_done = threading.Event(), threading.Event(), threading.Event()

    def slow_import():
        """An import that took its session id and has not committed yet."""
        try:
            with transaction.atomic():
                slow_ids.append(w.session(w.ac_a, utc(2026, 10, 5, 8)).pk)
                inserted.set()
                release.wait(timeout=60)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            inserted.set()
            connections.close_all()

    def run():
        try:
            settlement_run(month="2026-10", finalise=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            run_done.set()
            connections.close_all()

    importer = threading.Thread(target=slow_import)
    importer.start()
    assert inserted.wait(timeout=30) and slow_ids, errors
    quick = w.session(w.ac_a, utc(2026, 10, 6, 8))  # a later id, committed first
    assert quick.pk > slow_ids[0]
    runner = threading.Thread(target=run)
    runner.start()
    # Let the run get as far as it can: done, or waiting for the import's lock.
    for _ in range(1200):
        if run_done.is_set() or _someone_waits_for_a_lock():
            break
        time.sleep(0.05)
    release.set()
    importer.join(timeout=60)
    runner.join(timeout=120)
    assert not errors, errors

    settlement_run(month="2026-11", finalise=True)

    for session_id in (slow_ids[0], quick.pk):
        finals = SessionSettlement.objects.filter(session_id=session_id, is_final=True)
        assert finals.count() == 1, f"session {session_id} is on no final statement"
