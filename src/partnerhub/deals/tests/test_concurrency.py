"""Two partners submit the same opportunity at the same moment, from two connections: exactly
one has priority, the other is flagged (PostgreSQL; SQLite serialises every write anyway)."""

import threading

import pytest
from django.db import connection, connections

from partnerhub.deals import services
from partnerhub.deals.models import DealRegistration


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections")
@pytest.mark.parametrize("round_", range(3))
def test_simultaneous_submissions_one_priority_one_flagged(world, deal_data, round_):
    drafts = [
        services.registration_create(partner=p, data=deal_data(), created_by=None)
        for p in (world.partner_a, world.partner_b)
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit(reg):
        try:
            barrier.wait(timeout=10)
            services.registration_submit(registration=reg, submitted_by=None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(r,)) for r in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    regs = list(DealRegistration.objects.order_by("submission_seq"))
    assert [r.status for r in regs] == ["submitted", "submitted"]
    assert [r.flagged for r in regs] == [False, True]
    assert regs[1].conflicts.get().other_id == regs[0].pk
