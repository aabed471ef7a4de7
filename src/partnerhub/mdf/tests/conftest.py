from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerhub.mdf import services

# ev-hardware: currency USD, fiscal year from 1 February, MDF vendor share 50%, expiry quarter.
# Its fiscal quarters: Feb-Apr, May-Jul, Aug-Oct, Nov-Jan.
Q1 = dt.date(2025, 2, 1)
Q2 = dt.date(2025, 5, 1)


def proof(name="invoice.pdf", content=b"%PDF-1.4 proof"):
    return SimpleUploadedFile(name, content, "application/pdf")


@pytest.fixture
def allocate(world):
    def make(amount, partner=None, quarter_start=Q1, reason="Launch budget"):
        return services.allocation_create(
            partner=partner or world.partner_a,
            program=None,
            quarter_start=quarter_start,
            amount=amount,
            reason=reason,
            created_by=world.finance,
        )

    return make


@pytest.fixture
def mdf_request(world):
    def make(budget="10000.00", partner=None, by=None, **extra):
        data = {
            "title": "Spring roadshow",
            "activity_type": "event",
            "starts_on": "2025-03-01",
            "ends_on": "2025-03-05",
            "budget": budget,
            **extra,
        }
        return services.request_create(
            partner=partner or world.partner_a, data=data, submitted_by=by or world.admin_a
        )

    return make
