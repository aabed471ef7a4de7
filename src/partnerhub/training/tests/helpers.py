"""Helpers shared by the training tests."""

from __future__ import annotations

import datetime as dt

D = dt.date


def certify(person, certification, earned_on, expires_on=None, **extra):
    """A person certification row written directly (for tests of reads and gating)."""
    from partnerhub.training.models import PersonCertification

    return PersonCertification.objects.create(
        person=person,
        partner_id=person.partner_id,
        certification=certification,
        earned_on=earned_on,
        expires_on=expires_on,
        **extra,
    )
