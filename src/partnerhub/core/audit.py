"""Audit trail: django-auditlog records every create/update/delete of registered models.

Requests authenticated by session get their actor from auditlog's middleware; API token
requests bind the actor here once the token is verified; commands and tasks use
:func:`acting_as`.
"""

from __future__ import annotations

from contextlib import contextmanager

from auditlog.context import auditlog_value, set_actor


def bind_actor(user) -> None:
    """Make ``user`` the actor of audit entries for the rest of this request."""
    try:
        context = auditlog_value.get()
    except LookupError:
        return
    context["actor"] = user


@contextmanager
def acting_as(user):
    """Attribute audit entries written inside the block to ``user`` (commands, tasks)."""
    with set_actor(user):
        yield
