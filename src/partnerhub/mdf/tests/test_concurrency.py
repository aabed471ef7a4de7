"""Two managers approve two requests of the same partner at the same moment, from two
connections, with funds for only one: exactly one is approved, the fund is never overdrawn
(PostgreSQL; SQLite serialises every write anyway)."""

import threading

import pytest
from django.db import connection, connections

from partnerhub.core.errors import Conflict
from partnerhub.mdf import services
from partnerhub.mdf.models import MdfRequest


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections")
@pytest.mark.parametrize("round_", range(3))
def test_simultaneous_approvals_never_overdraw_the_fund(world, allocate, mdf_request, round_):
    allocate("6000.00")
    requests = [mdf_request("8000.00"), mdf_request("8000.00")]  # 4,000.00 each
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    refused: list[Conflict] = []

    def approve(req):
        try:
            barrier.wait(timeout=10)
            services.request_approve(request=req, approved_by=None)
        except Conflict as exc:
            refused.append(exc)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert sorted(MdfRequest.objects.values_list("status", flat=True)) == [
        "approved",
        "submitted",
    ]
    assert len(refused) == 1 and "2,000.00 USD" in refused[0].message
